"""Optimistic read-change-write of one Redis key: WATCH, read, decide, MULTI/EXEC, again on conflict.

The one place the bot writes state that several replicas may change at once (incidents, alert
groups). ``decide`` gets the key's current value and returns ``(result, write)``: ``write`` queues
the commands to run in the transaction (on the pipeline it is given), or is None to write nothing.
When another client changed a watched key in between, EXEC fails and ``decide`` runs again on the
fresh value, so it must not have side effects outside what it returns (it may await reads). After
``attempts`` conflicts in a row :class:`Contended` is raised rather than looping for ever.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random

T = TypeVar("T")

Write = Callable[[Pipeline], Any]
"""Queues the transaction's commands on the pipeline (already in MULTI mode); its return is ignored."""

Raw = str | bytes | None
"""A key's value as the client returns it (str with ``decode_responses``), None when absent."""

Decision = tuple[T, Write | None]
Decide = Callable[[Raw], "Decision[T] | Awaitable[Decision[T]]"]

DEFAULT_ATTEMPTS = 50


class Contended(RuntimeError):
    """The key kept changing under us: ``attempts`` transactions in a row lost the race."""

    def __init__(self, key: str, attempts: int) -> None:
        super().__init__(f"{key} changed under {attempts} attempts in a row; gave up")
        self.key = key
        self.attempts = attempts


async def update_atomically(
    redis: aioredis.Redis,
    key: str,
    decide: Decide[T],
    *,
    also_watch: Sequence[str] = (),
    attempts: int = DEFAULT_ATTEMPTS,
) -> T:
    """Run ``decide`` on ``key``'s value and apply its write atomically; return its result.

    ``also_watch`` names further keys whose change must also restart the decision (same hash slot
    as ``key`` on Redis Cluster). Exceptions from ``decide`` propagate and nothing is written.
    """
    retrying = AsyncRetrying(
        stop=stop_after_attempt(attempts),
        retry=retry_if_exception_type(WatchError),
        wait=wait_random(0, 0.005),  # a little jitter so replicas in lockstep fall out of it
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                return await _once(redis, key, decide, also_watch)
    except WatchError as exc:
        raise Contended(key, attempts) from exc
    raise AssertionError("unreachable: tenacity either returns, retries or re-raises")


async def _once(redis: aioredis.Redis, key: str, decide: Decide[T], also_watch: Sequence[str]) -> T:
    async with redis.pipeline(transaction=True) as pipe:
        await pipe.watch(key, *also_watch)
        raw = await pipe.get(key)
        decided = decide(raw)
        result, write = await decided if inspect.isawaitable(decided) else decided
        if write is None:
            await pipe.reset()
            return result
        pipe.multi()
        write(pipe)
        await pipe.execute()
        return result
