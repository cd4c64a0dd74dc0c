"""The one optimistic-update helper against a real Redis: conflicts re-decide, aborts write nothing,
endless contention gives up with a clear error instead of spinning."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from bot.core.optimistic import Contended, Decision, Raw, update_atomically
from tests.conftest import REDIS_URL


def _count(raw: Raw) -> int:
    return int(json.loads(raw)["n"]) if raw is not None else 0


async def test_a_concurrent_change_makes_it_decide_again_on_the_fresh_value(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    key = f"{redis_prefix}:counter"
    seen: list[int] = []

    async def decide(raw: Raw) -> Decision[int]:
        n = _count(raw)
        seen.append(n)
        if len(seen) == 1:  # another replica writes between our read and our EXEC
            await redis_client.set(key, json.dumps({"n": 10}))

        def write(pipe: Pipeline) -> None:
            pipe.set(key, json.dumps({"n": n + 1}))

        return n + 1, write

    assert await update_atomically(redis_client, key, decide) == 11
    assert seen == [0, 10]
    assert _count(await redis_client.get(key)) == 11


async def test_many_writers_lose_no_update(redis_client: aioredis.Redis, redis_prefix: str) -> None:
    key = f"{redis_prefix}:counter"
    clients = [aioredis.from_url(REDIS_URL, decode_responses=True) for _ in range(4)]

    def decide_for(raw: Raw) -> Decision[int]:
        n = _count(raw) + 1

        def write(pipe: Pipeline) -> None:
            pipe.set(key, json.dumps({"n": n}))

        return n, write

    try:
        results = await asyncio.gather(
            *(update_atomically(clients[i % 4], key, decide_for) for i in range(40))
        )
    finally:
        for c in clients:
            await c.aclose()
    assert sorted(results) == list(range(1, 41))
    assert _count(await redis_client.get(key)) == 40


async def test_no_write_leaves_the_key_alone(redis_client: aioredis.Redis, redis_prefix: str) -> None:
    key = f"{redis_prefix}:state"
    await redis_client.set(key, json.dumps({"n": 3}))

    def decide(raw: Raw) -> Decision[str]:
        return f"seen {_count(raw)}", None

    assert await update_atomically(redis_client, key, decide) == "seen 3"
    assert _count(await redis_client.get(key)) == 3


async def test_a_refusal_propagates_and_writes_nothing(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    key = f"{redis_prefix}:missing"

    def decide(raw: Raw) -> Decision[None]:
        if raw is None:
            raise LookupError("no such group")
        return None, lambda pipe: pipe.set(key, "x")

    with pytest.raises(LookupError, match="no such group"):
        await update_atomically(redis_client, key, decide)
    assert await redis_client.exists(key) == 0


async def test_endless_contention_gives_up_after_the_bound(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    key = f"{redis_prefix}:hot"
    decisions = 0

    async def decide(raw: Raw) -> Decision[None]:
        nonlocal decisions
        decisions += 1
        await redis_client.incr(key)  # someone else always wins the race
        return None, lambda pipe: pipe.set(key, "ours")

    with pytest.raises(Contended, match="5 attempts"):
        await update_atomically(redis_client, key, decide, attempts=5)
    assert decisions == 5
    assert await redis_client.get(key) == "5"


async def test_a_change_to_an_also_watched_key_restarts_the_decision(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    key, other = f"{redis_prefix}:{{g}}:state", f"{redis_prefix}:{{g}}:pending"
    decisions = 0

    async def decide(raw: Raw) -> Decision[int]:
        nonlocal decisions
        decisions += 1
        if decisions == 1:
            await redis_client.rpush(other, "late")  # type: ignore[misc]
        return decisions, lambda pipe: pipe.set(key, str(decisions))

    assert await update_atomically(redis_client, key, decide, also_watch=[other]) == 2
    assert await redis_client.get(key) == "2"
