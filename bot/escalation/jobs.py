"""Durable jobs for escalation timers, reminders, pager calls and status-page updates: a small
scheduler on a sorted set under one hash tag, with leases, that works the same on a single Redis,
behind Sentinel and on Redis Cluster (every key it touches is in the ``{jobs}`` slot, so each of
its Lua scripts is one atomic step on one primary). docs/escalation.md says why not a library.
Longer than 400 lines because the Lua scripts, the queue and the
worker must agree on one key layout; they are kept side by side.

Keys (``<prefix>:{jobs}:…``):

* ``due``: sorted set job id → due time (ms since the epoch)
* ``data``: hash job id → the job as JSON (function and arguments)
* ``leased``: sorted set job id → when its lease ends (ms); ``owner``: hash job id → worker token
* ``tries``: hash job id → times claimed; ``once:<job id>``: the job was enqueued (kept a week)

A worker claims due jobs with one script (due ≤ now → leased for ``lease`` seconds, owner set),
runs them, and acknowledges (job gone) or retries (due again after a backoff). While a job runs,
its lease is renewed; when a worker dies its leases run out and the next claim by any replica
puts those jobs back and runs them. Time in the scripts is the server's (``TIME``), so replicas
with skewed clocks agree on leases. Job ids are deterministic, and a job id is enqueued at most
once, so any number of replicas scheduling the same timer yield one job. Running a job twice (a
lease lost mid-run) is harmless: each job claims its effect atomically in the incident's state
(timers pending → fired, reminder tokens, status-page locks), so each escalation fires exactly once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.keys import Keys

log = logging.getLogger(__name__)

JobFn = Callable[..., Awaitable[Any]]
ONCE_TTL = 60 * 60 * 24 * 7  # job ids are unique per incident change; a week covers any deferral
MAX_TRIES = 10

_ENQUEUE = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[4]) then return 0 end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"""
# put a job in unless it is queued or running (start-up re-planning and migration)
_ENSURE = """
if redis.call('ZSCORE', KEYS[2], ARGV[1]) or redis.call('ZSCORE', KEYS[4], ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[4])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"""
_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""
# KEYS: due, leased, data, owner, tries; ARGV: lease ms, limit, owner
_CLAIM = (
    _NOW
    + """
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[4], id)
  if redis.call('HEXISTS', KEYS[3], id) == 1 then redis.call('ZADD', KEYS[1], now, id) end
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local payload = redis.call('HGET', KEYS[3], id)
  if payload then
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), id)
    redis.call('HSET', KEYS[4], id, ARGV[3])
    local tries = redis.call('HINCRBY', KEYS[5], id, 1)
    table.insert(out, id)
    table.insert(out, payload)
    table.insert(out, tostring(tries))
  end
end
return out
"""
)
# KEYS: leased, data, owner, tries; ARGV: id, owner
_ACK = """
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
"""
# KEYS: leased, due, owner; ARGV: id, owner, delay ms
_RETRY = (
    _NOW
    + """
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
return 1
"""
)
# KEYS: leased, owner; ARGV: lease ms, owner, ids...
_RENEW = (
    _NOW
    + """
local renewed = 0
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[2] then
    redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i])
    renewed = renewed + 1
  end
end
return renewed
"""
)
# KEYS: due, data; ARGV: id (a running job is left alone: its own state check makes it harmless)
_CANCEL = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 1
end
return 0
"""


class RetryLater(Exception):
    """Raised by a job that cannot run now (e.g. another worker holds its lock): run it again in
    ``defer`` seconds without counting it as a failure."""

    def __init__(self, defer: float = 1.0) -> None:
        super().__init__(f"retry in {defer}s")
        self.defer = defer


@dataclass(frozen=True)
class ClaimedJob:
    job_id: str
    function: str
    args: list[Any]
    tries: int


def _ms(at: datetime | float) -> int:
    return int((at.timestamp() if isinstance(at, datetime) else at) * 1000)


class JobQueue:
    """Enqueue-once, cancel, claim, acknowledge: one per bot process, on the factory's client."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.prefix = keys.prefix
        self._keys = keys
        self.due_key = keys.custom("{jobs}", "due")
        self.data_key = keys.custom("{jobs}", "data")
        self.leased_key = keys.custom("{jobs}", "leased")
        self.owner_key = keys.custom("{jobs}", "owner")
        self.tries_key = keys.custom("{jobs}", "tries")
        self.queue_name = self.due_key
        self._enqueue = redis.register_script(_ENQUEUE)
        self._ensure = redis.register_script(_ENSURE)
        self._claim = redis.register_script(_CLAIM)
        self._ack = redis.register_script(_ACK)
        self._retry = redis.register_script(_RETRY)
        self._renew = redis.register_script(_RENEW)
        self._cancel = redis.register_script(_CANCEL)

    def job_id(self, *parts: object) -> str:
        return ":".join([self.prefix, "job", *(str(p) for p in parts)])

    def once_key(self, job_id: str) -> str:
        return self._keys.custom("{jobs}", "once", job_id)

    async def enqueue_once(self, function: str, *args: Any, job_id: str, at: datetime | None = None) -> bool:
        """Enqueue unless this job id was ever enqueued before; True when this call enqueued it."""
        payload = json.dumps({"f": function, "a": list(args)}, default=str)
        due = _ms(at) if at is not None else 0  # 0: due now (the server's clock decides)
        done = await self._enqueue(
            keys=[self.once_key(job_id), self.due_key, self.data_key], args=[job_id, due, payload, ONCE_TTL]
        )
        if not done:
            log.info("job %s already queued", job_id)
        return bool(done)

    async def ensure(self, function: str, *args: Any, job_id: str, at: datetime | float) -> bool:
        """Queue this job unless it is queued or running now, even if it ran before (re-planning:
        the job's own state check decides whether it still has work to do)."""
        payload = json.dumps({"f": function, "a": list(args)}, default=str)
        done = await self._ensure(
            keys=[self.once_key(job_id), self.due_key, self.data_key, self.leased_key],
            args=[job_id, _ms(at), payload, ONCE_TTL],
        )
        return bool(done)

    async def cancel(self, job_id: str) -> None:
        """Take a deferred job off the queue (the job's own state check makes a late run harmless)."""
        await self._cancel(keys=[self.due_key, self.data_key], args=[job_id])

    async def pending(self) -> int:
        """Jobs queued or running."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self.due_key)
            pipe.zcard(self.leased_key)
            queued, running = await pipe.execute()
        return int(queued) + int(running)

    async def claim(self, owner: str, limit: int, lease_seconds: float) -> list[ClaimedJob]:
        raw = await self._claim(
            keys=[self.due_key, self.leased_key, self.data_key, self.owner_key, self.tries_key],
            args=[int(lease_seconds * 1000), limit, owner],
        )
        jobs: list[ClaimedJob] = []
        for i in range(0, len(raw), 3):
            job_id, payload, tries = str(raw[i]), str(raw[i + 1]), int(raw[i + 2])
            try:
                data = json.loads(payload)
                jobs.append(ClaimedJob(job_id, str(data["f"]), list(data["a"]), tries))
            except (ValueError, KeyError, TypeError):
                log.error("job %s has an unreadable payload %r; dropped", job_id, payload[:200])
                await self.ack(job_id, owner)
        return jobs

    async def ack(self, job_id: str, owner: str) -> bool:
        return bool(
            await self._ack(
                keys=[self.leased_key, self.data_key, self.owner_key, self.tries_key], args=[job_id, owner]
            )
        )

    async def retry(self, job_id: str, owner: str, delay: float) -> bool:
        return bool(
            await self._retry(
                keys=[self.leased_key, self.due_key, self.owner_key], args=[job_id, owner, int(delay * 1000)]
            )
        )

    async def renew(self, owner: str, job_ids: list[str], lease_seconds: float) -> int:
        if not job_ids:
            return 0
        return int(
            await self._renew(
                keys=[self.leased_key, self.owner_key], args=[int(lease_seconds * 1000), owner, *job_ids]
            )
        )

    async def close(self) -> None:
        """Nothing of its own to close: the queue uses the context's client."""


