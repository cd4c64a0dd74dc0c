"""The `alerts:` section of the policy file. Every key has a default."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Matcher(_Section):
    """Labels an alert group must carry: exact values in `match`, full-match regexes in `match_re`."""

    match: dict[str, str] = Field(default_factory=dict)
    match_re: dict[str, str] = Field(default_factory=dict)

    @field_validator("match_re")
    @classmethod
    def _compile(cls, value: dict[str, str]) -> dict[str, str]:
        for name, pattern in value.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"match_re.{name}: invalid regular expression: {exc}") from exc
        return value

    def matches(self, labels: dict[str, str]) -> bool:
        for name, want in self.match.items():
            if labels.get(name) != want:
                return False
        for name, pattern in self.match_re.items():
            if re.fullmatch(pattern, labels.get(name, "")) is None:
                return False
        return True


class RouteRule(Matcher):
    """First matching rule wins. `channel` is a name (`#alerts-critical`) or a channel ID (`C0123`)."""

    channel: str = Field(min_length=1, max_length=80)


class AutoDeclareRule(Matcher):
    """Alert groups matching this rule declare an incident of `severity` automatically."""

    severity: str = Field(min_length=1)


class AuthPolicy(_Section):
    """Optional auth for the webhook: what Alertmanager's http_config can send.

    Secrets are read from the environment (`*_env`) or a file (`*_file`), never from the policy text.
    """

    bearer_token_env: str | None = None
    bearer_token_file: Path | None = None
    basic_username: str | None = None
    basic_password_env: str | None = None
    basic_password_file: Path | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.bearer_token_env and self.bearer_token_file:
            raise ValueError("set bearer_token_env or bearer_token_file, not both")
        has_pw = bool(self.basic_password_env or self.basic_password_file)
        if bool(self.basic_username) != has_pw:
            raise ValueError("basic auth needs basic_username and basic_password_env/basic_password_file")
        return self

    @staticmethod
    def _secret(env: str | None, file: Path | None) -> str | None:
        if env:
            value = os.environ.get(env)
            if not value:
                raise ValueError(f"environment variable {env} (alerts auth secret) is not set")
            return value
        if file:
            return file.read_text().strip()
        return None

    def bearer_token(self) -> str | None:
        return self._secret(self.bearer_token_env, self.bearer_token_file)

    def basic_credentials(self) -> tuple[str, str] | None:
        password = self._secret(self.basic_password_env, self.basic_password_file)
        if self.basic_username and password is not None:
            return self.basic_username, password
        return None


class StormPolicy(_Section):
    """Past `threshold` new alert groups in one channel within `window_seconds`, later groups are
    listed in one summary message (updated in place) instead of getting a root post each."""

    enabled: bool = True
    threshold: int = Field(default=10, ge=1)
    window_seconds: int = Field(default=60, ge=1)
    # A storm ends (the next new group gets its own root again) after this long without a new group.
    quiet_seconds: int = Field(default=300, ge=1)


class AlertsPolicy(_Section):
    default_channel: str = Field(default="#alerts", min_length=1, max_length=80)
    routes: list[RouteRule] = Field(default_factory=list)
    auth: AuthPolicy = Field(default_factory=AuthPolicy)
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # Deprecated: write `runbooks.alerts`. Still read: after loading this names the policy's one
    # alert → runbook map (runbooks.alerts, see bot/config/runbooks.py merge_runbook_maps).
    runbooks: dict[str, str] = Field(default_factory=dict)
    severity_label: str = "severity"
    # Labels worth showing on the root post (besides alertname and severity), in this order.
    important_labels: list[str] = Field(
        default_factory=lambda: ["service", "team", "namespace", "cluster", "job", "instance"]
    )
    auto_declare: list[AutoDeclareRule] = Field(default_factory=list)
    storm: StormPolicy = Field(default_factory=StormPolicy)
    # How many alerts the root post lists before "and N more".
    root_alert_lines: int = Field(default=10, ge=0, le=40)
    # Stream consumer: entries pending longer than this on a dead consumer are taken over.
    claim_idle_seconds: float = Field(default=15.0, gt=0)

    def route(self, labels: dict[str, str]) -> str:
        for rule in self.routes:
            if rule.matches(labels):
                return rule.channel
        return self.default_channel

    def auto_declare_severity(self, labels: dict[str, str]) -> str | None:
        for rule in self.auto_declare:
            if rule.matches(labels):
                return rule.severity
        return None
