"""An incident's re-renders go through the outbox and coalesce: a burst of changes made while the
headline threads are busy is drawn once per message, from the latest state."""

from __future__ import annotations

from typing import Any

from bot.core.models import Incident
from bot.incidents import posts
from tests.conftest import eventually
from tests.incidents.story import Engineer, channel_named, message_with, texts


def _updates(sandbox: Any) -> int:
    return int(sandbox.stats()["methods"].get("chat.update", {}).get("ok", 0))


async def test_a_burst_of_rerenders_is_one_update_per_headline_with_the_latest_state(
    sandbox: Any, bot: Any
) -> None:
    ctx = bot.ctx
    alice = Engineer(sandbox, "alice")
    await alice.types("#incidents", '/incident create high "Search is slow"')
    announcement = await message_with(sandbox, "#incidents", "INC-1: Search is slow")
    room = await channel_named(sandbox, "inc-1-")

    async def pinned() -> dict[str, Any] | None:
        return next((m for m in sandbox.messages(room["name"]) if m.get("pinned_to")), None)

    headline = await eventually(pinned)

    async def declared() -> bool:  # the declaration finished (its last step is recorded)
        return not await ctx.redis.zcard(ctx.keys.custom("{incidents}", "declaring"))

    await eventually(declared)
    # another sender holds both headline threads while the burst is queued
    leases = [
        ctx.keys.custom(f"{{ob:{thread.tid}}}", "lease")
        for thread in (posts.announcement_thread("INC-1"), posts.headline_thread("INC-1"))
    ]
    for lease in leases:
        await ctx.redis.set(lease, "someone-else", px=60_000)
    before = _updates(sandbox)
    for n in range(1, 11):

        def retitle(inc: Incident, n: int = n) -> None:
            inc.title = f"Search is slow (take {n})"

        inc = await ctx.store.patch("INC-1", retitle)
        await posts.rerender(ctx, inc)
    assert _updates(sandbox) == before  # nothing drawn while the threads are held
    await ctx.redis.delete(*leases)

    def fresh(channel: str, ts: str) -> dict[str, Any]:
        return next(m for m in sandbox.messages(channel) if m["ts"] == ts)

    async def latest_everywhere() -> bool:
        return all(
            "take 10" in texts(fresh(channel, ts))
            for channel, ts in (("#incidents", announcement["ts"]), (room["name"], headline["ts"]))
        )

    await eventually(latest_everywhere)

    async def settled() -> bool:
        for thread in (posts.announcement_thread("INC-1"), posts.headline_thread("INC-1")):
            meta = await ctx.outbox.thread(thread)
            if int(meta.get("rendered", 0)) < int(meta.get("ver", 0)):
                return False
        return True

    await eventually(settled)
    assert _updates(sandbox) - before == 2  # one chat.update per headline for ten changes
    assert [m["ts"] for m in sandbox.messages("#incidents") if "INC-1" in texts(m)] == [announcement["ts"]]
