"""Silences with a real Alertmanager (alerts posted to its API, no Prometheus needed): a silence made
from the Slack button mutes the group in Alertmanager (its alerts, and one that arrives while it is on,
are suppressed by it); a silence deleted in Alertmanager is noted in the thread and leaves the root;
a silence made outside Slack shows on the root with its author, and its end is noted. The policy's
``alerts.alertmanager_url`` names the Alertmanager."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bot.alerts.silence_watch import reconcile
from bot.alerts.state import AlertState, GroupState, SilenceNote
from integrations.alertmanager import Matcher, Silence
from tests.alerts.slackview import channel_id, message_text, read_channel
from tests.conftest import BotProcess, eventually

ALICE = "U0ALICE001"


def am_alert(instance: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "labels": {
            "alertname": "DiskFull",
            "service": "storage",
            "instance": instance,
            "severity": "warning",
        },
        "annotations": {"summary": f"Disk on {instance} is full"},
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(hours=1)).isoformat(),
    }


async def am_call(am: Any, method: str, path: str, **kw: Any) -> Any:
    async with httpx.AsyncClient(base_url=am.url, timeout=10) as http:
        resp = await http.request(method, path, **kw)
    assert resp.status_code < 300, resp.text
    return resp.json() if resp.content else None


async def sandbox_call(sandbox: Any, method: str, path: str, **kw: Any) -> Any:
    async with httpx.AsyncClient() as http:
        resp = await http.request(method, f"{sandbox.url}{path}", **kw)
    return resp.json()


def buttons(message: dict[str, Any]) -> list[str]:
    return [e["text"]["text"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


async def test_silences_in_and_outside_slack(
    sandbox: Any, redis_prefix: str, tmp_path: Any, alertmanager_factory: Any
) -> None:
    bot = BotProcess(sandbox, redis_prefix, "{}\n", tmp_path)
    am = await asyncio.to_thread(alertmanager_factory, f"{bot.url}/alerts/alertmanager", group_by=["service"])
    assert bot.policy_path is not None
    await asyncio.to_thread(
        Path(bot.policy_path).write_text,
        f"alerts:\n  default_channel: '#alerts'\n  alertmanager_url: '{am.url}'\n  silence_poll_seconds: 0.5\n",
    )
    await bot.start()
    try:
        client = bot.ctx.gateway.client
        channel = await channel_id(client, "alerts")
        await am_call(am, "POST", "/api/v2/alerts", json=[am_alert("disk-a")])

        async def root_where(check: Any) -> Any:
            threads = await read_channel(client, channel)
            return threads[0] if threads and check(threads[0]) else None

        thread = await eventually(
            lambda: root_where(lambda t: "[FIRING:1] DiskFull" in t.root_text), timeout=30, interval=1
        )
        assert f"<{am.url}|Alertmanager>" in thread.root_text  # the policy's Alertmanager
        ts = thread.root["ts"]

        # Silence from Slack
        await sandbox_call(
            sandbox,
            "POST",
            "/sandbox/click",
            json={"user": ALICE, "channel": channel, "message_ts": ts, "action_id": "alerts_silence"},
        )

        async def modal() -> Any:
            views = (await sandbox_call(sandbox, "GET", "/sandbox/views", params={"user": ALICE}))["views"]
            return views[-1] if views else None

        view = await eventually(modal, timeout=20, interval=0.3)
        assert "would mute *1* alert" in str(view)
        done = await sandbox_call(
            sandbox,
            "POST",
            "/sandbox/submit",
            json={
                "user": ALICE,
                "view_id": view["id"],
                "values": {"comment": {"text": "replacing the disk"}},
            },
        )
        assert done["ok"], done
        thread = await eventually(
            lambda: root_where(lambda t: f"Silenced by <@{ALICE}>" in t.root_text), timeout=30, interval=1
        )
        silences = await am_call(am, "GET", "/api/v2/silences")
        [ours] = [s for s in silences if s["status"]["state"] == "active"]
        assert ours["createdBy"] == ALICE

        # the silence mutes the group: its alert, and one arriving while it is on, are suppressed by it
        await am_call(am, "POST", "/api/v2/alerts", json=[am_alert("disk-a"), am_alert("disk-b")])

        async def suppressed() -> Any:
            alerts = await am_call(am, "GET", "/api/v2/alerts", params={"filter": 'service="storage"'})
            states = {
                a["labels"]["instance"]: (a["status"]["state"], a["status"]["silencedBy"]) for a in alerts
            }
            return states if len(states) == 2 else None

        states = await eventually(suppressed, timeout=20, interval=0.3)
        assert states == {"disk-a": ("suppressed", [ours["id"]]), "disk-b": ("suppressed", [ours["id"]])}

        # deleted in Alertmanager (not from Slack): the thread says so, the root offers Silence again
        await am_call(am, "DELETE", f"/api/v2/silence/{ours['id']}")
        thread = await eventually(
            lambda: root_where(
                lambda t: (
                    "Silenced by" not in t.root_text
                    and any("was ended early in Alertmanager" in message_text(r) for r in t.replies)
                )
            ),
            timeout=30,
            interval=1,
        )
        # once, as its own line (the outbox may merge it with a reply queued beside it)
        note = f":bell: The silence by <@{ALICE}> was ended early in Alertmanager."
        ended = [
            line for r in thread.replies for line in message_text(r).splitlines() if "ended early" in line
        ]
        assert ended == [note]
        assert "Silence" in buttons(thread.root) and "Unsilence" not in buttons(thread.root)

        # a silence made outside Slack shows on the root with its author; its end is noted
        outside = await am_call(
            am,
            "POST",
            "/api/v2/silences",
            json={
                "matchers": [{"name": "instance", "value": "disk-a", "isRegex": False, "isEqual": True}],
                "startsAt": datetime.now(UTC).isoformat(),
                "endsAt": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
                "createdBy": "ops@example.org",
                "comment": "disk swap",
            },
        )
        thread = await eventually(
            lambda: root_where(
                lambda t: "Silenced in Alertmanager by *ops@example.org* until <!date^" in t.root_text
            ),
            timeout=30,
            interval=1,
        )
        assert any(
            "Silenced in Alertmanager by *ops@example.org* until" in message_text(r)
            and message_text(r).endswith(": disk swap")
            for r in thread.replies
        )
        await am_call(am, "DELETE", f"/api/v2/silence/{outside['silenceID']}")
        thread = await eventually(
            lambda: root_where(
                lambda t: (
                    "Silenced in Alertmanager" not in t.root_text
                    and any(
                        "The silence by *ops@example.org* was ended early" in message_text(r)
                        for r in t.replies
                    )
                )
            ),
            timeout=30,
            interval=1,
        )
        assert sum("Silenced in Alertmanager by" in message_text(r) for r in thread.replies) == 1
    finally:
        await bot.stop()


T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def group(**extra: Any) -> GroupState:
    alert = AlertState(
        fingerprint="f1",
        status="firing",
        labels={"alertname": "DiskFull", "instance": "disk-a"},
        starts_at=T0,
        first_seen=T0,
        last_change=T0,
    )
    return GroupState(
        gid="g1", group_key="k", channel="#alerts", alerts={"f1": alert}, first_seen=T0, **extra
    )


def silence(sid: str, state: str, ends: datetime, value: str = "disk-a") -> Silence:
    return Silence(sid, state, "ops", "", T0, ends, (Matcher("instance", value),))


def test_reconcile_expiry_pending_and_other_groups() -> None:
    now = T0 + timedelta(hours=1)
    own = group(silence_id="s1", silenced_by=ALICE, silenced_until=now)
    changed, events = reconcile(own, {"s1": silence("s1", "expired", now)}, now)
    assert changed and own.silence_id is None
    assert [e.text for e in events] == [f":bell: The silence by <@{ALICE}> expired."]

    state = group()
    silences = {
        "p": silence("p", "pending", now + timedelta(hours=1)),  # not muting yet
        "x": silence("x", "active", now + timedelta(hours=1), value="disk-z"),  # another alert
    }
    assert reconcile(state, silences, now) == (False, [])

    noted = group(external_silences={"e": SilenceNote(created_by="ops", ends_at=now + timedelta(hours=1))})
    changed, events = reconcile(noted, {}, now)
    assert changed and noted.external_silences == {}
    assert [e.text for e in events] == [":bell: The silence by *ops* is gone from Alertmanager."]

    creating = group(silencing_since=now - timedelta(seconds=5))
    assert reconcile(creating, {"a": silence("a", "active", now + timedelta(hours=1))}, now) == (False, [])
