"""Automatic escalation with timers of a seconds or two, against the sandbox and a real Redis.

No test waits for something *not* to happen: a later timer that must fire acts as the witness that
the earlier, cancelled one had its chance and stayed silent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.escalation.runtime import runtime
from tests.conftest import eventually
from tests.escalation.policies import ALICE, BOB, CAROL, DAVE, ERIN, policy

TIMERS = """
  timers:
    - id: unacked-secondary
      severities: [critical]
      when: unacknowledged
      after: 1s
      level: 1
      target: secondary
    - {id: unresolved-lead, severities: [critical], when: unresolved, after: 2s, level: 2}
    - {id: unresolved-manager, severities: [critical], when: unresolved, after: 3s, level: 3}
    - {id: high-lead, severities: [high], when: unresolved, after: 1s, level: 2}
    - {id: medium-lead, severities: [medium], when: unresolved, after: 3s, level: 2}
"""


@pytest.fixture
def bot_policy() -> str:
    return policy(TIMERS)


async def declare(bot: Any, severity: str = "critical", title: str = "Checkout down") -> str:
    from bot.incidents import workflow as flow

    out = await flow.declare(
        bot.ctx, user=ALICE, severity=severity, title=title, origin_channel="C0INCIDENTS"
    )
    return out.incident.id


async def escalations(bot: Any, inc_id: str) -> list[Any]:
    return [e for e in await bot.ctx.store.timeline(inc_id) if e.kind == "escalated"]


def rules(entries: list[Any]) -> list[str]:
    return [e.data.get("rule") for e in entries]


async def test_timers_fire_in_order_and_reach_their_targets(sandbox, bot) -> None:
    inc_id = await declare(bot)
    entries = await eventually(lambda: _at_least(bot, inc_id, 3), timeout=20)
    assert rules(entries) == ["unacked-secondary", "unresolved-lead", "unresolved-manager"]
    assert entries[0].data["users"] == [DAVE] and entries[0].actor == "bot" and entries[0].data["automatic"]
    assert entries[1].data["users"] == [CAROL]
    assert set(entries[2].data["users"]) == {CAROL, ALICE}
    assert "critical incident unacknowledged after 1s" in entries[0].text
    inc = await bot.ctx.store.get(inc_id)
    assert inc.escalations == 3
    room = inc.war_room.channel_id

    async def posts() -> list[Any] | None:
        found = [m for m in sandbox.messages(room) if "escalated to" in str(m.get("text", ""))]
        return found if len(found) >= 3 else None

    found = await eventually(posts)
    assert len(found) == 3 and all("automatically" in str(m["blocks"]) for m in found)
    states = await runtime(bot.ctx).store.timers(inc_id)
    assert states == {
        "1:unacked-secondary": "fired",
        "1:unresolved-lead": "fired",
        "1:unresolved-manager": "fired",
    }


async def test_acknowledge_cancels_the_unacknowledged_timer(sandbox, bot) -> None:
    from bot.incidents import workflow as flow

    inc_id = await declare(bot)
    await flow.acknowledge(bot.ctx, inc_id, BOB)
    states = await runtime(bot.ctx).store.timers(inc_id)
    assert states["1:unacked-secondary"] == "cancelled"
    entries = await eventually(lambda: _at_least(bot, inc_id, 2), timeout=20)  # the 2s and 3s timers witness
    assert rules(entries) == ["unresolved-lead", "unresolved-manager"]


async def test_resolve_cancels_every_timer(sandbox, bot) -> None:
    from bot.incidents import workflow as flow

    inc_id = await declare(bot)
    witness = await declare(bot, title="Witness")
    await flow.resolve(bot.ctx, inc_id, ALICE, "false alarm")
    states = await runtime(bot.ctx).store.timers(inc_id)
    assert set(states.values()) == {"cancelled"}
    await eventually(lambda: _at_least(bot, witness, 3), timeout=20)  # the witness's last timer fired
    assert await escalations(bot, inc_id) == []


async def test_manual_escalation_moves_past_lower_timers(sandbox, bot) -> None:
    inc_id = await declare(bot)
    bob = sandbox.user_by_name("bob")["id"]
    await sandbox.command("bob", "incidents", "/escalate", f"{inc_id} 2 customers are angry")
    # Bob's answer comes once the escalation and its timer cancellations are done. Waiting for it, not
    # for "one escalation in the timeline": the 1 s unacknowledged timer may fire before the command.
    await eventually(
        lambda: _async([e for e in sandbox.ephemerals("bob") if f"{inc_id} escalated" in str(e)])
    )
    states = await runtime(bot.ctx).store.timers(inc_id)
    assert states["1:unresolved-lead"] == "cancelled"
    assert states["1:unresolved-manager"] == "pending"  # above the manual level: still counting
    early = states["1:unacked-secondary"]  # level 1: fired before the command, or cancelled by it
    assert early in ("fired", "cancelled")
    # level 3's timer (3 s) is the witness that level 2's (2 s) had its chance and stayed silent
    entries = await eventually(lambda: _with_rule(bot, inc_id, "unresolved-manager"), timeout=20)
    manual = [e for e in entries if not e.data["automatic"]]
    assert len(manual) == 1 and manual[0].actor == bob and manual[0].data["level"] == 2
    # None: the manual escalation; a level-1 timer that fired before it was cancelled shows once
    assert [r for r in rules(entries) if r != "unacked-secondary"] == [None, "unresolved-manager"]
    assert rules(entries).count("unacked-secondary") == (1 if early == "fired" else 0)
    assert rules(entries)[-1] == "unresolved-manager"
    assert (await runtime(bot.ctx).store.timers(inc_id))["1:unresolved-lead"] == "cancelled"


async def _with_rule(bot: Any, inc_id: str, rule: str) -> list[Any] | None:
    entries = await escalations(bot, inc_id)
    return entries if rule in rules(entries) else None


async def _async(value: Any) -> Any:
    return value


async def test_timers_survive_a_restart_of_the_bot(sandbox, bot, redis_client) -> None:
    inc_id = await declare(bot, severity="medium")
    await bot.stop()  # the timer is in Redis; no bot process is running
    key = f"{bot.prefix}:{{esc:{inc_id}}}:timers"
    assert await redis_client.hgetall(key) == {"1:medium-lead": "pending"}
    await bot.start()
    entries = await eventually(lambda: _at_least(bot, inc_id, 1), timeout=20)
    assert rules(entries) == ["medium-lead"]
    assert await redis_client.hgetall(key) == {"1:medium-lead": "fired"}


async def test_reopen_starts_a_new_generation(sandbox, bot) -> None:
    from bot.incidents import workflow as flow

    inc_id = await declare(bot, severity="high")
    await flow.resolve(bot.ctx, inc_id, ALICE, "looked fine")
    await flow.reopen(bot.ctx, inc_id, ERIN)
    entries = await eventually(lambda: _at_least(bot, inc_id, 1), timeout=20)
    assert rules(entries) == ["high-lead"]
    states = await runtime(bot.ctx).store.timers(inc_id)
    assert states == {"1:high-lead": "cancelled", "2:high-lead": "fired"}


async def _at_least(bot: Any, inc_id: str, n: int) -> list[Any] | None:
    entries = await escalations(bot, inc_id)
    return entries if len(entries) >= n else None


async def test_a_timer_run_many_times_at_once_escalates_once(sandbox, bot) -> None:
    # as if the job queue handed the same job to several workers (or re-ran it after a crash)
    from bot.escalation import firing

    inc_id = await declare(bot, severity="medium")
    outcomes = await asyncio.gather(*(firing.fire(bot.ctx, inc_id, 1, "medium-lead") for _ in range(10)))
    assert sorted(outcomes) == ["fired"] + ["not_pending"] * 9
    assert rules(await escalations(bot, inc_id)) == ["medium-lead"]
    assert (await bot.ctx.store.get(inc_id)).escalations == 1
