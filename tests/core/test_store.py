"""The incident core against a real Redis: atomic transitions, the state machine, persistence."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from bot.config.policy import Policy
from bot.core import state
from bot.core.models import Incident, TimelineEntry
from bot.core.store import IncidentStore, NotFound
from bot.keys import Keys
from tests.conftest import REDIS_URL

POLICY = Policy()


@pytest.fixture
async def store(redis_prefix: str) -> IncidentStore:
    client = aioredis.from_url(REDIS_URL, decode_responses=True)
    yield IncidentStore(client, Keys(redis_prefix))
    await client.aclose()


async def _new(store: IncidentStore, title: str = "API down") -> Incident:
    iid, n = await store.next_id()
    inc = Incident(
        id=iid, number=n, title=title, severity="critical", status="investigating", created_by="U1"
    )
    return await store.create(inc, TimelineEntry(actor="U1", kind="created", text="declared"))


async def test_ids_count_up(store: IncidentStore) -> None:
    a, b = await _new(store), await _new(store)
    assert (a.id, b.id) == ("INC-1", "INC-2")


async def test_concurrent_acknowledge_gives_exactly_one(store: IncidentStore) -> None:
    inc = await _new(store)
    users = [f"U{i:03d}" for i in range(20)]
    results = await asyncio.gather(
        *(store.apply(inc.id, state.acknowledge(u)) for u in users), return_exceptions=True
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, state.Refused)]
    assert len(winners) == 1 and len(refused) == 19
    final = await store.get(inc.id)
    assert final.acknowledged_by == winners[0][0].acknowledged_by
    acks = [e for e in await store.timeline(inc.id) if e.kind == "acknowledged"]
    assert len(acks) == 1
    assert all("already acknowledged" in str(r) for r in refused)


async def test_status_transitions(store: IncidentStore) -> None:
    inc = await _new(store)
    for status, msg in [
        ("identified", "bad deploy"),
        ("monitoring", "rolled back"),
        ("investigating", "again"),
    ]:
        inc, _ = await store.apply(inc.id, state.update_status(POLICY, "U2", status, msg))
    assert [u.number for u in inc.updates] == [1, 2, 3]
    assert inc.status == "investigating" and inc.mitigated_at is not None
    with pytest.raises(state.Refused, match="not a status"):
        await store.apply(inc.id, state.update_status(POLICY, "U2", "fixed", "x"))
    inc, _ = await store.apply(inc.id, state.update_status(POLICY, "U2", "resolved", "all good"))
    assert inc.is_resolved and inc.summary == "all good"
    with pytest.raises(state.Refused, match="Reopen it first"):
        await store.apply(inc.id, state.update_status(POLICY, "U2", "monitoring", "x"))
    with pytest.raises(state.Refused, match="already resolved"):
        await store.apply(inc.id, state.resolve(POLICY, "U2", None))
    inc, _ = await store.apply(inc.id, state.reopen(POLICY, "U3"))
    assert inc.status == "investigating" and not inc.is_resolved
    with pytest.raises(state.Refused, match="not resolved"):
        await store.apply(inc.id, state.reopen(POLICY, "U3"))


async def test_roles_and_notes_go_to_the_timeline(store: IncidentStore) -> None:
    inc = await _new(store)
    inc, _ = await store.apply(inc.id, state.assign_role(POLICY, "U1", "tech-lead", "U9"))
    assert inc.roles == {"tech_lead": "U9"}
    with pytest.raises(state.Refused, match="not a role"):
        await store.apply(inc.id, state.assign_role(POLICY, "U1", "janitor", "U9"))
    await store.apply(inc.id, state.add_note("U1", "rolled back"))
    kinds = [e.kind for e in await store.timeline(inc.id)]
    assert kinds == ["created", "role", "note"]


async def test_state_survives_a_new_client(store: IncidentStore, redis_prefix: str) -> None:
    inc = await _new(store)
    await store.apply(inc.id, state.acknowledge("U5"))
    other = aioredis.from_url(REDIS_URL, decode_responses=True)
    try:
        again = await IncidentStore(other, Keys(redis_prefix)).get(inc.id)
    finally:
        await other.aclose()
    assert again.acknowledged_by == "U5"
    with pytest.raises(NotFound):
        await store.get("INC-999")
