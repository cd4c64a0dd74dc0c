"""Escalation buttons and the update modal: the Escalate menu on incident messages, Acknowledge in
the escalation DM, Post update / Snooze on a reminder. The clicker is the actor; permissions are
checked by the listener pipeline (bot/pipeline.py) like for commands."""

from __future__ import annotations

import logging
from typing import Any

from bot import blocks
from bot.blocks import to_dicts
from bot.config.policy import Policy
from bot.core.models import Incident, TimelineEntry
from bot.core.state import Refused, record, update_status
from bot.escalation import paging, reminders
from bot.escalation import views as views
from bot.escalation.engine import escalate
from bot.escalation.runtime import escalation_policy
from bot.escalation.targets import select
from bot.incidents import views as incident_views
from bot.incidents import workflow as flow
from bot.listeners import (
    Click,
    FieldErrors,
    Finish,
    Reply,
    Submission,
    action,
    view_submission,
    with_problems,
)
from bot.slack.errors import SlackCallError
from bot.text import from_input, resolve_names

log = logging.getLogger(__name__)


@incident_views.incident_button
def escalate_menu(policy: Policy, inc: Incident) -> list[Any]:
    esc = getattr(policy, "escalation", None)
    if esc is None or inc.is_resolved or not esc.levels:
        return []
    return [views.escalate_select(esc, inc)]


@action(views.ESCALATE_SELECT, permission="escalate")
async def escalate_from_menu(click: Click) -> Reply:
    incident_id, _, level = (click.selected or click.value).partition("|")
    selection = select(escalation_policy(click.ctx), level)
    if not incident_id or selection is None:
        raise Refused(f"`{level or click.value}` is not an escalation level any more; try `/escalate who`.")
    out = await escalate(
        click.ctx, incident_id, selection, actor=click.user_id, reason="from the Escalate menu"
    )
    text = f":arrow_double_up: {out.incident.id} escalated to {selection.label}."
    return with_problems(Reply(blocks.message(text), text="escalated"), out.problems)


@action(views.DM_ACK, permission="update")
async def acknowledge_escalation(click: Click) -> Reply:
    ctx = click.ctx
    inc = await ctx.store.get(click.value)
    if inc.is_resolved:
        raise Refused(f"{inc.id} is already resolved; nothing to acknowledge.")
    problems: list[str] = []
    if inc.acknowledged_by is None:
        out = await flow.acknowledge(ctx, inc.id, click.user_id)  # the hook acknowledges the pages
        inc, problems = out.incident, out.problems
    else:
        inc, _ = await ctx.store.apply(
            inc.id,
            record(
                TimelineEntry(
                    actor=click.user_id, kind="escalation_acknowledged", text="Acknowledged the escalation"
                )
            ),
        )
        problems += await paging.follow(ctx, inc, "acknowledge", click.user_id)
    if click.channel_id and click.message_ts:
        try:  # direct: the answer to this click, in the DM the clicker pressed it in
            await ctx.slack.update(
                click.channel_id,
                click.message_ts,
                to_dicts(views.dm_acknowledged(inc, click.user_id)),
                f"{inc.id}: acknowledged",
            )
        except SlackCallError as exc:
            problems.append(f"updating the message failed: {exc.error}")
    if inc.war_room:
        await flow.invite(ctx, inc.war_room.channel_id, [click.user_id], flow.Outcome(inc, problems))
    room = f" Join the war room: <#{inc.war_room.channel_id}>." if inc.war_room else ""
    text = f":white_check_mark: You acknowledged the escalation on {inc.id}.{room}"
    return with_problems(Reply(blocks.message(text), text="acknowledged"), problems)


@action(views.REMINDER_UPDATE, permission="update")
async def open_update_modal(click: Click) -> Reply | None:
    ctx = click.ctx
    inc = await ctx.store.get(click.value)
    if inc.is_resolved:
        raise Refused(f"{inc.id} is resolved; no update is needed.")
    trigger_id = click.body.get("trigger_id")
    if not trigger_id:
        raise Refused("Slack sent no trigger to open the form; use `/status update` instead.")
    modal = views.status_modal(ctx.policy, inc, reminders.prefill(ctx, inc))
    await ctx.slack.open_view(trigger_id, modal.to_dict())  # the clicker's own modal
    return None


@action(views.REMINDER_SNOOZE, permission="update")
async def snooze_reminder(click: Click) -> Reply:
    ctx = click.ctx
    inc = await ctx.store.get(click.value)
    if inc.is_resolved:
        raise Refused(f"{inc.id} is resolved; there is nothing to snooze.")
    period = await reminders.snooze(ctx, inc, click.user_id)
    problems: list[str] = []
    if click.channel_id and click.message_ts:
        try:
            note = f":zzz: Update reminder for {inc.id} snoozed by <@{click.user_id}>."
            # direct: the answer to this click, on the reminder the clicker pressed Snooze on
            await ctx.slack.update(
                click.channel_id,
                click.message_ts,
                to_dicts(blocks.message(note)),
                f"{inc.id}: reminder snoozed",
            )
        except SlackCallError as exc:
            problems.append(f"updating the reminder failed: {exc.error}")
    minutes = int(period.total_seconds() // 60)
    when = f"{minutes} min" if minutes else f"{int(period.total_seconds())} s"
    return with_problems(
        Reply(
            blocks.message(f":zzz: Snoozed: the next reminder for {inc.id} comes in {when}."),
            text="snoozed",
        ),
        problems,
    )


@view_submission(views.STATUS_MODAL, permission="update")
async def submit_update(sub: Submission) -> FieldErrors | Finish:
    """Checked before the ack (the modal stays open with the reason): the fields, the incident's
    state and, for a resolving status, the `resolve` permission. The update itself (posts,
    re-renders, hooks) runs after the ack; only its problems are sent to the user."""
    ctx, user = sub.ctx, sub.user_id
    incident_id = sub.private_metadata.strip()
    status = sub.text(views.MODAL_STATUS_BLOCK, views.MODAL_VALUE)
    # a text box is not encoded by Slack: made Slack text (literal & < >) like a command's text
    message = from_input(sub.text(views.MODAL_MESSAGE_BLOCK, views.MODAL_VALUE))
    if not message:
        return {views.MODAL_MESSAGE_BLOCK: "Say what is happening."}
    if ctx.policy.status(status) is None:
        return {views.MODAL_STATUS_BLOCK: "Pick a status."}
    await flow.require_status_permission(ctx, user, status)
    inc = await ctx.store.get(incident_id)
    try:  # a dry run of the state change on a copy: the refusal is shown in the modal
        update_status(ctx.policy, user, status, message)(inc.model_copy(deep=True))
    except Refused as exc:
        return {views.MODAL_MESSAGE_BLOCK: str(exc)[:150]}

    async def finish() -> Reply | None:
        text_, _ = await resolve_names(ctx, message)  # typed @names of people become mentions
        out = await flow.update_status(ctx, inc.id, user, status, text_)
        if not out.problems:
            return None  # the update is in the war room for everyone to see
        text = f":loudspeaker: Update posted for {inc.id} ({status})."
        return with_problems(Reply(blocks.message(text), text="posted"), out.problems)

    return finish
