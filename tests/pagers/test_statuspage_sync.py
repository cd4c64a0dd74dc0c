"""The status page from the bot: `/status update ... --public` and per-severity rules create and
update a Statuspage incident on the local vendor server; its errors are reported in the war room."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import eventually
from tests.escalation.policies import ALICE
from tests.pagers.vendor_server import Scripted, VendorServer

POLICY = """
escalation:
  timers: []
  pagers: {enabled: false, attempts: 2, timeout: 1s}
  statuspage:
    auto_severities: [critical]
    components: {payments: [cmp-pay]}
    default_components: [cmp-web]
"""


@pytest.fixture
def bot_policy(vendor: VendorServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("STATUSPAGE_API_KEY", vendor.statuspage_key)
    monkeypatch.setenv("STATUSPAGE_PAGE_ID", vendor.page_id)
    monkeypatch.setenv("STATUSPAGE_API_URL", vendor.base_url)
    return POLICY


async def declare(bot: Any, severity: str, service: str | None = None) -> Any:
    from bot.incidents import workflow as flow

    out = await flow.declare(
        bot.ctx, user=ALICE, severity=severity, title="Card payments failing", service=service
    )
    return out.incident


async def test_public_flag_creates_then_later_updates_follow(sandbox, bot, vendor) -> None:
    inc = await declare(bot, "high", service="payments")
    assert vendor.of("statuspage") == []  # high is not published by itself
    await sandbox.command(
        "bob", "incidents", "/status", f'update {inc.id} identified "Card processor timeouts" --public'
    )
    sp = await eventually(lambda: _async(next(iter(vendor.sp_incidents.values()), None)))
    create = vendor.of("statuspage")[0].body["incident"]
    assert create["name"] == "Card payments failing" and create["status"] == "identified"
    assert create["body"] == "Card processor timeouts"
    assert create["components"] == {"cmp-pay": "partial_outage"} and create["impact_override"] == "major"
    stored = await bot.ctx.store.get(inc.id)
    assert stored.updates[0].message == "Card processor timeouts"  # the flag is not part of the update
    # later updates need no flag: the incident is public now
    await sandbox.command("bob", "incidents", "/status", f"update {inc.id} monitoring Failover done")
    await eventually(lambda: _async(sp.status == "monitoring"))
    await sandbox.command("bob", "incidents", "/incident", f"resolve {inc.id} Processor recovered")
    await eventually(lambda: _async(sp.status == "resolved"))
    assert sp.components == {"cmp-pay": "operational"}
    assert [u["status"] for u in sp.updates] == ["identified", "monitoring", "resolved"]
    assert [r.method for r in vendor.of("statuspage")] == ["POST", "PATCH", "PATCH"]
    kinds = [(e.kind, e.text) for e in await bot.ctx.store.timeline(inc.id)]
    assert ("statuspage", "Status page incident opened: identified") in kinds


async def test_a_severity_rule_publishes_at_declaration(sandbox, bot, vendor) -> None:
    inc = await declare(bot, "critical")
    sp = await eventually(lambda: _async(next(iter(vendor.sp_incidents.values()), None)))
    assert (
        sp.status == "investigating"
        and sp.components == {"cmp-web": "major_outage"}
        and sp.impact == "critical"
    )
    assert sp.updates[0]["body"] == "We are investigating: Card payments failing"
    key = bot.ctx.keys.custom(f"{{esc:{inc.id}}}", "statuspage")
    assert await eventually(lambda: bot.ctx.redis.get(key)) == sp.id


async def test_a_rejected_push_is_reported_and_a_later_one_recovers(sandbox, bot, vendor) -> None:
    inc = await declare(bot, "high")
    room = inc.war_room.channel_id
    vendor.answer_next(Scripted(status=422, body={"error": ["status is not included in the list"]}))
    await sandbox.command("bob", "incidents", "/status", f"update {inc.id} identified Found it --public")
    warning = await eventually(
        lambda: _async(
            [m for m in sandbox.messages(room) if "status page not updated" in str(m.get("text", ""))]
        )
    )
    assert "rejected HTTP 422" in warning[0]["text"] and "not included in the list" in warning[0]["text"]
    assert vendor.sp_incidents == {}
    await sandbox.command("bob", "incidents", "/status", f"update {inc.id} monitoring Watching")
    sp = await eventually(lambda: _async(next(iter(vendor.sp_incidents.values()), None)))
    assert sp.status == "monitoring"  # the page catches up with the current state


async def test_an_unreachable_status_page_is_reported(sandbox, bot, vendor) -> None:
    inc = await declare(bot, "high")
    room = inc.war_room.channel_id
    vendor.answer_next(Scripted(status=503), Scripted(hang=3))
    await sandbox.command("bob", "incidents", "/status", f"update {inc.id} identified Found it --public")
    warning = await eventually(
        lambda: _async(
            [m for m in sandbox.messages(room) if "status page not updated" in str(m.get("text", ""))]
        )
    )
    assert "timeout" in warning[0]["text"] and "2 attempts" in warning[0]["text"]
    kinds = [e.kind for e in await bot.ctx.store.timeline(inc.id)]
    assert "statuspage_failed" in kinds


async def _async(value: Any) -> Any:
    return value
