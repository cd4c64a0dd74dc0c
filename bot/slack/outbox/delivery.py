"""One delivery step of an outbox thread: post the root, the next replies (merged), or the
pending re-render; resolve a post whose outcome is unknown by looking it up in Slack first.

Every post carries a marker in its first block's ``block_id``; a step records the marker before the
call (``MARK``) and commits the ts after it (``COMMIT``), both fenced by the thread's lease. Longer than 400 lines because the size rules (merge
budget, split, shrink) must sit beside the steps they guard."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from prometheus_client import Counter
from redis.commands.core import AsyncScript
from slack_sdk.models.blocks import Block

from bot.keys import Keys
from bot.slack import limits
from bot.slack.errors import SlackCallError
from bot.slack.layer import BlockLike, Slack
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

OUTBOX_DEAD = Counter(
    "chatops_outbox_dead_letters_total",
    "Outbox posts Slack refused for good (kept, shown)",
    ["kind", "error"],
)
OUTBOX_SPLITS = Counter("chatops_outbox_splits_total", "Outbox posts split or shrunk to fit Slack", ["kind"])

# KEYS: meta, queue, lease. ARGV: owner, the head op as stored, then the ops that replace it.
# errors about the channel itself, not the content: another rendering cannot help
CHANNEL_ERRORS = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
    }
)

SPLIT = """
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end
if redis.call('LINDEX', KEYS[2], 0) ~= ARGV[2] then return -1 end
redis.call('LPOP', KEYS[2])
for i = #ARGV, 3, -1 do redis.call('LPUSH', KEYS[2], ARGV[i]) end
redis.call('HDEL', KEYS[1], 'merge_cap')
return 1
"""

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

    async def _dead(
        self, tid: str, reason: str, ops: Sequence[Op] = (), *, kind: str = "thread", error: str = ""
    ) -> None:
        """Slack refused for good (e.g. channel_not_found): keep the content in a dead-letter list, loudly."""
        log.error("outbox: %s of %s cannot be delivered: %s (kept in %s)", kind, tid, reason, self.dead_key)
        OUTBOX_OPS.labels("thread", "dead").inc()
        OUTBOX_DEAD.labels(kind, error or reason.rsplit(": ", 1)[-1]).inc()
        entry = json.dumps(
            {"thread": tid, "reason": reason, "ops": [op.dumps() for op in ops], "at": time.time()}
        )
        await self.redis.rpush(self.dead_key, entry)  # type: ignore[misc]

    def _fit_root(
        self, blocks: Sequence[BlockLike], marker: str, *, budget: int | None = None
    ) -> list[BlockLike]:
        """The root's blocks as one message Slack takes (shrunk with "…and N more" when too large),
        the marker on the first block."""
        budget = budget or self._budget
        out: list[BlockLike] = list(blocks)
        if not limits.fits(out, budget):
            OUTBOX_SPLITS.labels("root_shrunk").inc()
            out = list(limits.shrink_to_fit(out, budget))
        if out:
            first = out[0]
            if isinstance(first, Block):
                first.block_id = marker
            else:
                out[0] = {**first, "block_id": marker}
        return out

    @staticmethod
    def _fallback_root(text: str, marker: str, error: str) -> list[BlockLike]:
        """A plain root when Slack refused the rendered one: the thread still has a home."""
        body = limits.clip(text or "update", 2_500)
        return [
            {
                "type": "section",
                "block_id": marker,
                "text": {
                    "type": "mrkdwn",
                    "text": f"{body}\n:warning: _the full message could not be shown (`{error}`)_",
                },
            }
        ]

    async def _post_root(self, tid: str, meta: dict[str, str], channel: str) -> bool:
        ver = int(meta.get("ver", 0))
        text, rendered = await self._render(tid, meta)
        marker = f"{MARKER_PREFIX}{tid}|root"
        blocks = self._fit_root(rendered, marker)
        await self._mark(tid, marker, "root", 0, ver)
        last: SlackCallError | None = None
        ts: Any = None
        shrunk = fallback = False
        while True:
            try:
                ts = await self._send(tid, meta, self.slack.post(channel, blocks, text))
                break
            except SlackCallError as exc:
                last = exc
                if exc.error in CHANNEL_ERRORS or fallback:
                    break  # the channel itself is the problem, or even a plain root was refused
                if exc.too_large and not shrunk and limits.text_chars(blocks) > 1_000:
                    shrunk = True
                    OUTBOX_SPLITS.labels("root_shrunk").inc()
                    blocks = self._fit_root(blocks, marker, budget=limits.text_chars(blocks) // 2)
                else:
                    fallback = True
                    blocks = self._fallback_root(text, marker, exc.error)
            except Defer as defer:
                if defer.reason == "ratelimited":
                    await self._clear_inflight(tid)  # Slack refused it: nothing was posted
                raise
        if ts is None:
            await self._clear_inflight(tid)
            error = last.error if last is not None else "unknown"
            await self._dead(tid, f"root post: {error}", kind="root", error=error)
            await self.redis.hset(self._tk(tid, "meta"), "dead", error)  # type: ignore[misc]
            return False
        if last is not None:
            await self._dead(
                tid, f"root post (shown shrunk or plain): {last.error}", kind="root", error=last.error
            )
        await self._commit_step(tid, "root", str(ts), 0, ver)
        return True

    async def _clear_inflight(self, tid: str) -> None:
        await self.redis.hdel(  # type: ignore[misc]
            self._tk(tid, "meta"), "inflight", "inflight_kind", "inflight_n", "inflight_since", "inflight_ver"
        )

    @property
    def _budget(self) -> int:
        return min(self.config.reply_budget_chars, limits.MESSAGE_TEXT_BUDGET)

    def _merge(self, ops: Sequence[Op], cap: int | None = None) -> tuple[int, str, list[Block]]:
        first = ops[0]
        if not first.mergeable:
            parsed = [b for b in (Block.parse(dict(raw)) for raw in first.blocks) if b is not None]
            return 1, first.text or "update", parsed
        lines: list[str] = []
        size = 0
        n = 0
        for op in ops:
            if not op.mergeable or (cap is not None and n >= cap):
                break
            op_size = sum(min(len(line), limits.SECTION_TEXT - 100) + 1 for line in op.lines)
            if n and size + op_size > self._budget:
                break
            lines.extend(op.lines)
            size += op_size
            n += 1
        text = lines[0] if lines else "update"
        text = text if len(text) <= 300 else text[:299] + "…"
        return n, text, lines_blocks(lines)

    async def _post_reply(self, tid: str, meta: dict[str, str], channel: str, ops: list[Op]) -> bool:
        cap = int(meta["merge_cap"]) if meta.get("merge_cap") else None
        n, text, blocks = self._merge(ops, cap)
        if n == 1 and not limits.fits(blocks, self._budget) and await self._split_head(tid, ops[0]):
            return True  # one reply too large for a message: now several that fit
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
            if exc.too_large:
                OUTBOX_SPLITS.labels("reply").inc()
                if n > 1:  # merge fewer replies until Slack takes them
                    await self.redis.hset(self._tk(tid, "meta"), "merge_cap", str(max(1, n // 2)))  # type: ignore[misc]
                    return True
                if await self._split_head(tid, ops[0], halve=True):
                    return True
            await self._dead(tid, f"reply: {exc.error}", ops[:n], kind="reply", error=exc.error)
            # Drop only those ops from the live queue (they are in the dead-letter list), say so in
            # the thread, and go on with the next reply.
            await self._commit_step(tid, "reply", "", n, 0, outcome="dead")
            await self._notice(channel, meta.get("root_ts"), exc.error)
            return True
        except Defer as defer:
            if defer.reason == "ratelimited":
                await self._clear_inflight(tid)
            raise
        await self._commit_step(tid, "reply", str(ts), n, 0)
        if cap is not None:
            await self.redis.hdel(self._tk(tid, "meta"), "merge_cap")  # type: ignore[misc]
        return True

    def _parts(self, op: Op, *, halve: bool) -> list[Op]:
        """The op as several smaller ones that each fit a message (halves when Slack refused a part
        we thought would fit); empty when it cannot be divided."""
        if op.mergeable:
            budget = self._budget
            if halve:
                budget = max(200, sum(len(line) + 1 for line in op.lines) // 2)
            groups = limits.split_lines(op.lines, budget, line_limit=limits.SECTION_TEXT - 100)
            if len(groups) < 2 and halve and len(op.lines) == 1 and len(op.lines[0]) > 400:
                line = op.lines[0]
                groups = [[line[: len(line) // 2]], [line[len(line) // 2 :]]]
            if len(groups) < 2:
                return []
            return [Op(id=f"{op.id}~{i}", lines=tuple(g)) for i, g in enumerate(groups, 1)]
        budget = self._budget
        if halve:
            budget = max(200, limits.text_chars(list(op.blocks)) // 2)
        block_groups = limits.split_blocks(op.blocks, budget)
        if len(block_groups) < 2:
            if not halve:
                return []
            fitted = limits.shrink_to_fit(op.blocks, budget)
            if fitted == limits.as_dicts(op.blocks):
                return []
            block_groups = [fitted]
        text = op.text or "update"
        return [Op(id=f"{op.id}~{i}", text=text, blocks=tuple(g)) for i, g in enumerate(block_groups, 1)]

    async def _split_head(self, tid: str, op: Op, *, halve: bool = False) -> bool:
        """Replace the queue's head op by its parts (atomically, under the lease)."""
        parts = self._parts(op, halve=halve)
        if not parts:
            return False
        raw = await self.redis.lindex(self._tk(tid, "q"), 0)  # type: ignore[misc]
        if raw is None:
            return False
        script = self.redis.register_script(SPLIT)
        done = int(
            await script(
                keys=[self._tk(tid, "meta"), self._tk(tid, "q"), self._tk(tid, "lease")],
                args=[self.owner, raw, *(p.dumps() for p in parts)],
            )
        )
        if done == 0:
            raise LeaseLost(tid)
        if done > 0:
            log.info("outbox: %s reply %s split into %d messages to fit Slack", tid, op.id, len(parts))
            OUTBOX_SPLITS.labels("split").inc()
        return done > 0

    async def _notice(self, channel: str, thread_ts: str | None, error: str) -> None:
        """A visible line where the lost post should have been (best effort: it is logged if even
        that fails)."""
        text = (
            f":warning: A message could not be delivered to Slack (`{error}`). "
            "It is kept in the bot's dead-letter list for the operators."
        )
        try:
            await self.slack.post(channel, [], text, thread_ts=thread_ts)
        except Exception as exc:  # the dead letter and the metric are there; only the notice is lost
            log.error("outbox: could not post the dead-letter notice in %s: %r", channel, exc)

    async def _update_root(self, tid: str, meta: dict[str, str], channel: str) -> bool:
        ver = int(meta.get("ver", 0))
        text, rendered = await self._render(tid, meta)
        marker = f"{MARKER_PREFIX}{tid}|root"
        blocks = self._fit_root(rendered, marker)
        try:
            await self._send(tid, meta, self.slack.update(channel, meta["root_ts"], blocks, text))
        except SlackCallError as exc:
            retried = False
            if exc.too_large and limits.text_chars(blocks) > 1_000:
                smaller = self._fit_root(blocks, marker, budget=limits.text_chars(blocks) // 2)
                try:
                    await self._send(tid, meta, self.slack.update(channel, meta["root_ts"], smaller, text))
                    retried = True
                    OUTBOX_SPLITS.labels("root_shrunk").inc()
                except SlackCallError as again:
                    exc = again
            if not retried:
                log.error(
                    "outbox: chat.update of %s failed for good: %s; skipping this render", tid, exc.error
                )
                OUTBOX_OPS.labels("update", "failed").inc()
                OUTBOX_DEAD.labels("update", exc.error).inc()
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
        root_ts = meta.get("root_ts") if kind == "reply" else None
        try:
            # (the layer joins a channel the bot only posted to: reading needs membership)
            ts = await self.slack.find_marked(channel, marker, since=since, root_ts=root_ts)
        except SlackCallError as exc:
            if exc.transient:
                raise self._defer_for(exc, meta) from exc
            # Slack will not let us look (a private channel we left, an archived one...): never
            # loop on it. Post again: the post itself then succeeds or fails visibly.
            log.warning("outbox: cannot look up %s in %s (%s); posting again", marker, channel, exc.error)
            OUTBOX_OPS.labels(kind, "lookup_refused_reposting").inc()
            ts = None
        if ts is None:
            OUTBOX_OPS.labels(kind, "not_found_reposting").inc()
            await self._clear_inflight(tid)
            return True
        OUTBOX_OPS.labels(kind, "found_after_uncertain").inc()
        await self._commit_step(
            tid, kind, ts, int(meta.get("inflight_n", "0")), int(meta.get("inflight_ver", "0"))
        )
        return True
