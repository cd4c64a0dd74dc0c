"""The durable outbound queue: Slack posts that must not be lost, delivered from Redis.

A *thread* (e.g. one alert group's episode) has a root message and ordered replies:

* ``push`` (atomic, idempotent per op id) appends replies to the thread's queue and/or marks the root
  for a re-render. The root content is rendered lazily at send time by a registered renderer, so any
  number of re-renders pending for one message collapse into one ``chat.update`` with the latest state.
* Senders (any replica) claim a due thread with a lease, post the root first, then the replies in
  order (consecutive line replies are merged into one message, within Slack's limits), then the
  pending re-render. An op leaves Redis only after Slack confirmed it (its ``ts`` is recorded in the
  same Lua script that removes it, fenced by the lease).
* 429 → the thread is retried after Retry-After; 5xx, timeouts and connection errors → the outcome
  is *uncertain*: the attempt stays recorded, and before posting again the sender looks the message
  up in Slack (every post carries a marker in its first block's ``block_id``), so a post that did
  reach Slack is never posted twice — also when the process was SIGKILLed mid-call.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from prometheus_client import Counter, Gauge
from redis.exceptions import RedisError
from slack_sdk.models.blocks import Block, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.keys import Keys
from bot.slack.errors import SlackCallError
from bot.slack.gateway import GatewayConfig, SlackGateway
from bot.tasks import raise_if_cancelling, stop_tasks

log = logging.getLogger(__name__)

OUTBOX_OPS = Counter("chatops_outbox_ops_total", "Outbox operations", ["kind", "outcome"])
OUTBOX_DEPTH = Gauge("chatops_outbox_queue_depth", "Replies waiting in the outbox (as last counted)")
OUTBOX_THREADS_DUE = Gauge("chatops_outbox_threads_pending", "Outbox threads with work pending")
OUTBOX_RATELIMITED = Counter("chatops_outbox_ratelimited_total", "429s the outbox deferred a thread for")

SECTION_LIMIT = 2900
MARKER_PREFIX = "ob|"

Rendered = tuple[str, list[Block]]
Renderer = Callable[[str], Awaitable[Rendered | None]]


@dataclass(frozen=True)
class Op:
    """One reply. ``lines`` (mrkdwn) replies that follow each other are merged into one message."""

    id: str
    lines: tuple[str, ...] = ()
    text: str = ""
    blocks: tuple[dict[str, Any], ...] = ()

    def dumps(self) -> str:
        return json.dumps({"id": self.id, "lines": self.lines, "text": self.text, "blocks": self.blocks})

    @classmethod
    def loads(cls, raw: str) -> Op:
        data = json.loads(raw)
        return cls(
            id=data["id"],
            lines=tuple(data.get("lines") or ()),
            text=data.get("text") or "",
            blocks=tuple(data.get("blocks") or ()),
        )

    @property
    def mergeable(self) -> bool:
        return bool(self.lines) and not self.blocks


@dataclass(frozen=True)
class OutboxConfig:
    concurrency: int = 64
    lease_seconds: float = 10.0
    poll_seconds: float = 0.05
    reply_budget_chars: int = 20_000
    max_merge_ops: int = 200
    # After an uncertain outcome, wait this long before looking the message up (a slow request may
    # still land in the meantime).
    uncertain_grace_seconds: float = 10.0
    max_backoff_seconds: float = 60.0
    thread_ttl_seconds: int = 30 * 86400
    call_timeout_seconds: float = 10.0


# KEYS: meta, queue, seen. ARGV: channel, render, touch, ttl, then (op id, op json) pairs.
_PUSH = """
redis.call('HSETNX', KEYS[1], 'channel', ARGV[1])
if ARGV[2] ~= '' then redis.call('HSETNX', KEYS[1], 'render', ARGV[2]) end
if ARGV[3] == '1' then redis.call('HINCRBY', KEYS[1], 'ver', 1) end
local added = 0
for i = 5, #ARGV, 2 do
  if redis.call('SADD', KEYS[3], ARGV[i]) == 1 then
    redis.call('RPUSH', KEYS[2], ARGV[i + 1])
    added = added + 1
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[3], ARGV[4])
return added
"""

# KEYS: meta, lease. ARGV: owner, marker, kind, n, since, ver
_MARK = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'inflight', ARGV[2], 'inflight_kind', ARGV[3], 'inflight_n', ARGV[4],
           'inflight_since', ARGV[5], 'inflight_ver', ARGV[6])
return 1
"""

