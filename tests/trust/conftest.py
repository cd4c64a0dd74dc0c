"""Trust tests: the shared fixtures, plus a bounded stop of the bot.

Stopping the bot waits for the other parts' background tasks; one of them (the outbox sender) can
miss its cancellation now and then on Python 3.11 (reported to its owner). A stop that takes longer
than ``STOP_SECONDS`` is logged and abandoned so that one stuck task does not hang the suite.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import BotProcess

log = logging.getLogger(__name__)
STOP_SECONDS = 15


async def stop_bounded(proc: BotProcess) -> None:
    # not wait_for: it would wait for the cancelled stop, which is what hangs
    stop = asyncio.create_task(proc.stop())
    done, _ = await asyncio.wait([stop], timeout=STOP_SECONDS)
    if not done:
        stuck = [t.get_name() for t in asyncio.all_tasks() if not t.done()]
        log.error("bot did not stop within %ss; abandoned; tasks still running: %s", STOP_SECONDS, stuck)
        await proc.ctx.close()


@pytest.fixture
async def bot(
    sandbox: Any, redis_prefix: str, bot_policy: str | None, tmp_path: Any
) -> AsyncIterator[BotProcess]:
    proc = BotProcess(sandbox, redis_prefix, bot_policy, tmp_path)
    await proc.start()
    yield proc
    await stop_bounded(proc)
