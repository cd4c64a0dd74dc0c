"""Stopping background tasks without hanging a shutdown."""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)


def raise_if_cancelling() -> None:
    """Call in an ``except`` that keeps a loop alive: on Python 3.11 a cancellation that lands as
    ``asyncio.timeout`` (used by redis-py for socket timeouts) fires arrives as TimeoutError, and a
    loop that retries it would never stop. The task still counts the request: honour it."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError()


async def stop_tasks(tasks: list[asyncio.Task[None]], what: str, rounds: int = 5) -> None:
    """Cancel and wait, bounded: a task whose cancellation is absorbed somewhere below (a client
    library retrying a timeout it made out of the cancellation) is cancelled again, and one that
    still runs after that is reported instead of hanging the shutdown."""
    pending = {t for t in tasks if not t.done()}
    for _ in range(rounds):
        if not pending:
            break
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=1.0)
    for task in pending:
        log.error("%s: task %s did not stop; leaving it", what, task.get_name())
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error("%s: task %s had failed: %r", what, task.get_name(), task.exception())
