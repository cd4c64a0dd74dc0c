"""Story with a real Prometheus and a real Alertmanager (group_by service): two alert names in one
group, both named in the root and the replies, the headline following what fires, startsAt times; a
silence made from the Slack button appears in Alertmanager with the Slack user as author, its preview
count is Alertmanager's own, and Unsilence expires it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.alerts.slackview import alert_lines, channel_id, message_text, read_channel
from tests.conftest import BotProcess, eventually

ALICE = "U0ALICE001"

RULES = """
groups:
- name: checkout
  rules:
  - alert: KubePodCrashLooping
    expr: test_restarts > 3
    for: 0s
    labels: {severity: critical, service: checkout}
    annotations:
      summary: "Pod {{ $labels.pod }} is crash looping"
  - alert: KubeDeploymentReplicasMismatch
    expr: test_available < 3
    for: 0s
    labels: {severity: warning, service: checkout}
    annotations:
      summary: "Deployment {{ $labels.deployment }} has {{ $value }} of 3 replicas"
"""


def metrics(restarts: int, available: int) -> str:
    return f'test_restarts{{pod="checkout-7d9f"}} {restarts}\ntest_available{{deployment="checkout"}} {available}\n'


async def sandbox_json(sandbox: Any, method: str, path: str, **kw: Any) -> Any:
    async with httpx.AsyncClient() as http:
        resp = await http.request(method, f"{sandbox.url}{path}", **kw)
    return resp.json()


@pytest.mark.slow
async def test_mixed_group_story_with_silence(
    sandbox: Any,
    redis_prefix: str,
    tmp_path: Any,
    metrics_endpoint: Any,
    prometheus_factory: Any,
    alertmanager_factory: Any,
) -> None:
    bot = BotProcess(sandbox, redis_prefix, "alerts:\n  default_channel: '#alerts'\n", tmp_path)
    await bot.start()
    try:
        metrics_endpoint.set(metrics(0, 3))
        am = await asyncio.to_thread(
            alertmanager_factory, f"{bot.url}/alerts/alertmanager", group_by=["service"]
        )
        await asyncio.to_thread(prometheus_factory, rules={"checkout.yml": RULES}, alertmanagers=[am.address])
        client = bot.ctx.gateway.client
        channel = await channel_id(client, "alerts")

        async def threads_where(check: Any) -> Any:
            threads = await read_channel(client, channel)
            return threads if threads and check(threads) else None

        metrics_endpoint.set(metrics(9, 1))
        threads = await eventually(
            lambda: threads_where(
                lambda t: "[FIRING:2] KubeDeploymentReplicasMismatch, KubePodCrashLooping" in t[0].root_text
            ),
            timeout=150,
            interval=2,
        )
        assert len(threads) == 1
        root = threads[0].root_text
        assert "*KubePodCrashLooping* — Pod checkout-7d9f is crash looping `pod=checkout-7d9f`" in root
        assert "*KubeDeploymentReplicasMismatch* — Deployment checkout has 1 of 3 replicas" in root
        assert "*Firing* since <!date^" in root
        lines = alert_lines(threads)
        assert any(ln.startswith("• *KubePodCrashLooping* — ") for ln in lines)
        assert any(ln.startswith("• *KubeDeploymentReplicasMismatch* — ") for ln in lines)

        # the crash loop ends: the headline names what still fires; the reply names the resolved alert
        metrics_endpoint.set(metrics(0, 1))
        threads = await eventually(
            lambda: threads_where(lambda t: "[FIRING:1] KubeDeploymentReplicasMismatch" in t[0].root_text),
            timeout=150,
            interval=2,
        )
        resolved = [ln for ln in alert_lines(threads) if "resolved after" in ln]
        assert resolved and resolved[-1].startswith("• *KubePodCrashLooping* — Pod checkout-7d9f")

        # Silence from Slack: the modal's preview is Alertmanager's own count of what fires now
        ts = threads[0].root["ts"]
        await sandbox_json(
            sandbox,
            "POST",
            "/sandbox/click",
            json={"user": ALICE, "channel": channel, "message_ts": ts, "action_id": "alerts_silence"},
        )

        async def modal() -> Any:
            views = (await sandbox_json(sandbox, "GET", "/sandbox/views", params={"user": ALICE}))["views"]
            return views[-1] if views else None

        view = await eventually(modal, timeout=20, interval=0.3)
        async with httpx.AsyncClient() as http:
            am_firing = (
                await http.get(
                    f"{am.url}/api/v2/alerts",
                    params=[("filter", 'service="checkout"'), ("active", "true"), ("silenced", "false")],
                )
            ).json()
        shown = str(view)
        assert f"would mute *{len(am_firing)}* alert" in shown and len(am_firing) == 1

        result = await sandbox_json(
            sandbox,
            "POST",
            "/sandbox/submit",
            json={
                "user": ALICE,
                "view_id": view["id"],
                "values": {"duration": {"choice": "4h"}, "comment": {"text": "deploying a fix"}},
            },
        )
        assert result["ok"], result

        async def silences() -> Any:
            async with httpx.AsyncClient() as http:
                found = (await http.get(f"{am.url}/api/v2/silences")).json()
            active = [s for s in found if s["status"]["state"] == "active"]
            return active or None

        [silence] = await eventually(silences, timeout=20, interval=0.3)
        assert silence["createdBy"] == ALICE and silence["comment"] == "deploying a fix"
        assert {(m["name"], m["value"]) for m in silence["matchers"]} == {("service", "checkout")}
        threads = await eventually(
            lambda: threads_where(lambda t: f"Silenced by <@{ALICE}>" in t[0].root_text), timeout=20
        )
        assert any(f"Silenced by <@{ALICE}> until <!date^" in message_text(r) for r in threads[0].replies)
        buttons = [e for b in threads[0].root["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert "Unsilence" in [e["text"]["text"] for e in buttons]

        # Unsilence expires it in Alertmanager
        await sandbox_json(
            sandbox,
            "POST",
            "/sandbox/click",
            json={"user": ALICE, "channel": channel, "message_ts": ts, "action_id": "alerts_unsilence"},
        )

        async def expired() -> bool:
            async with httpx.AsyncClient() as http:
                one = (await http.get(f"{am.url}/api/v2/silence/{silence['id']}")).json()
            return one["status"]["state"] == "expired"

        assert await eventually(expired, timeout=20, interval=0.3)
        threads = await eventually(
            lambda: threads_where(
                lambda t: (
                    "Silence ended early by" in message_text(t[0].replies[-1])
                    and "Silenced by" not in t[0].root_text
                )
            ),
            timeout=20,
        )
        buttons = [e for b in threads[0].root["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert "Silence" in [e["text"]["text"] for e in buttons]
    finally:
        await bot.stop()