class JobWorker:
    """Runs due jobs in this process: claims up to ``max_jobs`` at a time, each under a lease that
    is renewed while it runs; a failure is retried with backoff up to ``MAX_TRIES`` times."""

    def __init__(
        self,
        queue: JobQueue,
        functions: Mapping[str, JobFn],
        ctx: dict[str, Any],
        *,
        poll_delay: float = 0.25,
        max_jobs: int = 20,
        job_timeout: float = 300,
        lease_seconds: float = 30,
    ) -> None:
        self.queue = queue
        self.functions = dict(functions)
        self.ctx = ctx
        self.poll_delay = poll_delay
        self.max_jobs = max_jobs
        self.job_timeout = job_timeout
        self.lease_seconds = lease_seconds
        self.owner = uuid.uuid4().hex
        self.allow_pick_jobs = True
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.jobs_complete = 0
        self.jobs_failed = 0
        self.jobs_retried = 0
        self._wake = asyncio.Event()
        self._closing = False
        self._store_down_since: float | None = None

    async def async_run(self) -> None:
        renewer = asyncio.create_task(self._renew_leases(), name="escalation-job-leases")
        try:
            while not self._closing:
                await self._poll_once()
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_delay)
                except TimeoutError:
                    pass
        finally:
            renewer.cancel()

    async def _poll_once(self) -> None:
        room = self.max_jobs - len(self.tasks)
        if not self.allow_pick_jobs or room <= 0:
            return
        try:
            claimed = await self.queue.claim(self.owner, room, self.lease_seconds)
        except (RedisError, OSError) as exc:
            self._store_down(exc)
            return
        self._store_back()
        for job in claimed:
            task = asyncio.create_task(self._run(job), name=f"job {job.job_id}")
            self.tasks[job.job_id] = task
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        for job_id, running in list(self.tasks.items()):
            if running is task:
                del self.tasks[job_id]
        self._wake.set()  # room for another job: look again now

    def _store_down(self, exc: BaseException) -> None:
        now = time.monotonic()
        if self._store_down_since is None:
            self._store_down_since = now
            log.warning("escalation jobs: the store is unreachable (%s); retrying", exc)

    def _store_back(self) -> None:
        if self._store_down_since is not None:
            log.info(
                "escalation jobs: the store answers again after %.1fs",
                time.monotonic() - self._store_down_since,
            )
            self._store_down_since = None

    async def _run(self, job: ClaimedJob) -> None:
        fn = self.functions.get(job.function)
        if fn is None:
            log.error("job %s names unknown function %r; dropped", job.job_id, job.function)
            await self._settle(self.queue.ack(job.job_id, self.owner))
            return
        try:
            await asyncio.wait_for(fn(self.ctx, *job.args), timeout=self.job_timeout)
        except RetryLater as later:
            self.jobs_retried += 1
            await self._settle(self.queue.retry(job.job_id, self.owner, later.defer))
            return
        except asyncio.CancelledError:
            # shutting down: leave the lease to run out, the next claim runs the job again
            raise
        except Exception:
            if job.tries >= MAX_TRIES:
                self.jobs_failed += 1
                log.exception("job %s failed %d times; giving up", job.job_id, job.tries)
                await self._settle(self.queue.ack(job.job_id, self.owner))
            else:
                self.jobs_retried += 1
                delay = min(60.0, 0.5 * 2 ** (job.tries - 1))
                log.exception("job %s failed (try %d); again in %.1fs", job.job_id, job.tries, delay)
                await self._settle(self.queue.retry(job.job_id, self.owner, delay))
            return
        self.jobs_complete += 1
        await self._settle(self.queue.ack(job.job_id, self.owner))

    async def _settle(self, step: Awaitable[bool]) -> None:
        """Acknowledge or retry; when the store is down the lease runs out and the job runs again
        (its own state check makes that harmless)."""
        try:
            await step
        except (RedisError, OSError) as exc:
            log.warning("escalation jobs: cannot settle a job (%s); its lease will run out", exc)

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                await self.queue.renew(self.owner, list(self.tasks), self.lease_seconds)
            except (RedisError, OSError) as exc:
                self._store_down(exc)

    async def stop(self, grace: float = 10.0) -> None:
        """Stop taking jobs, give running ones ``grace`` seconds, cancel the rest (their leases run
        out and another replica, or this one after a restart, runs them again)."""
        self.allow_pick_jobs = False
        self._closing = True  # the loop ends at its next turn even if a cancellation is lost
        self._wake.set()
        running = [t for t in self.tasks.values() if not t.done()]
        if running:
            await asyncio.wait(running, timeout=grace)
        late = [t for t in self.tasks.values() if not t.done()]
        for t in late:
            t.cancel()
        if late:
            log.warning(
                "escalation worker stopped with %d job(s) unfinished; they run again later", len(late)
            )
            await asyncio.wait(late, timeout=5)


