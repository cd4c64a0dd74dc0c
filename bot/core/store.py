"""Incidents in Redis. One JSON document and one timeline list per incident, both under the
incident's hash tag, changed together in one MULTI guarded by WATCH (bot/core/optimistic.py) so concurrent changes from any
number of replicas serialise (two simultaneous acknowledgements give exactly one)."""

from __future__ import annotations

from collections.abc import Callable

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from bot.core.models import Incident, TimelineEntry
from bot.core.optimistic import Decision, Raw, update_atomically
from bot.core.state import Change
from bot.keys import Keys


class NotFound(Exception):
    def __init__(self, incident_id: str) -> None:
        super().__init__(f"{incident_id} does not exist")
        self.incident_id = incident_id


class StoreUnavailable(Exception):
    """Redis could not be reached: the user is told the state store is down, nothing is guessed."""


def normalise_id(text: str) -> str | None:
    """``INC-12``, ``inc-12``, ``12`` or ``#12`` -> ``INC-12``; anything else -> None."""
    t = text.strip().upper().lstrip("#")
    if t.startswith("INC-"):
        t = t[4:]
    return f"INC-{int(t)}" if t.isdigit() and 0 < int(t) < 10**9 else None


class IncidentStore:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def next_id(self) -> tuple[str, int]:
        n = int(await self.redis.incr(self.keys.incident_seq()))
        return f"INC-{n}", n

    async def create(self, incident: Incident, first: TimelineEntry) -> Incident:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.incident(incident.id), incident.model_dump_json(), nx=True)
            pipe.rpush(self.keys.timeline(incident.id), first.model_dump_json())
            await pipe.execute()
        await self.redis.zadd(self.keys.incident_index(), {incident.id: incident.number})
        return incident

    async def get(self, incident_id: str) -> Incident:
        raw = await self.redis.get(self.keys.incident(incident_id))
        if raw is None:
            raise NotFound(incident_id)
        return Incident.model_validate_json(raw)

    async def find(self, incident_id: str) -> Incident | None:
        try:
            return await self.get(incident_id)
        except NotFound:
            return None

    async def apply(self, incident_id: str, change: Change) -> tuple[Incident, list[TimelineEntry]]:
        """Apply a state-machine change atomically; raises ``Refused`` or ``NotFound``."""
        key = self.keys.incident(incident_id)
        tl = self.keys.timeline(incident_id)

        def decide(raw: Raw) -> Decision[tuple[Incident, list[TimelineEntry]]]:
            if raw is None:
                raise NotFound(incident_id)
            incident = Incident.model_validate_json(raw)
            entries = change(incident)
            incident.version += 1

            def write(pipe: Pipeline) -> None:
                pipe.set(key, incident.model_dump_json())
                if entries:
                    pipe.rpush(tl, *(e.model_dump_json() for e in entries))

            return (incident, entries), write

        return await update_atomically(self.redis, key, decide)

    async def patch(self, incident_id: str, fn: Callable[[Incident], None]) -> Incident:
        """Change bookkeeping fields (message refs, war room) without a timeline entry."""

        def change(inc: Incident) -> list[TimelineEntry]:
            fn(inc)
            return []

        incident, _ = await self.apply(incident_id, change)
        return incident

    async def timeline(self, incident_id: str) -> list[TimelineEntry]:
        raw = await self.redis.lrange(self.keys.timeline(incident_id), 0, -1)  # type: ignore[misc]
        entries = [TimelineEntry.model_validate_json(r) for r in raw]
        return sorted(entries, key=lambda e: e.at)

    async def list(self, include_resolved: bool = False, limit: int = 50) -> list[Incident]:
        ids = await self.redis.zrevrange(self.keys.incident_index(), 0, -1)
        out: list[Incident] = []
        for chunk_start in range(0, len(ids), 100):
            chunk = ids[chunk_start : chunk_start + 100]
            async with self.redis.pipeline(transaction=False) as pipe:
                for i in chunk:
                    pipe.get(self.keys.incident(i.decode() if isinstance(i, bytes) else i))
                raws = await pipe.execute()
            for raw in raws:
                if raw is None:
                    continue
                inc = Incident.model_validate_json(raw)
                if include_resolved or not inc.is_resolved:
                    out.append(inc)
                if len(out) >= limit:
                    return out
        return out

    async def bind_channel(self, channel_id: str, incident_id: str) -> None:
        await self.redis.set(self.keys.channel_incident(channel_id), incident_id)

    async def incident_for_channel(self, channel_id: str) -> str | None:
        raw = await self.redis.get(self.keys.channel_incident(channel_id))
        if raw is None:
            return None
        return raw.decode() if isinstance(raw, bytes) else str(raw)
