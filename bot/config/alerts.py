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


def _http_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError("an Alertmanager URL starts with http:// or https://")
    return value.rstrip("/") if value else value


class RouteRule(Matcher):
    """First matching rule wins. `channel` is a name (`#alerts-critical`) or a channel ID (`C0123`).
    `alertmanager_url`: the Alertmanager that silences for this route's groups go to (overrides the
    notification's `externalURL`)."""

    channel: str = Field(min_length=1, max_length=80)
    alertmanager_url: str | None = None

    @field_validator("alertmanager_url")
    @classmethod
    def _am_url(cls, value: str | None) -> str | None:
        return _http_url(value)


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


def _default_severity_map() -> dict[str, str]:
    """Common `severity` label values → the default policy's severities (critical/high/medium/low)."""
    return {
        "critical": "critical",
        "page": "critical",
        "emergency": "critical",
        "error": "high",
        "high": "high",
        "major": "high",
        "warning": "medium",
        "medium": "medium",
        "minor": "low",
        "low": "low",
        "info": "low",
        "none": "low",
    }


class AlertsPolicy(_Section):
    default_channel: str = Field(default="#alerts", min_length=1, max_length=80)
    routes: list[RouteRule] = Field(default_factory=list)
    auth: AuthPolicy = Field(default_factory=AuthPolicy)
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # Deprecated: write `runbooks.alerts`. Still read: after loading this names the policy's one
    # alert → runbook map (runbooks.alerts, see bot/config/runbooks.py merge_runbook_maps).
    runbooks: dict[str, str] = Field(default_factory=dict)
    severity_label: str = "severity"
    # `severity` label value (any case) → incident severity, for "Declare incident" from an alert.
    # Entries whose target the policy's severities lack are skipped; a label value that is itself a
    # severity name or alias needs no entry. Written in the policy file, every target must exist.
    severity_map: dict[str, str] = Field(default_factory=_default_severity_map)
    # Where silences go: this Alertmanager for every group (else the route's `alertmanager_url`,
    # else the notification's `externalURL`).
    alertmanager_url: str | None = None
    # How often the bot reads Alertmanager's silences (one request per Alertmanager, shared by the
    # replicas) to show silences made outside Slack and note silences that ended; 0 turns it off.
    silence_poll_seconds: float = Field(default=30.0, ge=0)
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

    @field_validator("severity_map")
    @classmethod
    def _lower_keys(cls, value: dict[str, str]) -> dict[str, str]:
        return {k.strip().lower(): v.strip().lower() for k, v in value.items()}

    @field_validator("alertmanager_url")
    @classmethod
    def _am_url(cls, value: str | None) -> str | None:
        return _http_url(value)

    def alertmanager_for(self, labels: dict[str, str], external_url: str = "") -> str | None:
        """The Alertmanager to silence a group in: the policy's, the route's, else the notification's."""
        if self.alertmanager_url:
            return self.alertmanager_url
        for rule in self.routes:
            if rule.matches(labels):
                if rule.alertmanager_url:
                    return rule.alertmanager_url
                break
        if external_url.startswith(("http://", "https://")):
            return external_url.rstrip("/")
        return None

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
