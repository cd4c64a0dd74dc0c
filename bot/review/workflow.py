"""After the incident: generate and share the review, record action items, close the incident.

Like the core workflows, state is written to Redis first and Slack is brought in line after; every
Slack problem comes back as a line for the user (``Outcome.problems``) and is logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from bot.context import AppContext
from bot.core import state
from bot.core.models import Incident, TimelineEntry, utcnow
from bot.incidents import workflow as flow
from bot.review import followups
from bot.review.document import people_in, render_review
from bot.review.meeting import ics, meeting_start
from bot.review.names import display_names
from bot.review.records import ActionItem, Review, ReviewRecords
from bot.review.upload import Upload, upload_files
from bot.slack.errors import SlackCallError

log = logging.getLogger(__name__)


def records(ctx: AppContext) -> ReviewRecords:
    return ReviewRecords(ctx.redis, ctx.keys)


@dataclass
class ReviewOutcome:
    incident: Incident
    review: Review
    problems: list[str] = field(default_factory=list)
    shared_in: str | None = None


def where_to_share(inc: Incident, fallback: str | None) -> tuple[str | None, str | None]:
    """(channel, thread_ts): the war room while open, else the announcement's thread, else where asked."""
    if inc.war_room and not inc.closed_at:
        return inc.war_room.channel_id, None
    if inc.announcement:
        return inc.announcement.channel, inc.announcement.ts
    return fallback, None


async def create_review(
    ctx: AppContext, incident_id: str, user: str, fallback_channel: str | None = None
) -> ReviewOutcome:
    inc = await ctx.store.get(incident_id)
    if not inc.is_resolved:
        raise state.Refused(
            f"{inc.id} is not resolved yet; the review comes after `/incident resolve {inc.id}`."
        )
    rec = records(ctx)
    timeline = await ctx.store.timeline(inc.id)
    read = await followups.refresh_states(ctx, inc.id, await rec.actions(inc.id))  # trackers' states
    actions = read.items
    names = await display_names(ctx, people_in(inc, timeline, actions))
    now = utcnow()
    meeting_at = meeting_start(ctx.policy.review, now)
    markdown, warning = render_review(
        ctx.policy, inc, timeline, actions, names, generated_at=now, meeting_at=meeting_at
    )
    version = await rec.next_review_version(inc.id)
    review = Review(
        incident_id=inc.id,
        markdown=markdown,
        version=version,
        generated_by=user,
        generated_at=now,
        meeting_at=meeting_at,
    )
    await rec.save_review(review)
    inc, _ = await ctx.store.apply(
        inc.id,
        state.record(
            TimelineEntry(
                at=now,
                actor=user,
                kind="review",
                text=f"Post-incident review v{version} generated",
                data={"version": version},
            )
        ),
    )
    out = ReviewOutcome(inc, review)
    if warning:
        out.problems.append(f"{warning}; the default template was used")
    out.problems += read.problems

    channel, thread_ts = where_to_share(inc, fallback_channel)
    if channel is None:
        out.problems.append("sharing the review: no war room, announcement or channel to share it in")
        return out
    uploads = [
        Upload(
            ctx.policy.review.filename.format(id=inc.id),
            markdown.encode(),
            f"{inc.id} post-incident review (v{version})",
        )
    ]
    if meeting_at is not None:
        invite = ics(
            uid=f"{inc.id}-review-{version}@chatops",
            start=meeting_at,
            minutes=ctx.policy.review.meeting_minutes,
            summary=f"Post-incident review: {inc.id} {inc.title}",
            description=f"Review of {inc.id} ({inc.title}). The review document is in the war room.",
            location=f"#{inc.war_room.name}" if inc.war_room else "",
            now=now,
        )
        uploads.append(Upload(f"{inc.id}-review-meeting.ics", invite.encode(), f"{inc.id} review meeting"))
    comment = f":memo: Post-incident review for {inc.id} (v{version}) by <@{user}>."
    if meeting_at is not None:
        comment += (
            f" Review meeting proposed for <!date^{int(meeting_at.timestamp())}^{{date_long}} {{time}}|"
            f"{meeting_at:%Y-%m-%d %H:%M} UTC> (calendar file attached)."
        )
    try:
        file_ids = await upload_files(ctx, uploads, channel=channel, thread_ts=thread_ts, comment=comment)
        review.file_id, review.channel = file_ids[0], channel
        await rec.save_review(review)
        out.shared_in = channel
    except SlackCallError as exc:
        log.warning("%s: uploading the review failed: %s", inc.id, exc)
        out.problems.append(f"uploading the review failed: {exc.error} (it is saved; run the command again)")
    return out


async def add_action(
    ctx: AppContext, incident_id: str, user: str, text: str, owner: str | None, due: date | None
) -> ActionItem:
    inc = await ctx.store.get(incident_id)
    item = await records(ctx).add_action(inc.id, text=text, owner=owner, due=due, by=user)
    parts = ([f"owner <@{owner}>"] if owner else []) + ([f"due {due.isoformat()}"] if due else [])
    detail = f" ({', '.join(parts)})" if parts else ""
    await followups.record_action_item(
        ctx, inc.id, user, f"Action item #{item.number}: {text}{detail}", {"number": item.number}
    )
    return item


def close_change(user: str, has_review: bool, review_required: bool) -> state.Change:
    def change(inc: Incident) -> list[TimelineEntry]:
        if inc.closed_at:
            raise state.Refused(f"{inc.id} is already closed.")
        if not inc.is_resolved:
            raise state.Refused(
                f"{inc.id} is not resolved; resolve it first with `/incident resolve {inc.id}`."
            )
        if review_required and not has_review:
            raise state.Refused(
                f"{inc.id} has no post-incident review yet; create it first with `/incident review {inc.id}`."
            )
        inc.closed_at = utcnow()
        return [TimelineEntry(at=inc.closed_at, actor=user, kind="closed", text="Closed")]

    return change


@dataclass
class CloseOutcome:
    incident: Incident
    archived: bool = False
    problems: list[str] = field(default_factory=list)


async def close(ctx: AppContext, incident_id: str, user: str) -> CloseOutcome:
    has_review = await records(ctx).review(incident_id) is not None
    inc, _ = await ctx.store.apply(
        incident_id, close_change(user, has_review, ctx.policy.review.require_review_to_close)
    )
    out = CloseOutcome(inc)
    core_out = flow.Outcome(inc)
    await flow.refresh(ctx, inc, core_out)  # the headline posts lose their buttons
    if inc.war_room:
        cid = inc.war_room.channel_id
        note = f":lock: {inc.id} closed by <@{user}>; this channel is archived. The record stays."
        try:
            # direct: it must land before the archive that follows (an archived channel takes no
            # posts), and both answer the closer's own command, which reports a failure to them
            await ctx.slack.post(cid, [], note)
        except SlackCallError as exc:
            core_out.problem("posting the closing note", exc)
        try:
            await ctx.slack.archive(cid)
            out.archived = True
        except SlackCallError as exc:
            if exc.error == "already_archived":
                out.archived = True
            else:
                core_out.problem("archiving the war room", exc)
    out.problems = core_out.problems
    return out
