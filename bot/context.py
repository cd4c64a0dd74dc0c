"""What every handler gets: settings, policy, Redis, the Slack gateway, layer and outbox, the incident store, and
the per-process runtime each feature's part starts (typed attributes, ``None`` until it runs).

The runtime types are named for the type checker only: this module imports no feature code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from slack_sdk.web.async_client import AsyncWebClient

from bot.config.policy import Policy
from bot.core.redis_factory import redis_client
from bot.core.store import IncidentStore
from bot.keys import Keys
from bot.settings import Settings
from bot.slack.gateway import GatewayConfig, SlackGateway
from bot.slack.layer import Slack
from bot.slack.outbox import Outbox

if TYPE_CHECKING:
    from bot.alerts.part import AlertsRuntime
    from bot.escalation.runtime import EscalationRuntime
    from bot.runbooks.service import RunbookService


@dataclass
class AppContext:
    settings: Settings
    policy: Policy
    redis: aioredis.Redis
    keys: Keys
    gateway: SlackGateway
    store: IncidentStore
    bot_user_id: str | None = None
    # set by the parts (bot/<feature>/part.py) when they start, cleared when they stop
    alerts: AlertsRuntime | None = None  # alert worker and outbox sender
    escalation: EscalationRuntime | None = None  # job queue, pagers, status page
    runbooks: RunbookService | None = None  # runbook library, clusters, Prometheus

    @cached_property
    def slack(self) -> Slack:
        """The typed Slack layer (post, update, invite, channel_id) over ``gateway``."""
        return Slack(self.gateway)

    @cached_property
    def outbox(self) -> Outbox:
        """The durable outbox every non-interactive post goes through (one per process; its
        sender runs in the outbox part, bot/slack/part.py)."""
        return Outbox(self.redis, self.keys, self.gateway)

    async def close(self) -> None:
        await self.gateway.close()
        await self.redis.aclose()


def slack_client(settings: Settings) -> AsyncWebClient:
    """Every Slack client the bot builds points at SLACK_API_URL."""
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value() or None, base_url=settings.api_base
    )


def build_context(
    settings: Settings,
    policy: Policy,
    *,
    gateway_config: GatewayConfig | None = None,
    redis: aioredis.Redis | None = None,
) -> AppContext:
    if redis is None:
        # one factory for every shape (single server, Cluster, Sentinel); it retries transient
        # connection errors (failover, restart) with backoff, past that the caller gets the error
        redis = redis_client(settings)
    keys = Keys(settings.redis_prefix)
    gateway = SlackGateway(slack_client(settings), redis, keys, gateway_config)
    return AppContext(
        settings=settings,
        policy=policy,
        redis=redis,
        keys=keys,
        gateway=gateway,
        store=IncidentStore(redis, keys),
    )
