"""In-process scheduling for machine work: a storm must not starve the event loop.

People's requests (commands, clicks) and the alert intake share one event loop with the alert
worker. The worker is bounded in concurrency and, after each piece of work, yields the loop; when
other work was waiting (the yield came back late), it rests in proportion to the time it just used,
so it takes at most ``share`` of the loop while anything else wants it and all of it otherwise.
Notifications wait in the Redis stream meanwhile (durable), so resting delays, never loses, them.
"""

from __future__ import annotations

import asyncio
import time

from prometheus_client import Counter

BULK_YIELD_SECONDS = Counter(
    "chatops_bulk_yield_seconds_total", "Time machine work rested to leave the event loop to people", ["work"]
)


class Yielder:
    """``await y.pause(busy)`` after a piece of work that took ``busy`` seconds."""

    def __init__(self, work: str, *, share: float = 0.4, busy_lag: float = 0.002, max_rest: float = 0.05):
        self.work = work
        self.share = share
        self.busy_lag = busy_lag
        self.max_rest = max_rest

    async def pause(self, busy: float) -> None:
        started = time.perf_counter()
        await asyncio.sleep(0)  # let every ready callback run once
        lag = time.perf_counter() - started
        if lag < self.busy_lag:
            return  # nobody else was waiting: carry on at full speed
        rest = min(self.max_rest, busy * (1 - self.share) / self.share)
        if rest > 0:
            BULK_YIELD_SECONDS.labels(self.work).inc(rest)
            await asyncio.sleep(rest)
