"""Buttons on alert posts, clicked in the sandbox: Acknowledge, Declare incident; auto-declare; /metrics."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.alerts.payloads import host_alerts, payload
from tests.alerts.slackview import channel_id, message_text, read_channel
from tests.conftest import eventually

ALICE = "U0ALICE001"
BOB = "U0BOB00002"


@pytest.fixture
def bot_policy() -> str:
    return (
        "alerts:\n"
        "  default_channel: '#alerts'\n"
        "  auto_declare:\n"
        "    - match: {severity: critical, team: payments}\n"
        "      severity: critical\n"
    )


async def post_alerts(bot: Any, data: dict) -> None:
    async with httpx.AsyncClient() as http:
        resp = await http.post(f"{bot.url}/alerts/alertmanager", content=json.dumps(data))
    assert resp.status_code == 200, resp.text


async def root_of(bot: Any, channel: str, needle: str) -> Any:
    client = bot.ctx.gateway.client

    async def find() -> Any:
        for t in await read_channel(client, channel):
            if needle in t.root_text:
                return t
        return None

    return await eventually(find, timeout=30, interval=1.5)


async def click(sandbox: Any, user: str, channel: str, ts: str, action_id: str) -> dict:
    async with httpx.AsyncClient() as http:
        resp = await http.post(
            f"{sandbox.url}/sandbox/click",
            json={"user": user, "channel": channel, "message_ts": ts, "action_id": action_id},
        )
    return resp.json()


async def test_acknowledge_and_declare_buttons(bot: Any, sandbox: Any) -> None:
    await post_alerts(
        bot, payload({"alertname": "DiskFull"}, host_alerts("DiskFull", range(2), severity="warning"))
    )
    channel = await channel_id(bot.ctx.gateway.client, "alerts")
    thread = await root_of(bot, channel, "DiskFull")

    await click(sandbox, ALICE, channel, thread.root["ts"], "alerts_ack")
    thread = await root_of(bot, channel, "Acknowledged by <@U0ALICE001>")
    assert any("Acknowledged by <@U0ALICE001>" in message_text(r) for r in thread.replies)
    # a second acknowledgement changes nothing
    await click(sandbox, BOB, channel, thread.root["ts"], "alerts_ack")

    await click(sandbox, BOB, channel, thread.root["ts"], "alerts_declare")  # opens the prefilled modal

    async def modal() -> Any:
        async with httpx.AsyncClient() as http:
            views = (await http.get(f"{sandbox.url}/sandbox/views", params={"user": BOB})).json()["views"]
        return views[-1] if views else None

    view = await eventually(modal, timeout=20, interval=0.3)
    async with httpx.AsyncClient() as http:
        done = await http.post(
            f"{sandbox.url}/sandbox/submit", json={"user": BOB, "view_id": view["id"], "values": {}}
        )
    assert done.json()["ok"], done.text
    thread = await root_of(bot, channel, "Incident *INC-")
    inc_id = thread.root_text.split("Incident *", 1)[1].split("*", 1)[0]
    incident = await bot.ctx.store.get(inc_id)
    assert incident.created_by == BOB and "DiskFull" in incident.title
    timeline = await bot.ctx.store.timeline(inc_id)
    assert any(e.kind == "alert" and "DiskFull" in e.text for e in timeline)
    assert "<@U0BOB00002>" not in thread.root_text.split("Acknowledged", 1)[0]  # ack stays Alice's
    assert any(f"Incident *{inc_id}* declared by <@U0BOB00002>" in message_text(r) for r in thread.replies)


async def test_critical_alert_declares_incident_automatically(bot: Any) -> None:
    labels = {"severity": "critical", "team": "payments"}
    await post_alerts(
        bot, payload({"alertname": "PaymentsDown"}, host_alerts("PaymentsDown", range(1), **labels))
    )
    channel = await channel_id(bot.ctx.gateway.client, "alerts")
    thread = await root_of(bot, channel, "Incident *INC-")
    inc_id = thread.root_text.split("Incident *", 1)[1].split("*", 1)[0]
    incident = await bot.ctx.store.get(inc_id)
    assert incident.severity == "critical"
    assert any(e.kind == "alert" for e in await bot.ctx.store.timeline(inc_id))


async def test_metrics_exposed(bot: Any) -> None:
    await post_alerts(bot, payload({"alertname": "M"}, host_alerts("M", range(1))))
    async with httpx.AsyncClient() as http:
        resp = await http.post(f"{bot.url}/alerts/alertmanager", content=b"{}")
        assert resp.status_code == 400
        text = (await http.get(f"{bot.url}/metrics")).text
    for name in (
        "chatops_alert_notifications_total",
        "chatops_alert_transitions_total",
        "chatops_outbox_queue_depth",
        "chatops_outbox_ratelimited_total",
        "chatops_slack_calls_total",
        "chatops_slack_ratelimited_total",
    ):
        assert name in text
    assert 'chatops_alert_notifications_total{outcome="rejected_400"}' in text
