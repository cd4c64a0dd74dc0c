"""In-process scheduling for machine work: a storm must not starve the event loop.

People first: while a person's request is being handled (the listener pipeline and the outbox's
interactive threads mark it with :func:`person`), machine work (the alert intake before its write,
the alert worker between notifications, the outbox's bulk threads between steps) waits for it, for
at most ``MAX_DEFER`` seconds at a time, so a person's request with its dozens of sequential awaits
does not wait a loop cycle full of machine work at each of them, and machine work is never starved.

People's requests (commands, clicks) and the alert intake share one event loop with the alert
worker. The worker is bounded in concurrency and, after each piece of work, yields the loop; when
other work was waiting (the yield came back late), it rests in proportion to the time it just used,
so it takes at most ``share`` of the loop while anything else wants it and all of it otherwise.
Notifications wait in the Redis stream meanwhile (durable), so resting delays, never loses, them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter

BULK_YIELD_SECONDS = Counter(
    "chatops_bulk_yield_seconds_total", "Time machine work rested to leave the event loop to people", ["work"]
)
MAX_DEFER = 0.05  # seconds machine work waits for people at a time


class _People:
    """How many people's requests this process is working on now (per event loop: tests run
    several loops one after the other in one process)."""

    def __init__(self) -> None:
        self.active = 0
        self._idle: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def idle_event(self) -> asyncio.Event:
        loop = asyncio.get_running_loop()
        if self._idle is None or self._loop is not loop:
            self._idle, self._loop = asyncio.Event(), loop
            if self.active == 0:
                self._idle.set()
        return self._idle

    def enter(self) -> None:
        self.active += 1
        self.idle_event().clear()

    def leave(self) -> None:
        self.active = max(0, self.active - 1)
        if self.active == 0:
            self.idle_event().set()


PEOPLE = _People()


@contextmanager
def person() -> Iterator[None]:
    """Mark the block as a person's request being handled (machine work defers to it)."""
    PEOPLE.enter()
    try:
        yield
    finally:
        PEOPLE.leave()


async def defer_to_people(work: str, limit: float = MAX_DEFER) -> None:
    """Machine work calls this between steps: returns at once when no person's request is being
    handled, else when they are done or after ``limit`` seconds."""
    if PEOPLE.active == 0:
        return
    started = time.perf_counter()
    try:
        async with asyncio.timeout(limit):
            await PEOPLE.idle_event().wait()
    except TimeoutError:
        pass
    BULK_YIELD_SECONDS.labels(work).inc(time.perf_counter() - started)


class Yielder:
    """``await y.pause(busy)`` after a piece of work that took ``busy`` seconds."""

    def __init__(self, work: str, *, share: float = 0.4, busy_lag: float = 0.002, max_rest: float = 0.05):
        self.work = work
        self.share = share
        self.busy_lag = busy_lag
        self.max_rest = max_rest

    async def pause(self, busy: float) -> None:
        await defer_to_people(self.work)
        started = time.perf_counter()
        await asyncio.sleep(0)  # let every ready callback run once
        lag = time.perf_counter() - started
        if lag < self.busy_lag:
            return  # nobody else was waiting: carry on at full speed
        rest = min(self.max_rest, busy * (1 - self.share) / self.share)
        if rest > 0:
            BULK_YIELD_SECONDS.labels(self.work).inc(rest)
            await asyncio.sleep(rest)
