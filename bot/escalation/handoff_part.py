"""The on-call hand-off part: runs :class:`bot.escalation.handoff.HandoffRunner` in processes that
run background work (every replica: the once-marker picks the one that sends each hand-off)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.context import AppContext
from bot.escalation.handoff import HandoffRunner
from bot.parts import BotApp

log = logging.getLogger(__name__)


class HandoffPart:
    name = "handoff"

    def __init__(self) -> None:
        self.runner: HandoffRunner | None = None
        self._task: asyncio.Task[None] | None = None

    def routes(self, app: BotApp) -> None:
        return None

    async def start(self, ctx: AppContext) -> None:
        if not ctx.settings.runs_workers or not ctx.policy.escalation.rotations:
            return
        self.runner = HandoffRunner(ctx)
        self._task = asyncio.create_task(self.runner.run(), name="oncall-handoff")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def make_part() -> HandoffPart:
    return HandoffPart()
