"""An incident carried through its life in the sandbox: declare, acknowledge, update, resolve."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.incidents.channels import is_valid_channel_name
from tests.conftest import eventually
from tests.incidents.story import Engineer, buttons, channel_named, message_with, texts


async def test_declare_opens_a_war_room_and_announces(sandbox: Any, bot: Any) -> None:
    alice = Engineer(sandbox, "alice")
    ack = await alice.types("#general", '/incident create critical "API gateway down"')
    assert ack["status"] == 200

    announcement = await message_with(sandbox, "#incidents", "INC-1: API gateway down")
    assert "Critical" in texts(announcement)
    assert buttons(announcement)[:2] == ["incident_ack", "incident_resolve"]

    room = await channel_named(sandbox, "inc-1-")
    assert room["name"] == "inc-1-api-gateway-down" and is_valid_channel_name(room["name"])
    alice_id = sandbox.user_by_name("alice")["id"]

    async def set_up() -> dict[str, Any] | None:  # the room is built step by step after it exists
        info = sandbox.channel_by_name(room["name"])
        return info if alice_id in info["members"] and info["topic"]["value"] else None

    info = await eventually(set_up)
    # responders from the default policy? none configured: only the reporter and the bot
    assert "INC-1" in info["topic"]["value"] and "Critical" in info["topic"]["value"]

    async def pinned_headline() -> dict[str, Any] | None:  # pinned right after it is posted
        headline = await message_with(sandbox, room["name"], "INC-1: API gateway down")
        return headline if headline.get("pinned_to") else None

    pinned = await eventually(pinned_headline)
    assert room["id"] in pinned["pinned_to"]
    reply = await alice.sees_reply("INC-1")
    assert room["id"] in reply  # the ephemeral reply links the war room


async def test_full_lifecycle_survives_a_restart(sandbox: Any, bot: Any) -> None:
    alice, bob = Engineer(sandbox, "alice"), Engineer(sandbox, "bob")
    await alice.types("#incidents", '/incident create critical "Checkout failing"')
    announcement = await message_with(sandbox, "#incidents", "INC-1: Checkout failing")
    room = await channel_named(sandbox, "inc-1-")

    await bob.clicks("#incidents", announcement, "incident_ack")
    await eventually(
        lambda: _asyncify("acknowledged by" in texts(_fresh(sandbox, "#incidents", announcement)))
    )
    assert "incident_ack" not in buttons(_fresh(sandbox, "#incidents", announcement))
    await bob.sees_reply("You acknowledged INC-1")

    for n, (status, note) in enumerate(
        [
            ("investigating", "Checking database connectivity"),
            ("identified", "Connection pool exhausted"),
            ("monitoring", "Pool size raised, error rate falling"),
        ],
        start=1,
    ):
        await alice.types(room["name"], f'/status update INC-1 {status} "{note}"')
        await message_with(sandbox, room["name"], f"Update #{n}")
        await eventually(
            lambda n=n: _asyncify(len(sandbox.replies("#incidents", announcement["ts"])) >= n + 1)
        )

    thread = sandbox.replies("#incidents", announcement["ts"])
    assert [("Update #1" in texts(m)) for m in thread[1:2]] == [True]
    assert "Pool size raised" in texts(thread[3])
    await eventually(lambda: _asyncify("Monitoring" in texts(_fresh(sandbox, "#incidents", announcement))))
    await eventually(
        lambda: _asyncify("monitoring" in sandbox.channel_by_name(room["name"])["topic"]["value"])
    )

    await bot.restart()
    await alice.types(room["name"], "/incident show")
    shown = await alice.sees_reply("Timeline", room["name"])
    assert "Connection pool exhausted" in shown and "Acknowledged" in shown

    await alice.types("#incidents", '/incident resolve INC-1 "Pool size fixed"')
    await message_with(sandbox, room["name"], "resolved* after")

    async def final() -> dict[str, Any] | None:  # re-rendered by the outbox, in its own thread
        msg = _fresh(sandbox, "#incidents", announcement)
        return msg if "incident_reopen" in buttons(msg) else None

    assert "Resolved" in texts(await eventually(final))

    async def resolution_in_thread() -> list[dict[str, Any]]:
        thread = sandbox.replies("#incidents", announcement["ts"])
        return [m for m in thread if "resolved* after" in texts(m)]

    resolution = await eventually(resolution_in_thread)
    assert len(resolution) == 1 and "Time to acknowledge" in texts(resolution[0])


async def test_two_people_acknowledge_at_once(sandbox: Any, bot: Any) -> None:
    alice = Engineer(sandbox, "alice")
    await alice.types("#incidents", '/incident create high "Search is slow"')
    announcement = await message_with(sandbox, "#incidents", "INC-1: Search is slow")
    clickers = [Engineer(sandbox, n) for n in ("bob", "carol", "dave")]
    await asyncio.gather(*(c.clicks("#incidents", announcement, "incident_ack") for c in clickers))
    acks = [await _reply_for(c) for c in clickers]
    assert sum("You acknowledged" in a for a in acks) == 1
    assert sum("already acknowledged by" in a for a in acks) == 2
    shown = bot.ctx.store
    inc = await shown.get("INC-1")
    assert inc.acknowledged_by in {sandbox.user_by_name(c.name)["id"] for c in clickers}


async def test_bad_input_gets_usage_not_silence(sandbox: Any, bot: Any) -> None:
    alice = Engineer(sandbox, "alice")
    await alice.types("#incidents", "/incident create critical")  # no arguments at all opens the form
    assert "Usage of /incident" in (await alice.sees_reply("Usage"))
    await alice.types("#incidents", '/incident create purple "x"')
    assert "not a severity" in await alice.sees_reply("purple")
    await alice.types("#incidents", "/status update INC-42 investigating still looking")
    assert "INC-42 does not exist" in await alice.sees_reply("INC-42")
    await alice.types("#incidents", "/incident frobnicate")
    assert "`frobnicate` is not a /incident command" in await alice.sees_reply("frobnicate")
    await alice.types("#incidents", "/incident help")
    help_text = await alice.sees_reply("/status update")
    assert "/incident create" in help_text


async def test_resolve_button_and_invalid_transition(sandbox: Any, bot: Any) -> None:
    alice = Engineer(sandbox, "alice")
    await alice.types("#incidents", '/incident create medium "Queue backlog"')
    announcement = await message_with(sandbox, "#incidents", "INC-1: Queue backlog")
    await alice.sees_reply("INC-1")  # the declaration is done: its answer is in
    assert (await bot.ctx.store.get("INC-1")).war_room is None  # medium: no war room
    assert [c.name for c in sandbox.core.workspace.channels.values() if c.name.startswith("inc-1")] == []
    await alice.clicks("#incidents", announcement, "incident_resolve")
    await eventually(
        lambda: _asyncify("incident_reopen" in buttons(_fresh(sandbox, "#incidents", announcement)))
    )
    await alice.types("#incidents", "/status update INC-1 monitoring looks fine")
    assert "Reopen it first" in await alice.sees_reply("Reopen")
    await alice.types("#incidents", "/incident reopen INC-1")
    await eventually(
        lambda: _asyncify("incident_ack" in buttons(_fresh(sandbox, "#incidents", announcement)))
    )


async def test_roles_and_notes(sandbox: Any, bot: Any) -> None:
    alice = Engineer(sandbox, "alice")
    carol_id = sandbox.user_by_name("carol")["id"]
    await alice.types("#incidents", '/incident create high "Payments timeouts"')
    room = await channel_named(sandbox, "inc-1-")
    await alice.types(room["name"], "/incident role tech-lead @carol")  # Slack sends <@U…|carol>
    await message_with(sandbox, room["name"], "is now Tech lead")
    assert carol_id in sandbox.channel_by_name(room["name"])["members"]
    await alice.types(room["name"], '/incident note "Rolled back to v1.4"')
    await alice.sees_reply("Note added")
    await alice.types("#incidents", "/incident list")
    listing = await alice.sees_reply("Open incidents")
    assert "Payments timeouts" in listing


def _fresh(sandbox: Any, channel: str, message: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in sandbox.messages(channel) if m["ts"] == message["ts"])


async def _asyncify(value: Any) -> Any:
    return value


async def _reply_for(engineer: Engineer) -> str:
    async def check() -> str | None:
        seen = engineer.replies_seen()
        return seen[-1] if seen else None

    return str(await eventually(check))


async def test_war_room_name_taken_gets_a_suffix(sandbox: Any, bot: Any) -> None:
    creator = await bot.ctx.gateway.call("conversations.create", name="inc-1-disk-full")
    assert creator["ok"]
    alice = Engineer(sandbox, "alice")
    await alice.types("#incidents", '/incident create critical "Disk full"')
    room = await channel_named(sandbox, "inc-1-disk-full-2")
    assert room["name"] == "inc-1-disk-full-2"
    inc = await bot.ctx.store.get("INC-1")
    assert inc.war_room is not None and inc.war_room.channel_id == room["id"]
