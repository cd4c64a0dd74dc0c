"""Vendor secrets live in Settings: read from the environment or CHATOPS_SECRETS_DIR, used by the
escalation runtime's clients against the local vendor server, redacted in logs, and named by
``chatops check-config`` when the policy configures a vendor whose secret is missing."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.escalation.runtime import pager_client, statuspage_client
from bot.logs import add_secrets, setup_logging
from bot.settings import Settings
from chatops.main import main
from integrations.opsgenie import OpsgenieClient
from integrations.pagerduty import PagerDutyClient
from integrations.paging import PageRequest
from integrations.vendor_http import Delivered, RetryPolicy
from tests.pagers.vendor_server import VendorServer

VENDOR_VARS = (
    "PAGERDUTY_ROUTING_KEY",
    "PAGERDUTY_API_URL",
    "OPSGENIE_API_KEY",
    "OPSGENIE_API_URL",
    "STATUSPAGE_API_KEY",
    "STATUSPAGE_PAGE_ID",
    "STATUSPAGE_API_URL",
    "PD_DATABASE_TEAM",
    "CHATOPS_SECRETS_DIR",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in VENDOR_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def secrets_dir(tmp_path: Path, vendor: VendorServer) -> Path:
    folder = tmp_path / "secrets"
    folder.mkdir()
    # a Kubernetes secret volume: one file per key, upper or lower case, trailing newline
    (folder / "PAGERDUTY_ROUTING_KEY").write_text(vendor.routing_key + "\n")
    (folder / "opsgenie_api_key").write_text(vendor.genie_key)
    (folder / "statuspage_api_key").write_text(vendor.statuspage_key + "\n")
    (folder / "STATUSPAGE_PAGE_ID").write_text(vendor.page_id)
    (folder / "PD_DATABASE_TEAM").write_text(vendor.routing_key)  # a target's own routing key
    return folder


async def test_three_vendors_read_their_secrets_from_the_secrets_dir(
    vendor: VendorServer, tmp_path: Path, clean_env: pytest.MonkeyPatch, fast_policy: RetryPolicy
) -> None:
    clean_env.setenv("CHATOPS_SECRETS_DIR", str(secrets_dir(tmp_path, vendor)))
    for name in ("PAGERDUTY_API_URL", "OPSGENIE_API_URL", "STATUSPAGE_API_URL"):
        clean_env.setenv(name, vendor.base_url)
    settings = Settings()
    assert settings.pagerduty_routing_key.get_secret_value() == vendor.routing_key
    assert settings.opsgenie_api_key.get_secret_value() == vendor.genie_key
    assert settings.statuspage_api_key.get_secret_value() == vendor.statuspage_key
    assert settings.statuspage_page_id == vendor.page_id
    assert settings.named_secret("PD_DATABASE_TEAM") == vendor.routing_key
    for secret in (vendor.routing_key, vendor.genie_key, vendor.statuspage_key):
        assert secret in settings.secret_values()
        assert secret not in repr(settings)

    page = PageRequest(incident_id="INC-3", summary="Disk full", severity="high")
    pd = pager_client("pagerduty", settings, fast_policy)
    team = pager_client("pagerduty:PD_DATABASE_TEAM", settings, fast_policy)
    og = pager_client("opsgenie", settings, fast_policy)
    sp = statuspage_client(settings, fast_policy)
    assert isinstance(pd, PagerDutyClient) and isinstance(team, PagerDutyClient)
    assert isinstance(og, OpsgenieClient) and sp is not None
    try:
        results = [
            await pd.trigger(page),
            await team.acknowledge("INC-3"),
            await og.trigger(page),
            await sp.create_incident(
                name="Disk full", status="investigating", body="Looking", severity="high"
            ),
        ]
    finally:
        for client in (pd, team, og, sp):
            await client.aclose()
    assert all(isinstance(r, Delivered) for r in results), [r.reason for r in results]
    assert [r.body["event_action"] for r in vendor.of("pagerduty")] == ["trigger", "acknowledge"]
    assert vendor.og_alerts["INC-3"].priority == "P2"
    assert [i.name for i in vendor.sp_incidents.values()] == ["Disk full"]


def test_without_secrets_there_is_no_client(clean_env: pytest.MonkeyPatch, fast_policy: RetryPolicy) -> None:
    settings = Settings()
    assert pager_client("pagerduty", settings, fast_policy) is None
    assert pager_client("pagerduty:PD_DATABASE_TEAM", settings, fast_policy) is None
    assert pager_client("opsgenie", settings, fast_policy) is None
    assert statuspage_client(settings, fast_policy) is None
    clean_env.setenv("STATUSPAGE_API_KEY", "sp-key-without-page")
    assert statuspage_client(Settings(), fast_policy) is None  # the page ID is needed too


def test_vendor_secrets_are_redacted_in_log_lines(
    clean_env: pytest.MonkeyPatch, log_stream: io.StringIO
) -> None:
    clean_env.setenv("PAGERDUTY_ROUTING_KEY", "pdkey0123456789abcdef")
    clean_env.setenv("OPSGENIE_API_KEY", "0c1f7a2e-genie-key-4b8d")
    clean_env.setenv("STATUSPAGE_API_KEY", "statuspage-key-9f8e7d")
    settings = Settings()
    setup_logging("json", stream=log_stream)
    add_secrets(*settings.secret_values())
    log = logging.getLogger("integrations.vendor_http")
    log.error("pagerduty trigger failed: body %s", {"routing_key": "pdkey0123456789abcdef"})
    log.error("opsgenie said: key %s is disabled", "0c1f7a2e-genie-key-4b8d")
    log.error("statuspage: %s rejected", "statuspage-key-9f8e7d")
    out = log_stream.getvalue()
    assert out.count("\n") == 3
    for secret in ("pdkey0123456789abcdef", "0c1f7a2e-genie-key-4b8d", "statuspage-key-9f8e7d"):
        assert secret not in out
    assert out.count("[redacted]") == 3


POLICY = """
escalation:
  levels:
    - level: 1
      name: On-call
      targets:
        - {name: primary, users: [U0BOB00002], pager: {service: pagerduty}}
        - {name: database, users: [U0BOB00002], pager: {service: pagerduty, routing_key_env: PD_DATABASE_TEAM}}
    - level: 2
      name: Platform
      targets: [{name: platform, users: [U0CAROL003], pager: {service: opsgenie, responders: [team:platform]}}]
  timers: []
  statuspage:
    auto_severities: [critical]
