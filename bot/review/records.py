"""What the review part keeps in Redis, next to the incident under the incident's hash tag:
the generated review, the action items, and the set of messages already pinned to the timeline."""

from __future__ import annotations

from datetime import date, datetime

import redis.asyncio as aioredis
from pydantic import BaseModel, Field

from bot.core.models import utcnow
from bot.keys import Keys


class ActionItem(BaseModel):
    number: int
    text: str
    owner: str | None = None
    due: date | None = None
    created_by: str
    created_at: datetime = Field(default_factory=utcnow)


class Review(BaseModel):
    incident_id: str
    markdown: str
    version: int
    generated_by: str
    generated_at: datetime = Field(default_factory=utcnow)
    file_id: str | None = None
    channel: str | None = None
    meeting_at: datetime | None = None


def _tag(incident_id: str) -> str:
    return f"{{inc:{incident_id}}}"


class ReviewRecords:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    def _key(self, incident_id: str, *parts: str) -> str:
        return self.keys.custom(_tag(incident_id), *parts)

    # reviews ----------------------------------------------------------------------------------
    async def save_review(self, review: Review) -> None:
        await self.redis.set(self._key(review.incident_id, "review"), review.model_dump_json())

    async def next_review_version(self, incident_id: str) -> int:
        return int(await self.redis.incr(self._key(incident_id, "review", "seq")))

    async def review(self, incident_id: str) -> Review | None:
        raw = await self.redis.get(self._key(incident_id, "review"))
        return Review.model_validate_json(raw) if raw else None

    # action items -----------------------------------------------------------------------------
    async def add_action(
        self, incident_id: str, *, text: str, owner: str | None, due: date | None, by: str
    ) -> ActionItem:
        number = int(await self.redis.incr(self._key(incident_id, "actions", "seq")))
        item = ActionItem(number=number, text=text, owner=owner, due=due, created_by=by)
        await self.redis.rpush(self._key(incident_id, "actions"), item.model_dump_json())  # type: ignore[misc]
        return item

    async def actions(self, incident_id: str) -> list[ActionItem]:
        raw = await self.redis.lrange(self._key(incident_id, "actions"), 0, -1)  # type: ignore[misc]
        return sorted((ActionItem.model_validate_json(r) for r in raw), key=lambda a: a.number)

    # pinned messages --------------------------------------------------------------------------
    async def claim_pin(self, incident_id: str, channel: str, ts: str) -> bool:
        """True the first time a message is pinned to the incident's timeline, False after."""
        return bool(await self.redis.sadd(self._key(incident_id, "pinned"), f"{channel}:{ts}"))  # type: ignore[misc]

    async def release_pin(self, incident_id: str, channel: str, ts: str) -> None:
        await self.redis.srem(self._key(incident_id, "pinned"), f"{channel}:{ts}")  # type: ignore[misc]