# KEYS: meta, queue, lease. ARGV: owner, kind, ts, n, ver
_COMMIT = """
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end
if ARGV[2] == 'root' then
  redis.call('HSET', KEYS[1], 'root_ts', ARGV[3])
elseif ARGV[2] == 'reply' then
  redis.call('LTRIM', KEYS[2], tonumber(ARGV[4]), -1)
  redis.call('HSET', KEYS[1], 'last_reply_ts', ARGV[3])
end
if ARGV[2] == 'root' or ARGV[2] == 'update' then
  local cur = tonumber(redis.call('HGET', KEYS[1], 'rendered') or '0')
  if tonumber(ARGV[5]) > cur then redis.call('HSET', KEYS[1], 'rendered', ARGV[5]) end
end
redis.call('HDEL', KEYS[1], 'inflight', 'inflight_kind', 'inflight_n', 'inflight_since', 'inflight_ver',
           'fails')
return 1
"""

# KEYS: lease. ARGV: owner, ms
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class _Defer(Exception):
    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(reason)
        self.seconds = seconds
        self.reason = reason


class _LeaseLost(Exception):
    pass


def lines_blocks(lines: Sequence[str], marker: str | None = None) -> list[Block]:
    """Section blocks holding mrkdwn lines (each section within Slack's 3000 characters)."""
    blocks: list[Block] = []
    current: list[str] = []
    size = 0
    for line in lines:
        line = line if len(line) <= SECTION_LIMIT else line[: SECTION_LIMIT - 1] + "…"
        if current and size + 1 + len(line) > SECTION_LIMIT:
            blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(current))))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(current))))
    if marker and blocks:
        blocks[0].block_id = marker
    return blocks


def _first_block_id(message: dict[str, Any]) -> str | None:
    blocks = message.get("blocks") or []
    if blocks and isinstance(blocks[0], dict):
        value = blocks[0].get("block_id")
        return str(value) if value is not None else None
    return None


