"""Story: the bot dies (SIGKILL) after a status update was accepted and before any of its posts
reached Slack; started again, it delivers each post exactly once: one "Update #1" in the war room,
one under the announcement, and the headlines re-rendered to the new status. Two points:

* ``after_update_state``: the state is written, the posts are not in the outbox yet (the resume
  loop queues them again a grace period later);
* ``after_update_queued``: the posts and re-renders are in the outbox (the sender, running beside
  the request, may have delivered some of them before the kill).

The process stops there through the test-only hook ``CHATOPS_TEST_CRASH_AT``
(bot/incidents/declaration.py) and runs as the real ``chatops serve`` process (see test_processes.py).
"""

from __future__ import annotations

from typing import Any

import pytest
import redis.asyncio as aioredis

from tests.conftest import eventually
from tests.incidents.story import Engineer, channel_named, message_with, texts
from tests.incidents.test_processes import ServeProcess


@pytest.mark.parametrize("crash_at", ["after_update_state", "after_update_queued"])
async def test_status_update_cut_by_a_crash_is_posted_once_after_restart(
    sandbox: Any, redis_prefix: str, redis_client: aioredis.Redis, crash_at: str
) -> None:
    serve = ServeProcess(sandbox, redis_prefix)
    serve.env["CHATOPS_TEST_CRASH_AT"] = crash_at  # only status updates reach it
    await serve.start()
    sandbox.bot_url = f"http://127.0.0.1:{serve.port}/slack/events"
    try:
        alice = Engineer(sandbox, "alice")
        await alice.types("#incidents", '/incident create critical "Checkout is down"')
        announcement = await message_with(sandbox, "#incidents", "INC-1: Checkout is down")
        room = await channel_named(sandbox, "inc-1-checkout-is-down")

        async def pinned() -> dict[str, Any] | None:
            return next((m for m in sandbox.messages(room["name"]) if m.get("pinned_to")), None)

        headline = await eventually(pinned)

        # the bot may die before or after it acknowledged the command: the state came first
        await sandbox.command("alice", room["name"], "/status", 'update INC-1 identified "Bad route table"')
        assert serve.proc is not None

        async def died() -> bool:
            return serve.proc is not None and serve.proc.returncode is not None

        await eventually(died, timeout=20)
        assert serve.proc.returncode == -9  # killed at the hook, not a clean exit
        # the update was accepted (state written)
        doc = await redis_client.get(f"{redis_prefix}:{{inc:INC-1}}:doc")
        assert doc and "Bad route table" in doc

        def room_updates() -> list[dict[str, Any]]:
            return [m for m in sandbox.messages(room["name"]) if "Update #1" in texts(m)]

        def thread_updates() -> list[dict[str, Any]]:
            thread = sandbox.replies("#incidents", announcement["ts"])
            return [m for m in thread[1:] if "Update #1" in texts(m)]

        if crash_at == "after_update_state":
            assert room_updates() == [] and thread_updates() == []
        else:  # the sender runs beside the request: it may have delivered some before the kill
            assert len(room_updates()) <= 1 and len(thread_updates()) <= 1

        del serve.env["CHATOPS_TEST_CRASH_AT"]
        await serve.start()  # the restarted process finds the update in Redis and finishes it

        def fresh(channel: str, ts: str) -> dict[str, Any]:
            return next(m for m in sandbox.messages(channel) if m["ts"] == ts)

        async def delivered() -> bool:
            rerendered = all(
                "Identified" in texts(fresh(channel, ts))
                for channel, ts in (("#incidents", announcement["ts"]), (room["name"], headline["ts"]))
            )
            return rerendered and bool(room_updates()) and bool(thread_updates())

        await eventually(delivered, timeout=40)
        # exactly once, in the war room and under the announcement
        assert len(room_updates()) == 1
        assert len(thread_updates()) == 1
        assert "Bad route table" in texts(room_updates()[0])
        # the headlines were updated in place, not posted again
        assert [m for m in sandbox.messages("#incidents") if "INC-1: Checkout" in texts(m)] == [
            fresh("#incidents", announcement["ts"])
        ]
        assert len([m for m in sandbox.messages(room["name"]) if m.get("pinned_to")]) == 1
        # a later update after the restart is posted once too, after the first one
        await alice.types(room["name"], '/status update INC-1 monitoring "Route restored"')
        await message_with(sandbox, room["name"], "Update #2")
        order = [m for m in sandbox.messages(room["name"]) if "Update #" in texts(m)]
        assert ["Update #1" in texts(order[0]), "Update #2" in texts(order[1])] == [True, True]
        assert len(order) == 2
        assert sandbox.unknown_calls() == []
    finally:
        await serve.kill()
