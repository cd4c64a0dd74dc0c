"""People by any name: every command that takes a person accepts a Slack mention (as Slack encodes
a typed @name), a typed @name Slack did not encode, a name, or an e-mail, and a group where groups
make sense; a name that matches nobody is named in the answer, never dropped."""

from __future__ import annotations

from typing import Any

from tests.conftest import eventually
from tests.incidents.story import Engineer, channel_named, message_with

CAROL, DAVE, BOB = "U0CAROL003", "U0DAVE0004", "U0BOB00002"


def without_escaping(sandbox: Any) -> None:
    """Slash commands arrive as typed (an app whose manifest has no should_escape)."""
    for c in sandbox.core.workspace.slash_commands:
        c["should_escape"] = False
    known = {c.get("command") for c in sandbox.core.workspace.slash_commands}
    for command in ("/incident", "/escalate", "/status"):
        if command not in known:
            sandbox.core.workspace.slash_commands.append({"command": command, "should_escape": False})


async def declared(sandbox: Any, bot: Any, title: str = "Checkout down") -> dict[str, Any]:
    alice = Engineer(sandbox, "alice")
    await alice.types("#incidents", f'/incident create critical "{title}"')
    room = await channel_named(sandbox, "inc-1-")

    async def ready() -> bool:
        inc = await bot.ctx.store.find("INC-1")
        return bool(inc and inc.war_room and inc.war_room_message)

    await eventually(ready)
    return room


async def test_roles_by_mention_typed_name_real_name_and_email(sandbox: Any, bot: Any) -> None:
    room = await declared(sandbox, bot)
    alice = Engineer(sandbox, "alice")

    await alice.types(room["name"], "/incident role tech-lead @carol")  # Slack encodes it: <@U…|carol>
    await alice.sees_reply(f"<@{CAROL}> is now tech-lead")
    await alice.types(room["name"], "/incident role INC-1 scribe dave@example.com")
    await alice.sees_reply(f"<@{DAVE}> is now scribe")
    await alice.types(room["name"], '/incident role INC-1 comms-lead "Bob Barros"')
    await alice.sees_reply(f"<@{BOB}> is now comms-lead")

    inc = await bot.ctx.store.get("INC-1")
    assert inc.roles["tech_lead" if "tech_lead" in inc.roles else "tech-lead"] == CAROL
    assert DAVE in inc.roles.values() and BOB in inc.roles.values()
    members = sandbox.channel_by_name(room["name"])["members"]
    assert {CAROL, DAVE, BOB} <= set(members)  # everyone given a role is in the war room


async def test_typed_names_without_slack_encoding(sandbox: Any, bot: Any) -> None:
    without_escaping(sandbox)
    room = await declared(sandbox, bot)
    alice = Engineer(sandbox, "alice")

    await alice.types(room["name"], "/incident role commander @carol")  # arrives as "@carol"
    await alice.sees_reply(f"<@{CAROL}> is now commander")
    await alice.types(room["name"], "/incident role scribe Dave Dubois")
    await alice.sees_reply(f"<@{DAVE}> is now scribe")
    inc = await bot.ctx.store.get("INC-1")
    assert inc.commander == CAROL


async def test_unknown_people_and_groups_are_named(sandbox: Any, bot: Any) -> None:
    room = await declared(sandbox, bot)
    alice = Engineer(sandbox, "alice")

    await alice.types(room["name"], "/incident role scribe @zoe")
    reply = await alice.sees_reply("Nobody in this workspace is called")
    assert "@zoe" in reply
    await alice.types(room["name"], "/incident role scribe zoe@example.com")
    assert "zoe@example.com" in await alice.sees_reply("`zoe@example.com`")
    await alice.types(room["name"], "/incident role scribe @sre-oncall")  # a group for one person
    assert "is a group" in await alice.sees_reply("@sre-oncall` is a group")
    inc = await bot.ctx.store.get("INC-1")
    assert "scribe" not in inc.roles


async def test_action_owners_by_any_name(sandbox: Any, bot: Any) -> None:
    room = await declared(sandbox, bot)
    alice = Engineer(sandbox, "alice")
    await alice.types(room["name"], "/incident action Alert on queue depth @bob due 2030-01-31")
    await alice.sees_reply("Action item added")
    await alice.types(room["name"], "/incident action Add a runbook carol@example.com")
    await alice.sees_reply("Add a runbook")
    await alice.types(room["name"], '/incident action Review the pool size owner="Dave Dubois"')
    await alice.sees_reply("Review the pool size")
    await alice.types(room["name"], "/incident action Call the vendor @nobody-here")
    refused = await alice.sees_reply("@nobody-here")
    assert "Nobody in this workspace is called" in refused

    from bot.review import workflow

    items = await workflow.records(bot.ctx).actions("INC-1")
    assert [(i.text, i.owner) for i in items] == [
        ("Alert on queue depth", BOB),
        ("Add a runbook", CAROL),
        ("Review the pool size", DAVE),
    ]
    assert items[0].due is not None and items[0].due.isoformat() == "2030-01-31"


async def test_action_owner_typed_without_encoding_is_kept(sandbox: Any, bot: Any) -> None:
    without_escaping(sandbox)
    room = await declared(sandbox, bot)
    alice = Engineer(sandbox, "alice")
    await alice.types(room["name"], "/incident action Rotate the keys @bob")
    await alice.sees_reply("Rotate the keys")
    from bot.review import workflow

    items = await workflow.records(bot.ctx).actions("INC-1")
    assert [(i.text, i.owner) for i in items] == [("Rotate the keys", BOB)]


async def test_escalate_to_a_person_and_to_a_group(sandbox: Any, bot: Any) -> None:
    room = await declared(sandbox, bot)
    alice = Engineer(sandbox, "alice")
    await alice.types(room["name"], '/escalate @carol "needs the platform lead"')
    await alice.sees_reply("escalated to @carol")
    post = await message_with(sandbox, room["name"], "escalated to @carol")
    assert f"<@{CAROL}>" in str(post["blocks"])  # paged by mention

    await alice.types(room["name"], "/escalate INC-1 @payments-team db is down")
    await alice.sees_reply("escalated to @payments-team")

    async def invited() -> bool:
        members = set(sandbox.channel_by_name(room["name"])["members"])
        return {CAROL, DAVE} <= members

    assert await eventually(invited)  # the people escalated to are in the war room
    await alice.types(room["name"], "/escalate INC-1 @zoe")
    assert "@zoe" in await alice.sees_reply("Nobody in this workspace is called")


async def test_invite_people_and_groups_with_unknown_named(sandbox: Any, bot: Any) -> None:
    without_escaping(sandbox)
    room = await declared(sandbox, bot)
    alice = Engineer(sandbox, "alice")
    await alice.types(room["name"], "/incident invite @payments-team, erin@example.com and @zoe")
    reply = await alice.sees_reply("Invited")
    assert "@zoe" in reply and "Nobody in this workspace is called" in reply
    members = set(sandbox.channel_by_name(room["name"])["members"])
    assert {DAVE, CAROL, "U0ERIN0005"} <= members
