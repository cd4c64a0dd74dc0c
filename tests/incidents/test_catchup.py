"""Catch-up through the sandbox: ``/incident catchup`` and the *Catch up* button answer the asker
alone with the incident's state and what changed since they last looked; the mark is per person."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config.policy import Policy
from bot.core.models import Incident, StatusUpdate, TimelineEntry
from bot.incidents import catchup, catchup_views
from sandbox.blocks import validate_blocks
from tests.conftest import eventually
from tests.incidents.story import Engineer, buttons, channel_named, message_with, texts

ALICE, BOB, CAROL, ERIN = "U0ALICE001", "U0BOB00002", "U0CAROL003", "U0ERIN0005"


@pytest.fixture
def bot_policy() -> str:
    return f"""
escalation:
  rotations:
    - {{name: primary, members: [{ERIN}], shift: 1w, start: 2024-01-01}}
    - {{name: secondary, members: [{ALICE}], shift: 1d, start: 2024-01-01}}
  timers: []
"""


async def test_catch_up_shows_what_changed_since_the_last_look(sandbox: Any, bot: Any) -> None:
    alice, bob = Engineer(sandbox, "alice"), Engineer(sandbox, "bob")
    await bob.types("#incidents", '/incident create critical "Checkout failing"')
    room = await channel_named(sandbox, "inc-1-")
    await message_with(sandbox, room["name"], "INC-1: Checkout failing")

    await alice.types("#incidents", "/incident catchup INC-1")
    first = await alice.sees_reply("Catch up: INC-1")
    assert "*Everything so far*" in first and "Critical" in first and "Investigating" in first
    assert "none assigned" in first and "*Latest update:* none yet." in first
    assert f"<#{room['id']}>" in first

    await bob.types("#incidents", '/status update INC-1 identified "Pool exhausted on <!here> db-1 & db-2"')
    await bob.types("#incidents", "/incident role INC-1 commander @carol")
    await bob.types("#incidents", '/escalate INC-1 1 "no progress"')

    async def escalated() -> bool:
        return any(e.kind == "escalated" for e in await bot.ctx.store.timeline("INC-1"))

    await eventually(escalated)

    # the Catch up button on the war room's headline post
    headline = await message_with(sandbox, room["name"], "INC-1: Checkout failing")
    assert catchup.CATCHUP in buttons(headline)
    await alice.clicks(room["name"], headline, catchup.CATCHUP)
    second = await alice.sees_reply("*Since you last looked*", room["name"])
    assert "): 3 changes" in second  # the update, the role, the escalation
    assert "*Status updates* (1)" in second and "*Role changes* (1)" in second
    assert "*Escalations* (1)" in second
    assert f"Incident commander: <@{CAROL}>" in second
    assert "*Latest update* (#1, identified" in second and "db-1 &amp; db-2" in second
    assert "<!here>" not in second  # a broadcast typed into an update stays inert
    assert "<!date^" in second  # times in the reader's own time zone
    assert "Declared" not in second.split("*Since you last looked*")[1]  # seen before

    await alice.types("#incidents", "/incident catchup INC-1")
    third = await alice.sees_reply("*Nothing new*")
    assert "since you last looked" in third

    # the mark is per person: bob has never caught up
    await bob.types(room["name"], "/incident catchup")  # in the war room, the ID can be left out
    assert "*Everything so far*" in await bob.sees_reply("Catch up: INC-1", room["name"])
    seen = await bot.ctx.redis.hgetall(bot.ctx.keys.seen("INC-1"))
    assert set(seen) == {ALICE, BOB} and bot.ctx.keys.seen("INC-1").count("{inc:INC-1}") == 1
    # only the asker ever sees a catch-up
    assert not any("Catch up" in t for t in Engineer(sandbox, "carol").replies_seen())


async def test_catch_up_on_an_unknown_incident_says_so(sandbox: Any, bot: Any) -> None:
    alice = Engineer(sandbox, "alice")
    await alice.types("#incidents", "/incident catchup INC-9")
    assert "INC-9 does not exist" in await alice.sees_reply("INC-9")
    await alice.types("#general", "/incident catchup")
    assert "Give an incident ID" in await alice.sees_reply("Give an incident ID")


async def test_the_mark_keeps_microseconds_and_only_moves_forward(sandbox: Any, bot: Any) -> None:
    later = datetime(2026, 5, 1, 12, 0, 0, 123457, tzinfo=UTC)
    await catchup.remember(bot.ctx, "INC-5", ALICE, later)
    await catchup.remember(bot.ctx, "INC-5", ALICE, later - timedelta(microseconds=1))
    seen = await catchup.last_look(bot.ctx, "INC-5", ALICE)
    assert seen is not None and seen[0] == later
    assert await catchup.last_look(bot.ctx, "INC-5", BOB) is None


# ---- the view alone ------------------------------------------------------------------------------

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _incident() -> Incident:
    return Incident(
        id="INC-7",
        number=7,
        title="Checkout failing",
        severity="high",
        status="identified",
        created_by=BOB,
        created_at=T0,
        roles={"commander": CAROL},
        updates=[StatusUpdate(number=1, status="identified", message="Pool exhausted", by=BOB, at=T0)],
    )


def test_changes_are_grouped_by_what_readers_care_about() -> None:
    kinds = ["status", "role", "escalated", "paged", "alert", "diagnostics", "note", "acknowledged"]
    entries = [
        TimelineEntry(at=T0 + timedelta(minutes=i), actor=BOB, kind=k, text=f"{k} happened")
        for i, k in enumerate(kinds)
    ]
    blocks = [b.to_dict() for b in catchup_views.summary(Policy(), _incident(), entries, T0, total=9)]
    text = texts({"blocks": blocks})
    for group, count in [
        ("Status updates", 1),
        ("Role changes", 1),
        ("Escalations", 2),
        ("Alerts", 1),
        ("Diagnostics", 1),
        ("Other changes", 2),
    ]:
        assert f"*{group}* ({count})" in text
    order = [
        text.index(g) for g in ("Status updates", "Role changes", "Escalations", "Alerts", "Diagnostics")
    ]
    assert order == sorted(order)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["status", "role", "alert", "diagnostics", "note", "x"]), st.text(max_size=3000)
        ),
        max_size=300,
    )
)
def test_catch_up_within_a_messages_limits(entries: list[tuple[str, str]]) -> None:
    timeline = [
        TimelineEntry(at=T0 + timedelta(seconds=i), actor="bot", kind=k, text=t)
        for i, (k, t) in enumerate(entries)
    ]
    blocks = [
        b.to_dict() for b in catchup_views.summary(Policy(), _incident(), timeline, T0, total=len(timeline))
    ]
    assert validate_blocks(blocks) == []
    assert len(blocks) <= 50
