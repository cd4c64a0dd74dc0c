"""Plugs the alert pipeline into the bot process (a part, listed in chatops/product.py): the intake
route and the stream worker (which pushes to ``ctx.outbox``), started with the app and stopped before
Redis closes."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from bot.alerts.intake import ROUTE, make_handler
from bot.alerts.silence_watch import SilenceWatcher
from bot.alerts.state import GroupState
from bot.alerts.worker import AlertWorker
from bot.context import AppContext
from bot.parts import BotApp
from bot.slack.outbox import Outbox
from bot.tasks import stop_tasks

log = logging.getLogger(__name__)


@dataclass
class AlertsRuntime:
    outbox: Outbox
    worker: AlertWorker
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    enrichments: set[asyncio.Task[None]] = field(default_factory=set)

    def start(self) -> None:
        self.tasks = [
            asyncio.create_task(self.worker.run(), name="alerts-worker"),
            asyncio.create_task(
                SilenceWatcher(self.worker, self.worker.policy).run(), name="alerts-silence-watch"
            ),
        ]

    async def stop(self) -> None:
        await stop_tasks([*self.tasks, *self.enrichments], "alerts")
        self.tasks = []


def build_runtime(ctx: AppContext) -> AlertsRuntime:
    from bot.alerts import (
        buttons,  # noqa: F401  (registers the Acknowledge and Runbook buttons)
        silences,  # noqa: F401  (registers the Silence/Unsilence buttons and modal)
    )
    from bot.alerts import declare as actions  # registers Declare incident and its modal

    outbox = ctx.outbox
    enrichments: set[asyncio.Task[None]] = set()

    async def on_new_episode(state: GroupState) -> None:
        await actions.auto_declare(ctx, state)
        if ctx.policy.runbooks.auto_diagnostics and not state.storm:
            task = asyncio.create_task(_enrich_when_posted(ctx, outbox, state), name=f"enrich:{state.gid}")
            enrichments.add(task)
            task.add_done_callback(enrichments.discard)

    worker = AlertWorker(ctx.redis, ctx.keys, ctx.policy.alerts, outbox, on_new_episode=on_new_episode)
    runtime = AlertsRuntime(outbox, worker, enrichments=enrichments)
    ctx.alerts = runtime
    return runtime


async def _enrich_when_posted(
    ctx: AppContext, outbox: Outbox, state: GroupState, wait: float = 120.0
) -> None:
    """Once the group's root message is in Slack, run the mapped runbook's diagnostics in its thread
    (policy runbooks.auto_diagnostics; never for groups folded into a storm summary)."""
    from bot.runbooks.enrichment import enrich_alert_thread

    deadline = asyncio.get_running_loop().time() + wait
    meta: dict[str, str] = {}
    while asyncio.get_running_loop().time() < deadline:
        meta = await outbox.thread(state.thread)
        if meta.get("root_ts") and meta.get("channel"):
            break
        await asyncio.sleep(1.0)
    else:
        log.warning("alerts: %s never got a root message; diagnostics not run", state.gid)
        return
    labels = state.all_labels()
    alertname = labels.get("alertname", "")
    try:
        channel = await outbox.channel_id(meta["channel"])
        await enrich_alert_thread(
            ctx, alertname=alertname, labels=labels, channel=channel, thread_ts=meta["root_ts"]
        )
    except Exception:
        log.exception("alerts: diagnostics for %s (%s) failed", state.gid, alertname)


class AlertsPart:
    """The intake route in every role; the worker and the outbox sender where the role runs workers."""

    name = "alerts"

    def __init__(self) -> None:
        self.runtime: AlertsRuntime | None = None
        self._ctx: AppContext | None = None

    def routes(self, app: BotApp) -> None:
        # the runtime is built here: the intake handler writes to its worker's stream
        self.runtime = build_runtime(app.ctx)
        self._ctx = app.ctx
        policy = app.ctx.policy.alerts
        app.web.router.add_post(ROUTE, make_handler(app.ctx.redis, self.runtime.worker.k.stream, policy))

    async def start(self, ctx: AppContext) -> None:
        runtime = self.runtime or build_runtime(ctx)
        self.runtime, self._ctx = runtime, ctx
        if not ctx.settings.runs_workers:
            # CHATOPS_ROLE=web: this process only takes notifications into the stream; `chatops worker`
            # processes consume it (the consumer group shares the work between them)
            log.info("alert worker and outbox not started here (role %s)", ctx.settings.role)
            return
        runtime.start()

    async def stop(self) -> None:
        if self.runtime is not None:
            await self.runtime.stop()
        if self._ctx is not None and self._ctx.alerts is self.runtime:
            self._ctx.alerts = None


def make_part() -> AlertsPart:
    return AlertsPart()
