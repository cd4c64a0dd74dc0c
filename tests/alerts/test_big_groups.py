"""Stories against Slack's size and membership rules (the sandbox enforces them like Slack):

* a 1,000-alert group and a hostile 5 KB annotation of ``& < >`` are posted without one refused
  call, and the group's resolution still reaches its thread;
* a post whose outcome is uncertain (a timeout) in a channel the bot never joined is resolved
  without a ``not_in_channel`` loop.
"""

from __future__ import annotations

import json
import time
from typing import Any

from bot.config.alerts import AlertsPolicy
from bot.slack.outbox import Op, OutboxConfig, ThreadRef
from tests.alerts.conftest import Pipeline, make_pipeline
from tests.alerts.payloads import host_alerts, payload
from tests.alerts.slackview import channel_id, message_text, read_channel

GROUP = {"alertname": "DiskFull"}
REFUSALS = ("msg_blocks_too_long", "msg_too_long", "invalid_blocks", "invalid_arguments", "not_in_channel")


async def notify(p: Pipeline, data: dict[str, Any]) -> None:
    await p.redis.xadd(p.worker.k.stream, {"body": json.dumps(data)})
    assert await p.worker.consume_once() == 1


def refusals(sandbox: Any) -> dict[str, int]:
    """Every call Slack refused for its content or membership, by method and error."""
    out: dict[str, int] = {}
    for method, outcomes in sandbox.core.stats_json()["methods"].items():
        for outcome, count in outcomes.items():
            if outcome in REFUSALS:
                out[f"{method} {outcome}"] = count
    return out


async def test_a_1000_alert_group_and_a_hostile_annotation_post_without_a_refusal(
    pipeline: Pipeline, sandbox: Any
) -> None:
    p = pipeline
    hostile = ("& <b> <!channel> > " * 300)[:5_000]
    alerts = host_alerts("DiskFull", range(1_000), severity="warning")
    alerts[0]["annotations"] = {"description": hostile, "summary": hostile}
    await notify(p, payload(GROUP, alerts, annotations={"summary": hostile, "description": hostile}))
    assert await p.outbox.drain(120)
    channel = await channel_id(p.client, "alerts")
    threads = await read_channel(p.client, channel)
    assert len(threads) == 1
    root = threads[0]
    assert "DiskFull" in root.root_text and "1000" in root.root_text
    # the broadcast in the annotation never goes out live, and & < > arrive escaped once
    every = [root.root, *root.replies]
    assert not any("<!channel>" in message_text(m) for m in every)
    assert any("&amp;" in message_text(m) for m in every)
    # the 1,000 firing alerts are in the thread, over as many replies as Slack needed
    shown = "\n".join(message_text(m) for m in root.replies)
    assert sum(f"host-{i}" in shown for i in range(1_000)) == 1_000 or "more" in shown

    # all resolved: the resolution reaches the same thread, and the root says so
    await notify(p, payload(GROUP, host_alerts("DiskFull", range(1_000), "resolved", severity="warning")))
    assert await p.outbox.drain(120)
    threads = await read_channel(p.client, channel)
    assert len(threads) == 1
    root = threads[0]
    assert "RESOLVED" in root.root_text.upper()
    last = message_text(root.replies[-1]).lower()
    assert "resolved" in last
    assert refusals(sandbox) == {}
    assert (await p.outbox.stats())["dead"] == 0


async def test_an_uncertain_post_in_a_channel_the_bot_never_joined_resolves_without_a_loop(
    sandbox: Any, redis_prefix: str
) -> None:
    p = await make_pipeline(
        sandbox,
        redis_prefix,
        AlertsPolicy(default_channel="#platform"),
        OutboxConfig(uncertain_grace_seconds=0.2, call_timeout_seconds=0.5, max_backoff_seconds=1.0),
    )
    try:
        platform = await channel_id(p.client, "platform")
        assert "U0CHATOPS1" not in sandbox.channel_by_name("platform")["members"]
        # every answer slower than the outbox waits: the post lands in Slack, the outcome is unknown
        sandbox.set_faults(fault_slow_rate=1.0, slow_seconds=1.0)
        await p.outbox.push(
            ThreadRef("feed", "platform"), platform, ops=[Op(id="op-1", lines=("disk *full* on db-1",))]
        )

        async def posted() -> bool:
            return any("disk" in message_text(m) for m in sandbox.messages("platform"))

        started = time.monotonic()
        while not await posted() and time.monotonic() - started < 10:
            await p.outbox.drain(0.5)
        assert await posted()
        sandbox.set_faults(fault_slow_rate=0.0)
        assert await p.outbox.drain(30)
        texts = [message_text(m) for m in sandbox.messages("platform") if "disk" in message_text(m)]
        assert len(texts) == 1  # looked up, found, never posted twice
        methods = sandbox.core.stats_json()["methods"]
        refused = sum(methods.get(m, {}).get("not_in_channel", 0) for m in ("conversations.history",))
        joins = methods.get("conversations.join", {}).get("ok", 0)
        hidden = methods["conversations.history"].get("fault_slow", 0)  # answers the bot never saw
        # every not_in_channel the bot saw made it join, once: no lookup loop
        assert joins == 1 and 1 <= refused <= joins + hidden, methods
        assert "U0CHATOPS1" in sandbox.channel_by_name("platform")["members"]
        assert await p.outbox.pending(ThreadRef("feed", "platform")) == 0
        assert not (await p.outbox.thread(ThreadRef("feed", "platform"))).get("inflight")
    finally:
        sandbox.set_faults(fault_slow_rate=0.0)
        await p.close()
        await p.redis.aclose()
