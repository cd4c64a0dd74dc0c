"""On-call hand-offs: computed from the rotations (wall clock, DST-safe, overrides), sent once across
replicas to the outgoing and incoming on-call (and the policy's channel) with the shift's summary;
`/escalate who` shows the next one."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.alerts.state import GroupState
from bot.alerts.worker import AlertKeys
from bot.config.oncall import Override, Rotation
from bot.core.models import Incident
from bot.escalation.handoff import Handoff, HandoffRunner, handoffs, next_handoff, send_handoff
from tests.alerts.payloads import alert, payload
from tests.conftest import eventually
from tests.escalation.policies import ALICE, BOB, CAROL
from tests.incidents.story import Engineer, texts

HANDOFF_IN = timedelta(seconds=8)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_daily_handoff_keeps_the_wall_clock_across_dst() -> None:
    rot = Rotation(
        name="primary",
        members=["UA", "UB"],
        shift="1d",
        handoff_time="09:00",
        timezone="Europe/Berlin",
        start="2024-03-01",
    )
    found = handoffs(rot, utc(2024, 3, 29, 12), utc(2024, 4, 2, 12))
    # 09:00 in Berlin: 08:00 UTC before the change on 31 March, 07:00 UTC after it
    assert [h.at for h in found] == [
        utc(2024, 3, 30, 8),
        utc(2024, 3, 31, 7),
        utc(2024, 4, 1, 7),
        utc(2024, 4, 2, 7),
    ]
    assert [(h.outgoing, h.incoming) for h in found[:2]] == [
        ("UA", "UB"),
        ("UB", "UA"),
    ]  # 29 March: day 28, UA
    assert found[1].shift_start == utc(2024, 3, 30, 8)  # the 23-hour shift of the spring-forward day


def test_fall_back_and_new_york() -> None:
    rot = Rotation(
        name="ny",
        members=["UA", "UB"],
        shift="1w",
        handoff_time="10:00",
        timezone="America/New_York",
        start="2024-10-28",
    )
    found = handoffs(rot, utc(2024, 10, 29), utc(2024, 11, 12))
    assert [h.at for h in found] == [utc(2024, 11, 4, 15), utc(2024, 11, 11, 15)]  # EST from 3 November
    assert found[0].shift_start == utc(2024, 10, 28, 14)  # EDT: the shift was an hour longer


def test_one_member_rotation_hands_off_only_around_overrides() -> None:
    rot = Rotation(
        name="solo",
        members=["UA"],
        shift="1w",
        start="2024-01-01",
        overrides=[Override(start=utc(2024, 2, 1, 12), end=utc(2024, 2, 1, 18), user="UB")],
    )
    found = handoffs(rot, utc(2024, 1, 20), utc(2024, 3, 1))
    assert [(h.at, h.outgoing, h.incoming) for h in found] == [
        (utc(2024, 2, 1, 12), "UA", "UB"),
        (utc(2024, 2, 1, 18), "UB", "UA"),
    ]
    nxt = next_handoff(rot, utc(2024, 1, 3))
    assert nxt is not None and nxt.at == utc(2024, 2, 1, 12)
    assert next_handoff(rot, utc(2024, 2, 2)) is None  # the same person from then on


# -- the story in the sandbox ------------------------------------------------------------------


@pytest.fixture
def handoff_at() -> datetime:
    return (datetime.now(UTC) + HANDOFF_IN).replace(microsecond=0)


@pytest.fixture
def bot_policy(handoff_at: datetime) -> str:
    started = handoff_at - timedelta(hours=1)
    return f"""
escalation:
  rotations:
    - name: primary
      members: [{ALICE}]
      shift: 1w
      start: 2024-01-01
      overrides:
        - {{start: "{started.isoformat()}", end: "{handoff_at.isoformat()}", user: {BOB}}}
  levels:
    - level: 1
      name: On-call
      targets: [{{name: primary, rotation: primary}}]
  timers: []
oncall:
  handoff_channel: "#general"
review:
  stats_chart: false
