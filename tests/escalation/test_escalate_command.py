from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import eventually
from tests.escalation.policies import ALICE, BOB, CAROL, DAVE, ERIN, messages, policy


@pytest.fixture
def bot_policy() -> str:
    return policy()


async def declare(sandbox: Any, bot: Any, title: str = "API gateway down", severity: str = "critical") -> str:
    await sandbox.command("alice", "incidents", "/incident", f'create {severity} "{title}"')

    async def declared() -> str | None:
        ids = await bot.ctx.redis.zrange(bot.ctx.keys.incident_index(), 0, -1)
        return ids[-1] if ids else None

    return str(await eventually(declared))


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("text", "")) + str(m.get("blocks", "")) for m in messages)


async def test_escalate_to_a_role_posts_invites_dms_and_records(sandbox, bot) -> None:
    inc_id = await declare(sandbox, bot)
    inc = await eventually(lambda: _with_war_room(bot, inc_id))
    room = inc.war_room.channel_id

    await sandbox.command("bob", "incidents", "/escalate", f'{inc_id} tech-lead "no progress after 30 min"')
    # the DM to carol (the level-2 target) is the last Slack step of an escalation: wait for it
    dm = await eventually(lambda: _async(messages(sandbox, "dm-carol")))
    assert len(dm) == 1 and "escalation_dm_ack" in str(dm[0]["blocks"])
    posts = [m for m in sandbox.messages(room) if "escalated to" in str(m.get("text", ""))]
    assert len(posts) == 1
    assert "level 2" in posts[0]["text"] and "no progress after 30 min" in str(posts[0]["blocks"])
    # under the announcement too
    thread = sandbox.replies(inc.announcement.channel, inc.announcement.ts)[1:]
    assert len([m for m in thread if "escalated to" in str(m.get("text", ""))]) == 1
    assert CAROL in sandbox.channel_by_name(room)["members"]  # invited to the war room
    # timeline and counter
    stored = await bot.ctx.store.get(inc_id)
    assert stored.escalations == 1
    kinds = [(e.kind, e.actor) for e in await bot.ctx.store.timeline(inc_id)]
    assert ("escalated", BOB) in kinds
    # the user who typed the command is told
    said = await eventually(lambda: _async([e for e in sandbox.ephemerals("bob") if "escalated" in str(e)]))
    assert said


async def test_escalate_by_number_reaches_rotation_and_group(sandbox, bot) -> None:
    inc_id = await declare(sandbox, bot)
    inc = await eventually(lambda: _with_war_room(bot, inc_id))
    await sandbox.command("erin", "incidents", "/escalate", f"{inc_id} 1")
    entry = await eventually(lambda: _escalation_entry(bot, inc_id))
    on_call = {ALICE, BOB} & set(entry.data["users"])
    assert len(on_call) == 1 and DAVE in entry.data["users"]  # primary (one of the two) + secondary
    await sandbox.command("erin", "incidents", "/escalate", f"{inc_id} manager")

    async def second() -> Any:
        entries = [e for e in await bot.ctx.store.timeline(inc_id) if e.kind == "escalated"]
        return entries[1] if len(entries) > 1 else None

    entry = await eventually(second)
    assert set(entry.data["users"]) == {CAROL, ALICE}  # the platform-leads group
    # the level's channel gets the post as well
    await eventually(
        lambda: _async(
            [m for m in sandbox.messages("alerts") if "escalated to level 3" in str(m.get("text", ""))]
        )
    )
    assert (await bot.ctx.store.get(inc.id)).escalations == 2


async def test_role_alias_with_people_directly(sandbox, bot) -> None:
    inc_id = await declare(sandbox, bot)
    await sandbox.command("alice", "incidents", "/escalate", f"{inc_id} support customers are asking")
    entry = await eventually(lambda: _escalation_entry(bot, inc_id))
    assert entry.data["users"] == [ERIN] and "customers are asking" in entry.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "Say which incident"),
        ("INC-1", "Say whom to escalate INC-1 to"),
        ("INC-1 9", "`9` is not a level or role"),
        ("INC-1 cfo", "`cfo` is not a level or role"),
    ],
)
async def test_bad_input_answers_with_usage_and_levels(sandbox, bot, text: str, expected: str) -> None:
    await sandbox.command("alice", "incidents", "/escalate", text)
    answer = await eventually(lambda: _async([e for e in sandbox.ephemerals("alice") if expected in str(e)]))
    body = str(answer[-1])
    assert "/escalate &lt;INC&gt;" in body or "/escalate <INC>" in body
    assert "Team lead" in body and "tech-lead" in body  # the valid levels and roles are listed


async def test_unknown_incident_is_refused(sandbox, bot) -> None:
    await sandbox.command("alice", "incidents", "/escalate", "INC-4242 2")
    answer = await eventually(
        lambda: _async([e for e in sandbox.ephemerals("alice") if "INC-4242" in str(e)])
    )
    assert "does not exist" in str(answer[-1])


