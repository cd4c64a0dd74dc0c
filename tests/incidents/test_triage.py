"""Triage, decline, merge and test incidents through the sandbox: an incident in triage has no war
room and pages nobody until accepted; a declined one is closed with its reason and left out of the
figures; a merged one is closed with a pointer, both timelines linked; a test incident pages nobody
and says TEST wherever it is shown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.escalation.runtime import runtime
from bot.incidents import declare_views as dv
from bot.incidents import views
from bot.incidents.declare_modal import GLOBAL_SHORTCUT
from bot.review import stats
from tests.conftest import eventually
from tests.incidents.story import Engineer, buttons, channel_named, message_with, texts
from tests.pagers.vendor_server import VendorServer

ALICE, BOB = "U0ALICE001", "U0BOB00002"

# level 1 pages PagerDuty (the local vendor server); no timers, so only an escalation pages
PAGING_POLICY = f"""
escalation:
  levels:
    - level: 1
      name: On-call
      targets: [{{name: primary, users: [{BOB}], pager: {{service: pagerduty}}}}]
  timers: []
  pagers: {{attempts: 2, timeout: 1s}}
"""


@pytest.fixture
async def vendor() -> AsyncIterator[VendorServer]:
    server = VendorServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def bot_policy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """The default policy; parametrized with "paging", a policy whose level 1 pages the local
    vendor server (its keys and URL in the environment before the bot starts)."""
    if getattr(request, "param", None) != "paging":
        return None
    vendor: VendorServer = request.getfixturevalue("vendor")
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY", vendor.routing_key)
    monkeypatch.setenv("PAGERDUTY_API_URL", vendor.base_url)
    return PAGING_POLICY


async def _incident(bot: Any, incident_id: str) -> Any:
    return await eventually(lambda: bot.ctx.store.find(incident_id))


async def test_triage_then_accept_opens_the_war_room(sandbox: Any, bot: Any) -> None:
    alice, bob = Engineer(sandbox, "alice"), Engineer(sandbox, "bob")
    await alice.types("#incidents", '/incident create critical "Error rate creeping up" --triage')
    ann = await message_with(sandbox, "#incidents", "Error rate creeping up")
    assert "Triage" in texts(ann) and views.ACCEPT in buttons(ann) and views.ACK not in buttons(ann)
    inc = await _incident(bot, "INC-1")
    assert inc.triage and inc.war_room is None
    assert not any(c.name.startswith("inc-1-") for c in sandbox.core.workspace.channels.values())

    # triage refuses what needs a live incident, with the way out
    await bob.types("#incidents", "/incident resolve INC-1")
    assert "accept it first" in await bob.sees_reply("in triage")

    await bob.clicks("#incidents", ann, views.ACCEPT)
    await bob.sees_reply("You accepted INC-1")
    room = await channel_named(sandbox, "inc-1-")
    inc = await _incident(bot, "INC-1")
    assert not inc.triage and inc.accepted_by == BOB and inc.war_room is not None
    assert inc.war_room.channel_id == room["id"]

    async def rerendered() -> bool:
        msg = next(m for m in sandbox.messages("#incidents") if m["ts"] == ann["ts"])
        return views.ACK in buttons(msg) and "Triage" not in texts(msg)

    await eventually(rerendered)
    await bob.types("#incidents", "/incident accept INC-1")
    assert "not in triage" in await bob.sees_reply("not in triage")
    await bob.types("#incidents", '/incident decline INC-1 "nah"')
    assert "Resolve it instead" in await bob.sees_reply("Only an incident in triage")
    kinds = [e.kind for e in await bot.ctx.store.timeline("INC-1")]
    assert kinds.index("accepted") < kinds.index("war_room")


async def test_triage_from_the_form_and_decline_keeps_it_out_of_stats(sandbox: Any, bot: Any) -> None:
    alice = Engineer(sandbox, "alice")
    await sandbox.actions.shortcut("alice", GLOBAL_SHORTCUT)
    view = await eventually(lambda: _first_view(sandbox, "alice"))
    res = await sandbox.submit(
        "alice",
        view["id"],
        {
            dv.TITLE: {"text": "Disk alarms on db-7"},
            dv.SEVERITY: {"choice": "high"},
            dv.PRIVATE: {"choice": ["triage"]},
        },
    )
    assert res.get("response_action") in (None, "clear"), res
    inc = await _incident(bot, "INC-1")
    assert inc.triage
    await alice.types("#incidents", '/incident create low "Real one"')
    await _incident(bot, "INC-2")

    await alice.types("#incidents", "/incident decline INC-1")  # no reason: asked for one
    assert "Say why" in await alice.sees_reply("Say why")
    await alice.types("#incidents", '/incident decline INC-1 "known flapping alarm & <!here> noise"')
    await alice.sees_reply("INC-1 declined")
    inc = await _incident(bot, "INC-1")
    assert inc.declined is not None and inc.declined.by == ALICE and "flapping" in inc.declined.reason
    assert inc.closed_at is not None and not inc.in_metrics

    async def shows_declined() -> bool:
        msg = next(m for m in sandbox.messages("#incidents") if "Disk alarms" in texts(m))
        return "Declined" in texts(msg) and not buttons(msg)

    await eventually(shows_declined)
    figures = await stats.gather(bot.ctx.store, ["high", "low"], days=1, now=datetime.now(UTC))
    assert [s.count for s in figures.by_severity] == [0, 1]
    await alice.types("#incidents", "/incident list all")
    listed = await alice.sees_reply("All incidents")
    assert "INC-1" in listed and "declined" in listed
    await alice.types("#incidents", "/incident list")
    assert "INC-1" not in await alice.sees_reply("Open incidents (1)")
    await alice.types("#incidents", '/status update INC-1 identified "x"')
    assert "was declined in triage" in await alice.sees_reply("declined in triage")


async def _first_view(sandbox: Any, user: str) -> dict[str, Any] | None:
    found = sandbox.views(user)
    return dict(found[0]) if found else None


async def test_merge_links_the_timelines_and_points_the_war_room_on(sandbox: Any, bot: Any) -> None:
    alice, bob = Engineer(sandbox, "alice"), Engineer(sandbox, "bob")
    await alice.types("#incidents", '/incident create critical "Checkout 502s"')
    await bob.types("#incidents", '/incident create critical "Payments API errors"')
    room1 = await channel_named(sandbox, "inc-1-")
    room2 = await channel_named(sandbox, "inc-2-")
    await message_with(sandbox, room2["name"], "Payments API errors")

    await bob.types("#incidents", "/incident merge INC-2 into INC-2")
    assert "cannot be merged into itself" in await bob.sees_reply("itself")
    await bob.types("#incidents", "/incident merge INC-2 INC-9")
    await bob.sees_reply("INC-9 does not exist")
    await bob.types("#incidents", "/incident merge INC-2 into INC-1")
    await bob.sees_reply("INC-2 merged into INC-1")

    two, one = await _incident(bot, "INC-2"), await _incident(bot, "INC-1")
    assert two.merged_into == "INC-1" and two.closed_at is not None and not two.in_metrics
    assert one.merged_from == ["INC-2"] and not one.is_resolved
    pointer = await message_with(sandbox, room2["name"], "was merged into *INC-1*")
    assert f"<#{room1['id']}>" in texts(pointer)
    await message_with(sandbox, room1["name"], "INC-2")
    assert any(
        e.kind == "merged" and e.data.get("into") == "INC-1" for e in await bot.ctx.store.timeline("INC-2")
    )
    assert any(
        e.kind == "merged" and e.data.get("from") == "INC-2" for e in await bot.ctx.store.timeline("INC-1")
    )

    async def announcement_says_merged() -> bool:
        msg = next(m for m in sandbox.messages("#incidents") if "Payments API errors" in texts(m))
        return "Merged into" in texts(msg) and not buttons(msg)

    await eventually(announcement_says_merged)
    await alice.types("#incidents", "/incident merge INC-1 into INC-2")
    assert "merged into INC-1" in await alice.sees_reply("INC-2 was merged")
    await alice.types("#incidents", "/incident ack INC-2")  # an unknown verb is still answered
    await alice.types("#incidents", '/status update INC-2 identified "x"')
    assert "work on INC-1 instead" in await alice.sees_reply("work on INC-1")


async def test_a_test_incident_pages_nobody_and_is_marked_everywhere(sandbox: Any, bot: Any) -> None:
    alice = Engineer(sandbox, "alice")
    await alice.types("#incidents", '/incident create critical "Game day: DB failover" --test')
    room = await channel_named(sandbox, "inc-1-")
    ann = await message_with(sandbox, "#incidents", "Game day")
    assert texts(ann).splitlines()[1].startswith("TEST · INC-1")  # the header
    headline = await message_with(sandbox, room["name"], "Game day")
    assert "TEST" in texts(headline)
    inc = await _incident(bot, "INC-1")
    assert inc.test and not inc.in_metrics

    await alice.types("#incidents", '/incident create critical "Real failover"')
    await message_with(sandbox, "#incidents", "Real failover")
    rt = runtime(bot.ctx)

    async def real_one_has_timers() -> bool:  # the default policy's escalation timers
        return bool(await rt.store.timers("INC-2"))

    await eventually(real_one_has_timers)
    assert not await rt.store.timers("INC-1")  # the drill: no timers, so nobody is ever paged
    assert not await rt.store.paged("INC-1")

    await alice.types("#incidents", "/incident show INC-1")
    assert "no pages, not in metrics" in await alice.sees_reply("TEST · INC-1: Game day")
    await alice.types("#incidents", "/incident list")
    listed = await alice.sees_reply("Open incidents")
    line = next(ln for ln in listed.splitlines() if "INC-1" in ln)
    assert line.startswith("TEST · ")
    assert "TEST" not in next(ln for ln in listed.splitlines() if "INC-2" in ln)
    topic = sandbox.core.workspace.channels[room["id"]].topic["value"]
    assert topic.startswith("TEST · INC-1")
    figures = await stats.gather(bot.ctx.store, ["critical"], days=1, now=datetime.now(UTC))
    assert figures.total.count == 1


@pytest.mark.parametrize("bot_policy", ["paging"], indirect=True)
async def test_escalating_a_test_incident_posts_it_marked_but_pages_nobody(
    sandbox: Any, bot: Any, vendor: VendorServer
) -> None:
    alice = Engineer(sandbox, "alice")
    await alice.types("#incidents", '/incident create critical "Game day: cache flush" --test')
    room = await channel_named(sandbox, "inc-1-")
    await alice.types("#incidents", '/escalate INC-1 1 "drill step 3"')
    await alice.sees_reply("INC-1 escalated to")

    # recorded and posted in the war room, marked TEST, with the line saying the pager was skipped
    post = await message_with(sandbox, room["name"], "escalated to")
    assert "TEST · *INC-1 escalated to" in texts(post)
    assert "no page sent via pagerduty" in texts(post)
    inc = await _incident(bot, "INC-1")
    assert inc.escalations == 1
    assert [e.kind for e in await bot.ctx.store.timeline("INC-1")].count("escalated") == 1
    assert not await runtime(bot.ctx).store.paged("INC-1")

    # the same escalation of a real incident does reach the vendor server (it is listening)
    await alice.types("#incidents", '/incident create high "Real cache outage"')
    await channel_named(sandbox, "inc-2-")
    await alice.types("#incidents", "/escalate INC-2 1")
    await alice.sees_reply("INC-2 escalated to")

    async def paged_inc2() -> Any:
        return vendor.pd_alerts.get("INC-2")

    await eventually(paged_inc2)
    assert [r.body.get("dedup_key") for r in vendor.requests] == ["INC-2"]
    assert "INC-1" not in vendor.pd_alerts
