"""Real Prometheus (rule on a metric the test controls) → real Alertmanager → the bot → the sandbox."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.alerts.slackview import channel_id, last_state, message_text, read_channel
from tests.conftest import eventually

RULES = """
groups:
- name: test
  rules:
  - alert: QueueTooDeep
    expr: test_queue_depth > 10
    for: 0s
    labels:
      severity: warning
      team: payments
    annotations:
      summary: "Queue {{ $labels.queue }} is backing up"
      description: "More than 10 messages waiting."
      runbook_url: "https://runbooks.example/queue-too-deep"
"""


def depth(a: int, b: int) -> str:
    return f'test_queue_depth{{queue="a"}} {a}\ntest_queue_depth{{queue="b"}} {b}\n'


async def test_prometheus_alertmanager_bot_sandbox(
    monkeypatch: pytest.MonkeyPatch,
    sandbox: Any,
    redis_prefix: str,
    tmp_path: Any,
    metrics_endpoint: Any,
    prometheus_factory: Any,
    alertmanager_factory: Any,
) -> None:
    monkeypatch.setenv("TEST_AM_TOKEN", "am-secret")
    from tests.conftest import BotProcess

    bot = BotProcess(sandbox, redis_prefix, None, tmp_path)
    bot.policy_path = str(tmp_path / "policy.yml")
    (tmp_path / "policy.yml").write_text(bot_policy_text())
    await bot.start()
    try:
        metrics_endpoint.set(depth(0, 0))
        am = await asyncio.to_thread(
            alertmanager_factory,
            f"{bot.url}/alerts/alertmanager",
            bearer_token="am-secret",
            group_by=["alertname"],
        )
        await asyncio.to_thread(prometheus_factory, rules={"queue.yml": RULES}, alertmanagers=[am.address])
        client = bot.ctx.gateway.client
        channel = await channel_id(client, "payments-alerts")

        async def threads_where(check: Any) -> Any:
            threads = await read_channel(client, channel)
            return threads if check(threads) else None

        # 1. queue a backs up: a root post in the routed channel and a thread reply
        metrics_endpoint.set(depth(50, 0))
        threads = await eventually(
            lambda: threads_where(lambda t: last_state(t, "queue=a") == "firing"),
            timeout=150,
            interval=3,
        )
        assert len(threads) == 1
        root = threads[0].root_text
        assert "QueueTooDeep" in root and "Queue a is backing up" in root and "warning" in root
        buttons = [e for b in threads[0].root["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert [e["text"]["text"] for e in buttons] == [
            "Acknowledge",
            "Declare incident",
            "Silence",
            "Runbook",
        ]
        assert buttons[3]["url"] == "https://runbooks.example/queue-too-deep"

        # 2. the bot restarts; queue b backs up too: the same thread continues
        await bot.restart()
        metrics_endpoint.set(depth(50, 50))
        threads = await eventually(
            lambda: threads_where(
                lambda t: last_state(t, "queue=b") == "firing" and "FIRING:2" in t[0].root_text
            ),
            timeout=150,
            interval=3,
        )
        assert len(threads) == 1

        # 3. both recover: the root shows resolved, a reply says so
        metrics_endpoint.set(depth(0, 0))
        threads = await eventually(
            lambda: threads_where(
                lambda t: (
                    "[RESOLVED]" in t[0].root_text
                    and t[0].replies
                    and "resolved after" in message_text(t[0].replies[-1])
                )
            ),
            timeout=150,
            interval=3,
        )
        assert len(threads) == 1
        assert last_state(threads, "queue=a") == last_state(threads, "queue=b") == "resolved"
        assert "Resolved* after" in threads[0].root_text
        # nothing went to the default channel
        assert await read_channel(client, await channel_id(client, "alerts")) == []
    finally:
        await bot.stop()


def bot_policy_text() -> str:
    return (
        "alerts:\n"
        "  default_channel: '#alerts'\n"
        "  routes:\n"
        "    - match: {severity: critical}\n      channel: '#alerts-critical'\n"
        "    - match: {team: payments}\n      channel: '#payments-alerts'\n"
        "  auth:\n    bearer_token_env: TEST_AM_TOKEN\n"
    )
