"""Incident workflows: the core changes state, then Slack is brought in line with it.

State is written first, so nothing is lost when Slack fails; every Slack problem after that is
returned as a line for the user (``Outcome.problems``) and logged, never dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot import blocks, events
from bot.blocks import to_dicts
from bot.context import AppContext
from bot.core import state
from bot.core.models import Incident, MessageRef, StatusUpdate, TimelineEntry, WarRoom
from bot.directory import channel_id, resolve_principals
from bot.gateway import SlackCallError
from bot.incidents import views
from bot.incidents.channels import war_room_name
from bot.permissions import require

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    incident: Incident
    problems: list[str] = field(default_factory=list)
    announcement_link: str | None = None
    update: StatusUpdate | None = None

    def problem(self, what: str, exc: Exception) -> None:
        reason = exc.error if isinstance(exc, SlackCallError) else str(exc)
        log.warning("%s: %s failed: %s", self.incident.id, what, reason)
        self.problems.append(f"{what} failed: {reason}")


async def _post(ctx: AppContext, channel: str, blocks: list, text: str, thread_ts: str | None = None) -> str:
    return await ctx.slack.post(channel, blocks, text, thread_ts=thread_ts, unfurl=False)


async def declare(
    ctx: AppContext,
    *,
    user: str,
    severity: str,
    title: str,
    origin_channel: str | None = None,
    service: str | None = None,
) -> Outcome:
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
    )
    await ctx.store.create(
        inc,
        TimelineEntry(at=inc.created_at, actor=user, kind="created", text=f"Declared {sev.label}: {title}"),
    )
    out = Outcome(inc)

    # 1. announcement channel
    try:
        announce = await ctx.slack.find_channel(policy.channels.announcements)
        if announce is None:
            raise SlackCallError("conversations.list", f"channel #{policy.channels.announcements} not found")
        ts = await _post(ctx, announce, views.announcement(policy, inc), views.announcement_text(policy, inc))
        inc = await ctx.store.patch(
            inc.id, lambda i: setattr(i, "announcement", MessageRef(channel=announce, ts=ts))
        )
        out.announcement_link = await ctx.slack.permalink(announce, ts)
    except SlackCallError as exc:
        out.problem("posting the announcement", exc)

    # 2. war room
    if sev.war_room:
        inc = await _open_war_room(ctx, inc, out)
    out.incident = inc
    out.problems += await events.emit(events.DECLARED, ctx, inc)
    return out


async def _create_channel(ctx: AppContext, inc: Incident) -> tuple[str, str]:
    prefix = ctx.policy.channels.war_room_prefix
    for attempt in range(1, 20):
        suffix = "" if attempt == 1 else f"-{attempt}"
        name = war_room_name(prefix, inc.number, inc.title, suffix)
        try:
            resp = await ctx.gateway.call("conversations.create", name=name, is_private=False)
            return resp["channel"]["id"], resp["channel"]["name"]
        except SlackCallError as exc:
            if exc.error != "name_taken":
                raise
    raise SlackCallError("conversations.create", "name_taken (19 tries)")


async def _open_war_room(ctx: AppContext, inc: Incident, out: Outcome) -> Incident:
    policy = ctx.policy
    try:
        cid, name = await _create_channel(ctx, inc)
    except SlackCallError as exc:
        out.problem("creating the war room", exc)
        return inc
    inc = await ctx.store.patch(inc.id, lambda i: setattr(i, "war_room", WarRoom(channel_id=cid, name=name)))
    await ctx.store.bind_channel(cid, inc.id)
    await ctx.store.apply(
        inc.id,
        state.record(
            TimelineEntry(
                actor="bot", kind="war_room", text=f"War room #{name} opened", data={"channel": cid}
            )
        ),
    )
    steps = [
        (
            "setting the topic",
            lambda: ctx.gateway.call("conversations.setTopic", channel=cid, topic=views.topic(policy, inc)),
        ),
        (
            "setting the purpose",
            lambda: ctx.gateway.call(
                "conversations.setPurpose", channel=cid, purpose=f"War room for {inc.id}"
            ),
        ),
    ]
    for what, step in steps:
        try:
            await step()
        except SlackCallError as exc:
            out.problem(what, exc)

    # invite the reporter and the configured responders
    principals = [inc.created_by]
    principals += policy.responders.by_severity.get(inc.severity, [])
    if inc.service:
        principals += policy.responders.by_service.get(inc.service, [])
    users, problems = await resolve_principals(ctx, principals)
    out.problems += [f"inviting responders: {p}" for p in problems]
    await invite(ctx, cid, users, out)

    try:
        ts = await _post(ctx, cid, views.announcement(policy, inc), views.announcement_text(policy, inc))
        inc = await ctx.store.patch(
            inc.id, lambda i: setattr(i, "war_room_message", MessageRef(channel=cid, ts=ts))
        )
        await ctx.gateway.call("pins.add", channel=cid, timestamp=ts)
    except SlackCallError as exc:
        out.problem("posting in the war room", exc)
    if out.announcement_link:
        try:
            await ctx.gateway.call(
                "bookmarks.add",
                channel_id=cid,
                title=f"{inc.id} announcement",
                type="link",
                link=out.announcement_link,
            )
        except SlackCallError as exc:
            out.problem("adding the bookmark", exc)
    return inc


async def invite(ctx: AppContext, channel: str, users: list[str], out: Outcome) -> None:
    for user, exc in await ctx.slack.invite(channel, [u for u in users if u != ctx.bot_user_id]):
        out.problem(f"inviting <@{user}>", exc)


async def refresh(ctx: AppContext, inc: Incident, out: Outcome, *, topic: bool = False) -> None:
    """Re-render the headline posts from state (chat.update) and, when asked, the war-room topic.

    Renders run one at a time per incident (a Redis lock shared by replicas) and each renders the
    latest stored state, so a slow older render can never overwrite a newer one."""
    lock = ctx.redis.lock(
        ctx.keys.custom(f"{{inc:{inc.id}}}", "render-lock"), timeout=60, blocking_timeout=60
    )
    async with lock:
        latest = await ctx.store.find(inc.id)
        await _render(ctx, latest or inc, out, topic=topic)


async def _render(ctx: AppContext, inc: Incident, out: Outcome, *, topic: bool) -> None:
    blocks = to_dicts(views.announcement(ctx.policy, inc))
    text = views.announcement_text(ctx.policy, inc)
    for ref in (inc.announcement, inc.war_room_message):
        if ref is None:
            continue
        try:
            await ctx.slack.update(ref.channel, ref.ts, blocks, text)
        except SlackCallError as exc:
            out.problem("updating the announcement", exc)
    if topic and inc.war_room:
        try:
            await ctx.gateway.call(
                "conversations.setTopic", channel=inc.war_room.channel_id, topic=views.topic(ctx.policy, inc)
            )
        except SlackCallError as exc:
            out.problem("updating the topic", exc)


async def post_to_incident(ctx: AppContext, inc: Incident, blocks: list, text: str, out: Outcome) -> None:
    """A post in the war room and as a threaded reply under the announcement."""
    if inc.war_room:
        try:
            await _post(ctx, inc.war_room.channel_id, blocks, text)
        except SlackCallError as exc:
            out.problem("posting in the war room", exc)
    if inc.announcement:
        try:
            await _post(ctx, inc.announcement.channel, blocks, text, thread_ts=inc.announcement.ts)
        except SlackCallError as exc:
            out.problem("posting under the announcement", exc)


async def acknowledge(ctx: AppContext, incident_id: str, user: str) -> Outcome:
    inc, _ = await ctx.store.apply(incident_id, state.acknowledge(user))
    out = Outcome(inc)
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
    inc, _ = await ctx.store.apply(incident_id, state.update_status(ctx.policy, user, status, message))
    update = inc.updates[-1]
    out = Outcome(inc, update=update)
    await post_to_incident(
        ctx, inc, views.status_update(ctx.policy, inc, update), views.status_update_text(inc, update), out
    )
    await refresh(ctx, inc, out, topic=True)
    out.problems += await events.emit(events.STATUS_UPDATED, ctx, inc, user=user, update=update)
    if inc.is_resolved:
        await _announce_resolution(ctx, inc, out, user)
    return out


async def _announce_resolution(ctx: AppContext, inc: Incident, out: Outcome, user: str) -> None:
    await post_to_incident(
        ctx, inc, views.resolution(ctx.policy, inc), f"{inc.id} resolved: {inc.title}", out
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
        out,
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
        out,
    )
    await refresh(ctx, inc, out, topic=True)
    out.problems += await events.emit(events.ROLE_ASSIGNED, ctx, inc, user=user, role=role, assignee=assignee)
    return out


async def add_note(ctx: AppContext, incident_id: str, user: str, text: str) -> Outcome:
    inc, _ = await ctx.store.apply(incident_id, state.add_note(user, text))
    return Outcome(inc)
