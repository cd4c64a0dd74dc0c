"""Durable jobs on arq: escalation timers, reminders, pager calls and status-page updates.

Jobs live in Redis (they survive a restart of every bot process), each under a deterministic job id
derived from the incident and the rule, and every bot process runs an arq worker on the same queue.
A job is enqueued at most once (a once-marker in Redis in front of arq's own job-id check, which
forgets ids once a job has finished), arq hands it to one worker, and the job's effect is claimed
atomically in Redis when it runs, so each escalation fires exactly once across replicas.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import job_key_prefix
from arq.worker import Function, Worker, func

from bot.escalation.store import EscalationStore

log = logging.getLogger(__name__)

JobFn = Callable[..., Awaitable[Any]]


def _serialize(data: dict[str, Any]) -> bytes:
    return json.dumps(data, default=str).encode()


def _deserialize(raw: bytes) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(raw)
    return result


class JobQueue:
    """Enqueue-once and cancel on top of an arq pool; one per bot process."""

    def __init__(self, pool: ArqRedis, queue_name: str, store: EscalationStore, prefix: str) -> None:
        self.pool = pool
        self.queue_name = queue_name
        self.store = store
        self.prefix = prefix

    def job_id(self, *parts: object) -> str:
        return ":".join([self.prefix, "job", *(str(p) for p in parts)])

    async def enqueue_once(self, function: str, *args: Any, job_id: str, at: datetime | None = None) -> bool:
        """Enqueue unless this job id was ever enqueued before; True when this call enqueued it."""
        if not await self.store.once(job_id):
            return False
        try:
            job = await self.pool.enqueue_job(
                function, *args, _job_id=job_id, _queue_name=self.queue_name, _defer_until=at
            )
        except Exception:
            await self.store.forget_once(job_id)
            raise
        if job is None:  # arq already holds a job with that id
            log.info("job %s already queued", job_id)
            return False
        return True

    async def cancel(self, job_id: str) -> None:
        """Take a deferred job off the queue (the job's own state check makes a late run harmless)."""
        async with self.pool.pipeline(transaction=True) as pipe:
            pipe.zrem(self.queue_name, job_id)
            pipe.delete(job_key_prefix + job_id)
            await pipe.execute()

    async def pending(self) -> int:
        return int(await self.pool.zcard(self.queue_name))

    async def close(self) -> None:
        await self.pool.aclose()


def queue_name(prefix: str) -> str:
    return f"{prefix}:arq:escalation"


async def open_queue(redis_url: str, prefix: str, store: EscalationStore) -> JobQueue:
    name = queue_name(prefix)
    pool = await create_pool(
        RedisSettings.from_dsn(redis_url),
        default_queue_name=name,
        job_serializer=_serialize,
        job_deserializer=_deserialize,
    )
    return JobQueue(pool, name, store, prefix)


def build_worker(
    redis_url: str,
    prefix: str,
    functions: dict[str, JobFn],
    worker_ctx: dict[str, Any],
    *,
    poll_delay: float = 0.25,
    max_jobs: int = 20,
    job_timeout: float = 300,
) -> Worker:
    """An arq worker for this process; it runs as a task next to the web server."""
    fns: list[Function] = [func(fn, name=name, max_tries=10) for name, fn in functions.items()]  # type: ignore[arg-type]
    return Worker(
        functions=fns,
        queue_name=queue_name(prefix),
        redis_settings=RedisSettings.from_dsn(redis_url),
        handle_signals=False,
        keep_result=0,
        poll_delay=poll_delay,
        max_jobs=max_jobs,
        job_timeout=job_timeout,
        ctx=worker_ctx,
        job_serializer=_serialize,
        job_deserializer=_deserialize,
        health_check_interval=3600,
        log_results=False,
    )


async def run_worker(worker: Worker) -> None:
    try:
        await worker.async_run()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("the escalation worker stopped with an error")
        raise
