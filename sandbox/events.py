"""Live updates for the page: a tiny pub/sub whose subscribers are SSE streams."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)


class EventHub:
    def __init__(self, max_queue: int = 1000) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._max_queue = max_queue

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self._max_queue)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(queue)

    def publish(self, event: dict[str, Any]) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                # A stalled page: drop it; it reloads everything when it reconnects.
                log.warning("sandbox SSE subscriber too slow, disconnecting it")
                self._subscribers.discard(queue)

    def close_all(self) -> None:
        """Ends every stream (server shutdown)."""
        for queue in list(self._subscribers):
            try:
                queue.put_nowait({"type": "_close"})
            except asyncio.QueueFull:
                self._subscribers.discard(queue)

    def is_subscribed(self, queue: asyncio.Queue[dict[str, Any]]) -> bool:
        return queue in self._subscribers

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
