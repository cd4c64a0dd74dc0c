"""The outbox sender as a part (listed first in chatops/product.py, so it stops last): every
feature pushes its non-interactive posts to ``ctx.outbox``; this part delivers them in the processes
that run workers (any number of replicas: threads are claimed under a lease)."""

from __future__ import annotations

import asyncio
import logging

from bot.context import AppContext
from bot.parts import BotApp
from bot.tasks import stop_tasks

log = logging.getLogger(__name__)


class OutboxPart:
    name = "outbox"

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []
        self._ctx: AppContext | None = None

    def routes(self, app: BotApp) -> None:
        return None

    async def start(self, ctx: AppContext) -> None:
        self._ctx = ctx
        if not ctx.settings.runs_workers:
            log.info("outbox sender not started here (role %s)", ctx.settings.role)
            return
        self._tasks = [asyncio.create_task(ctx.outbox.run(), name="outbox-sender")]

    async def stop(self) -> None:
        await stop_tasks(self._tasks, "outbox")
        self._tasks = []
        if self._ctx is not None:
            await self._ctx.outbox.close()


def make_part() -> OutboxPart:
    return OutboxPart()
