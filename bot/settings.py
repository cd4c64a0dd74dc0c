"""Runtime settings from the environment (secrets never live in the policy file)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)

SECRETS_DIR_ENV = "CHATOPS_SECRETS_DIR"
INSECURE_ENV = "CHATOPS_INSECURE_NO_SIGNATURE"


class Settings(BaseSettings):
    """Everything the process reads from its environment.

    Secrets may also come from files: when ``CHATOPS_SECRETS_DIR`` names a directory (a Kubernetes
    secret volume, ``/run/secrets`` of Docker), a file named after a field (``slack_bot_token`` or
    ``SLACK_BOT_TOKEN``) holds its value. The environment wins over a file.

    Vendor secrets live here too: PagerDuty (``PAGERDUTY_ROUTING_KEY``), Opsgenie (``OPSGENIE_API_KEY``)
    and Statuspage (``STATUSPAGE_API_KEY`` with ``STATUSPAGE_PAGE_ID``), each with an optional
    ``*_API_URL``; the follow-up trackers: ``GITHUB_TOKEN`` (``GITHUB_API_URL`` for GitHub Enterprise) and
    Jira's ``JIRA_URL``, ``JIRA_EMAIL``, ``JIRA_API_TOKEN``. A PagerDuty target with its own key names the variable in the policy
    (``routing_key_env``); :meth:`named_secret` reads it from the environment or the same directory.
    """

    model_config = SettingsConfigDict(
        env_prefix="", case_sensitive=False, extra="ignore", populate_by_name=True
    )

    slack_bot_token: SecretStr = SecretStr("")
    slack_signing_secret: SecretStr = SecretStr("")
    slack_app_token: SecretStr = SecretStr("")
    slack_api_url: str = "https://slack.com/api/"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Redis credentials and TLS for every shape (bot/core/redis_factory.py); the URL may carry them too
    redis_username: str = ""
    redis_password: SecretStr = SecretStr("")
    redis_sentinel_password: SecretStr = SecretStr("")
    redis_tls_ca_file: str | None = None
    redis_prefix: str = Field(default="chatops", validation_alias="CHATOPS_REDIS_PREFIX")
    chatops_config: str | None = None
    prometheus_url: str | None = None
    kubeconfig: str | None = None
    log_format: str = Field(default="console", validation_alias="CHATOPS_LOG_FORMAT")
    # which background work this process runs: "all" (one process does everything), "web" (Slack
    # and the alert intake only) or "worker" (the alert worker and outbound queue, health/metrics)
    role: Literal["all", "web", "worker"] = Field(default="all", validation_alias="CHATOPS_ROLE")
    # HTTP mode without a signing secret accepts unsigned requests: for a local sandbox only
    insecure_no_signature: bool = Field(default=False, validation_alias=INSECURE_ENV)
    # pagers and the public status page (escalation); a URL left unset is the vendor's own
    pagerduty_routing_key: SecretStr = SecretStr("")
    pagerduty_api_url: str | None = None
    opsgenie_api_key: SecretStr = SecretStr("")
    opsgenie_api_url: str | None = None
    statuspage_api_key: SecretStr = SecretStr("")
    statuspage_page_id: str = ""
    statuspage_api_url: str | None = None
    # issue trackers for follow-ups (review.trackers in the policy): GitHub Issues with a token (fine-
    # grained "Issues: read and write"); Jira at JIRA_URL with JIRA_EMAIL + JIRA_API_TOKEN (Cloud, basic
    # auth) or JIRA_API_TOKEN alone (Data Center personal access token, bearer)
    github_token: SecretStr = SecretStr("")
    github_api_url: str | None = None
    jira_url: str = ""
    jira_email: str = ""
    jira_api_token: SecretStr = SecretStr("")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        secrets_dir = os.environ.get(SECRETS_DIR_ENV)
        if secrets_dir:
            file_secret_settings = SecretsSettingsSource(settings_cls, secrets_dir=secrets_dir)
        return init_settings, env_settings, dotenv_settings, file_secret_settings

    @property
    def runs_workers(self) -> bool:
        return self.role != "web"

    def secret_values(self) -> list[str]:
        """Every secret this process holds (for log redaction)."""
        values = (
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.pagerduty_routing_key,
            self.opsgenie_api_key,
            self.statuspage_api_key,
            self.github_token,
            self.jira_api_token,
            self.redis_password,
            self.redis_sentinel_password,
        )
        return [v.get_secret_value() for v in values if v.get_secret_value()]

    @staticmethod
    def named_secret(name: str) -> str:
        """A secret whose name the policy gives (e.g. a PagerDuty target's ``routing_key_env``): the
        environment variable ``name``, else the file ``name`` (or its lower-case form) in
        ``CHATOPS_SECRETS_DIR``; "" when neither is there."""
        value = os.environ.get(name, "").strip()
        if value:
            return value
        secrets_dir = os.environ.get(SECRETS_DIR_ENV)
        if secrets_dir:
            for candidate in (name, name.lower()):
                path = Path(secrets_dir) / candidate
                if path.is_file():
                    return path.read_text().strip()
        return ""

    @property
    def api_base(self) -> str:
        """Base URL for slack_sdk clients: always ends with a slash."""
        url = self.slack_api_url
        return url if url.endswith("/") else url + "/"
