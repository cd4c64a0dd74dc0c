"""Escalating an incident, by hand or by a timer: record it, tell the war room and the announcement
thread, invite and DM the targets, page through the pager, and move the pending timers. The posts and
DMs go through the durable outbox, named for the escalation's number: a timer job run again after a
crash never posts them twice."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot.blocks import to_dicts
from bot.context import AppContext
from bot.core.models import Incident, TimelineEntry
from bot.core.state import Change, Refused
from bot.directory import resolve_principals
from bot.escalation import paging, timers
from bot.escalation import views as views
from bot.escalation.metrics import ESCALATIONS
from bot.escalation.runtime import escalation_policy
from bot.escalation.targets import Selection, reach
from bot.incidents import posts
from bot.incidents import workflow as flow
from bot.slack.errors import SlackCallError
from bot.slack.outbox import ThreadRef

log = logging.getLogger(__name__)


def record_escalation(label: str, actor: str, reason: str, data: dict[str, object]) -> Change:
    def change(inc: Incident) -> list[TimelineEntry]:
        if inc.is_resolved:
            raise Refused(f"{inc.id} is resolved; reopen it before escalating.")
        inc.escalations += 1
        text = f"Escalated to {label}" + (f": {reason}" if reason else "")
        return [
            TimelineEntry(actor=actor, kind="escalated", text=text, data={**data, "number": inc.escalations})
        ]

    return change


async def escalate(
    ctx: AppContext,
    incident_id: str,
    selection: Selection,
    *,
    actor: str,
    reason: str = "",
    rule_id: str | None = None,
    at: datetime | None = None,
) -> flow.Outcome:
    """Escalate; raises Refused (resolved, unknown) before anything is sent."""
    esc = escalation_policy(ctx)
    now = at or datetime.now(UTC)
    found = reach(esc, selection, now)
    group_users: list[str] = []
    problems = list(found.problems)
    if found.usergroups:
        group_users, group_problems = await resolve_principals(ctx, [f"@{h}" for h in found.usergroups])
        problems += group_problems
    users = list(dict.fromkeys([*found.users, *group_users]))
    automatic = rule_id is not None
    data: dict[str, object] = {
        "level": selection.level,
        "target": selection.target,
        "users": users,
        "usergroups": found.usergroups,
        "automatic": automatic,
    }
    if rule_id:
        data["rule"] = rule_id
    inc, _ = await ctx.store.apply(incident_id, record_escalation(selection.label, actor, reason, data))
    if not automatic and selection.level is not None:
        # at once, before any Slack call: a lower timer due while we post must not escalate again
        await timers.cancel(
            ctx, inc.id, lambda rule: rule.level <= (selection.level or 0), why="manual escalation"
        )
    out = flow.Outcome(inc)
    out.problems += problems
    ESCALATIONS.labels(str(selection.level or "role"), "timer" if automatic else "manual").inc()

    blocks = views.escalation_post(
        inc,
        label=selection.label,
        actor=actor,
        reason=reason,
        users=users,
        usergroups=found.usergroups,
        channels=found.channels,
        automatic=automatic,
        pagers_skipped=[route.service for route in found.pagers] if inc.test else [],
    )
    text = views.escalation_text(inc, selection.label)
    op_id = f"escalation-{inc.escalations}"  # the same escalation is never posted twice
    await flow.post_to_incident(ctx, inc, blocks, text, op_id=op_id)
    if inc.war_room:
        await flow.invite(ctx, inc.war_room.channel_id, users, out)
    for name in found.channels:
        try:  # a read, so an unknown channel is told to whoever escalated
            cid = await ctx.slack.find_channel(name)
        except SlackCallError as exc:
            out.problem(f"posting in #{name}", exc)
            continue
        if cid is None:
            out.problem(
                f"posting in #{name}", SlackCallError("conversations.list", f"channel #{name} not found")
            )
            continue
        await posts.post_to(ctx, ThreadRef("esc", inc.id, f"channel-{cid}"), cid, op_id, blocks, text)
    dm = to_dicts(
        views.escalation_dm(
            ctx.policy, inc, label=selection.label, actor=actor, reason=reason, automatic=automatic
        )
    )
    for user in users:
        if user == actor or user == ctx.bot_user_id:
            continue
        await posts.post_to(ctx, ThreadRef("esc", inc.id, f"dm-{user}"), user, op_id, dm, text)
    pagers = found.pagers
    if inc.test and pagers:  # a drill: recorded and posted (marked TEST), but no pager is called
        log.info("%s: a test incident; not paging via %s", inc.id, ", ".join(r.service for r in pagers))
        pagers = []
    for route in pagers:
        out.problems += await paging.request(
            ctx, inc, "trigger", route, label=selection.label, reason=reason, escalation=inc.escalations
        )
    return out
