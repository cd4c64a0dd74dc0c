"""One delivery step of an outbox thread: post the root, the next replies (merged), or the
pending re-render; resolve a post whose outcome is unknown by looking it up in Slack first.

Every post carries a marker in its first block's ``block_id``; a step records the marker before the
call (``MARK``) and commits the ts after it (``COMMIT``), both fenced by the thread's lease."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from slack_sdk.models.blocks import Block

from bot.keys import Keys
from bot.slack.errors import SlackCallError
from bot.slack.layer import Slack
from bot.slack.outbox.model import (
    MARKER_PREFIX,
    OUTBOX_OPS,
    OUTBOX_RATELIMITED,
    Defer,
    LeaseLost,
    Op,
    OutboxConfig,
    Rendered,
    Renderer,
    lines_blocks,
)
from bot.slack.retry import delay_after, outbox_wait

log = logging.getLogger(__name__)

# "type: ignore[misc]" below: redis-py types some asyncio commands as ``Awaitable[T] | T``.


class Delivery:
    """The step logic of the outbox (``Outbox`` adds the queue, the leases and the loop)."""

    redis: aioredis.Redis
    keys: Keys
    config: OutboxConfig
    slack: Slack
    owner: str
    _renderers: dict[str, Renderer]
    _mark_script: AsyncScript
    _commit_script: AsyncScript

    def _tk(self, tid: str, part: str) -> str:
        return self.keys.custom(f"{{ob:{tid}}}", part)

    @property
    def dead_key(self) -> str:
        return self.keys.custom("outbox", "dead")

    # -- one delivery step ---------------------------------------------------------------------
    async def _step(self, tid: str) -> bool:
        """Do one Slack call's worth of work. True when there may be more to do."""
        meta = {str(k): str(v) for k, v in (await self.redis.hgetall(self._tk(tid, "meta"))).items()}  # type: ignore[misc]
        if not meta or meta.get("dead"):
            return False
        channel = await self._channel(tid, meta)
        if meta.get("inflight"):
            return await self._resolve_uncertain(tid, meta, channel)
        if not meta.get("root_ts") and meta.get("render"):
            return await self._post_root(tid, meta, channel)
        raw_ops = await self.redis.lrange(self._tk(tid, "q"), 0, self.config.max_merge_ops - 1)  # type: ignore[misc]
        if raw_ops:
            return await self._post_reply(tid, meta, channel, [Op.loads(str(r)) for r in raw_ops])
        if int(meta.get("ver", 0)) > int(meta.get("rendered", 0)):
            return await self._update_root(tid, meta, channel)
        return False

    async def _channel(self, tid: str, meta: dict[str, str]) -> str:
        try:
            return await self.slack.channel_id(meta["channel"])
        except SlackCallError as exc:
            if not exc.transient:
                await self._dead(tid, f"channel {meta['channel']}: {exc.error}")
                raise Defer(3600, exc.error) from exc
            raise self._defer_for(exc, meta) from exc

    async def _render(self, tid: str, meta: dict[str, str]) -> Rendered:
        ref = meta.get("render", "")
        kind, _, arg = ref.partition(":")
        renderer = self._renderers.get(kind)
        if renderer is None:
            raise Defer(5.0, f"no renderer registered for {kind!r} (yet)")
        rendered = await renderer(arg)
        if rendered is None:
            raise Defer(5.0, f"renderer {ref} has nothing to show (yet)")
        return rendered

    def _defer_for(self, exc: SlackCallError, meta: dict[str, str]) -> Defer:
        """How long to leave the thread after a transient failure: Retry-After for a 429, else the
        shared exponential backoff with jitter by the thread's failure count (kept in Redis)."""
        if exc.error == "ratelimited":
            OUTBOX_RATELIMITED.inc()
        fails = int(meta.get("fails", 0)) + 1
        return Defer(delay_after(outbox_wait(self.config.max_backoff_seconds), exc, fails), exc.error)

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
            raise LeaseLost(tid)

    async def _commit_step(
        self, tid: str, kind: str, ts: str, n: int, ver: int, outcome: str = "delivered"
    ) -> None:
        ok = await self._commit_script(
            keys=[self._tk(tid, "meta"), self._tk(tid, "q"), self._tk(tid, "lease")],
            args=[self.owner, kind, ts, n, ver],
        )
        if not int(ok):
            raise LeaseLost(tid)
        OUTBOX_OPS.labels(kind, outcome).inc(max(n, 1))

    async def _send(self, tid: str, meta: dict[str, str], call: Any) -> Any:
        """One call (an awaitable from the Slack layer). Definitive failures raise SlackCallError;
        everything else becomes a Defer."""
        try:
            return await call
        except SlackCallError as exc:
            if not exc.transient:
                raise
            if exc.error != "ratelimited":
                await self._note_failure(tid)
            raise self._defer_for(exc, meta) from exc
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # whatever else went wrong, the outcome is unknown: look it up later
            log.warning("outbox: a call for %s failed unexpectedly: %r", tid, exc)
            await self._note_failure(tid)
            raise self._defer_for(SlackCallError("outbox", type(exc).__name__), meta) from exc

    async def _dead(self, tid: str, reason: str, ops: Sequence[Op] = ()) -> None:
        """Slack refused for good (e.g. channel_not_found): keep the content in a dead-letter list, loudly."""
        log.error("outbox: thread %s cannot be delivered: %s (kept in %s)", tid, reason, self.dead_key)
        OUTBOX_OPS.labels("thread", "dead").inc()
        entry = json.dumps(
            {"thread": tid, "reason": reason, "ops": [op.dumps() for op in ops], "at": time.time()}
        )
        await self.redis.rpush(self.dead_key, entry)  # type: ignore[misc]

    async def _post_root(self, tid: str, meta: dict[str, str], channel: str) -> bool:
        ver = int(meta.get("ver", 0))
        text, blocks = await self._render(tid, meta)
        marker = f"{MARKER_PREFIX}{tid}|root"
        if blocks:
            blocks[0].block_id = marker
        await self._mark(tid, marker, "root", 0, ver)
        try:
            ts = await self._send(tid, meta, self.slack.post(channel, blocks, text))
        except SlackCallError as exc:
            await self._clear_inflight(tid)
            await self._dead(tid, f"root post: {exc.error}")
            await self.redis.hset(self._tk(tid, "meta"), "dead", exc.error)  # type: ignore[misc]
            return False
        except Defer as defer:
            if defer.reason == "ratelimited":
                await self._clear_inflight(tid)  # Slack refused it: nothing was posted
            raise
        await self._commit_step(tid, "root", str(ts), 0, ver)
        return True

    async def _clear_inflight(self, tid: str) -> None:
        await self.redis.hdel(  # type: ignore[misc]
            self._tk(tid, "meta"), "inflight", "inflight_kind", "inflight_n", "inflight_since", "inflight_ver"
        )

    def _merge(self, ops: Sequence[Op]) -> tuple[int, str, list[Block]]:
        first = ops[0]
        if not first.mergeable:
            parsed = [b for b in (Block.parse(dict(raw)) for raw in first.blocks) if b is not None]
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
            ts = await self._send(
                tid, meta, self.slack.post(channel, blocks, text, thread_ts=meta.get("root_ts"))
            )
        except SlackCallError as exc:
            await self._clear_inflight(tid)
            await self._dead(tid, f"reply: {exc.error}", ops[:n])
            # Drop only those ops from the live queue (they are in the dead-letter list).
            await self._commit_step(tid, "reply", "", n, 0, outcome="dead")
            return True
        except Defer as defer:
            if defer.reason == "ratelimited":
                await self._clear_inflight(tid)
            raise
        await self._commit_step(tid, "reply", str(ts), n, 0)
        return True

    async def _update_root(self, tid: str, meta: dict[str, str], channel: str) -> bool:
        ver = int(meta.get("ver", 0))
        text, blocks = await self._render(tid, meta)
        if blocks:
            blocks[0].block_id = f"{MARKER_PREFIX}{tid}|root"
        try:
            await self._send(tid, meta, self.slack.update(channel, meta["root_ts"], blocks, text))
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
            raise Defer(wait, "waiting before looking up an uncertain post")
        marker = meta["inflight"]
        kind = meta.get("inflight_kind", "reply")
        try:
            root_ts = meta.get("root_ts") if kind == "reply" else None
            ts = await self.slack.find_marked(channel, marker, since=since, root_ts=root_ts)
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
