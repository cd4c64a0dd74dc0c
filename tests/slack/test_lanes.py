"""Lanes: interactive Slack work is never delayed behind a saturated bulk lane.

Real parts: the sandbox (Slack's limits on), a real Redis, the outbox and the gateway. Nothing here
asserts a duration: the checks are which lane work goes to, which work is claimed first, how many
pacing slots bulk may take, and that an interactive post is in Slack while bulk posts still queue.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from slack_sdk.models.blocks import SectionBlock
from slack_sdk.web.async_client import AsyncWebClient

from bot.keys import Keys
from bot.slack import lanes
from bot.slack.gateway import METHOD_TIERS, SlackGateway
from bot.slack.outbox import Op, Outbox, OutboxConfig, ThreadRef
from bot.slack.outbox.sender import INTERACTIVE_SLOTS
from tests.conftest import REDIS_URL, eventually


@pytest.fixture
async def outbox(sandbox: Any, redis_prefix: str) -> AsyncIterator[Outbox]:
    redis = aioredis.from_url(REDIS_URL, decode_responses=True)
    gateway = SlackGateway(
        AsyncWebClient(token=sandbox.bot_token, base_url=sandbox.api_url), redis, Keys(redis_prefix)
    )
    box = Outbox(redis, Keys(redis_prefix), gateway, OutboxConfig(concurrency=INTERACTIVE_SLOTS + 2))

    async def render(arg: str) -> tuple[str, list[Any]]:
        return f"alert group {arg}", [SectionBlock(text=f"alert group {arg}")]

    box.register_renderer("ag", render)
    yield box
    await box.close()
    await gateway.close()
    await redis.aclose()


def test_lane_by_thread_kind() -> None:
    assert lanes.lane_of("ag:abc:1") == lanes.BULK
    assert lanes.lane_of("storm:s1") == lanes.BULK
    assert lanes.lane_of("inc:INC-1:room") == lanes.INTERACTIVE
    assert lanes.lane_of("dm:U1") == lanes.INTERACTIVE
    assert lanes.lane_of("ag:abc:1", "interactive") == lanes.INTERACTIVE  # explicit wins
    assert lanes.lane_of("inc:INC-1", "bulk") == lanes.BULK


async def test_push_puts_threads_in_their_lanes_ready_set(outbox: Outbox) -> None:
    await outbox.push("ag:g1:1", "#alerts", render="ag:g1:1", touch=True)
    await outbox.push(ThreadRef("inc", "INC-1", "room"), "#incidents", ops=[Op(id="o1", lines=("hello",))])
    await outbox.push("enrich:g1", "#alerts", ops=[Op(id="e1", lines=("graph",))], lane="interactive")
    bulk = await outbox.redis.zrange(outbox.ready_for(lanes.BULK), 0, -1)
    interactive = await outbox.redis.zrange(outbox.ready_for(lanes.INTERACTIVE), 0, -1)
    assert bulk == ["ag:g1:1"]
    assert sorted(interactive) == ["enrich:g1", "inc:INC-1:room"]
    assert (await outbox.stats())["threads_pending"] == 3


async def test_interactive_thread_is_claimed_first_and_posted_while_bulk_still_queues(
    outbox: Outbox, sandbox: Any
) -> None:
    # saturate the bulk lane: more due alert groups than the outbox has senders, all in one channel
    # (Slack takes about one post a second there), pushed BEFORE the person's post
    groups = 3 * outbox.config.concurrency
    for n in range(groups):
        await outbox.push(f"ag:g{n}:1", "#alerts", render=f"ag:g{n}:1", touch=True)
    feed = ThreadRef("inc", "INC-7", "room")
    await outbox.push(feed, "#incidents", ops=[Op(id="u1", lines=("Status update #1: monitoring",))])

    assert await outbox._claim_due() > 0
    claimed = dict(outbox._lanes)
    assert claimed[feed.tid] == lanes.INTERACTIVE  # claimed in the first round, although pushed last
    # bulk never takes the sender slots kept for interactive threads
    assert (
        sum(1 for lane in claimed.values() if lane == lanes.BULK)
        <= outbox.config.concurrency - INTERACTIVE_SLOTS
    )

    def posted() -> bool:
        return any("Status update #1" in str(m.get("text")) for m in sandbox.messages("#incidents"))

    async def visible() -> bool:
        return posted()

    await eventually(visible)
    # the person's post is in Slack while most alert roots are still waiting in the bulk lane
    roots = [m for m in sandbox.messages("#alerts") if "alert group" in str(m.get("text"))]
    assert len(roots) < groups // 2
    assert await outbox.redis.zcard(outbox.ready_for(lanes.BULK)) > 0


async def test_bulk_takes_only_free_pacing_slots_and_its_share_of_a_tier(
    redis_client: aioredis.Redis, redis_prefix: str, sandbox: Any
) -> None:
    gateway = SlackGateway(
        AsyncWebClient(token=sandbox.bot_token, base_url=sandbox.api_url), redis_client, Keys(redis_prefix)
    )
    interval, burst = METHOD_TIERS["chat.update"]
    scope = "{m:chat.update}"
    keys = [gateway.keys.pacing(scope), gateway.keys.pacing(f"{scope}:bulk")]
    cap_interval = int(interval / lanes.BULK_TIER_SHARE)
    cap_burst = max(1, int(burst * lanes.BULK_TIER_SHARE))
    bulk_args = [interval, (burst - 1) * interval, 1, cap_interval, (cap_burst - 1) * cap_interval, 0]
    try:
        # bulk asks 3x the tier's burst at once: it gets at most its share (one more slot may come
        # free if the cap's interval passes meanwhile), and is refused the rest without reserving
        reserved = 0
        for _ in range(3 * burst):
            _wait, ok = await gateway._gcra(keys=keys, args=bulk_args)
            reserved += int(ok)
        assert 1 <= reserved <= cap_burst + 1
        assert reserved < burst
        # what bulk could not take is there for people: the next interactive call has no wait
        wait_ms, ok = await gateway._gcra(keys=keys[:1], args=[interval, (burst - 1) * interval, 0, 0, 0, 0])
        assert int(ok) == 1 and int(wait_ms) == 0
        # interactive work queues (reserves future slots); bulk then finds no free slot and reserves none
        for _ in range(burst):
            await gateway._gcra(keys=keys[:1], args=[interval, (burst - 1) * interval, 0, 0, 0, 0])
        before = await redis_client.get(keys[0])
        _wait, ok = await gateway._gcra(keys=keys, args=bulk_args)
        assert int(ok) == 0
        assert await redis_client.get(keys[0]) == before  # bulk took no slot ahead of the people
    finally:
        await gateway.close()


async def test_outbox_calls_run_in_their_threads_lane(outbox: Outbox, sandbox: Any) -> None:
    """The lane follows the thread into the gateway: bulk pacing for alert groups, interactive for
    the incident's own posts."""
    seen: list[str] = []
    original = outbox.gateway._pace

    async def spy(method: str, kwargs: dict[str, Any]) -> None:
        seen.append(f"{lanes.current()}:{kwargs.get('channel')}")
        await original(method, kwargs)

    outbox.gateway._pace = spy  # type: ignore[method-assign]
    await outbox.push("ag:one:1", "#alerts", render="ag:one:1", touch=True)
    await outbox.push(ThreadRef("inc", "INC-9", "room"), "#incidents", ops=[Op(id="x", lines=("hi",))])
    assert await outbox.drain(timeout=30)
    alerts = await outbox.channel_id("#alerts")
    incidents = await outbox.channel_id("#incidents")
    assert f"bulk:{alerts}" in seen
    assert f"interactive:{incidents}" in seen
    assert not any(s.startswith("bulk:") and s.endswith(incidents) for s in seen)