"""


def dm_channel(sandbox: Any, user: str) -> str | None:
    ws = sandbox.core.workspace
    return next((c.id for c in ws.channels.values() if c.is_im and c.members == [user]), None)


async def dm_saying(sandbox: Any, user: str, needle: str) -> str:
    async def check() -> str | None:
        cid = dm_channel(sandbox, user)
        found = [texts(m) for m in sandbox.messages(cid)] if cid else []
        return next((t for t in found if needle in t), None)

    try:
        return str(await eventually(check, timeout=30))
    except AssertionError:
        ws = sandbox.core.workspace
        seen = [
            (c.members, [texts(m)[:300] for m in sandbox.messages(c.id)])
            for c in ws.channels.values()
            if c.is_im
        ]
        raise AssertionError(f"no DM to {user} saying {needle!r}; DMs: {seen}") from None


async def test_handoff_dms_and_channel_post_sum_up_the_shift(
    sandbox: Any, bot: Any, handoff_at: datetime
) -> None:
    alice, bob = Engineer(sandbox, "alice"), Engineer(sandbox, "bob")
    store = bot.ctx.store

    # --- during Bob's shift: incidents, a follow-up, alerts, a silence ------------------------
    await bob.types("general", '/incident create critical "Checkout errors"')
    await bob.types("general", '/incident create low "Slow search"')
    await alice.types("general", '/incident create high "Leaked token" --private')

    async def three() -> list[Incident] | None:
        found = await store.list(include_resolved=True)
        return found if len(found) == 3 and all(i.announcement for i in found) else None

    incidents = {i.title: i for i in await eventually(three)}
    checkout, search, leak = incidents["Checkout errors"], incidents["Slow search"], incidents["Leaked token"]
    await bob.types("general", f"/incident resolve {search.id} Reindexed")
    await bob.types("general", f"/incident action {checkout.id} Raise the pool size @carol")

    now = datetime.now(UTC)
    group = payload(
        {"alertname": "HighErrorRate"},
        [
            alert({"alertname": "HighErrorRate", "instance": f"web-{i}"}, starts=now - timedelta(minutes=5))
            for i in range(3)
        ],
    )
    other = payload(
        {"alertname": "DiskFull"}, [alert({"alertname": "DiskFull", "instance": "db-1"}, starts=now)]
    )
    async with httpx.AsyncClient() as http:
        for body in (group, other):
            resp = await http.post(f"{bot.url}/alerts/alertmanager", content=json.dumps(body))
            assert resp.status_code == 200

    keys = AlertKeys(bot.ctx.keys)

    async def two_groups() -> list[GroupState] | None:
        gids = await bot.ctx.redis.zrange(keys.watched, 0, -1)
        raws = [await bot.ctx.redis.get(keys.state(str(g))) for g in gids]
        states = [GroupState.model_validate_json(r) for r in raws if r]
        return states if len(states) == 2 else None

    states = await eventually(two_groups)
    # a silence made from Slack leaves these fields on the group (bot/alerts/silences.py)
    noisy = next(s for s in states if s.common_labels.get("alertname") == "DiskFull")
    noisy.silence_id, noisy.silenced_by = "sil-1", CAROL
    noisy.silenced_until = now + timedelta(hours=2)
    await bot.ctx.redis.set(keys.state(noisy.gid), noisy.model_dump_json())

    async def resolved() -> bool:
        return (await store.get(search.id)).is_resolved

    await eventually(resolved)

    # --- /escalate who shows the coming hand-off -------------------------------------------
    await alice.types("general", "/escalate who")
    who = await alice.sees_reply("Next hand-offs", "general")
    assert f"<!date^{int(handoff_at.timestamp())}^" in who and "*primary*" in who
    assert f"<@{BOB}> → <@{ALICE}>" in who
    assert datetime.now(UTC) < handoff_at, "the set-up took longer than the hand-off delay"

    # --- the hand-off: Bob (outgoing) and Alice (incoming) get a DM; #general a post ----------
    bob_dm = await dm_saying(sandbox, BOB, "shift ends")
    alice_dm = await dm_saying(sandbox, ALICE, "You are on call for *primary*")
    for dm in (bob_dm, alice_dm):
        assert f"{checkout.id}* Checkout errors" in dm  # open
        assert "*Open incidents (" in dm and "*Resolved during the shift (1)*" in dm
        assert f"{search.id}* Slow search" in dm
        assert "HighErrorRate ×3" in dm and "DiskFull ×1" in dm
        assert dm.index("HighErrorRate") < dm.index("DiskFull")  # most first
        assert "Raise the pool size" in dm and f"<@{CAROL}>" in dm
        assert "*Silences active (1)*" in dm and f"(by <@{CAROL}>)" in dm
    assert f"taking over from <@{BOB}>" in alice_dm and f"<@{ALICE}> takes over" in bob_dm
    assert leak.id in alice_dm  # Alice is in the private war room
    assert leak.id not in bob_dm and "Leaked token" not in bob_dm

    async def channel_post() -> str | None:
        found = [texts(m) for m in sandbox.messages("general") if "On-call hand-off: primary" in texts(m)]
        return found[0] if found else None

    post = await eventually(channel_post, timeout=30)
    assert f"<@{BOB}> → <@{ALICE}>" in post and checkout.id in post and leak.id not in post

    # --- exactly once: another replica's round at the same moment sends nothing -------------
    assert await HandoffRunner(bot.ctx).run_once(now=handoff_at + timedelta(seconds=1)) == []
    dms = [m for m in sandbox.messages(dm_channel(sandbox, BOB)) if "On-call hand-off" in texts(m)]
    assert len(dms) == 1


async def test_concurrent_replicas_send_a_handoff_once(bot: Any, handoff_at: datetime) -> None:
    h = Handoff("primary", handoff_at + timedelta(days=30), BOB, ALICE, handoff_at)
    sent = await asyncio.gather(*(send_handoff(bot.ctx, h) for _ in range(6)))
    assert sorted(sent) == [False] * 5 + [True]
    marker = await bot.ctx.redis.get(bot.ctx.keys.custom("oncall", "handoff", h.marker))
    assert marker
