"""Status-update reminders: when an incident has had no update for its severity's cadence, nudge the
commander in the war room with a button to post one (a modal prefilled from the policy) and a
snooze button.

Only one reminder per incident is valid at a time: scheduling one (after an update, a snooze or a
nudge) stores a new token, and a reminder whose token is no longer the stored one does nothing. The
token is claimed atomically when a reminder fires, so a nudge is posted once across replicas.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.blocks import to_dicts, unescape
from bot.context import AppContext
from bot.core.models import Incident, TimelineEntry
from bot.core.state import record
from bot.durations import format_duration
from bot.escalation import views as views
from bot.escalation.metrics import REMINDERS
from bot.escalation.runtime import escalation_policy, runtime
from bot.incidents import posts
from bot.templates import TemplateFailure, render

log = logging.getLogger(__name__)


def cadence_for(ctx: AppContext, inc: Incident) -> timedelta | None:
    esc = escalation_policy(ctx)
    if not esc.reminders.enabled:
        return None
    if inc.severity in esc.reminders.cadence:
        return esc.reminders.cadence[inc.severity]
    return ctx.policy.severity_by_name(inc.severity).update_cadence


async def schedule(ctx: AppContext, inc: Incident, due: datetime) -> str | None:
    """Make the reminder due at ``due`` the only valid one; returns its token."""
    rt = runtime(ctx)
    if inc.is_resolved or cadence_for(ctx, inc) is None:
        await rt.store.drop_reminders(inc.id)
        return None
    if rt.queue is None:
        log.error("%s: no job queue in this process; update reminders are not scheduled", inc.id)
        return None
    token = await rt.store.new_reminder_token(inc.id, len(inc.updates))
    await rt.queue.enqueue_once(
        "esc_remind", inc.id, token, job_id=rt.queue.job_id("remind", inc.id, token), at=due
    )
    return token


async def replan(ctx: AppContext, inc: Incident) -> bool:
    """Queue the valid reminder's job when it has none (start-up), due one cadence after the last
    update (a snooze in flight is counted from the last update too). True when it queued one."""
    rt = runtime(ctx)
    cadence = cadence_for(ctx, inc)
    if rt.queue is None or inc.is_resolved or cadence is None:
        return False
    token = await rt.store.reminder_token(inc.id)
    if token is None:
        return False
    job_id = rt.queue.job_id("remind", inc.id, token)
    return await rt.queue.ensure("esc_remind", inc.id, token, job_id=job_id, at=inc.last_update_at + cadence)


async def after_update(ctx: AppContext, inc: Incident) -> str | None:
    cadence = cadence_for(ctx, inc)
    if cadence is None:
        return None
    return await schedule(ctx, inc, inc.last_update_at + cadence)


async def snooze(ctx: AppContext, inc: Incident, user: str) -> timedelta:
    period = escalation_policy(ctx).reminders.snooze
    await schedule(ctx, inc, datetime.now(UTC) + period)
    await ctx.store.apply(
        inc.id,
        record(
            TimelineEntry(
                actor=user,
                kind="reminder_snoozed",
                text=f"Update reminder snoozed for {format_duration(period)}",
            )
        ),
    )
    return period


async def fire(ctx: AppContext, incident_id: str, token: str) -> str:
    rt = runtime(ctx)
    inc = await ctx.store.find(incident_id)
    if inc is None or inc.is_resolved:
        return "skipped"
    cadence = cadence_for(ctx, inc)
    if cadence is None:
        return "skipped"
    if not await rt.store.claim_reminder(incident_id, token):
        return "stale"  # an update, a snooze or another replica got there first
    now = datetime.now(UTC)
    esc = escalation_policy(ctx)
    mention = inc.commander or inc.created_by
    blocks = views.reminder(
        inc, mention=mention, since=now - inc.last_update_at, cadence=cadence, snooze=esc.reminders.snooze
    )
    text = f"{inc.id}: no status update for {format_duration(now - inc.last_update_at)}"
    # the claimed token names the reminder: queued again after a crash, it is posted once
    if not await posts.post_in_room(ctx, inc, f"reminder-{token}", to_dicts(blocks), text):
        log.error("%s: no war room or announcement to post the update reminder in", inc.id)
    await ctx.store.apply(
        inc.id, record(TimelineEntry(actor="bot", kind="reminder", text=f"Update reminder to <@{mention}>"))
    )
    if esc.reminders.repeat:
        await schedule(ctx, inc, now + cadence)
    return "nudged"


def prefill(ctx: AppContext, inc: Incident) -> str:
    esc = escalation_policy(ctx)
    cadence = cadence_for(ctx, inc)
    context = {
        "incident": inc,
        "severity": ctx.policy.severity_by_name(inc.severity),
        "status": ctx.policy.status_by_name(inc.status),
        "cadence": format_duration(cadence) if cadence else "",
    }
    try:
        text = render("reminders.prefill", esc.reminders.prefill, context)
    except TemplateFailure as exc:
        log.error("%s: %s; the modal opens empty", inc.id, exc)
        return ""
    # render() escapes for mrkdwn; a text box wants the raw text back (the update escapes it again)
    return unescape(text)


async def reminder_job(wctx: dict[str, Any], incident_id: str, token: str) -> str:
    outcome = await fire(wctx["app"], incident_id, token)
    REMINDERS.labels(outcome).inc()
    return outcome
