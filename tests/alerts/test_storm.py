"""10,000 alerts in 500 groups over 30 s into one channel, the sandbox enforcing Slack's rate limits."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.alerts import storm
from tests.alerts.slackview import channel_id, dump, final_by_ident, message_text, read_channel
from tests.conftest import eventually

pytestmark = pytest.mark.slow


@pytest.fixture
def bot_policy() -> str:
    return "alerts:\n  default_channel: '#alerts'\n  storm:\n    threshold: 10\n    window_seconds: 60\n"


async def settled(bot: Any) -> bool:
    outbox = bot.ctx.alerts.outbox
    worker = bot.ctx.alerts.worker
    stats = await outbox.stats()
    return stats["threads_pending"] == 0 and await outbox.redis.xlen(worker.k.stream) == 0


async def test_storm_loses_nothing_within_rate_limits(bot: Any, sandbox: Any) -> None:
    started = time.monotonic()
    accepted = await storm.send_storm(f"{bot.url}/alerts/alertmanager", seconds=30)
    assert accepted == storm.GROUPS * 3
    await eventually(lambda: settled(bot), timeout=240, interval=0.5)
    elapsed = time.monotonic() - started

    client = bot.ctx.gateway.client
    threads = await read_channel(client, await channel_id(client, "alerts"))
    final = final_by_ident(threads)
    expected = storm.expected_final()
    wrong = {k: (final.get(k), v) for k, v in expected.items() if final.get(k) != v}
    assert not wrong, (
        f"{len(wrong)} alerts not in their final state, e.g. {list(wrong.items())[:5]}\n{dump(threads)}"
    )

    # every group's final counts are visible: in its own root, or in the storm summary
    summaries = [t for t in threads if "Alert storm" in t.root_text]
    assert len(summaries) == 1
    shown = message_text(summaries[0].root)
    own_roots = [t.root_text for t in threads if t not in summaries]
    not_listed = []
    for g in range(storm.GROUPS):
        firing, resolved = storm.expected_counts(g)
        title = f"StormAlert · service=svc-{g:03d}"
        in_summary = re.search(rf"\*{re.escape(title)}\* — {firing} firing, {resolved} resolved", shown)
        in_root = any(
            f"svc-{g:03d}" in r and f"{firing} firing · {resolved} resolved" in r for r in own_roots
        )
        if not (in_summary or in_root):
            assert f"svc-{g:03d}*" not in shown, f"group {g} listed with wrong counts"
            not_listed.append(g)
    # a summary holds what one Slack message can (about 12,000 characters of block text): the
    # groups past that are counted in its "…and N more groups" line (their alerts are checked above)
    more = re.search(r"…and (\d+) more groups", shown)
    assert not not_listed or (more and int(more.group(1)) == len(not_listed)), (len(not_listed), more)

    stats = sandbox.core.stats_json()
    outbox = bot.ctx.alerts.outbox
    assert (await outbox.stats())["dead"] == 0
    posts = stats["methods"].get("chat.postMessage", {})
    updates = stats["methods"].get("chat.update", {})
    ratelimited = stats["totals"].get("ratelimited", 0)
    print(
        f"\nstorm: 10,000 alerts / 500 groups / 1,500 notifications in {elapsed:.0f}s end to end; "
        f"Slack calls {stats['calls']} (chat.postMessage ok={posts.get('ok', 0)}, "
        f"chat.update ok={updates.get('ok', 0)}, "
        f"429 answered={ratelimited}); {len(threads)} top-level messages, "
        f"{sum(len(t.replies) for t in threads)} replies; by method {stats['methods']}"
    )
