"""Slack's rate limits: method tiers per workspace and chat.postMessage's per-channel pacing."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

SPECIAL = 0  # chat.postMessage: per channel, not per tier


@dataclass
class TokenBucket:
    capacity: float
    refill_per_second: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take one token; 0.0 when allowed, otherwise the seconds until one is available."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.refill_per_second)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.refill_per_second


class RateLimiter:
    """One bucket per (method) for tiers and one per (channel) for chat.postMessage."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def reset(self) -> None:
        self._buckets.clear()

    def _bucket(self, key: tuple[str, str], capacity: float, refill: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None or bucket.capacity != capacity or bucket.refill_per_second != refill:
            bucket = TokenBucket(capacity, refill, capacity, self._now())
            self._buckets[key] = bucket
        return bucket

    def check_tier(self, method: str, per_minute: int) -> int:
        """0 when allowed, otherwise Retry-After in whole seconds (at least 1)."""
        bucket = self._bucket(("tier", method), float(per_minute), per_minute / 60.0)
        return _retry_after(bucket.take(self._now()))

    def check_post(self, channel: str, burst: int, per_second: float) -> int:
        bucket = self._bucket(("post", channel), float(burst), per_second)
        return _retry_after(bucket.take(self._now()))


def _retry_after(wait: float) -> int:
    return 0 if wait <= 0 else max(1, math.ceil(wait))
