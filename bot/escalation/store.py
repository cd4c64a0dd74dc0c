"""Escalation state in Redis, under each incident's hash tag so multi-key scripts stay Cluster-safe.

* ``timers``: hash ``<generation>:<rule id>`` → pending | cancelled | fired | skipped. A timer fires
  only through the atomic pending → fired transition, so it fires once whatever the number of
  workers, retries or replicas.
* ``timer-due``: when each pending timer is due (start-up re-plans a job that is missing).
* ``gen``: timer generation, bumped when an incident is reopened (new timers, new job ids).
* ``paged``: the pager keys that were triggered for the incident (acknowledge and resolve go there).
* ``remind``: the token of the one reminder that is still valid; older reminders find it changed.
* ``public`` / ``statuspage``: the incident is on the status page, and its Statuspage ID.
"""

from __future__ import annotations

from enum import StrEnum

import redis.asyncio as aioredis

from bot.keys import Keys

_CAS = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0
"""
_CLAIM_TOKEN = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1] .. ':fired', 'KEEPTTL')
  return 1
end
return 0
"""
STATE_TTL = 60 * 60 * 24 * 90
# escalation bookkeeping outlives any incident worth escalating; "type: ignore[misc]" below:
# redis-py types some asyncio commands as ``Awaitable[T] | T``


class TimerState(StrEnum):
    PENDING = "pending"
    CANCELLED = "cancelled"
    FIRED = "fired"
    SKIPPED = "skipped"


class EscalationStore:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._cas = redis.register_script(_CAS)
        self._claim = redis.register_script(_CLAIM_TOKEN)

    def key(self, incident_id: str, what: str) -> str:
        return self.keys.custom(f"{{esc:{incident_id}}}", what)

    # timers ---------------------------------------------------------------------------------
    async def next_generation(self, incident_id: str) -> int:
        key = self.key(incident_id, "gen")
        gen = int(await self.redis.incr(key))
        await self.redis.expire(key, STATE_TTL)
        return gen

    async def generation(self, incident_id: str) -> int:
        raw = await self.redis.get(self.key(incident_id, "gen"))
        return int(raw) if raw else 0

    async def add_pending(self, incident_id: str, gen: int, rule_id: str, due: float | None = None) -> bool:
        """Mark a timer pending (and remember when it is due, for re-planning at start-up); False
        when this generation already has it (scheduled before)."""
        key = self.key(incident_id, "timers")
        added = bool(await self.redis.hsetnx(key, f"{gen}:{rule_id}", TimerState.PENDING.value))  # type: ignore[misc]
        await self.redis.expire(key, STATE_TTL)
        if added and due is not None:
            due_key = self.key(incident_id, "timer-due")
            await self.redis.hset(due_key, f"{gen}:{rule_id}", f"{due:.3f}")  # type: ignore[misc]
            await self.redis.expire(due_key, STATE_TTL)
        return added

    async def timer_due(self, incident_id: str) -> dict[str, float]:
        """When each timer is due (seconds since the epoch), by ``<generation>:<rule id>``."""
        raw = await self.redis.hgetall(self.key(incident_id, "timer-due"))  # type: ignore[misc]
        return {str(k): float(v) for k, v in raw.items()}

    async def transition(
        self, incident_id: str, gen: int, rule_id: str, old: TimerState, new: TimerState
    ) -> bool:
        done = await self._cas(
            keys=[self.key(incident_id, "timers")], args=[f"{gen}:{rule_id}", old.value, new.value]
        )
        return bool(done)

    async def timers(self, incident_id: str) -> dict[str, str]:
        raw = await self.redis.hgetall(self.key(incident_id, "timers"))  # type: ignore[misc]
        return {str(k): str(v) for k, v in raw.items()}

    # pagers ---------------------------------------------------------------------------------
    async def add_paged(self, incident_id: str, pager_key: str) -> None:
        key = self.key(incident_id, "paged")
        await self.redis.sadd(key, pager_key)  # type: ignore[misc]
        await self.redis.expire(key, STATE_TTL)

    async def paged(self, incident_id: str) -> list[str]:
        return sorted(str(k) for k in await self.redis.smembers(self.key(incident_id, "paged")))  # type: ignore[misc]

    # reminders ------------------------------------------------------------------------------
    async def new_reminder_token(self, incident_id: str, updates: int) -> str:
        seq = int(await self.redis.incr(self.key(incident_id, "remind-seq")))
        await self.redis.expire(self.key(incident_id, "remind-seq"), STATE_TTL)
        token = f"u{updates}-{seq}"
        await self.redis.set(self.key(incident_id, "remind"), token, ex=STATE_TTL)
        return token

    async def claim_reminder(self, incident_id: str, token: str) -> bool:
        """True once for the valid token; False for a stale (superseded) or already fired one."""
        return bool(await self._claim(keys=[self.key(incident_id, "remind")], args=[token]))

    async def reminder_token(self, incident_id: str) -> str | None:
        """The valid reminder's token; None when none is pending (fired ones end in ``:fired``)."""
        raw = await self.redis.get(self.key(incident_id, "remind"))
        return None if raw is None or str(raw).endswith(":fired") else str(raw)

    async def drop_reminders(self, incident_id: str) -> None:
        await self.redis.delete(self.key(incident_id, "remind"))

    # status page ----------------------------------------------------------------------------
    async def mark_public(self, incident_id: str) -> None:
        await self.redis.set(self.key(incident_id, "public"), "1", ex=STATE_TTL)

    async def is_public(self, incident_id: str) -> bool:
        return bool(await self.redis.exists(self.key(incident_id, "public")))

    async def statuspage_id(self, incident_id: str) -> str | None:
        raw = await self.redis.get(self.key(incident_id, "statuspage"))
        return str(raw) if raw else None

    async def set_statuspage_id(self, incident_id: str, sp_id: str) -> None:
        await self.redis.set(self.key(incident_id, "statuspage"), sp_id, ex=STATE_TTL)

    async def lock(self, incident_id: str, what: str, owner: str, ms: int = 60_000) -> bool:
        return bool(await self.redis.set(self.key(incident_id, f"lock:{what}"), owner, nx=True, px=ms))

    async def unlock(self, incident_id: str, what: str, owner: str) -> None:
        key = self.key(incident_id, f"lock:{what}")
        if await self.redis.get(key) == owner:
            await self.redis.delete(key)
