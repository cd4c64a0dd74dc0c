"""The incidents part: draws incident headlines for the outbox (posts.py) and finishes declarations
a dead process left half-built (see declaration.py)."""

from __future__ import annotations

import asyncio
import logging

from bot.context import AppContext
from bot.incidents import posts
from bot.incidents.declaration import resume_loop
from bot.parts import BotApp
from bot.tasks import stop_tasks

log = logging.getLogger(__name__)


class IncidentsPart:
    name = "incidents"

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []

    def routes(self, app: BotApp) -> None:
        return None

    async def start(self, ctx: AppContext) -> None:
        posts.register(ctx)  # the outbox sender draws incident headlines from state
        if not ctx.settings.runs_workers:
            log.info("declaration resume not started here (role %s)", ctx.settings.role)
            return
        self._tasks = [asyncio.create_task(resume_loop(ctx), name="declarations-resume")]

    async def stop(self) -> None:
        await stop_tasks(self._tasks, "incidents")
        self._tasks = []


def make_part() -> IncidentsPart:
    return IncidentsPart()