"""


def test_check_config_names_each_missing_vendor_secret(
    tmp_path: Path, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text(POLICY)
    assert main(["check-config", str(policy)]) == 0  # missing secrets are warnings...
    out = capsys.readouterr().out
    for line in (
        "PAGERDUTY_ROUTING_KEY is not set (environment or CHATOPS_SECRETS_DIR) but escalation level 1 "
        "target 'primary' needs it",
        "PD_DATABASE_TEAM is not set (environment or CHATOPS_SECRETS_DIR) but escalation level 1 "
        "target 'database' needs it",
        "OPSGENIE_API_KEY is not set (environment or CHATOPS_SECRETS_DIR) but escalation level 2 "
        "target 'platform' needs it",
        "STATUSPAGE_API_KEY is not set (environment or CHATOPS_SECRETS_DIR) but escalation.statuspage needs it",
        "STATUSPAGE_PAGE_ID is not set (environment or CHATOPS_SECRETS_DIR) but escalation.statuspage needs it",
    ):
        assert f"warning: {policy}: {line}" in out, out
    assert "OK (5 warning(s))" in out
    assert main(["check-config", "--strict", str(policy)]) == 1  # ...that --strict fails on

    # with every secret present (env or secrets dir) there is nothing to say
    folder = tmp_path / "secrets"
    folder.mkdir()
    (folder / "PD_DATABASE_TEAM").write_text("team-key")
    (folder / "statuspage_page_id").write_text("page1")
    clean_env.setenv("CHATOPS_SECRETS_DIR", str(folder))
    clean_env.setenv("PAGERDUTY_ROUTING_KEY", "pd-key")
    clean_env.setenv("OPSGENIE_API_KEY", "og-key")
    clean_env.setenv("STATUSPAGE_API_KEY", "sp-key")
    capsys.readouterr()
    assert main(["check-config", "--strict", str(policy)]) == 0
    out = capsys.readouterr().out
    assert "warning" not in out and out.strip() == f"{policy}: OK"


def test_check_config_without_vendors_has_no_secret_warnings(
    tmp_path: Path, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text("escalation:\n  timers: []\n  pagers: {enabled: false}\n")
    assert main(["check-config", "--strict", str(policy)]) == 0
    assert capsys.readouterr().out.strip() == f"{policy}: OK"
