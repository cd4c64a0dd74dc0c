"""What the review part keeps in Redis, next to the incident under the incident's hash tag:
the generated review, the action items, and the set of messages already pinned to the timeline."""

from __future__ import annotations

from datetime import date, datetime

import redis.asyncio as aioredis
from pydantic import BaseModel, Field

from bot.core.models import utcnow
from bot.keys import Keys


class TrackedIssue(BaseModel):
    """The issue a follow-up was exported to, and its state when last read back."""

    tracker: str  # "github" or "jira"
    key: str  # "acme/ops#12" or "OPS-7"
    url: str
    state: str = "open"  # "open" or "closed"
    exported_by: str
    exported_at: datetime = Field(default_factory=utcnow)
    checked_at: datetime = Field(default_factory=utcnow)


class ActionItem(BaseModel):
    number: int
    text: str
    owner: str | None = None
    due: date | None = None
    created_by: str
    created_at: datetime = Field(default_factory=utcnow)
    issue: TrackedIssue | None = None

    @property
    def pending(self) -> bool:
        """Not done: never exported, or its issue still open."""
        return self.issue is None or self.issue.state != "closed"


class Review(BaseModel):
    incident_id: str
    markdown: str
    version: int
    generated_by: str
    generated_at: datetime = Field(default_factory=utcnow)
    file_id: str | None = None
    channel: str | None = None
    meeting_at: datetime | None = None


_SET_IF_SAME = """
if redis.call('LINDEX', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('LSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0
"""


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

    async def action(self, incident_id: str, number: int) -> ActionItem | None:
        return next((a for a in await self.actions(incident_id) if a.number == number), None)

    async def update_action(self, incident_id: str, item: ActionItem) -> bool:
        """Replace the stored item with the same number (compare-and-set on its list element, so an
        item added meanwhile is never overwritten). False when there is no such item."""
        key = self._key(incident_id, "actions")
        for _ in range(5):
            raw = await self.redis.lrange(key, 0, -1)  # type: ignore[misc]
            index = next(
                (i for i, r in enumerate(raw) if ActionItem.model_validate_json(r).number == item.number),
                None,
            )
            if index is None:
                return False
            done = await self.redis.eval(_SET_IF_SAME, 1, key, index, raw[index], item.model_dump_json())  # type: ignore[misc]
            if done:
                return True
        raise RuntimeError(f"{incident_id}: action item #{item.number} kept changing while being saved")

    async def claim_export(self, incident_id: str, number: int, seconds: int = 120) -> bool:
        """True for the one caller that may export item ``number`` now (two clicks: one issue)."""
        key = self._key(incident_id, "actions", "export", str(number))
        return bool(await self.redis.set(key, "1", nx=True, ex=seconds))

    async def release_export(self, incident_id: str, number: int) -> None:
        await self.redis.delete(self._key(incident_id, "actions", "export", str(number)))

    # pinned messages --------------------------------------------------------------------------
    async def claim_pin(self, incident_id: str, channel: str, ts: str) -> bool:
        """True the first time a message is pinned to the incident's timeline, False after."""
        return bool(await self.redis.sadd(self._key(incident_id, "pinned"), f"{channel}:{ts}"))  # type: ignore[misc]

    async def release_pin(self, incident_id: str, channel: str, ts: str) -> None:
        await self.redis.srem(self._key(incident_id, "pinned"), f"{channel}:{ts}")  # type: ignore[misc]
