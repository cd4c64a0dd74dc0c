"""Worker + outbox against the real sandbox and a real Redis: threads, updates, coalescing, restart."""

from __future__ import annotations

import json

from bot.alerts.models import WebhookPayload
from bot.config.alerts import AlertsPolicy
from bot.slack.outbox import Op
from tests.alerts.conftest import Pipeline, make_pipeline
from tests.alerts.payloads import host_alerts, payload
from tests.alerts.slackview import channel_id, final_by_ident, marker, message_text, read_channel

GROUP = {"alertname": "HighLatency"}


async def notify(p: Pipeline, data: dict) -> None:
    """As the intake does: into the stream; then one worker pass."""
    await p.redis.xadd(p.worker.k.stream, {"body": json.dumps(data)})
    assert await p.worker.consume_once() == 1


async def test_firing_then_resolved_gives_root_thread_and_update(pipeline: Pipeline, sandbox) -> None:
    p = pipeline
    await notify(
        p,
        payload(
            GROUP,
            host_alerts("HighLatency", range(2), severity="critical"),
            annotations={"summary": "p99 above 2s"},
        ),
    )
    assert await p.outbox.drain(30)
    alerts = await channel_id(p.client, "alerts")
    threads = await read_channel(p.client, alerts)
    assert len(threads) == 1
    root = threads[0]
    assert "[FIRING:2] HighLatency" in root.root_text and "p99 above 2s" in root.root_text
    assert final_by_ident(threads) == {"instance=host-0": "firing", "instance=host-1": "firing"}

    # one more fires, one resolves: one reply with the changes, root re-rendered in place
    await notify(
        p,
        payload(
            GROUP,
            host_alerts("HighLatency", [0], "resolved", severity="critical")
            + host_alerts("HighLatency", [1, 2], severity="critical"),
        ),
    )
    assert await p.outbox.drain(30)
    threads = await read_channel(p.client, alerts)
    assert len(threads) == 1 and len(threads[0].replies) == 2
    assert "[FIRING:2]" in threads[0].root_text and "1 resolved" in threads[0].root_text
    assert final_by_ident(threads)["instance=host-0"] == "resolved"
    assert final_by_ident(threads)["instance=host-2"] == "firing"

    # all resolved: root shows resolved with a duration, and a reply says so
    await notify(p, payload(GROUP, host_alerts("HighLatency", [1, 2], "resolved", severity="critical")))
    assert await p.outbox.drain(30)
    threads = await read_channel(p.client, alerts)
    assert len(threads) == 1
    assert "[RESOLVED] HighLatency" in threads[0].root_text and "Resolved* after" in threads[0].root_text
    assert "All 3 alerts resolved after" in message_text(threads[0].replies[-1])
    assert set(final_by_ident(threads).values()) == {"resolved"}


async def test_restart_continues_the_same_thread(sandbox, redis_prefix: str) -> None:
    policy = AlertsPolicy()
    first = await make_pipeline(sandbox, redis_prefix, policy)
    await notify(first, payload(GROUP, host_alerts("HighLatency", range(1))))
    assert await first.outbox.drain(30)
    await first.close()
    await first.redis.aclose()

    second = await make_pipeline(sandbox, redis_prefix, policy)  # a fresh process: only Redis survives
    try:
        await notify(second, payload(GROUP, host_alerts("HighLatency", range(2))))
        assert await second.outbox.drain(30)
        threads = await read_channel(second.client, await channel_id(second.client, "alerts"))
        assert len(threads) == 1
        assert len(threads[0].replies) == 2
        assert "host-1" in message_text(threads[0].replies[-1])
    finally:
        await second.close()
        await second.redis.aclose()


async def test_rerenders_coalesce_and_replies_keep_order(pipeline: Pipeline, sandbox) -> None:
    p = pipeline
    alerts = await channel_id(p.client, "alerts")
    tid = "test:coalesce"
    rendered: list[int] = []

    async def render(arg: str):
        from bot.slack.outbox import lines_blocks

        n = int(await p.redis.get(f"{p.keys.prefix}:n") or 0)
        rendered.append(n)
        return f"render {n}", lines_blocks([f"render {n}"])

    p.outbox.register_renderer("t", render)
    await p.redis.set(f"{p.keys.prefix}:n", 0)
    await p.outbox.push(tid, alerts, render="t:x", touch=True)
    assert await p.outbox.drain(30)
    before = sandbox.core.stats_json()["methods"].get("chat.update", {}).get("ok", 0)
    # 50 re-renders and 30 replies queued while nothing is sent
    for i in range(50):
        await p.redis.set(f"{p.keys.prefix}:n", i + 1)
        await p.outbox.push(
            tid, alerts, touch=True, ops=[Op(id=f"r{i}", lines=(f"reply {i}",))] if i < 30 else []
        )
    # a duplicate push of an op is ignored (idempotent by op id)
    await p.outbox.push(tid, alerts, ops=[Op(id="r3", lines=("reply 3 again",))])
    assert await p.outbox.drain(30)
    updates = sandbox.core.stats_json()["methods"].get("chat.update", {}).get("ok", 0) - before
    assert updates == 1
    threads = await read_channel(p.client, alerts)
    thread = next(t for t in threads if t.root_text == "render 50")
    lines = [line for r in thread.replies for line in message_text(r).split("\n")]
    assert lines == [f"reply {i}" for i in range(30)]
    assert len(thread.replies) == 1  # merged into one message
    assert all(marker(r).startswith(f"ob|{tid}|") for r in thread.replies)


async def test_stale_and_redelivered_entries_post_nothing_twice(pipeline: Pipeline) -> None:
    p = pipeline
    data = payload(GROUP, host_alerts("HighLatency", range(2)))
    entry = await p.redis.xadd(p.worker.k.stream, {"body": json.dumps(data)})
    parsed = WebhookPayload.model_validate_json(json.dumps(data))
    await p.worker.process(str(entry), parsed)
    await p.worker.process(str(entry), parsed)  # redelivered after a crash: stale, no new ops
    assert await p.outbox.drain(30)
    threads = await read_channel(p.client, await channel_id(p.client, "alerts"))
    assert len(threads) == 1 and len(threads[0].replies) == 1