def build_worker(
    queue: JobQueue,
    functions: Mapping[str, JobFn],
    worker_ctx: dict[str, Any],
    *,
    poll_delay: float = 0.25,
    max_jobs: int = 20,
    job_timeout: float = 300,
) -> JobWorker:
    """This process's worker; it runs as a task next to the web server."""
    return JobWorker(
        queue, functions, worker_ctx, poll_delay=poll_delay, max_jobs=max_jobs, job_timeout=job_timeout
    )


async def run_worker(worker: JobWorker) -> None:
    try:
        await worker.async_run()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("the escalation worker stopped with an error")
        raise


def open_queue(redis: aioredis.Redis, keys: Keys) -> JobQueue:
    return JobQueue(redis, keys)


# migration from the arq queue that earlier versions used ------------------------------------------
ARQ_QUEUE_SUFFIX = ":arq:escalation"
ARQ_JOB_PREFIX = "arq:job:"


async def migrate_arq_jobs(redis: aioredis.Redis, queue: JobQueue) -> int:
    """Move jobs still pending in the old arq queue (``<prefix>:arq:escalation`` with the jobs'
    JSON under ``arq:job:<id>``) into this scheduler: same id, function, arguments and due time.
    Returns how many moved. Safe on every start-up and on several replicas at once (a job already
    here is left alone). On a Cluster the old queue never existed (arq could not run there)."""
    name = queue.prefix + ARQ_QUEUE_SUFFIX
    try:
        entries = await redis.zrange(name, 0, -1, withscores=True)
    except RedisError as exc:
        log.warning("cannot read the old arq queue %s: %s", name, exc)
        return 0
    moved = 0
    for job_id, score in entries:
        raw = await redis.get(ARQ_JOB_PREFIX + str(job_id))
        if raw is not None:
            try:
                data = json.loads(raw)
                function, args = str(data["f"]), list(data.get("a") or [])
            except (ValueError, KeyError, TypeError):
                log.error("old arq job %s is unreadable; not migrated", job_id)
            else:
                if await queue.ensure(function, *args, job_id=str(job_id), at=float(score) / 1000):
                    moved += 1
            await redis.delete(ARQ_JOB_PREFIX + str(job_id))
        await redis.zrem(name, job_id)
    if moved:
        log.info("moved %d pending job(s) from the old arq queue %s", moved, name)
    return moved
