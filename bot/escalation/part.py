"""The escalation part of the bot process (listed in chatops/product.py): at start-up it opens the
job queue (bot/escalation/jobs.py), re-plans pending jobs, starts a worker next to the web server and registers the incident hooks; at
shut-down it lets running jobs finish and closes its clients."""

from __future__ import annotations

import asyncio
import logging
import os

from redis.exceptions import RedisError

from bot.context import AppContext
from bot.escalation import (
    firing,
    hooks,  # noqa: F401  (registers the incident hooks)
    paging,
    reminders,
    statuspage_sync,
    timers,
)
from bot.escalation.jobs import JobFn, JobWorker, build_worker, migrate_arq_jobs, open_queue, run_worker
from bot.escalation.runtime import build_runtime, escalation_policy
from bot.logs import add_secrets
from bot.parts import BotApp

log = logging.getLogger(__name__)

JOB_FUNCTIONS: dict[str, JobFn] = {
    "esc_timer": firing.timer_job,
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


async def start(ctx: AppContext) -> tuple[JobWorker, asyncio.Task[None]]:
    """Open the queue on the context's client, put the runtime on ``ctx.escalation``, move jobs left
    in the old arq queue, re-plan timers and reminders whose job is missing, start the worker."""
    queue = open_queue(ctx.redis, ctx.keys)
    rt = build_runtime(ctx, queue)
    ctx.escalation = rt
    try:
        await migrate_arq_jobs(ctx.redis, queue)
        await replan(ctx)
    except (RedisError, OSError) as exc:  # the store is down at start-up: the worker starts anyway
        log.error("re-planning escalation jobs failed (%s); pending timers run when re-planned", exc)
    worker = build_worker(queue, JOB_FUNCTIONS, {"app": ctx}, poll_delay=poll_delay())
    rt.worker = worker
    task = asyncio.create_task(run_worker(worker), name="escalation-worker")
    log.info("escalation worker started on %s", queue.due_key)
    return worker, task


async def replan(ctx: AppContext) -> int:
    """Queue the job of every open incident's pending timer and valid reminder that has none."""
    planned = 0
    for inc in await ctx.store.list(include_resolved=False, limit=100_000):
        planned += await timers.replan(ctx, inc)
        planned += int(await reminders.replan(ctx, inc))
    if planned:
        log.info("re-planned %d escalation job(s) from the incidents' state", planned)
    return planned


async def stop(ctx: AppContext, worker: JobWorker, task: asyncio.Task[None], grace: float = 10.0) -> None:
    """Stop taking jobs, give running ones ``grace`` seconds, then stop the worker and close clients.
    A job cut short runs again when its lease runs out; its own state check makes the rerun safe."""
    await worker.stop(grace)
    task.cancel()
    done, pending = await asyncio.wait([task], timeout=5)
    for t in done:
        if not t.cancelled() and t.exception() is not None:
            log.error("escalation worker task ended with %r", t.exception())
    if pending:
        log.error("escalation worker: the task did not stop within 5s")
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
        self._running: tuple[AppContext, JobWorker, asyncio.Task[None]] | None = None

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
