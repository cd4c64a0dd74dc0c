"""Story: the bot dies (SIGKILL) between writing a new incident's state and building its war room;
started again, it finishes the declaration exactly once: one channel, one announcement, one pin.

The process stops at that exact point through the test-only hook ``CHATOPS_TEST_CRASH_AT=after_state``
(bot/incidents/declaration.py), and runs as the real ``chatops serve`` process (see test_processes.py).
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from tests.conftest import eventually
from tests.incidents.story import channel_named, texts
from tests.incidents.test_processes import ServeProcess


async def test_a_declaration_cut_by_a_crash_is_finished_once_after_restart(
    sandbox: Any, redis_prefix: str, redis_client: aioredis.Redis
) -> None:
    serve = ServeProcess(sandbox, redis_prefix)
    serve.env["CHATOPS_TEST_CRASH_AT"] = "after_state"
    await serve.start()
    sandbox.bot_url = f"http://127.0.0.1:{serve.port}/slack/events"
    try:
        alice_id = sandbox.user_by_name("alice")["id"]
        # the bot may die before or after it acknowledged the command: whichever, state comes first
        await sandbox.command("alice", "#general", "/incident", 'create critical "Checkout is down"')
        assert serve.proc is not None

        async def died() -> bool:
            return serve.proc is not None and serve.proc.returncode is not None

        await eventually(died, timeout=20)
        assert serve.proc.returncode == -9  # killed at the hook, not a clean exit
        # the state was written, nothing reached Slack
        doc = await redis_client.get(f"{redis_prefix}:{{inc:INC-1}}:doc")
        assert doc and "Checkout is down" in doc
        assert not [m for m in sandbox.messages("#incidents") if "INC-1" in texts(m)]
        assert not [c for c in sandbox.core.workspace.channels.values() if c.name.startswith("inc-1-")]

        del serve.env["CHATOPS_TEST_CRASH_AT"]
        await serve.start()  # a restart: the pending declaration is picked up once its lease lapses

        async def announced() -> dict[str, Any] | None:
            return next((m for m in sandbox.messages("#incidents") if "INC-1: Checkout" in texts(m)), None)

        announcement = await eventually(announced, timeout=40)
        room = await channel_named(sandbox, "inc-1-")
        assert room["name"] == "inc-1-checkout-is-down"

        async def finished() -> dict[str, Any] | None:
            pins = [m for m in sandbox.messages(room["name"]) if m.get("pinned_to")]
            info = sandbox.channel_by_name(room["name"])
            done = pins and "INC-1" in info["topic"]["value"] and alice_id in info["members"]
            return pins[0] if done else None

        pinned = await eventually(finished, timeout=20)
        assert "INC-1: Checkout is down" in texts(pinned)

        async def pending_cleared() -> bool:
            return not await redis_client.zcard(f"{redis_prefix}:{{incidents}}:declaring")

        await eventually(pending_cleared)
        # exactly once: one channel, one announcement, one headline in the room, one pin
        rooms = [c for c in sandbox.core.workspace.channels.values() if c.name.startswith("inc-1-")]
        assert len(rooms) == 1
        announcements = [m for m in sandbox.messages("#incidents") if "INC-1: Checkout is down" in texts(m)]
        assert [m["ts"] for m in announcements] == [announcement["ts"]]
        headlines = [m for m in sandbox.messages(room["name"]) if "INC-1: Checkout is down" in texts(m)]
        assert len(headlines) == 1
        assert len([m for m in sandbox.messages(room["name"]) if m.get("pinned_to")]) == 1
        assert sandbox.unknown_calls() == []
    finally:
        await serve.kill()
