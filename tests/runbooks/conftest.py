"""Fixtures for runbook tests: the Kubernetes emulator, the shared real Prometheus, and a bot whose
shutdown cannot hang the suite."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.harness.kubernetes import kube  # noqa: F401
from tests.harness.prometheus import shared_metrics_endpoint, shared_prometheus  # noqa: F401

log = logging.getLogger(__name__)


@pytest.fixture
async def bot(bot: Any) -> AsyncIterator[Any]:
    """The root ``bot`` fixture, stopped here with a watchdog.

    Now and then a background task of the bot (the alerts outbox sender) survives its first
    cancellation and ``runner.cleanup()`` waits for it forever. When the stop takes longer than
    5 s, the pending tasks are written to stderr (the evidence for that task's owner) and cancelled
    again, so this directory's tests cannot hang the whole suite."""
    yield bot
    stopping = asyncio.ensure_future(bot.stop())
    done, _ = await asyncio.wait({stopping}, timeout=5)
    if not done:
        log.error("bot shutdown is stuck; pending tasks follow on stderr and are cancelled again")
        for task in asyncio.all_tasks():
            if task is asyncio.current_task() or task is stopping:
                continue
            print(f"STUCK TASK {task!r} cancelling={task.cancelling()}", file=sys.stderr)
            task.print_stack(limit=20, file=sys.stderr)
            if task.get_name() in ("outbox-sender", "alerts-worker"):
                task.cancel()
        await asyncio.wait({stopping}, timeout=20)
    await stopping
