"""Settings of the sandbox: credentials, Slack limits and fault injection."""

from __future__ import annotations

import random

from pydantic import BaseModel, ConfigDict, Field


class SandboxConfig(BaseModel):
    """Everything a test or the CLI may want to change, also at runtime (``POST /sandbox/faults``)."""

    model_config = ConfigDict(validate_assignment=True)

    bot_token: str = "xoxb-sandbox-token"
    signing_secret: str = "sandbox-signing-secret"
    team_domain: str = "sandbox"

    rate_limits: bool = True
    # Slack's method tiers, in calls per minute per method per workspace.
    tier_per_minute: dict[int, int] = Field(default_factory=lambda: {1: 1, 2: 20, 3: 50, 4: 100})
    # chat.postMessage: about one message per second per channel, short bursts allowed (token bucket).
    post_burst: int = Field(default=5, ge=1)
    post_refill_per_second: float = Field(default=1.0, gt=0)

    fault_429_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    fault_5xx_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    fault_slow_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    slow_seconds: float = Field(default=2.0, ge=0.0)
    fault_retry_after: int = Field(default=1, ge=1)
    seed: int | None = None

    # Events API retries after a failed delivery (Slack: about 1 s, 1 min, 5 min; shortened here).
    event_retry_delays: list[float] = Field(default_factory=lambda: [1.0, 5.0, 15.0])
    ack_timeout_seconds: float = Field(default=3.0, gt=0)
    trigger_ttl_seconds: float = Field(default=3.0, gt=0)
    response_url_ttl_seconds: float = Field(default=1800.0, gt=0)
    response_url_max_uses: int = Field(default=5, ge=1)
    max_text_chars: int = 40_000
    # The app's bot scopes; None: those manifest.yml requests (see sandbox/scopes.py).
    bot_scopes: list[str] | None = None

    def make_rng(self) -> random.Random:
        return random.Random(self.seed)


FAULT_FIELDS = (
    "rate_limits",
    "fault_429_rate",
    "fault_5xx_rate",
    "fault_slow_rate",
    "slow_seconds",
    "fault_retry_after",
    "seed",
    "post_burst",
    "post_refill_per_second",
    "tier_per_minute",
    "ack_timeout_seconds",
    "event_retry_delays",
)
