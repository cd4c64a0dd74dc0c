"""Plugs the alert pipeline into the bot process (see bot/app.py PARTS): the intake route, the
stream worker and the outbox sender, started with the app and stopped before Redis closes."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from aiohttp import web

from bot.alerts.intake import ROUTE, make_handler
from bot.alerts.worker import AlertWorker
from bot.context import AppContext
from bot.outbox import Outbox
from bot.tasks import stop_tasks

log = logging.getLogger(__name__)

HANDLES_ALERTS = True


@dataclass
class AlertsRuntime:
    outbox: Outbox
    worker: AlertWorker
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        self.tasks = [
            asyncio.create_task(self.worker.run(), name="alerts-worker"),
            asyncio.create_task(self.outbox.run(), name="outbox-sender"),
        ]

    async def stop(self) -> None:
        await stop_tasks(self.tasks, "alerts")
        self.tasks = []
        await self.outbox.close()


def build_runtime(ctx: AppContext) -> AlertsRuntime:
    from bot.alerts import actions  # registers the buttons

    outbox = Outbox(ctx.redis, ctx.keys, ctx.gateway)

    async def on_new_episode(state: object) -> None:
        await actions.auto_declare(ctx, state)  # type: ignore[arg-type]

    worker = AlertWorker(ctx.redis, ctx.keys, ctx.policy.alerts, outbox, on_new_episode=on_new_episode)
    runtime = AlertsRuntime(outbox, worker)
    ctx.extras["alerts"] = runtime
    ctx.extras["outbox"] = outbox
    return runtime


def routes(app: web.Application, ctx: AppContext) -> None:
    runtime = build_runtime(ctx)
    app.router.add_post(ROUTE, make_handler(ctx.redis, runtime.worker.k.stream, ctx.policy.alerts))

    async def shutdown(app: web.Application) -> None:
        await runtime.stop()

    app.on_shutdown.append(shutdown)


async def setup(app: web.Application, ctx: AppContext) -> None:
    runtime: AlertsRuntime = ctx.extras["alerts"]
    if not ctx.settings.runs_workers:
        # CHATOPS_ROLE=web: this process only takes notifications into the stream; `chatops worker`
        # processes consume it (the consumer group shares the work between them)
        log.info("alert worker and outbox not started here (role %s)", ctx.settings.role)
        return
    runtime.start()
