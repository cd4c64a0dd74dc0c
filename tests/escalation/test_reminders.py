"""Status-update reminders: a nudge to the commander in the war room when an incident goes quiet,
with a prefilled update modal and a snooze button."""

from __future__ import annotations

from typing import Any

import pytest

from bot.escalation import reminders
from bot.escalation.runtime import runtime
from tests.conftest import eventually
from tests.escalation.policies import ALICE, BOB, policy

REMINDERS = """
  reminders:
    cadence: {critical: 1s, high: 30m}
    snooze: 1s
    repeat: false
"""


@pytest.fixture
def bot_policy() -> str:
    return policy("  timers: []" + REMINDERS)


async def declare(bot: Any, severity: str = "critical") -> Any:
    from bot.incidents import workflow as flow

    return (await flow.declare(bot.ctx, user=ALICE, severity=severity, title="Search is slow")).incident


def nudges(sandbox: Any, room: str) -> list[dict[str, Any]]:
    return [m for m in sandbox.messages(room) if "no status update" in str(m.get("text", ""))]


async def test_a_quiet_incident_nudges_its_commander(sandbox, bot) -> None:
    inc = await declare(bot)
    room = inc.war_room.channel_id
    found = await eventually(lambda: _async(nudges(sandbox, room)))
    blocks = str(found[0]["blocks"])
    assert f"<@{ALICE}>" in blocks  # nobody took command: the reporter is nudged
    assert "escalation_reminder_update" in blocks and "escalation_reminder_snooze" in blocks
    kinds = [e.kind for e in await bot.ctx.store.timeline(inc.id)]
    assert "reminder" in kinds


async def test_an_update_moves_the_reminder(sandbox, bot) -> None:
    from bot.incidents import workflow as flow

    inc = await declare(bot, severity="high")  # cadence 30 min: nothing fires during the test
    first = await bot.ctx.redis.get(runtime(bot.ctx).store.key(inc.id, "remind"))
    assert first.startswith("u0-")
    await flow.update_status(bot.ctx, inc.id, BOB, "identified", "Index rebuild running")
    second = await bot.ctx.redis.get(runtime(bot.ctx).store.key(inc.id, "remind"))
    assert second.startswith("u1-") and second != first
    assert await reminders.fire(bot.ctx, inc.id, first) == "stale"  # the old reminder does nothing
    assert await reminders.fire(bot.ctx, inc.id, second) == "nudged"
    assert await reminders.fire(bot.ctx, inc.id, second) == "stale"  # and fires once


async def test_no_reminder_for_a_resolved_incident(sandbox, bot) -> None:
    from bot.incidents import workflow as flow

    inc = await declare(bot, severity="high")
    token = await bot.ctx.redis.get(runtime(bot.ctx).store.key(inc.id, "remind"))
    await flow.resolve(bot.ctx, inc.id, ALICE, "fine")
    assert await reminders.fire(bot.ctx, inc.id, token) == "skipped"
    assert await bot.ctx.redis.get(runtime(bot.ctx).store.key(inc.id, "remind")) is None


async def test_post_update_opens_a_prefilled_modal_that_posts_the_update(sandbox, bot) -> None:
    inc = await declare(bot)
    room = inc.war_room.channel_id
    nudge = (await eventually(lambda: _async(nudges(sandbox, room))))[0]
    await sandbox.click("alice", room, nudge["ts"], "escalation_reminder_update")
    modal = (await eventually(lambda: _async(sandbox.views("alice"))))[0]
    assert modal["callback_id"] == "escalation_status_modal" and modal["private_metadata"] == inc.id
    text_input = modal["blocks"][2]["element"]
    assert text_input["initial_value"].startswith("Status: Investigating\nWhat we know:")
    assert "Next update: within 1s" in text_input["initial_value"]
    await sandbox.submit(
        "alice", modal["id"], {"status": {"value": "identified"}, "message": {"value": "Bad index found"}}
    )
    stored = await eventually(lambda: _updated(bot, inc.id))
    assert stored.status == "identified" and stored.updates[0].message == "Bad index found"
    assert stored.updates[0].by == ALICE


async def test_the_modal_explains_a_refused_update(sandbox, bot) -> None:
    from bot.incidents import workflow as flow

    inc = await declare(bot)
    room = inc.war_room.channel_id
    nudge = (await eventually(lambda: _async(nudges(sandbox, room))))[0]
    await sandbox.click("alice", room, nudge["ts"], "escalation_reminder_update")
    modal = (await eventually(lambda: _async(sandbox.views("alice"))))[0]
    await flow.resolve(bot.ctx, inc.id, BOB, "fixed meanwhile")
    result = await sandbox.submit("alice", modal["id"], {"message": {"value": "late news"}})
    assert result["response_action"] == "errors"
    assert result["errors"]["message"].startswith(f"{inc.id} is resolved")
    assert sandbox.views("alice")[0]["id"] == modal["id"]  # the modal stays open with the reason


async def test_snooze_brings_the_nudge_back_later(sandbox, bot) -> None:
    inc = await declare(bot)
    room = inc.war_room.channel_id
    nudge = (await eventually(lambda: _async(nudges(sandbox, room))))[0]
    await sandbox.click("bob", room, nudge["ts"], "escalation_reminder_snooze")
    snoozed = await eventually(
        lambda: _async([m for m in sandbox.messages(room) if "snoozed by" in str(m.get("blocks", ""))])
    )
    assert snoozed[0]["ts"] == nudge["ts"]  # the nudge itself now says who snoozed it
    again = await eventually(lambda: _async(len(nudges(sandbox, room)) >= 1 and nudges(sandbox, room)))
    assert again[-1]["ts"] != nudge["ts"]
    kinds = [e.kind for e in await bot.ctx.store.timeline(inc.id)]
    assert kinds.count("reminder") == 2 and "reminder_snoozed" in kinds


async def _async(value: Any) -> Any:
    return value


async def _updated(bot: Any, inc_id: str) -> Any:
    inc = await bot.ctx.store.get(inc_id)
    return inc if inc.updates else None