class Outbox:
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
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._renderers: dict[str, Renderer] = {}
        self._channel_ids: dict[str, str] = {}
        self._active: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._push_script = redis.register_script(_PUSH)
        self._mark_script = redis.register_script(_MARK)
        self._commit_script = redis.register_script(_COMMIT)
        self._renew_script = redis.register_script(_RENEW)
        self._release_script = redis.register_script(_RELEASE)

    # -- keys --------------------------------------------------------------------------------
    def _tk(self, tid: str, part: str) -> str:
        return self.keys.custom(f"{{ob:{tid}}}", part)

    @property
    def ready_key(self) -> str:
        return self.keys.custom("outbox", "ready")

    @property
    def dead_key(self) -> str:
        return self.keys.custom("outbox", "dead")

    def channels_key(self) -> str:
        return self.keys.custom("outbox", "channels")

    # -- producer side -------------------------------------------------------------------------
    def register_renderer(self, kind: str, renderer: Renderer) -> None:
        """``render`` refs look like ``<kind>:<arg>``; the renderer gets ``<arg>``."""
        self._renderers[kind] = renderer

    async def push(
        self,
        tid: str,
        channel: str,
        *,
        render: str | None = None,
        ops: Sequence[Op] = (),
        touch: bool = False,
    ) -> int:
        """Append replies (idempotent per op id) and/or mark the root for re-render; schedule delivery."""
        args: list[str] = [channel, render or "", "1" if touch else "0", str(self.config.thread_ttl_seconds)]
        for op in ops:
            args += [op.id, op.dumps()]
        keys = [self._tk(tid, "meta"), self._tk(tid, "q"), self._tk(tid, "seen")]
        added = int(await self._push_script(keys=keys, args=args))
        # After the data, so a sender that empties the set re-checks and sees it (see _finish).
        await self.redis.zadd(self.ready_key, {tid: time.time()}, nx=True)
        if added:
            OUTBOX_OPS.labels("reply", "queued").inc(added)
        return added

    async def thread(self, tid: str) -> dict[str, str]:
        """The thread's metadata (channel, root_ts, ...), for callers and tests."""
        return dict(await self.redis.hgetall(self._tk(tid, "meta")))

    async def pending(self, tid: str) -> int:
        return int(await self.redis.llen(self._tk(tid, "q")))

    async def stats(self) -> dict[str, int]:
        due = int(await self.redis.zcard(self.ready_key))
        dead = int(await self.redis.llen(self.dead_key))
        return {"threads_pending": due, "dead": dead}

    # -- channel names -------------------------------------------------------------------------
    async def channel_id(self, ref: str) -> str:
        """A channel name (``#alerts``) to its ID via conversations.list once, cached in Redis."""
        if not ref.startswith("#"):
            return ref
        name = ref[1:]
        if name in self._channel_ids:
            return self._channel_ids[name]
        cached = await self.redis.hget(self.channels_key(), name)
        if cached:
            self._channel_ids[name] = str(cached)
            return str(cached)
        found: dict[str, str] = {}
        cursor: str | None = None
        while True:
            data = await self.gateway.call(
                "conversations.list",
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=1000,
                cursor=cursor,
            )
            for channel in data.get("channels", []):
                found[str(channel["name"])] = str(channel["id"])
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        if found:
            await self.redis.hset(self.channels_key(), mapping=found)
            await self.redis.expire(self.channels_key(), 3600)
        if name not in found:
            raise SlackCallError("conversations.list", "channel_not_found")
        self._channel_ids[name] = found[name]
        return found[name]

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
        OUTBOX_THREADS_DUE.set(await self.redis.zcard(self.ready_key))
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
        free = self.config.concurrency - len(self._active)
        if free <= 0:
            return 0
        now = time.time()
        due = await self.redis.zrangebyscore(
            self.ready_key, "-inf", now, start=0, num=free + len(self._active)
        )
        started = 0
        lease_ms = int(self.config.lease_seconds * 1000)
        for raw in due:
            tid = str(raw)
            if tid in self._active or started >= free:
                continue
            if not await self.redis.set(self._tk(tid, "lease"), self.owner, nx=True, px=lease_ms):
                continue
            # hide it from other senders while we hold it; if we die it reappears when the lease ends
            await self.redis.zadd(self.ready_key, {tid: now + self.config.lease_seconds}, xx=True)
            self._active.add(tid)
            task = asyncio.create_task(self._drive(tid), name=f"outbox:{tid}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started += 1
        return started

    async def drain(self, timeout: float) -> bool:
        """Run until nothing is pending (tests, shutdown). True when drained."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not await self.redis.zcard(self.ready_key) and not self._active:
                return True
            if not await self._claim_due():
                await asyncio.sleep(self.config.poll_seconds)
        return False

    async def close(self) -> None:
        await stop_tasks(list(self._tasks), "outbox")
        await self.gateway.close()

    async def _drive(self, tid: str) -> None:
        lease_key = self._tk(tid, "lease")
        renewer = asyncio.create_task(self._keep_lease(lease_key))
        defer: float | None = None
        try:
            while True:
                try:
                    more = await self._step(tid)
                except _Defer as exc:
                    defer = exc.seconds
                    log.info("outbox: thread %s deferred %.1fs (%s)", tid, exc.seconds, exc.reason)
                    break
                if renewer.done():
                    raise _LeaseLost(tid)
                if not more:
                    break
            await self._finish(tid, defer)
        except _LeaseLost:
            log.warning("outbox: lost the lease on %s; another sender took over", tid)
        except asyncio.CancelledError:
            raise
        except Exception:
            raise_if_cancelling()
            log.exception("outbox: unexpected error delivering thread %s; retrying later", tid)
            try:
                await self.redis.zadd(self.ready_key, {tid: time.time() + 5.0})
            except RedisError:
                log.exception("outbox: could not reschedule %s (lease expiry will)", tid)
        finally:
            renewer.cancel()
            self._active.discard(tid)
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

    async def _finish(self, tid: str, defer: float | None) -> None:
        if defer is not None:
            await self.redis.zadd(self.ready_key, {tid: time.time() + defer})
            return
        await self.redis.zrem(self.ready_key, tid)
        # Re-check after removing: a push that raced with us has its data in place by now.
        if await self._has_work(tid):
            await self.redis.zadd(self.ready_key, {tid: time.time()})

    async def _has_work(self, tid: str) -> bool:
        meta = await self.redis.hgetall(self._tk(tid, "meta"))
        if not meta or meta.get("dead"):
            return False
        if not meta.get("root_ts"):
            return bool(meta.get("render")) or bool(await self.redis.llen(self._tk(tid, "q")))
        if int(meta.get("ver", 0)) > int(meta.get("rendered", 0)):
            return True
        return bool(await self.redis.llen(self._tk(tid, "q")))

    # -- one delivery step ---------------------------------------------------------------------
    async def _step(self, tid: str) -> bool:
        """Do one Slack call's worth of work. True when there may be more to do."""
        meta = {str(k): str(v) for k, v in (await self.redis.hgetall(self._tk(tid, "meta"))).items()}
        if not meta or meta.get("dead"):
            return False
        channel = await self._channel(tid, meta)
        if meta.get("inflight"):
            return await self._resolve_uncertain(tid, meta, channel)
        if not meta.get("root_ts"):
            return await self._post_root(tid, meta, channel)
        raw_ops = await self.redis.lrange(self._tk(tid, "q"), 0, self.config.max_merge_ops - 1)
        if raw_ops:
            return await self._post_reply(tid, meta, channel, [Op.loads(str(r)) for r in raw_ops])
        if int(meta.get("ver", 0)) > int(meta.get("rendered", 0)):
            return await self._update_root(tid, meta, channel)
        return False

    async def _channel(self, tid: str, meta: dict[str, str]) -> str:
        try:
            return await self.channel_id(meta["channel"])
        except SlackCallError as exc:
            if not exc.transient:
                await self._dead(tid, f"channel {meta['channel']}: {exc.error}")
                raise _Defer(3600, exc.error) from exc
            raise self._defer_for(exc, meta) from exc

    async def _render(self, tid: str, meta: dict[str, str]) -> Rendered:
        ref = meta.get("render", "")
        kind, _, arg = ref.partition(":")
        renderer = self._renderers.get(kind)
        if renderer is None:
            raise _Defer(5.0, f"no renderer registered for {kind!r} (yet)")
        rendered = await renderer(arg)
        if rendered is None:
            raise _Defer(5.0, f"renderer {ref} has nothing to show (yet)")
        return rendered

    def _defer_for(self, exc: SlackCallError, meta: dict[str, str]) -> _Defer:
        if exc.error == "ratelimited":
            OUTBOX_RATELIMITED.inc()
            return _Defer(exc.retry_after if exc.retry_after is not None else 1.0, "ratelimited")
        fails = int(meta.get("fails", 0)) + 1
        backoff = min(self.config.max_backoff_seconds, 0.5 * 2 ** min(fails, 10))
        return _Defer(backoff * (0.5 + random.random() / 2), exc.error)

    async def _note_failure(self, tid: str) -> None:
        """Count the failure and remember when it happened: an uncertain post is looked up only a
        grace period after the failure (a slow request may still land in Slack meanwhile)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(self._tk(tid, "meta"), "fails", 1)
            pipe.hset(self._tk(tid, "meta"), "failed_at", f"{time.time():.3f}")
            await pipe.execute()

    async def _mark(self, tid: str, marker: str, kind: str, n: int, ver: int) -> None:
        ok = await self._mark_script(
            keys=[self._tk(tid, "meta"), self._tk(tid, "lease")],
            args=[self.owner, marker, kind, n, f"{time.time():.3f}", ver],
        )
        if not int(ok):
            raise _LeaseLost(tid)

    async def _commit_step(
        self, tid: str, kind: str, ts: str, n: int, ver: int, outcome: str = "delivered"
    ) -> None:
        ok = await self._commit_script(
            keys=[self._tk(tid, "meta"), self._tk(tid, "q"), self._tk(tid, "lease")],
            args=[self.owner, kind, ts, n, ver],
        )
        if not int(ok):
            raise _LeaseLost(tid)
        OUTBOX_OPS.labels(kind, outcome).inc(max(n, 1))

    async def _send(
        self, tid: str, meta: dict[str, str], kind: str, method: str, **kwargs: Any
    ) -> dict[str, Any]:
        """One call. Definitive failures raise SlackCallError; everything else becomes a _Defer."""
        try:
            return await self.gateway.call(method, **kwargs)
        except SlackCallError as exc:
            if exc.error == "not_in_channel" and method == "chat.postMessage":
                await self._join(kwargs["channel"])
                raise _Defer(0.0, "joined channel") from exc
            if not exc.transient:
                raise
            if exc.error != "ratelimited":
                await self._note_failure(tid)
            raise self._defer_for(exc, meta) from exc
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # whatever else went wrong, the outcome is unknown: look it up later
            log.warning("outbox: %s for %s failed unexpectedly: %r", method, tid, exc)
            await self._note_failure(tid)
            raise self._defer_for(SlackCallError(method, type(exc).__name__), meta) from exc

    async def _join(self, channel: str) -> None:
        try:
            await self.gateway.call("conversations.join", channel=channel)
        except SlackCallError as exc:
            log.error("outbox: cannot join channel %s: %s", channel, exc.error)
            raise _Defer(30.0, f"join {exc.error}") from exc

    async def _dead(self, tid: str, reason: str, ops: Sequence[Op] = ()) -> None:
        """Slack refused for good (e.g. channel_not_found): keep the content in a dead-letter list, loudly."""
        log.error("outbox: thread %s cannot be delivered: %s (kept in %s)", tid, reason, self.dead_key)
        OUTBOX_OPS.labels("thread", "dead").inc()
        entry = json.dumps(
            {"thread": tid, "reason": reason, "ops": [op.dumps() for op in ops], "at": time.time()}
        )
        await self.redis.rpush(self.dead_key, entry)

    async def _post_root(self, tid: str, meta: dict[str, str], channel: str) -> bool:
        ver = int(meta.get("ver", 0))
        text, blocks = await self._render(tid, meta)
        marker = f"{MARKER_PREFIX}{tid}|root"
        if blocks:
            blocks[0].block_id = marker
        await self._mark(tid, marker, "root", 0, ver)
        try:
            data = await self._send(
                tid, meta, "root", "chat.postMessage", channel=channel, text=text, blocks=blocks
            )
        except SlackCallError as exc:
            await self._clear_inflight(tid)
            await self._dead(tid, f"root post: {exc.error}")
            await self.redis.hset(self._tk(tid, "meta"), "dead", exc.error)
            return False
        except _Defer as defer:
            if defer.reason in ("ratelimited", "joined channel"):
                await self._clear_inflight(tid)  # Slack refused it: nothing was posted
            raise
        await self._commit_step(tid, "root", str(data["ts"]), 0, ver)
        return True

    async def _clear_inflight(self, tid: str) -> None:
        await self.redis.hdel(
            self._tk(tid, "meta"), "inflight", "inflight_kind", "inflight_n", "inflight_since", "inflight_ver"
        )

    def _merge(self, ops: Sequence[Op]) -> tuple[int, str, list[Block]]:
        first = ops[0]
        if not first.mergeable:
            from slack_sdk.models.blocks import Block as _Block

            parsed = [b for b in (_Block.parse(dict(raw)) for raw in first.blocks) if b is not None]
            return 1, first.text or "update", parsed
        lines: list[str] = []
        size = 0
        n = 0
        for op in ops:
            if not op.mergeable:
                break
            op_size = sum(len(line) + 1 for line in op.lines)
            if n and size + op_size > self.config.reply_budget_chars:
                break
            lines.extend(op.lines)
            size += op_size
            n += 1
        text = lines[0] if lines else "update"
        text = text if len(text) <= 300 else text[:299] + "…"
        return n, text, lines_blocks(lines)

    async def _post_reply(self, tid: str, meta: dict[str, str], channel: str, ops: list[Op]) -> bool:
        n, text, blocks = self._merge(ops)
        marker = f"{MARKER_PREFIX}{tid}|{ops[0].id}"
        if blocks:
            blocks[0].block_id = marker[:255]
        await self._mark(tid, marker[:255], "reply", n, 0)
        try:
            data = await self._send(
                tid,
                meta,
                "reply",
                "chat.postMessage",
                channel=channel,
                thread_ts=meta["root_ts"],
                text=text,
                blocks=blocks,
            )
        except SlackCallError as exc:
            await self._clear_inflight(tid)
            await self._dead(tid, f"reply: {exc.error}", ops[:n])
            # Drop only those ops from the live queue (they are in the dead-letter list).
            await self._commit_step(tid, "reply", "", n, 0, outcome="dead")
            return True
        except _Defer as defer:
            if defer.reason in ("ratelimited", "joined channel"):
                await self._clear_inflight(tid)
            raise
        await self._commit_step(tid, "reply", str(data["ts"]), n, 0)
        return True

    async def _update_root(self, tid: str, meta: dict[str, str], channel: str) -> bool:
        ver = int(meta.get("ver", 0))
        text, blocks = await self._render(tid, meta)
        if blocks:
            blocks[0].block_id = f"{MARKER_PREFIX}{tid}|root"
        try:
            await self._send(
                tid,
                meta,
                "update",
                "chat.update",
                channel=channel,
                ts=meta["root_ts"],
                text=text,
                blocks=blocks,
            )
        except SlackCallError as exc:
            log.error("outbox: chat.update of %s failed for good: %s; skipping this render", tid, exc.error)
            OUTBOX_OPS.labels("update", "failed").inc()
        await self._commit_step(tid, "update", "", 0, ver)
        return True

    async def _resolve_uncertain(self, tid: str, meta: dict[str, str], channel: str) -> bool:
        """The last post's outcome is unknown: find it in Slack, or post again if it is not there."""
        since = float(meta.get("inflight_since", "0"))
        failed_at = max(since, float(meta.get("failed_at", "0")))
        wait = failed_at + self.config.uncertain_grace_seconds - time.time()
        if wait > 0:
            raise _Defer(wait, "waiting before looking up an uncertain post")
        marker = meta["inflight"]
        kind = meta.get("inflight_kind", "reply")
        try:
            ts = await self._lookup(channel, marker, meta.get("root_ts") if kind == "reply" else None, since)
        except SlackCallError as exc:
            if not exc.transient:
                raise
            raise self._defer_for(exc, meta) from exc
        if ts is None:
            OUTBOX_OPS.labels(kind, "not_found_reposting").inc()
            await self._clear_inflight(tid)
            return True
        OUTBOX_OPS.labels(kind, "found_after_uncertain").inc()
        await self._commit_step(
            tid, kind, ts, int(meta.get("inflight_n", "0")), int(meta.get("inflight_ver", "0"))
        )
        return True

    async def _lookup(self, channel: str, marker: str, root_ts: str | None, since: float) -> str | None:
        oldest = f"{since - 120:.6f}"
        cursor: str | None = None
        for _ in range(50):
            if root_ts:
                data = await self.gateway.call(
                    "conversations.replies",
                    channel=channel,
                    ts=root_ts,
                    oldest=oldest,
                    limit=200,
                    cursor=cursor,
                )
            else:
                data = await self.gateway.call(
                    "conversations.history", channel=channel, oldest=oldest, limit=200, cursor=cursor
                )
            for message in data.get("messages", []):
                if _first_block_id(message) == marker:
                    return str(message["ts"])
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None
        return None
