"""The alert worker: consumes the notification stream, keeps durable group state, feeds the outbox.

* A Redis consumer group on the stream (XREADGROUP/XACK); entries pending on a consumer that died are
  taken over with XAUTOCLAIM after ``claim_idle_seconds``. An entry is acknowledged (and deleted)
  only after its effects are in Redis.
* Per group: WATCH/MULTI on the group's state (hash tag ``{ag:<gid>}``) folds the notification in
  (``diff.apply_notification``) and, in the same transaction, records the outbox pushes it implies in
  the group's ``pending`` list; those pushes are idempotent (op ids derive from the stream entry), so a
  crash between the steps only repeats them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError, ResponseError

from bot.alerts import metrics, views
from bot.alerts.diff import Change, apply_notification
from bot.alerts.models import WebhookPayload
from bot.alerts.state import GroupState, group_id
from bot.config.alerts import AlertsPolicy
from bot.core.optimistic import Decision, Raw, update_atomically
from bot.keys import Keys
from bot.scheduling import Yielder
from bot.slack.outbox import Op, Outbox, Rendered
from bot.tasks import raise_if_cancelling

log = logging.getLogger(__name__)

CONSUMER_GROUP = "alert-workers"
GROUP_CONCURRENCY = 8  # alert groups processed at once by one worker
EPISODE_TTL = 30 * 86400

# KEYS: pending. ARGV: the item to drop from the head (only if it still is the head).
_POP_IF_HEAD = """
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then return redis.call('LPOP', KEYS[1]) and 1 or 0 end
return 0
"""


@dataclass
class Processed:
    gid: str
    change: Change
    state: GroupState | None


class AlertKeys:
    def __init__(self, keys: Keys) -> None:
        self.keys = keys

    @property
    def stream(self) -> str:
        return self.keys.custom("alerts", "stream")

    @property
    def dead(self) -> str:
        return self.keys.custom("alerts", "dead")

    def state(self, gid: str) -> str:
        return self.keys.custom(f"{{ag:{gid}}}", "state")

    def pending(self, gid: str) -> str:
        return self.keys.custom(f"{{ag:{gid}}}", "pending")

    def episode(self, gid: str, episode: int) -> str:
        return self.keys.custom(f"{{ag:{gid}}}", "ep", str(episode))

    def declared(self, gid: str, episode: int) -> str:
        return self.keys.custom(f"{{ag:{gid}}}", "declared", str(episode))

    @property
    def watched(self) -> str:
        """Groups whose silences the silence watcher follows (gid → last notification time)."""
        return self.keys.custom("alerts", "watched")

    def storm(self, channel: str) -> str:
        return self.keys.custom("alerts", "storm", channel)

    def storm_groups(self, sid: str) -> str:
        return self.keys.custom(f"{{storm:{sid}}}", "groups")

    def new_groups(self, channel: str, bucket: int) -> str:
        return self.keys.custom("alerts", "newgroups", channel, str(bucket))


def group_thread(gid: str, episode: int) -> str:
    return f"ag:{gid}:{episode}"


def storm_thread(sid: str) -> str:
    return f"storm:{sid}"


class AlertWorker:
    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        policy: AlertsPolicy,
        outbox: Outbox,
        *,
        on_new_episode: Callable[[GroupState], Any] | None = None,
        batch: int = 200,
    ) -> None:
        self.redis = redis
        self.k = AlertKeys(keys)
        self.policy = policy
        self.outbox = outbox
        self.on_new_episode = on_new_episode
        self.batch = batch
        self.consumer = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._pop_if_head = redis.register_script(_POP_IF_HEAD)
        self._slots = asyncio.Semaphore(GROUP_CONCURRENCY)
        self._yielder = Yielder("alert-worker")
        outbox.register_renderer("ag", self.render_group)
        outbox.register_renderer("storm", self.render_storm)

    # -- rendering (called by the outbox at send time: always the current state) ----------------
    async def load(self, gid: str) -> GroupState | None:
        raw = await self.redis.get(self.k.state(gid))
        return GroupState.model_validate_json(raw) if raw else None

    async def render_group(self, arg: str) -> Rendered | None:
        gid, _, ep = arg.rpartition(":")
        state = await self.load(gid)
        if state is None:
            return None
        if state.episode != int(ep):
            raw = await self.redis.get(self.k.episode(gid, int(ep)))
            if not raw:
                return None
            state = GroupState.model_validate_json(raw)
        return views.group_text(state), views.group_blocks(state, self.policy)

    async def render_storm(self, sid: str) -> Rendered | None:
        gids = [str(g) for g in await self.redis.zrange(self.k.storm_groups(sid), 0, -1)]
        if not gids:
            return None
        async with self.redis.pipeline(transaction=False) as pipe:
            for gid in gids:
                pipe.get(self.k.state(gid))
            raws = await pipe.execute()
        tid = storm_thread(sid)
        groups = [s for s in (GroupState.model_validate_json(r) for r in raws if r) if s.thread == tid]
        if not groups:
            return None
        return views.storm_text(groups), views.storm_blocks(groups)

    # -- consuming ---------------------------------------------------------------------------------
    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.k.stream, CONSUMER_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self) -> None:
        """Consume forever (cancel to stop). Every replica runs one."""
        last_claim = 0.0
        while True:
            try:
                await self.ensure_group()
                while True:
                    if time.monotonic() - last_claim > min(5.0, self.policy.claim_idle_seconds / 2):
                        last_claim = time.monotonic()
                        await self.claim_stale()
                    await self.consume_once(block_ms=1000)
            except asyncio.CancelledError:
                raise
            except RedisError as exc:
                raise_if_cancelling()
                log.warning("alert worker: redis unavailable (%s); retrying", exc)
                await asyncio.sleep(1.0)
            except Exception:
                raise_if_cancelling()
                log.exception("alert worker: unexpected error; restarting the loop")
                await asyncio.sleep(1.0)

    async def consume_once(self, block_ms: int | None = None) -> int:
        resp = await self.redis.xreadgroup(
            CONSUMER_GROUP, self.consumer, {self.k.stream: ">"}, count=self.batch, block=block_ms
        )
        entries = [(str(eid), fields) for _stream, items in resp or [] for eid, fields in items]
        await self.process_entries(entries)
        return len(entries)

    async def claim_stale(self) -> int:
        """Take over entries a dead consumer left pending."""
        idle_ms = int(self.policy.claim_idle_seconds * 1000)
        start = "0-0"
        total = 0
        for _ in range(100):
            resp = await self.redis.xautoclaim(
                self.k.stream, CONSUMER_GROUP, self.consumer, idle_ms, start_id=start, count=self.batch
            )
            start = str(resp[0])
            entries = [(str(eid), fields) for eid, fields in resp[1] if fields]
            if entries:
                log.info("alert worker: took over %d notifications from a dead consumer", len(entries))
                await self.process_entries(entries)
                total += len(entries)
            if start == "0-0":
                break
        pending = await self.redis.xpending(self.k.stream, CONSUMER_GROUP)
        metrics.STREAM_LAG.set(int(pending.get("pending", 0)) if isinstance(pending, dict) else 0)
        return total

    async def process_entries(self, entries: list[tuple[str, dict[Any, Any]]]) -> None:
        by_group: dict[str, list[tuple[str, WebhookPayload]]] = {}
        for entry_id, fields in entries:
            try:
                payload = WebhookPayload.model_validate_json(fields.get("body") or fields.get(b"body") or "")
            except ValidationError as exc:
                # validated at intake, so this is corruption: keep it for a human, never drop silently
                log.error("alert worker: stream entry %s is not a valid notification: %s", entry_id, exc)
                dead = json.dumps({"id": entry_id, "error": str(exc)[:2000]})
                await self.redis.rpush(self.k.dead, dead)  # type: ignore[misc]
                await self._ack(entry_id)
                continue
            by_group.setdefault(group_id(payload.group_key), []).append((entry_id, payload))

        async def run_group(items: list[tuple[str, WebhookPayload]]) -> None:
            # bounded and yielding (bot/scheduling.py): a storm leaves the loop to people and intake
            async with self._slots:
                for entry_id, payload in items:
                    started = time.perf_counter()
                    await self.process(entry_id, payload)
                    await self._ack(entry_id)
                    await self._yielder.pause(time.perf_counter() - started)

        results = await asyncio.gather(
            *(run_group(items) for items in by_group.values()), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                # left pending: XAUTOCLAIM retries it later
                log.error("alert worker: processing failed, will retry: %r", result)

    async def _ack(self, entry_id: str) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xack(self.k.stream, CONSUMER_GROUP, entry_id)
            pipe.xdel(self.k.stream, entry_id)
            await pipe.execute()

    # -- one notification --------------------------------------------------------------------------
    async def process(self, entry_id: str, payload: WebhookPayload, now: datetime | None = None) -> Processed:
        now = now or datetime.now(UTC)
        gid = group_id(payload.group_key)
        await self.flush_pending(gid)
        routed = self.policy.route({**payload.group_labels, **payload.common_labels})
        storm_choice: tuple[str, str | None] | None = None
        state_key = self.k.state(gid)

        async def decide(raw: Raw) -> Decision[tuple[GroupState | None, GroupState, Change]]:
            nonlocal storm_choice
            old = GroupState.model_validate_json(raw) if raw else None
            new, change = apply_notification(old, payload, entry_id=entry_id, channel=routed, now=now)
            if change.stale:
                return (old, new, change), None
            if change.new_episode:
                if storm_choice is None:
                    storm_choice = await self._thread_for_new_group(new)
                new.thread, new.storm = storm_choice
            pushes = self._pushes(new, change, entry_id) if (change or change.rerender) else []

            def write(pipe: Pipeline) -> None:
                pipe.set(state_key, new.model_dump_json())
                if change.new_episode and old is not None:
                    pipe.set(self.k.episode(gid, old.episode), old.model_dump_json(), ex=EPISODE_TTL)
                if pushes:
                    pipe.rpush(self.k.pending(gid), *[json.dumps(p) for p in pushes])

            return (old, new, change), write

        old, new, change = await update_atomically(self.redis, state_key, decide)
        if change.stale:
            return Processed(gid, change, old)
        await self.redis.zadd(self.k.watched, {gid: time.time()})
        await self.flush_pending(gid)
        self._count(new, change)
        if change.new_episode and self.on_new_episode is not None and new.status == "firing":
            try:
                result = self.on_new_episode(new)
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("alert worker: new-episode hook failed for group %s", gid)
        return Processed(gid, change, new)

    def _count(self, state: GroupState, change: Change) -> None:
        metrics.NOTIFICATIONS.labels("processed").inc()
        if change.newly_firing:
            metrics.ALERT_TRANSITIONS.labels("firing").inc(len(change.newly_firing))
        if change.resolved:
            metrics.ALERT_TRANSITIONS.labels("resolved").inc(len(change.resolved))
        if change.new_episode:
            metrics.GROUPS.labels("storm" if state.storm else "thread").inc()

    async def _thread_for_new_group(self, state: GroupState) -> tuple[str, str | None]:
        """Its own thread, or — past the storm threshold for the channel — the channel's storm summary."""
        storm = self.policy.storm
        own = (group_thread(state.gid, state.episode), None)
        if not storm.enabled:
            return own
        storm_key = self.k.storm(state.channel)
        sid = await self.redis.get(storm_key)
        if not sid:
            bucket = int(time.time() // storm.window_seconds)
            count_key = self.k.new_groups(state.channel, bucket)
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.incr(count_key)
                pipe.expire(count_key, storm.window_seconds * 2)
                count = int((await pipe.execute())[0])
            if count <= storm.threshold:
                return own
            candidate = uuid.uuid4().hex[:12]
            if await self.redis.set(storm_key, candidate, nx=True, ex=storm.quiet_seconds):
                sid = candidate
                log.warning("alert storm in %s: grouping new alert groups into one summary", state.channel)
            else:
                sid = await self.redis.get(storm_key) or candidate
        else:
            await self.redis.expire(storm_key, storm.quiet_seconds)
        await self.redis.zadd(self.k.storm_groups(str(sid)), {state.gid: time.time()}, nx=True)
        await self.redis.expire(self.k.storm_groups(str(sid)), EPISODE_TTL)
        return storm_thread(str(sid)), str(sid)

    def _pushes(self, state: GroupState, change: Change, entry_id: str) -> list[dict[str, Any]]:
        in_storm = state.storm is not None
        render = f"storm:{state.storm}" if in_storm else f"ag:{state.gid}:{state.episode}"
        replies = views.change_replies(state, change, with_title=in_storm) if change else []
        replies = [r for r in replies if len(r) > (1 if in_storm else 0)]
        # one op per reply (each within Slack's limits); op ids derive from the entry: idempotent
        ops = [
            Op(id=f"{entry_id}:{state.gid}" + (f":{n}" if n else ""), lines=tuple(lines)).dumps()
            for n, lines in enumerate(replies)
        ]
        return [{"tid": state.thread, "channel": state.channel, "render": render, "ops": ops, "touch": True}]

    async def push_event(self, state: GroupState, text: str, event_id: str) -> None:
        """A human event (acknowledged, incident declared) as a thread reply + a root re-render."""
        in_storm = state.storm is not None
        render = f"storm:{state.storm}" if in_storm else f"ag:{state.gid}:{state.episode}"
        op = Op(id=event_id, lines=tuple(views.event_lines(state, text, with_title=in_storm)))
        push = {
            "tid": state.thread,
            "channel": state.channel,
            "render": render,
            "ops": [op.dumps()],
            "touch": True,
        }
        await self.redis.rpush(self.k.pending(state.gid), json.dumps(push))  # type: ignore[misc]
        await self.flush_pending(state.gid)

    async def flush_pending(self, gid: str) -> None:
        """Hand the group's recorded pushes to the outbox (idempotent), then drop them."""
        key = self.k.pending(gid)
        for raw in await self.redis.lrange(key, 0, -1):  # type: ignore[misc]
            item = json.loads(raw)
            ops = [Op.loads(o) for o in item["ops"]]
            await self.outbox.push(
                item["tid"], item["channel"], render=item["render"], ops=ops, touch=bool(item["touch"])
            )
            await self._pop_if_head(keys=[key], args=[raw])
