"""Declare incident from an alert, through the sandbox: the modal is prefilled from the group (title from
the firing alerts, severity by the policy's severity_map, service from the labels); submitting declares
the incident, the alert thread and the incident point at each other, and the war room gets the group's
summary and runbook link."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from bot.alerts.declare import mapped_severity
from bot.config.policy import Policy, PolicyError, parse_policy
from bot.escalation.runtime import runtime
from bot.incidents import views as incident_views
from tests.alerts.payloads import alert, payload
from tests.alerts.slackview import channel_id, message_text, read_channel
from tests.conftest import eventually

BOB = "U0BOB00002"


@pytest.fixture
def bot_policy() -> str:
    return "alerts:\n  default_channel: '#alerts'\n  severity_map: {warning: high}\n"


def checkout_group() -> dict[str, Any]:
    crash = alert(
        {
            "alertname": "KubePodCrashLooping",
            "service": "checkout",
            "pod": "checkout-7d9f",
            "severity": "warning",
        },
        annotations={"summary": "Pod checkout-7d9f is crash looping"},
    )
    replicas = alert(
        {
            "alertname": "KubeDeploymentReplicasMismatch",
            "service": "checkout",
            "deployment": "checkout",
            "severity": "warning",
        },
        annotations={"summary": "Deployment checkout has 1 of 3 replicas"},
    )
    return payload(
        {"service": "checkout"},
        [crash, replicas],
        annotations={"runbook_url": "https://runbooks.example.org/checkout"},
    )


async def sandbox_call(sandbox: Any, method: str, path: str, **kw: Any) -> Any:
    async with httpx.AsyncClient() as http:
        resp = await http.request(method, f"{sandbox.url}{path}", **kw)
    return resp.json()


def input_element(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b["element"] for b in view["blocks"] if b.get("block_id") == block_id)


async def open_declare_modal(bot: Any, sandbox: Any) -> tuple[Any, str, Any, dict[str, Any]]:
    """The checkout group fires; Bob clicks *Declare incident* on its root. (client, alerts channel
    id, the alert thread, the modal Bob sees)."""
    async with httpx.AsyncClient() as http:
        resp = await http.post(f"{bot.url}/alerts/alertmanager", content=json.dumps(checkout_group()))
    assert resp.status_code == 200
    client = bot.ctx.gateway.client
    channel = await channel_id(client, "alerts")

    async def root() -> Any:
        threads = await read_channel(client, channel)
        return threads[0] if threads else None

    thread = await eventually(root, timeout=30, interval=0.5)
    await sandbox_call(
        sandbox,
        "POST",
        "/sandbox/click",
        json={
            "user": BOB,
            "channel": channel,
            "message_ts": thread.root["ts"],
            "action_id": "alerts_declare",
        },
    )

    async def modal() -> Any:
        views = (await sandbox_call(sandbox, "GET", "/sandbox/views", params={"user": BOB}))["views"]
        return views[-1] if views else None

    view = await eventually(modal, timeout=20, interval=0.3)
    return client, channel, thread, view


async def test_declare_from_alert_prefills_and_links_both_ways(bot: Any, sandbox: Any) -> None:
    client, channel, thread, view = await open_declare_modal(bot, sandbox)

    async def root() -> Any:
        threads = await read_channel(client, channel)
        return threads[0] if threads else None

    title = input_element(view, "title")["initial_value"]
    assert title == "KubeDeploymentReplicasMismatch, KubePodCrashLooping on checkout"
    assert input_element(view, "severity")["initial_option"]["value"] == "high"  # warning → high (policy)
    assert input_element(view, "service")["initial_value"] == "checkout"

    result = await sandbox_call(
        sandbox, "POST", "/sandbox/submit", json={"user": BOB, "view_id": view["id"], "values": {}}
    )
    assert result["ok"], result

    async def declared() -> Any:
        state = await bot.ctx.alerts.worker.load(thread_gid(thread))
        return state.incident_id if state and state.incident_id else None

    inc_id = await eventually(declared, timeout=30, interval=0.3)
    incident = await bot.ctx.store.get(inc_id)
    assert incident.created_by == BOB and incident.severity == "high" and incident.service == "checkout"
    assert incident.title == title
    assert incident.war_room is not None and incident.announcement is not None
    permalink = (await client.chat_getPermalink(channel=channel, message_ts=thread.root["ts"]))["permalink"]
    assert [link.url for link in incident.alert_links] == [permalink]

    # the alert thread names the incident and its war room; the root shows the incident
    room = incident.war_room.channel_id

    async def thread_reply() -> Any:
        t = await root()
        texts = [message_text(r) for r in t.replies]
        hit = [x for x in texts if f"Incident *{inc_id}* declared by <@{BOB}>" in x]
        return (t, hit[0]) if hit and f"Incident *{inc_id}*" in t.root_text else None

    thread, reply = await eventually(thread_reply, timeout=30, interval=0.5)
    assert f"war room <#{room}>" in reply and "|announcement>" in reply

    # the announcement (and the war room's pinned copy) link back to the alert thread
    async def announced() -> Any:
        inc = await bot.ctx.store.get(inc_id)
        assert inc.announcement is not None
        history = await client.conversations_history(channel=inc.announcement.channel, limit=50)
        msg = next(m for m in history["messages"] if m["ts"] == inc.announcement.ts)
        text = message_text(msg)
        return text if f"From alert <{permalink}|" in text else None

    announcement = await eventually(announced, timeout=60, interval=0.5)
    assert "[FIRING:2] KubeDeploymentReplicasMismatch, KubePodCrashLooping" in announcement

    # the war room gets the group's summary, its alert lines and the runbook link
    async def war_room_summary() -> Any:
        history = await client.conversations_history(channel=room, limit=50)
        texts = [message_text(m) for m in history["messages"]]
        return next((t for t in texts if "Declared from alert" in t), None)

    summary = await eventually(war_room_summary, timeout=60, interval=0.5)
    assert f"<{permalink}|[FIRING:2] KubeDeploymentReplicasMismatch, KubePodCrashLooping>" in summary
    assert "*KubePodCrashLooping* — Pod checkout-7d9f is crash looping `pod=checkout-7d9f`" in summary
    assert "*KubeDeploymentReplicasMismatch* — Deployment checkout has 1 of 3 replicas" in summary
    assert "<https://runbooks.example.org/checkout|Runbook>" in summary

    # a second click on the (re-rendered) root has nothing to declare
    assert "Declare incident" not in json.dumps(thread.root["blocks"])


async def test_declare_from_alert_as_triage_opens_no_war_room_until_accepted(bot: Any, sandbox: Any) -> None:
    client, channel, thread, view = await open_declare_modal(bot, sandbox)
    options = input_element(view, "options")
    assert options["type"] == "checkboxes"
    assert [(o["value"], o["text"]["text"]) for o in options["options"]] == [("triage", "Start as triage")]

    result = await sandbox_call(
        sandbox,
        "POST",
        "/sandbox/submit",
        json={"user": BOB, "view_id": view["id"], "values": {"options": {"choice": ["triage"]}}},
    )
    assert result["ok"], result

    async def declared() -> Any:
        state = await bot.ctx.alerts.worker.load(thread_gid(thread))
        return state.incident_id if state and state.incident_id else None

    inc_id = await eventually(declared, timeout=30, interval=0.3)
    incident = await bot.ctx.store.get(inc_id)
    assert incident.triage and incident.war_room is None and incident.announcement is not None
    assert incident.severity == "high" and incident.service == "checkout" and incident.created_by == BOB
    assert incident.alert_groups == [thread_gid(thread)]
    assert not any(c.name.startswith(f"{inc_id.lower()}-") for c in sandbox.core.workspace.channels.values())
    rt = runtime(bot.ctx)
    assert not await rt.store.timers(inc_id) and not await rt.store.paged(inc_id)

    # the alert thread says the incident is in triage; the announcement offers Accept, not Acknowledge
    async def thread_reply() -> Any:
        threads = await read_channel(client, channel)
        texts = [message_text(r) for r in threads[0].replies] if threads else []
        return next((x for x in texts if f"Incident *{inc_id}* declared by <@{BOB}> in triage" in x), None)

    reply = await eventually(thread_reply, timeout=30, interval=0.5)
    assert "war room" not in reply and "|announcement>" in reply
    ann = await eventually(lambda: _message(client, incident.announcement.channel, incident.announcement.ts))
    ann_actions = _action_ids(ann)
    assert incident_views.ACCEPT in ann_actions and incident_views.ACK not in ann_actions

    # accepted: the normal flow runs (war room, timers)
    await sandbox_call(
        sandbox,
        "POST",
        "/sandbox/click",
        json={
            "user": BOB,
            "channel": incident.announcement.channel,
            "message_ts": incident.announcement.ts,
            "action_id": incident_views.ACCEPT,
        },
    )

    async def accepted() -> Any:
        inc = await bot.ctx.store.get(inc_id)
        return inc if inc.war_room is not None and not inc.triage else None

    incident = await eventually(accepted, timeout=30, interval=0.3)
    assert incident.accepted_by == BOB
    assert await eventually(lambda: rt.store.timers(inc_id), timeout=30, interval=0.3)


async def _message(client: Any, channel: str, ts: str) -> dict[str, Any] | None:
    history = await client.conversations_history(channel=channel, limit=50)
    return next((m for m in history["messages"] if m["ts"] == ts), None)


def _action_ids(msg: dict[str, Any]) -> list[str]:
    return [
        str(el.get("action_id"))
        for block in msg.get("blocks") or []
        for el in block.get("elements") or []
        if isinstance(el, dict) and el.get("action_id")
    ]


def thread_gid(thread: Any) -> str:
    for block in thread.root["blocks"]:
        for el in block.get("elements") or []:
            if isinstance(el, dict) and el.get("action_id") == "alerts_ack":
                return str(el["value"])
    raise AssertionError("no Acknowledge button on the root")


def test_severity_map_defaults_and_policy_check() -> None:
    policy = Policy()
    assert [mapped_severity(policy, v) for v in ("CRITICAL", "warning", "info", "p2", "bogus", "")] == [
        "critical",
        "medium",
        "low",
        "high",
        None,
        None,
    ]
    with pytest.raises(PolicyError, match=r"severity_map\.warning: 'sev9' is not one of the severities"):
        parse_policy("alerts:\n  severity_map: {warning: sev9}\n", "policy.yml")
