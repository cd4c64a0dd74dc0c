"""Private incidents through the sandbox: a private war room, a public stub with nothing but the
severity and a Request access button, "not found" for everyone outside, the commander's approval by
DM, and list, App Home and stats that leave it out for people who may not see it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from bot.incidents import access, views
from bot.review import stats
from sandbox.interactions import InteractionError
from tests.conftest import eventually
from tests.incidents.story import Engineer, buttons, channel_named, message_with, texts

ALICE, BOB, CAROL, FRANK = "U0ALICE001", "U0BOB00002", "U0CAROL003", "U0FRANK006"
SECRET = "Leaked payroll export"


@pytest.fixture
def bot_policy() -> str:
    return f"""
permissions:
  private: [{FRANK}]
escalation:
  timers: []
"""


def _public_text(sandbox: Any, channel: str) -> str:
    """Everything in a channel: its messages and every thread under them."""
    out = []
    for m in sandbox.messages(channel):
        out += [texts(r) for r in sandbox.replies(channel, m["ts"])] or [texts(m)]
    return "\n".join(out)


def _dm(sandbox: Any, user: str) -> str:
    ws = sandbox.core.workspace
    return next(c.id for c in ws.channels.values() if c.is_im and c.members == [user])


async def dm_with(sandbox: Any, user: str, needle: str) -> dict[str, Any]:
    """The bot's DM to ``user`` that says ``needle`` (the DM channel opens with the first one)."""
    ws = sandbox.core.workspace

    async def check() -> dict[str, Any] | None:
        for c in ws.channels.values():
            if c.is_im and c.members == [user]:
                return next((m for m in sandbox.messages(c.id) if needle in texts(m)), None)
        return None

    return dict(await eventually(check))


async def _home(sandbox: Any, user: str, needle: str) -> str:
    await sandbox.home.open(user)

    async def check() -> str | None:
        view = sandbox.home.view(user)
        text = texts({"blocks": view["blocks"]}) if view else ""
        return text if needle in text else None

    return str(await eventually(check))


