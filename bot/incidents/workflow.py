"""Incident workflows: the core changes state, then Slack is brought in line with it.

State is written first, so nothing is lost when Slack fails. Posts and re-renders then go through the
durable outbox (bot/incidents/posts.py): delivered in order, after a crash or a restart too, never
twice; a post Slack refuses for good is kept in the outbox's dead-letter list and logged. Problems
with the direct calls (invites, the topic) are returned as lines for the user (``Outcome.problems``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import Block

from bot import blocks, events
from bot.context import AppContext
from bot.core import state
from bot.core.models import Incident, TimelineEntry
from bot.core.store import NotFound
from bot.incidents import declaration, posts, views
from bot.incidents.outcome import Outcome
from bot.permissions import require
from bot.slack.errors import SlackCallError

log = logging.getLogger(__name__)


async def declare(
    ctx: AppContext,
    *,
    user: str,
    severity: str,
    title: str,
    origin_channel: str | None = None,
    service: str | None = None,
    private: bool = False,
    test: bool = False,
    triage: bool = False,
    incident_type: str | None = None,
    fields: dict[str, str] | None = None,
) -> Outcome:
    """Declare an incident: ``private`` (a private war room, a public stub), ``test`` (a drill:
    no pages, no status page, out of metrics), ``triage`` (no war room or pages until accepted)."""
    policy = ctx.policy
    sev = policy.severity(severity)
    if sev is None:
        raise state.Refused(f"`{severity}` is not a severity.")
    incident_id, number = await ctx.store.next_id()
    inc = Incident(
        id=incident_id,
        number=number,
        title=title,
        severity=sev.name,
        status=policy.initial_status,
        service=service,
        created_by=user,
        origin_channel=origin_channel,
        private=private,
        test=test,
        triage=triage,
        type=incident_type,
        fields=dict(fields or {}),
    )
    kind = " ".join(w for w, on in (("test", test), ("private", private)) if on)
    how = "for triage" if triage else "as"
    declared = f"Declared {how} {kind + ' ' if kind else ''}{sev.label}: {blocks.escape(title)}"
    await ctx.store.create(
        inc,
        TimelineEntry(
            at=inc.created_at,
            actor=user,
            kind="created",
            text=declared,
        ),
    )
    # recorded as pending, under this process's lease, before any Slack call: if the process dies
    # from here on, whichever replica picks the declaration up finishes it (declaration.py)
    await declaration.begin(ctx, inc.id)
    declaration.crash_point_for_tests("after_state")
    out = await declaration.finish(ctx, inc.id, Outcome(inc))
    assert out is not None
    return out


async def invite(ctx: AppContext, channel: str, users: list[str], out: Outcome) -> None:
    for user, exc in await ctx.slack.invite(channel, [u for u in users if u != ctx.bot_user_id]):
        out.problem(f"inviting <@{user}>", exc)


async def refresh(ctx: AppContext, inc: Incident, out: Outcome, *, topic: bool = False) -> None:
    """Bring the headline posts (and, when asked, the war-room topic) in line with the state.

    The re-render goes through the outbox (bot/incidents/posts.py): the sender draws the latest
    stored state when it gets there, so a burst of changes renders once and an older state never
    overwrites a newer one; a crash or restart resumes it."""
    await posts.rerender(ctx, inc)
    if topic and inc.war_room:
        # direct: setting a topic is idempotent (a repeat changes nothing, nothing is posted) and
        # the next change sets it again from state; read the latest state so it never goes back
        latest = await ctx.store.find(inc.id) or inc
        await set_topic(ctx, inc.war_room.channel_id, views.topic(ctx.policy, latest), out)


async def set_topic(ctx: AppContext, channel: str, topic: str, out: Outcome) -> None:
    """conversations.setTopic only when the topic changes: Slack posts "set the channel topic" for
    every call, so an unchanged topic is never set again (the last one set is kept in Redis)."""
    key = ctx.keys.custom("topic", channel)
    try:
        current = await ctx.redis.get(key)
        if current is None:  # not set by this path yet (e.g. by the declaration): ask Slack
            current = ((await ctx.slack.channel_info(channel)).get("topic") or {}).get("value")  # a read
        if current == topic:
            return
        await ctx.slack.set_topic(channel, topic)
    except SlackCallError as exc:
        out.problem("updating the topic", exc)
        return
    await ctx.redis.set(key, topic, ex=30 * 86400)


async def post_to_incident(
    ctx: AppContext,
    inc: Incident,
    blocks: Sequence[Block | dict[str, Any]],
    text: str,
    out: Outcome | None = None,
    *,
    op_id: str | None = None,
) -> None:
    """A post in the war room and as a threaded reply under the announcement, through the outbox.

    ``op_id`` names the change the post tells about (default: the incident's version and the text),
    so pushing it again never posts twice. ``out`` is unused: Slack's answer comes later, and a post
    it refuses for good lands in the outbox's dead-letter list, logged."""
    del out
    if op_id is None:
        op_id = f"v{inc.version}-{hashlib.sha1(text.encode()).hexdigest()[:12]}"
    await posts.post(ctx, inc, op_id, blocks, text)


async def acknowledge(ctx: AppContext, incident_id: str, user: str) -> Outcome:
    inc, _ = await ctx.store.apply(incident_id, state.acknowledge(user))
    out = Outcome(inc)
    if inc.war_room:  # the acknowledger (commander unless someone already is) joins the war room
        await invite(ctx, inc.war_room.channel_id, [user], out)
    await refresh(ctx, inc, out, topic=True)
    out.problems += await events.emit(events.ACKNOWLEDGED, ctx, inc, user=user)
    return out


async def require_status_permission(ctx: AppContext, user: str, status: str) -> None:
    """Resolving needs the `resolve` permission, whichever road the change takes (a command, a
    button, the update modal): raises ``Denied`` otherwise."""
    target = ctx.policy.status(status)
    if target is not None and target.resolved:
        await require(ctx, user, "resolve")


async def update_status(ctx: AppContext, incident_id: str, user: str, status: str, message: str) -> Outcome:
    await require_status_permission(ctx, user, status)
    # recorded before the state write and cleared once the posts are queued: a crash in between is
    # finished by the resume loop (posts.requeue_unqueued)
    token = await posts.begin_update(ctx, incident_id)
    try:
        inc, _ = await ctx.store.apply(incident_id, state.update_status(ctx.policy, user, status, message))
    except (state.Refused, NotFound):
        await posts.end_update(ctx, token)  # refused: no state written, nothing to post
        raise
    declaration.crash_point_for_tests("after_update_state")
    update = inc.updates[-1]
    out = Outcome(inc, update=update)
    await post_to_incident(
        ctx,
        inc,
        views.status_update(ctx.policy, inc, update),
        views.status_update_text(inc, update),
        op_id=f"update-{update.number}",
    )
    await refresh(ctx, inc, out, topic=True)
    await posts.end_update(ctx, token)
    declaration.crash_point_for_tests("after_update_queued")
    out.problems += await events.emit(events.STATUS_UPDATED, ctx, inc, user=user, update=update)
    if inc.is_resolved:
        await _announce_resolution(ctx, inc, out, user)
    return out


async def _announce_resolution(ctx: AppContext, inc: Incident, out: Outcome, user: str) -> None:
    await post_to_incident(
        ctx,
        inc,
        views.resolution(ctx.policy, inc),
        f"{inc.id} resolved: {blocks.escape(inc.title)}",
        op_id=f"resolved-v{inc.version}",
    )
    out.problems += await events.emit(events.RESOLVED, ctx, inc, user=user)


async def resolve(ctx: AppContext, incident_id: str, user: str, summary: str | None) -> Outcome:
    await require(ctx, user, "resolve")
    inc, _ = await ctx.store.apply(incident_id, state.resolve(ctx.policy, user, summary))
    out = Outcome(inc)
    await refresh(ctx, inc, out, topic=True)
    await _announce_resolution(ctx, inc, out, user)
    return out


async def reopen(ctx: AppContext, incident_id: str, user: str) -> Outcome:
    inc, _ = await ctx.store.apply(incident_id, state.reopen(ctx.policy, user))
    out = Outcome(inc)
    await refresh(ctx, inc, out, topic=True)
    await post_to_incident(
        ctx,
        inc,
        blocks.message(f":arrows_counterclockwise: {inc.id} reopened by <@{user}>"),
        f"{inc.id} reopened",
        op_id=f"reopened-v{inc.version}",
    )
    out.problems += await events.emit(events.REOPENED, ctx, inc, user=user)
    return out


async def assign_role(ctx: AppContext, incident_id: str, user: str, role: str, assignee: str) -> Outcome:
    inc, _ = await ctx.store.apply(incident_id, state.assign_role(ctx.policy, user, role, assignee))
    out = Outcome(inc)
    if inc.war_room:
        await invite(ctx, inc.war_room.channel_id, [assignee], out)
    label = ctx.policy.role(role)
    await post_to_incident(
        ctx,
        inc,
        blocks.message(f":busts_in_silhouette: <@{assignee}> is now {label.label if label else role}"),
        f"{inc.id}: role assigned",
        op_id=f"role-v{inc.version}",
    )
    await refresh(ctx, inc, out, topic=True)
    out.problems += await events.emit(events.ROLE_ASSIGNED, ctx, inc, user=user, role=role, assignee=assignee)
    return out


async def add_note(ctx: AppContext, incident_id: str, user: str, text: str) -> Outcome:
    def change(inc: Incident) -> list[TimelineEntry]:
        if inc.closed_at:  # checked with the write: a close that lands first refuses the note
            raise state.Refused(
                f"{inc.id} is closed (reviewed, war room archived): its timeline takes no more notes."
            )
        return state.add_note(user, text)(inc)

    inc, _ = await ctx.store.apply(incident_id, change)
    return Outcome(inc)


async def accept(ctx: AppContext, incident_id: str, user: str) -> Outcome:
    """Triage → the normal flow: the rest of the declaration runs (war room, invitations, pages)."""
    inc, _ = await ctx.store.apply(incident_id, state.accept(ctx.policy, user))
    await declaration.begin(ctx, inc.id)
    out = await declaration.finish(ctx, inc.id, Outcome(inc))
    assert out is not None
    await refresh(ctx, out.incident, out, topic=True)
    await post_to_incident(
        ctx,
        out.incident,
        blocks.message(f":white_check_mark: {inc.id} accepted from triage by <@{user}>"),
        f"{inc.id} accepted",
        op_id="accepted",
    )
    return out


async def decline(ctx: AppContext, incident_id: str, user: str, reason: str) -> Outcome:
    """Triage → closed, with the reason recorded; kept out of metrics."""
    inc, _ = await ctx.store.apply(incident_id, state.decline(ctx.policy, user, reason))
    out = Outcome(inc)
    await refresh(ctx, inc, out)
    await post_to_incident(
        ctx,
        inc,
        blocks.message(f":no_entry_sign: {inc.id} declined by <@{user}>: {blocks.escape(reason)}"),
        f"{inc.id} declined",
        op_id="declined",
    )
    return out


async def merge(ctx: AppContext, source_id: str, target_id: str, user: str) -> Outcome:
    """``source`` goes into ``target``: both timelines point at each other, ``source`` is closed
    with a pointer (its war room told where to go), both headlines re-rendered."""
    source, target = await ctx.store.get(source_id), await ctx.store.get(target_id)
    state.check_merge(source, target)  # refused before anything is written
    was_triage = source.triage
    source, _ = await ctx.store.apply(source_id, state.merge_away(ctx.policy, user, target))
    target, _ = await ctx.store.apply(target_id, state.absorb(user, source_id))
    out = Outcome(target)
    there = f" (war room <#{target.war_room.channel_id}>)" if target.war_room else ""
    await post_to_incident(
        ctx,
        source,
        blocks.message(
            f":twisted_rightwards_arrows: {source.id} was merged into *{target.id}*{there} by <@{user}>. "
            f"Follow {target.id} from now on."
        ),
        f"{source.id} merged into {target.id}",
        op_id=f"merged-into-{target.id}",
    )
    here = f" (war room <#{source.war_room.channel_id}>)" if source.war_room else ""
    await post_to_incident(
        ctx,
        target,
        blocks.message(
            f":twisted_rightwards_arrows: {source.id}{here} was merged into {target.id} by <@{user}>."
        ),
        f"{source.id} merged into {target.id}",
        op_id=f"merged-from-{source.id}",
    )
    await refresh(ctx, source, out, topic=True)
    await refresh(ctx, target, out)
    if not was_triage:  # its timers and pages stop as at a resolution
        out.problems += await events.emit(events.RESOLVED, ctx, source, user=user)
    return out
