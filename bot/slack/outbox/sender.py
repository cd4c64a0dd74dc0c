"""The outbox's queue and senders: producers ``push`` replies and re-renders into Redis; every
replica runs ``Outbox.run``, which claims due threads under a lease and drives them step by step."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from bot import scheduling
from bot.keys import Keys
from bot.slack import lanes
from bot.slack.gateway import GatewayConfig, SlackGateway
from bot.slack.layer import Slack
from bot.slack.outbox import scripts
from bot.slack.outbox.delivery import Delivery
from bot.slack.outbox.model import (
    OUTBOX_DEPTH,
    OUTBOX_OPS,
    OUTBOX_THREADS_DUE,
    Defer,
    LeaseLost,
    Op,
    OutboxConfig,
    Renderer,
    RenderRef,
    ThreadRef,
    ref_of,
    tid_of,
)
from bot.tasks import raise_if_cancelling, stop_tasks

log = logging.getLogger(__name__)

# Sender slots the bulk lane may never take: interactive threads always find a free sender.
INTERACTIVE_SLOTS = 8

# "type: ignore[misc]" below: redis-py types some asyncio commands as ``Awaitable[T] | T``.


class Outbox(Delivery):
    """Durable, ordered, coalescing delivery of thread posts to Slack. One per process."""

    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        gateway: SlackGateway,
        config: OutboxConfig | None = None,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.config = config or OutboxConfig()
        # Same gateway (pacing in Redis, metrics), but no blind retries: after a timeout or a 5xx the
        # outbox looks the message up before posting again, so it never posts twice.
        self.gateway = SlackGateway(
            gateway.client,
            gateway.redis,
            gateway.keys,
            GatewayConfig(attempts=1, timeout=self.config.call_timeout_seconds, pacing=gateway.config.pacing),
        )
        self.slack = Slack(self.gateway)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._renderers = {}
        self._active: set[str] = set()
        self._lanes: dict[str, lanes.Lane] = {}  # the lane each active thread was claimed from
        self._tasks: set[asyncio.Task[None]] = set()
        self._push_script = redis.register_script(scripts.PUSH)
        self._mark_script = redis.register_script(scripts.MARK)
        self._commit_script = redis.register_script(scripts.COMMIT)
        self._renew_script = redis.register_script(scripts.RENEW)
        self._release_script = redis.register_script(scripts.RELEASE)
        self._cluster = isinstance(redis, RedisCluster)

    @property
    def ready_key(self) -> str:
        """The bulk lane's ready set (its name predates lanes)."""
        return self.keys.custom("outbox", "ready")

    def ready_for(self, lane: str) -> str:
        """Each lane's ready set: due threads by the time they are due."""
        return self.ready_key if lane == lanes.BULK else self.keys.custom("outbox", "ready", lane)

    # -- producer side -------------------------------------------------------------------------
    def register_renderer(self, kind: str, renderer: Renderer) -> None:
        """``render`` refs look like ``<kind>:<arg>``; the renderer gets ``<arg>``."""
        self._renderers[kind] = renderer

    async def push(
        self,
        thread: str | ThreadRef,
        channel: str,
        *,
        render: str | RenderRef | None = None,
        ops: Sequence[Op] = (),
        touch: bool = False,
        root_ts: str | None = None,
        lane: lanes.Lane | None = None,
    ) -> int:
        """Append replies (idempotent per op id) and/or mark the root for re-render; schedule delivery.

        A thread with a ``render`` gets a root message drawn by that renderer, its replies go under
        it; a thread without one is a feed: its replies are top-level posts in the channel, in order.
        ``root_ts`` adopts a root that is already in Slack, so ``touch`` re-renders it. ``lane``
        (bot/slack/lanes.py) defaults by the thread's kind: alert groups and storms are bulk, the
        rest interactive; interactive threads are delivered first."""
        tid = tid_of(thread)
        args: list[str] = [
            channel,
            ref_of(render),
            "1" if touch else "0",
            str(self.config.thread_ttl_seconds),
            root_ts or "",
        ]
        for op in ops:
            args += [op.id, op.dumps()]
        keys = [self._tk(tid, "meta"), self._tk(tid, "q"), self._tk(tid, "seen")]
        ready = self.ready_for(lanes.lane_of(tid, lane))
        # The ready set goes after the data, so a sender that empties the set re-checks and sees
        # it (see _finish).
        if self._cluster:
            # The thread's keys and the ready set live in different slots, often on different
            # primaries: a cluster pipeline would send to each node in parallel (no order between
            # them) and refuses EVALSHA anyway. Two calls, in order.
            added = int(await self._push_script(keys=keys, args=args))
            await self.redis.zadd(ready, {tid: time.time()}, nx=True)
        else:
            # One server: one round trip, the script then the ZADD, in order on one connection.
            async with self.redis.pipeline(transaction=False) as pipe:
                await self._push_script(keys=keys, args=args, client=pipe)
                pipe.zadd(ready, {tid: time.time()}, nx=True)
                results = await pipe.execute()
            added = int(results[0])
        if added:
            OUTBOX_OPS.labels("reply", "queued").inc(added)
        return added

    async def thread(self, thread: str | ThreadRef) -> dict[str, str]:
        """The thread's metadata (channel, root_ts, ...), for callers and tests."""
        return dict(await self.redis.hgetall(self._tk(tid_of(thread), "meta")))  # type: ignore[misc]

    async def pending(self, thread: str | ThreadRef) -> int:
        return int(await self.redis.llen(self._tk(tid_of(thread), "q")))  # type: ignore[misc]

    async def stats(self) -> dict[str, int]:
        due = sum([int(await self.redis.zcard(self.ready_for(lane))) for lane in lanes.LANES])
        dead = int(await self.redis.llen(self.dead_key))  # type: ignore[misc]
        return {"threads_pending": due, "dead": dead}

    async def channel_id(self, ref: str) -> str:
        """A channel name or ID to its ID (the Slack layer's one cache)."""
        return await self.slack.channel_id(ref)

    # -- sender side ---------------------------------------------------------------------------
    async def run(self) -> None:
        """Deliver forever (cancel to stop). Safe to run in every replica."""
        last_gauge = 0.0
        while True:
            try:
                started = await self._claim_due()
                now = time.monotonic()
                if now - last_gauge > 2.0:
                    last_gauge = now
                    await self._update_gauges()
            except RedisError as exc:
                raise_if_cancelling()
                log.warning("outbox: redis unavailable (%s); retrying", exc)
                started = 0
                await asyncio.sleep(1.0)
            if not started:
                await asyncio.sleep(self.config.poll_seconds)

    async def _update_gauges(self) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for lane in lanes.LANES:
                pipe.zcard(self.ready_for(lane))
            depths = await pipe.execute()
        for lane, depth in zip(lanes.LANES, depths, strict=True):
            lanes.LANE_DEPTH.labels(lane).set(int(depth))
        OUTBOX_THREADS_DUE.set(sum(int(d) for d in depths))
        tids = await self.redis.zrange(self.ready_key, 0, 199)
        if tids:
            async with self.redis.pipeline(transaction=False) as pipe:
                for tid in tids:
                    pipe.llen(self._tk(str(tid), "q"))
                lengths = await pipe.execute()
            OUTBOX_DEPTH.set(sum(int(n) for n in lengths))
        else:
            OUTBOX_DEPTH.set(0)

    async def _claim_due(self) -> int:
        """Claim due threads, the interactive lane first; bulk may not take the sender slots kept
        for interactive threads (``lanes.INTERACTIVE_SLOTS``)."""
        started = 0
        for lane in lanes.LANES:
            started += await self._claim_lane(lane)
        return started

    async def _claim_lane(self, lane: lanes.Lane) -> int:
        busy = len(self._active)
        free = self.config.concurrency - busy
        if lane == lanes.BULK:
            bulk_busy = sum(1 for v in self._lanes.values() if v == lanes.BULK)
            free = min(free, self.config.concurrency - INTERACTIVE_SLOTS - bulk_busy)
        if free <= 0:
            return 0
        now = time.time()
        ready = self.ready_for(lane)
        due = await self.redis.zrangebyscore(ready, "-inf", now, start=0, num=free + busy, withscores=True)
        started = 0
        lease_ms = int(self.config.lease_seconds * 1000)
        for raw, score in due:
            tid = str(raw)
            if tid in self._active or started >= free:
                continue
            if not await self.redis.set(self._tk(tid, "lease"), self.owner, nx=True, px=lease_ms):
                continue
            # hide it from other senders while we hold it; if we die it reappears when the lease ends
            await self.redis.zadd(ready, {tid: now + self.config.lease_seconds}, xx=True)
            self._active.add(tid)
            self._lanes[tid] = lane
            lanes.LANE_WAIT.labels(lane).observe(max(0.0, now - float(score)))
            task = asyncio.create_task(self._drive(tid, lane, float(score)), name=f"outbox:{tid}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started += 1
        return started

    async def drain(self, timeout: float) -> bool:
        """Run until nothing is pending (tests, shutdown). True when drained."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._active and not (await self.stats())["threads_pending"]:
                return True
            if not await self._claim_due():
                await asyncio.sleep(self.config.poll_seconds)
        return False

    async def close(self) -> None:
        await stop_tasks(list(self._tasks), "outbox")
        await self.gateway.close()

    async def _drive(self, tid: str, lane: lanes.Lane = lanes.BULK, due: float | None = None) -> None:
        lanes.set_lane(lane)  # this task's Slack calls are paced in the thread's lane
        if lane == lanes.INTERACTIVE:
            scheduling.PEOPLE.enter()  # machine work defers to this thread (bot/scheduling.py)
        lease_key = self._tk(tid, "lease")
        renewer = asyncio.create_task(self._keep_lease(lease_key))
        defer: float | None = None
        try:
            while True:
                try:
                    if lane == lanes.BULK:
                        await scheduling.defer_to_people("outbox-bulk")
                    more = await self._step(tid)
                except Defer as exc:
                    defer = exc.seconds
                    log.info("outbox: thread %s deferred %.1fs (%s)", tid, exc.seconds, exc.reason)
                    break
                if renewer.done():
                    raise LeaseLost(tid)
                if not more:
                    break
            await self._finish(tid, defer, lane)
            if defer is None and due is not None:
                lanes.LANE_VISIBLE.labels(lane).observe(max(0.0, time.time() - due))
        except LeaseLost:
            log.warning("outbox: lost the lease on %s; another sender took over", tid)
        except asyncio.CancelledError:
            raise
        except Exception:
            raise_if_cancelling()
            log.exception("outbox: unexpected error delivering thread %s; retrying later", tid)
            try:
                await self.redis.zadd(self.ready_for(lane), {tid: time.time() + 5.0})
            except RedisError:
                log.exception("outbox: could not reschedule %s (lease expiry will)", tid)
        finally:
            if lane == lanes.INTERACTIVE:
                scheduling.PEOPLE.leave()
            renewer.cancel()
            self._active.discard(tid)
            self._lanes.pop(tid, None)
            try:
                await self._release_script(keys=[lease_key], args=[self.owner])
            except RedisError:
                log.warning("outbox: could not release lease on %s (it expires)", tid)

    async def _keep_lease(self, lease_key: str) -> None:
        ms = int(self.config.lease_seconds * 1000)
        while True:
            await asyncio.sleep(self.config.lease_seconds / 4)
            try:
                if not int(await self._renew_script(keys=[lease_key], args=[self.owner, ms])):
                    return
            except RedisError:
                log.warning("outbox: lease renewal failed for %s", lease_key)

    async def _finish(self, tid: str, defer: float | None, lane: lanes.Lane = lanes.BULK) -> None:
        ready = self.ready_for(lane)
        if defer is not None:
            await self.redis.zadd(ready, {tid: time.time() + defer})
            return
        await self.redis.zrem(ready, tid)
        # Re-check after removing: a push that raced with us has its data in place by now.
        if await self._has_work(tid):
            await self.redis.zadd(ready, {tid: time.time()})

    async def _has_work(self, tid: str) -> bool:
        meta = await self.redis.hgetall(self._tk(tid, "meta"))  # type: ignore[misc]
        if not meta or meta.get("dead"):
            return False
        if not meta.get("root_ts"):
            return bool(meta.get("render")) or bool(await self.redis.llen(self._tk(tid, "q")))  # type: ignore[misc]
        if int(meta.get("ver", 0)) > int(meta.get("rendered", 0)):
            return True
        return bool(await self.redis.llen(self._tk(tid, "q")))  # type: ignore[misc]
