"""Paging from the bot: the escalation part calls PagerDuty and Opsgenie (the local vendor server)
when incidents are declared, escalated, acknowledged and resolved in the sandbox; failures land in
the war room."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import eventually
from tests.escalation.policies import ALICE, BOB, CAROL, messages
from tests.pagers.vendor_server import Scripted, VendorServer

POLICY = f"""
escalation:
  levels:
    - level: 1
      name: On-call
      targets: [{{name: primary, users: [{BOB}], pager: {{service: pagerduty}}}}]
    - level: 2
      name: Platform
      targets:
        - {{name: platform, users: [{CAROL}], pager: {{service: opsgenie, responders: [team:platform]}}}}
    - level: 3
      name: Managers
      targets:
        - name: managers
          users: [{ALICE}]
          pager: {{service: pagerduty, routing_key_env: PD_MANAGERS}}
    - level: 4
      name: Nobody's key
      targets:
        - name: ghost
          users: [{ALICE}]
          pager: {{service: pagerduty, routing_key_env: PD_UNSET_KEY}}
  timers: []
  pagers: {{attempts: 2, timeout: 1s}}
"""


@pytest.fixture
def bot_policy(vendor: VendorServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY", vendor.routing_key)
    monkeypatch.setenv("PAGERDUTY_API_URL", vendor.base_url)
    monkeypatch.setenv("PD_MANAGERS", "not-a-valid-key")
    monkeypatch.delenv("PD_UNSET_KEY", raising=False)
    monkeypatch.setenv("OPSGENIE_API_KEY", vendor.genie_key)
    monkeypatch.setenv("OPSGENIE_API_URL", vendor.base_url)
    return POLICY


async def declare(bot: Any, severity: str = "critical") -> Any:
    from bot.incidents import workflow as flow

    out = await flow.declare(
        bot.ctx, user=ALICE, severity=severity, title="Payments failing", service="payments"
    )
    return out.incident


def events(vendor: VendorServer, vendor_name: str) -> list[Any]:
    return vendor.of(vendor_name)


async def timeline_kinds(bot: Any, inc_id: str) -> list[tuple[str, str]]:
    return [(e.kind, e.text) for e in await bot.ctx.store.timeline(inc_id)]


async def test_declare_pages_and_slack_ack_and_resolve_follow(sandbox, bot, vendor) -> None:
    inc = await declare(bot)
    alert = await eventually(lambda: _async(vendor.pd_alerts.get(inc.id)))
    assert alert.status == "triggered" and alert.severity == "critical"
    trigger = events(vendor, "pagerduty")[0].body
    assert trigger["dedup_key"] == inc.id and trigger["payload"]["component"] == "payments"
    assert trigger["payload"]["summary"] == f"{inc.id}: Payments failing"
    # acknowledge in Slack (the announcement's button) acknowledges the page
    await sandbox.click("bob", inc.announcement.channel, inc.announcement.ts, "incident_ack")
    await eventually(lambda: _async(vendor.pd_alerts[inc.id].status == "acknowledged"))
    # resolving in Slack resolves it
    await sandbox.command("bob", "incidents", "/incident", f"resolve {inc.id} rolled back")
    await eventually(lambda: _async(vendor.pd_alerts[inc.id].status == "resolved"))
    assert vendor.pd_alerts[inc.id].events == ["trigger", "acknowledge", "resolve"]
    kinds = await eventually(lambda: _paged_count(bot, inc.id, 3))
    assert ("paged", "Paged via pagerduty for level 1 (On-call)") in kinds


async def test_escalation_pages_opsgenie_and_the_dm_ack_acknowledges(sandbox, bot, vendor) -> None:
    inc = await declare(bot, severity="high")  # high does not page on declaration
    await sandbox.command("alice", "incidents", "/escalate", f"{inc.id} 2 payments team needed")
    alert = await eventually(lambda: _async(vendor.og_alerts.get(inc.id)))
    create = events(vendor, "opsgenie")[0]
    assert create.body["priority"] == "P2" and create.body["responders"] == [
        {"type": "team", "name": "platform"}
    ]
    assert "payments team needed" in create.body["description"]
    assert events(vendor, "pagerduty") == []
    dm = await eventually(lambda: _async(messages(sandbox, "dm-carol")))
    await sandbox.click("carol", "dm-carol", dm[0]["ts"], "escalation_dm_ack")
    await eventually(lambda: _async(alert.acknowledged))
    ack = events(vendor, "opsgenie")[-1]
    assert ack.path == f"/v2/alerts/{inc.id}/acknowledge" and ack.query == {"identifierType": "alias"}
    assert ack.body["user"] == f"slack:{CAROL}"


async def test_a_pager_that_keeps_failing_is_reported_in_the_war_room(sandbox, bot, vendor) -> None:
    vendor.answer_next(Scripted(status=503), Scripted(status=503))
    inc = await declare(bot)
    room = inc.war_room.channel_id

    def warnings() -> list[Any]:
        return [m for m in sandbox.messages(room) if "pagerduty trigger failed" in str(m.get("text", ""))]

    found = await eventually(lambda: _async(warnings()))
    assert "unavailable HTTP 503, 2 attempts" in found[0]["text"]
    assert len(events(vendor, "pagerduty")) == 2
    kinds = await timeline_kinds(bot, inc.id)
    assert any(kind == "page_failed" and "503" in text for kind, text in kinds)


async def test_a_rejected_page_is_reported_once_without_retries(sandbox, bot, vendor) -> None:
    inc = await declare(bot, severity="high")
    await sandbox.command("alice", "incidents", "/escalate", f"{inc.id} 3")
    room = inc.war_room.channel_id
    found = await eventually(
        lambda: _async([m for m in sandbox.messages(room) if "rejected HTTP 400" in str(m.get("text", ""))])
    )
    assert "routing_key" in found[0]["text"]
    assert len(events(vendor, "pagerduty")) == 1


async def test_a_pager_without_its_key_is_reported(sandbox, bot, vendor) -> None:
    inc = await declare(bot, severity="high")
    await sandbox.command("alice", "incidents", "/escalate", f"{inc.id} 4")
    room = inc.war_room.channel_id
    found = await eventually(
        lambda: _async([m for m in sandbox.messages(room) if "key is not set" in str(m.get("text", ""))])
    )
    assert "paging via pagerduty" in found[0]["text"]
    assert events(vendor, "pagerduty") == []


async def _async(value: Any) -> Any:
    return value


async def _paged_count(bot: Any, inc_id: str, n: int) -> list[tuple[str, str]] | None:
    kinds = await timeline_kinds(bot, inc_id)
    return kinds if sum(1 for k, _ in kinds if k == "paged") >= n else None


async def test_reopen_pages_again_and_the_next_resolution_resolves_again(sandbox, bot, vendor) -> None:
    from bot.incidents import workflow as flow

    inc = await declare(bot)
    await eventually(lambda: _async(vendor.pd_alerts.get(inc.id)))
    await flow.resolve(bot.ctx, inc.id, ALICE, "looked fixed")
    await eventually(lambda: _async(vendor.pd_alerts[inc.id].status == "resolved"))
    await flow.reopen(bot.ctx, inc.id, BOB)
    await eventually(lambda: _async(vendor.pd_alerts[inc.id].status == "triggered"))
    await flow.resolve(bot.ctx, inc.id, ALICE, "really fixed now")
    await eventually(lambda: _async(vendor.pd_alerts[inc.id].status == "resolved"))
    actions = [r.body["event_action"] for r in events(vendor, "pagerduty")]
    assert actions == ["trigger", "resolve", "trigger", "resolve"]
    assert {r.body["dedup_key"] for r in events(vendor, "pagerduty")} == {inc.id}