async def test_a_private_incident_is_seen_by_its_members_and_joined_by_approval(
    sandbox: Any, bot: Any
) -> None:
    alice, bob, carol, frank = (Engineer(sandbox, n) for n in ("alice", "bob", "carol", "frank"))
    await alice.types("#incidents", f'/incident create critical "{SECRET}" --private')
    await alice.sees_reply("INC-1")
    room = await channel_named(sandbox, "inc-1-")
    channel = sandbox.core.workspace.channels[room["id"]]
    assert channel.is_private and room["id"].startswith("G")  # conversations.create is_private=true
    assert ALICE in channel.members and BOB not in channel.members
    headline = await message_with(sandbox, room["name"], SECRET)  # the details: in the war room

    # the public channel: a stub with the severity and a button, no title, no people
    stub = await message_with(sandbox, "#incidents", "private")
    assert "Critical" in texts(stub) and buttons(stub) == [views.REQUEST_ACCESS]
    inc = await eventually(lambda: bot.ctx.store.find("INC-1"))
    assert inc.private and inc.announcement is not None and inc.announcement.ts == stub["ts"]
    await alice.types(room["name"], '/status update identified "payroll bucket was public"')
    await message_with(sandbox, room["name"], "payroll bucket was public")
    public = _public_text(sandbox, "#incidents")
    assert "payroll" not in public.lower() and ALICE not in public

    # a member sees it; others get "not found", never "forbidden"
    await alice.types("#incidents", "/incident show INC-1")
    assert SECRET in await alice.sees_reply("INC-1: ")
    await bob.types("#incidents", "/incident show INC-1")
    assert "INC-1 does not exist" in await bob.sees_reply("does not exist")
    await bob.types("#incidents", '/incident note INC-1 "hello?"')
    assert not any("permission" in t for t in bob.replies_seen())
    await bob.types("#incidents", "/incident list")
    assert "No open incidents" in await bob.sees_reply("incidents")
    with pytest.raises(InteractionError):  # Slack shows bob no such channel to type in
        await sandbox.command("bob", room["id"], "/incident", "show")
    async with aiohttp.ClientSession() as http:  # the page, acting as bob, lists no such channel
        async with http.get(f"{sandbox.url}/sandbox/workspace", params={"user": "bob"}) as resp:
            shown = {c["id"] for c in (await resp.json())["channels"]}
        async with http.get(
            f"{sandbox.url}/sandbox/channel", params={"channel": room["id"], "user": "bob"}
        ) as r:
            assert r.status == 404
    assert room["id"] not in shown

    # the private permission sees it without being in the room
    await frank.types("#incidents", "/incident list")
    assert SECRET in await frank.sees_reply("Open incidents")

    # bob asks; the commander (the declarer: nobody acknowledged) gets a DM with Approve / Deny
    await bob.clicks("#incidents", stub, views.REQUEST_ACCESS)
    assert f"<@{ALICE}>" in await bob.sees_reply("Asked")
    dm = await dm_with(sandbox, ALICE, "asks to join")
    assert buttons(dm) == [access.APPROVE, access.DENY] and f"<@{BOB}>" in texts(dm)
    await alice.clicks(_dm(sandbox, ALICE), dm, access.APPROVE)
    await alice.sees_reply("Approved")

    async def bob_in() -> bool:
        return BOB in channel.members

    await eventually(bob_in)
    await dm_with(sandbox, BOB, "approved your request")
    await alice.clicks(_dm(sandbox, ALICE), dm, access.DENY)  # answered once only
    await alice.sees_reply("already approved")
    assert BOB in channel.members

    # bob now sees it everywhere; carol still does not
    await bob.types("#incidents", "/incident show INC-1")
    assert SECRET in await bob.sees_reply(f"INC-1: {SECRET}")
    assert headline["ts"] in {m["ts"] for m in sandbox.messages(room["name"])}
    await carol.types("#incidents", "/incident list")
    assert "No open incidents" in await carol.sees_reply("incidents")
    assert SECRET in await _home(sandbox, "bob", SECRET)
    await alice.types("#incidents", '/incident create high "Public outage"')
    await _home(sandbox, "carol", "Public outage")
    assert SECRET not in await _home(sandbox, "carol", "Public outage")
    entries = [e.text for e in await bot.ctx.store.timeline("INC-1")]
    assert any("asked for access" in t for t in entries) and any("let <@" in t for t in entries)

    # stats leave it out (the policy's private_in_stats is off by default)
    figures = await stats.gather(bot.ctx.store, ["critical", "high"], days=1, now=datetime.now(UTC))
    assert figures.total.count == 1 and [s.count for s in figures.by_severity] == [0, 1]
    inclusive = await stats.gather(
        bot.ctx.store, ["critical", "high"], days=1, now=datetime.now(UTC), include_private=True
    )
    assert inclusive.total.count == 2
    await carol.types("#incidents", "/incident stats 7d")
    await carol.sees_reply("1 incident")


async def test_deny_keeps_the_requester_out(sandbox: Any, bot: Any) -> None:
    alice, dave = Engineer(sandbox, "alice"), Engineer(sandbox, "dave")
    await alice.types("#incidents", '/incident create medium "HR system breach" --private')
    room = await channel_named(sandbox, "inc-1-")  # private even for a severity with no war room
    assert sandbox.core.workspace.channels[room["id"]].is_private
    stub = await message_with(sandbox, "#incidents", "private")
    assert "HR system" not in texts(stub) and "Medium" in texts(stub)
    await dave.clicks("#incidents", stub, views.REQUEST_ACCESS)
    dm = await dm_with(sandbox, ALICE, "asks to join")
    await alice.clicks(_dm(sandbox, ALICE), dm, access.DENY)
    await dm_with(sandbox, "U0DAVE0004", "was denied")
    assert "U0DAVE0004" not in sandbox.core.workspace.channels[room["id"]].members
    await dave.types("#incidents", "/incident show INC-1")
    await dave.sees_reply("INC-1 does not exist")


@pytest.mark.parametrize("bot_policy", ["incidents:\n  private_announcement: false\n"])
async def test_the_policy_can_keep_even_the_stub_out(sandbox: Any, bot: Any) -> None:
    alice = Engineer(sandbox, "alice")
    await alice.types("#incidents", '/incident create critical "Quiet one" --private')
    room = await channel_named(sandbox, "inc-1-")
    await message_with(sandbox, room["name"], "Quiet one")
    inc = await eventually(lambda: bot.ctx.store.find("INC-1"))
    assert inc.announcement is None and inc.war_room is not None
    assert not any("private" in texts(m) for m in sandbox.messages("#incidents"))