async def test_who_lists_each_level(sandbox, bot) -> None:
    await sandbox.command("frank", "incidents", "/escalate", "who")
    answer = await eventually(
        lambda: _async([e for e in sandbox.ephemerals("frank") if "Who is on call" in str(e)])
    )
    body = str(answer[-1])
    assert "Level 1" in body and "Level 2" in body and "Level 3" in body
    assert f"<@{DAVE}>" in body and f"<@{CAROL}>" in body
    assert (f"<@{ALICE}>" in body) or (f"<@{BOB}>" in body)


async def test_escalating_a_resolved_incident_is_refused(sandbox, bot) -> None:
    inc_id = await declare(sandbox, bot, severity="medium")
    await sandbox.command("alice", "incidents", "/incident", f"resolve {inc_id} fixed")
    await eventually(lambda: _resolved(bot, inc_id))
    await sandbox.command("alice", "incidents", "/escalate", f"{inc_id} 2")
    answer = await eventually(
        lambda: _async([e for e in sandbox.ephemerals("alice") if "reopen it" in str(e)])
    )
    assert inc_id in str(answer[-1])
    assert (await bot.ctx.store.get(inc_id)).escalations == 0


async def test_escalate_menu_and_dm_acknowledge(sandbox, bot) -> None:
    inc_id = await declare(sandbox, bot)
    inc = await eventually(lambda: _with_war_room(bot, inc_id))
    # the Escalate menu is on the announcement
    announcement = next(
        m for m in sandbox.messages(inc.announcement.channel) if m["ts"] == inc.announcement.ts
    )
    assert "escalation_select" in str(announcement["blocks"])
    await sandbox.click(
        "bob",
        inc.announcement.channel,
        inc.announcement.ts,
        "escalation_select",
        selected_option=f"{inc_id}|2",
    )
    entry = await eventually(lambda: _escalation_entry(bot, inc_id))
    assert entry.actor == BOB and entry.data["users"] == [CAROL]
    # carol acknowledges from her DM: that acknowledges the incident (nobody had)
    dm = await eventually(lambda: _async(messages(sandbox, "dm-carol")))
    await sandbox.click("carol", "dm-carol", dm[0]["ts"], "escalation_dm_ack")
    acked = await eventually(lambda: _acked(bot, inc_id))
    assert acked.acknowledged_by == CAROL
    updated = await eventually(
        lambda: _async([m for m in messages(sandbox, "dm-carol") if "acknowledged the escalation" in str(m)])
    )
    assert "escalation_dm_ack" not in str(updated[0]["blocks"])  # the button is gone


async def _async(value: Any) -> Any:
    return value


async def _with_war_room(bot: Any, inc_id: str) -> Any:
    inc = await bot.ctx.store.get(inc_id)
    return inc if inc.war_room and inc.war_room_message and inc.announcement else None


async def _escalation_entry(bot: Any, inc_id: str) -> Any:
    return next((e for e in await bot.ctx.store.timeline(inc_id) if e.kind == "escalated"), None)


async def _resolved(bot: Any, inc_id: str) -> Any:
    inc = await bot.ctx.store.get(inc_id)
    return inc if inc.is_resolved else None


async def _acked(bot: Any, inc_id: str) -> Any:
    inc = await bot.ctx.store.get(inc_id)
    return inc if inc.acknowledged_by else None


async def test_public_update_without_a_status_page_configured_is_reported(sandbox, bot) -> None:
    assert bot.ctx.escalation.statuspage is None  # no STATUSPAGE_* in this environment
    inc_id = await declare(sandbox, bot, severity="high")
    inc = await eventually(lambda: _with_war_room(bot, inc_id))
    await sandbox.command("alice", "incidents", "/status", f"update {inc_id} identified Found it --public")
    room = inc.war_room.channel_id
    found = await eventually(
        lambda: _async([m for m in sandbox.messages(room) if "STATUSPAGE_API_KEY" in str(m.get("text", ""))])
    )
    assert "not set" in found[0]["text"]
    assert (await bot.ctx.store.get(inc_id)).updates[0].message == "Found it"


async def test_in_a_war_room_the_incident_may_be_left_out(sandbox, bot) -> None:
    inc_id = await declare(sandbox, bot)
    inc = await eventually(lambda: _with_war_room(bot, inc_id))
    room = inc.war_room.name
    await sandbox.command("alice", room, "/escalate", "2 the database is down")
    entry = await eventually(lambda: _escalation_entry(bot, inc_id))
    assert entry.data["level"] == 2 and entry.text == "Escalated to level 2 (Team lead): the database is down"
    await sandbox.command("alice", room, "/escalate", "manager")

    async def second() -> Any:
        entries = [e for e in await bot.ctx.store.timeline(inc_id) if e.kind == "escalated"]
        return entries[1] if len(entries) > 1 else None

    assert (await eventually(second)).data["level"] == 3
