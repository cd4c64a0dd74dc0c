"""The escalation part of the bot process (listed in chatops/product.py): at start-up it opens the
job queue, starts an arq worker next to the web server and registers the incident hooks; at
shut-down it lets running jobs finish and closes its clients."""

from __future__ import annotations

import asyncio
import logging
import os

from arq.worker import Worker

from bot.context import AppContext
from bot.escalation import (
    hooks,  # noqa: F401  (registers the incident hooks)
    paging,
    reminders,
    statuspage_sync,
    timers,
)
from bot.escalation.jobs import JobFn, build_worker, open_queue, run_worker
from bot.escalation.runtime import build_runtime, escalation_policy
from bot.escalation.store import EscalationStore
from bot.logs import add_secrets
from bot.parts import BotApp

log = logging.getLogger(__name__)

JOB_FUNCTIONS: dict[str, JobFn] = {
    "esc_timer": timers.timer_job,
    "esc_remind": reminders.reminder_job,
    "esc_page": paging.page_job,
    "esc_statuspage": statuspage_sync.statuspage_job,
}


def poll_delay() -> float:
    try:
        return max(0.05, float(os.environ.get("CHATOPS_JOB_POLL_SECONDS", "0.25")))
    except ValueError:
        log.error("CHATOPS_JOB_POLL_SECONDS is not a number; using 0.25")
        return 0.25


async def start(ctx: AppContext) -> tuple[Worker, asyncio.Task[None]]:
    """Open the queue, put the runtime on ``ctx.escalation`` and start this process's worker."""
    store = EscalationStore(ctx.redis, ctx.keys)
    queue = await open_queue(ctx.settings.redis_url, ctx.keys.prefix, store)
    rt = build_runtime(ctx, queue)
    ctx.escalation = rt
    worker = build_worker(
        ctx.settings.redis_url, ctx.keys.prefix, JOB_FUNCTIONS, {"app": ctx}, poll_delay=poll_delay()
    )
    rt.worker = worker
    task = asyncio.create_task(run_worker(worker), name="escalation-worker")
    log.info("escalation worker started on %s", queue.queue_name)
    return worker, task


async def stop(ctx: AppContext, worker: Worker, task: asyncio.Task[None], grace: float = 10.0) -> None:
    """Stop taking jobs, give running ones ``grace`` seconds, then stop the worker and close clients.
    A job cut short is run again by arq later; its own state check makes the rerun safe."""
    worker.allow_pick_jobs = False
    running = [t for t in worker.tasks.values() if not t.done()]
    if running:
        await asyncio.wait(running, timeout=grace)
    task.cancel()
    late = [t for t in worker.tasks.values() if not t.done()]
    for t in late:
        t.cancel()
    if late:
        log.warning("escalation worker stopped with %d job(s) unfinished; arq will run them again", len(late))
    done, pending = await asyncio.wait([task, *late], timeout=5)
    for t in done:
        if not t.cancelled() and t.exception() is not None:
            log.error("escalation worker task ended with %r", t.exception())
    if pending:
        log.error("escalation worker: %d task(s) did not stop within 5s", len(pending))
    if worker.pool is not None:  # None when stopped before the worker had connected
        try:
            await asyncio.wait_for(worker.pool.aclose(), timeout=5)
        except Exception:
            log.exception("closing the escalation worker's Redis pool failed")
    rt, ctx.escalation = ctx.escalation, None
    if rt is not None:
        await rt.close()


def _redact_target_keys(ctx: AppContext) -> None:
    """Targets' own PagerDuty keys are named in the policy: put their values on the redaction list."""
    for level in escalation_policy(ctx).levels:
        for target in level.targets:
            if target.pager is not None and target.pager.routing_key_env:
                add_secrets(ctx.settings.named_secret(target.pager.routing_key_env))


class EscalationPart:
    name = "escalation"

    def __init__(self) -> None:
        self._running: tuple[AppContext, Worker, asyncio.Task[None]] | None = None

    def routes(self, app: BotApp) -> None:
        """No routes: escalation works through commands, buttons and incident hooks."""

    async def start(self, ctx: AppContext) -> None:
        _redact_target_keys(ctx)
        worker, task = await start(ctx)
        self._running = (ctx, worker, task)

    async def stop(self) -> None:
        if self._running is not None:
            ctx, worker, task = self._running
            self._running = None
            await stop(ctx, worker, task)


def make_part() -> EscalationPart:
    return EscalationPart()
