"""A medium incident has no war room: the review goes to the announcement's thread, pins elsewhere
mean nothing, and closing asks for the review first."""

from __future__ import annotations

from typing import Any

from bot.core.models import Incident
from bot.review.workflow import records
from tests.conftest import eventually


def texts(msgs: list[dict[str, Any]]) -> str:
    return "\n".join(f"{m.get('text')} {m.get('blocks')}" for m in msgs)


async def test_review_in_announcement_thread_and_close_needs_review(sandbox: Any, bot: Any) -> None:
    store = bot.ctx.store
    await sandbox.command("bob", "general", "/incident", "create medium Slow search")

    async def declared() -> Incident | None:
        found = await store.list(include_resolved=True)
        return found[0] if found and found[0].announcement else None

    inc = await eventually(declared)
    assert inc.war_room is None

    # a pushpin outside any war room is not ours
    said = await sandbox.say("carol", "general", "search is slow for me too")
    await sandbox.react("bob", "general", said["ts"], "pushpin")
    assert not [e for e in await store.timeline(inc.id) if e.kind == "pinned"]

    await sandbox.command("bob", "general", "/incident", f"resolve {inc.id} Reindexed")
    await eventually(lambda: _is_resolved(store, inc.id))
    await sandbox.command("bob", "general", "/incident", f"close {inc.id}")
    await eventually(lambda: _async("has no post-incident review yet" in texts(sandbox.ephemerals("bob"))))

    await sandbox.command("bob", "general", "/incident", f"review {inc.id}")

    async def in_thread() -> list[dict[str, Any]]:
        thread = sandbox.replies(inc.announcement.channel, inc.announcement.ts)
        return [m for m in thread if m.get("files")]

    (posted,) = await eventually(in_thread)
    assert {f["name"] for f in posted["files"]} == {f"{inc.id}-review.md", f"{inc.id}-review-meeting.ics"}
    review = await records(bot.ctx).review(inc.id)
    assert (
        review is not None
        and review.channel == inc.announcement.channel
        and "| War room | — |" in review.markdown
    )

    await sandbox.command("bob", "general", "/incident", f"close {inc.id}")

    async def closed() -> bool:
        return (await store.get(inc.id)).closed_at is not None

    await eventually(closed)
    await eventually(lambda: _async(f"{inc.id} closed." in texts(sandbox.ephemerals("bob"))))
    # the record is all still there
    assert (await records(bot.ctx).review(inc.id)) is not None
    assert [e.kind for e in await store.timeline(inc.id)][-1] == "closed"


async def _is_resolved(store: Any, incident_id: str) -> bool:
    return (await store.get(incident_id)).is_resolved


async def _async(value: Any) -> Any:
    return value
