"""Runtime settings from the environment (secrets never live in the policy file)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the process reads from its environment.

    Secrets may also come from files: pydantic-settings reads ``/run/secrets/<name>`` when
    ``CHATOPS_SECRETS_DIR`` points there (Kubernetes secret volumes, Docker secrets).
    """

    model_config = SettingsConfigDict(
        env_prefix="", case_sensitive=False, extra="ignore", populate_by_name=True
    )

    slack_bot_token: SecretStr = SecretStr("")
    slack_signing_secret: SecretStr = SecretStr("")
    slack_app_token: SecretStr = SecretStr("")
    slack_api_url: str = "https://slack.com/api/"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = Field(default="chatops", validation_alias="CHATOPS_REDIS_PREFIX")
    chatops_config: str | None = None
    prometheus_url: str | None = None
    kubeconfig: str | None = None
    log_format: str = Field(default="console", validation_alias="CHATOPS_LOG_FORMAT")

    @property
    def api_base(self) -> str:
        """Base URL for slack_sdk clients: always ends with a slash."""
        url = self.slack_api_url
        return url if url.endswith("/") else url + "/"
