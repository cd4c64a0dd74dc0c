"""Declare from anywhere: a message's shortcut, the global shortcut, ``/incident create`` with no
arguments and the App Home's button all open one modal (bot/incidents/declare_views.py).

The modal is opened first, before any slow look-up: Slack's trigger_id lives 3 seconds. Submitting
it declares the incident through the workflow (bot/incidents/workflow.py: ``declare``); declared from
a message, the war room then quotes that message with a link to it (chat.getPermalink) and a reply in
the message's thread says an incident was declared, with links to it.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.models.blocks import Block, PlainTextObject
from slack_sdk.models.views import View

from bot import blocks
from bot.context import AppContext
from bot.core.models import Incident, TimelineEntry
from bot.core.state import Refused, record
from bot.incidents import declare_views as dv
from bot.incidents import fields as incident_fields
from bot.incidents import workflow as flow
from bot.incidents.outcome import Outcome
from bot.listeners import (
    Click,
    FieldErrors,
    Finish,
    Reply,
    ShortcutUse,
    Submission,
    action,
    shortcut,
    view_submission,
)
from bot.slack.errors import SlackCallError

log = logging.getLogger(__name__)

GLOBAL_SHORTCUT = "declare_incident"
MESSAGE_SHORTCUT = "declare_incident_from_message"


async def open_modal(
    ctx: AppContext, trigger_id: str | None, origin: dv.Origin, *, title: str = "", source_text: str = ""
) -> None:
    """views.open at once (no look-up before it: the trigger expires 3 s after the click)."""
    if not trigger_id:
        raise Refused("Slack sent no trigger to open the form; try again.")
    view = dv.declare_modal(ctx.policy, origin, title=title, source_text=source_text)
    await ctx.gateway.call("views.open", trigger_id=trigger_id, view=view.to_dict())


@shortcut(GLOBAL_SHORTCUT, permission="declare")
async def from_anywhere(use: ShortcutUse) -> Reply | None:
    await open_modal(use.ctx, use.trigger_id, dv.Origin())
    return None


@shortcut(MESSAGE_SHORTCUT, permission="declare")
async def from_message(use: ShortcutUse) -> Reply | None:
    message = use.message or {}
    ts = str(message.get("ts") or use.body.get("message_ts") or "")
    if not use.channel_id or not ts:
        raise Refused("Slack sent no message with this shortcut.")
    text = str(message.get("text") or "")
    author = message.get("user") if isinstance(message.get("user"), str) else None
    source = dv.Source(channel=use.channel_id, ts=ts, text=text, author=author)
    origin = dv.Origin(channel=use.channel_id, source=source)
    await open_modal(use.ctx, use.trigger_id, origin, title=dv.title_from(text), source_text=text)
    return None


def _choice(value: Any) -> str:
    picked = value.get("value") if isinstance(value, dict) else value
    return str(picked or "")


def _checked(value: Any) -> set[str]:
    """The option values ticked in a checkboxes element (``private``, ``triage``, ``test``)."""
    if not isinstance(value, list):
        return set()
    return {str(v.get("value") if isinstance(v, dict) else v) for v in value}


@view_submission(dv.MODAL, permission="declare")
async def submit(sub: Submission) -> FieldErrors | Finish | None:
    title = " ".join(sub.text(dv.TITLE, "text").split())
    errors: FieldErrors = {}
    if not title:
        errors[dv.TITLE] = "Give the incident a title."
    elif len(title) > dv.TITLE_MAX:
        errors[dv.TITLE] = f"At most {dv.TITLE_MAX} characters."
    severity = sub.ctx.policy.severity(_choice(sub.value(dv.SEVERITY, "choice")))
    if severity is None:
        names = ", ".join(s.name for s in sub.ctx.policy.severities)
        errors[dv.SEVERITY] = blocks.clip(f"Pick one of the severities ({names}).", 150)
    service = " ".join(sub.text(dv.SERVICE, "text").split()) or None
    if service is not None and len(service) > dv.SERVICE_MAX:
        errors[dv.SERVICE] = f"At most {dv.SERVICE_MAX} characters."
    options = _checked(sub.value(dv.PRIVATE, "choice"))
    typed, field_errors = incident_fields.from_form(sub.ctx.policy, sub.values)
    errors.update(field_errors)
    if errors or severity is None:
        return errors
    origin = dv.Origin.from_metadata(sub.private_metadata)
    quoted = dv.quoted_in(list((sub.body.get("view") or {}).get("blocks") or []))
    ctx, user, sev = sub.ctx, sub.user_id, severity.name

    async def finish() -> Reply:
        out = await flow.declare(
            ctx,
            user=user,
            severity=sev,
            title=title,
            origin_channel=origin.channel,
            service=service,
            private="private" in options,
            triage="triage" in options,
            test="test" in options,
            incident_type=typed.type,
            fields=typed.fields,
        )
        if origin.source is not None:
            await link_source(ctx, out, origin.source, quoted, user)
        inc = out.incident
        where = [f"war room <#{inc.war_room.channel_id}>"] if inc.war_room else []
        if out.announcement_link:
            where.append(f"<{blocks.escape(out.announcement_link)}|announcement>")
        text = f":rotating_light: You declared *{inc.id}*: {blocks.escape(inc.title)}"
        if where:
            text += "\n" + " · ".join(where)
        reply = Reply(blocks.message(text), text=f"{inc.id} declared")
        if out.problems:
            reply.blocks.append(
                blocks.context(
                    ":warning: Declared, but some Slack steps failed (state is saved):\n"
                    + "\n".join(f"• {blocks.escape(p)}" for p in out.problems[:10])
                )
            )
        return reply

    return finish


@action(incident_fields.TYPE_ACTION, permission="declare")
async def type_picked(click: Click) -> Reply | None:
    """A type was picked in the form: re-draw it with that type's fields (views.update, the form's
    other blocks and what was typed in them kept)."""
    view = click.body.get("view") or {}
    view_id, chosen = view.get("id"), click.selected
    if not view_id:
        return None
    chosen = None if chosen in (None, incident_fields.NO_TYPE) else chosen
    kept: list[Block] = []
    for raw in view.get("blocks") or []:
        block_id = str(raw.get("block_id") or "")
        if block_id.startswith(incident_fields.FIELD_BLOCK):
            continue  # the previous type's fields
        if block_id == incident_fields.TYPE_BLOCK:
            kept += dv.type_and_fields(click.ctx.policy, chosen)
            continue
        block = Block.parse(raw)
        if block is not None:
            kept.append(block)
    redrawn = View(
        type="modal",
        callback_id=dv.MODAL,
        private_metadata=str(view.get("private_metadata") or ""),
        title=PlainTextObject(text="Declare incident"),
        submit=PlainTextObject(text="Declare"),
        close=PlainTextObject(text="Cancel"),
        blocks=kept,
    )
    try:
        await click.ctx.gateway.call(
            "views.update", view_id=view_id, hash=view.get("hash"), view=redrawn.to_dict()
        )
    except SlackCallError as exc:  # hash_conflict: the form changed meanwhile; the next pick re-draws it
        log.warning("re-drawing the declaration form for type %s failed: %s", chosen, exc.error)
    return None


async def link_source(ctx: AppContext, out: Outcome, src: dv.Source, quoted: str, user: str) -> None:
    """Tie the incident to the message it came from: a quote with a link in the war room (under
    the announcement when there is no war room), a reply in the message's thread, a timeline entry.
    Each Slack failure is a line in ``out.problems``; none stops the others."""
    inc = out.incident
    permalink: str | None = None
    try:
        permalink = await ctx.slack.permalink(src.channel, src.ts)
    except SlackCallError as exc:
        out.problem("linking the source message", exc)
    await _quote_in_war_room(ctx, inc, src, quoted, permalink, user, out)
    if inc.private:  # the source's thread may be public: it learns nothing of a private incident
        return
    try:
        await ctx.slack.post(
            src.channel,
            dv.thread_reply(inc, user, out.announcement_link),
            dv.thread_reply_text(inc),
            thread_ts=src.ts,
            unfurl=False,
        )
    except SlackCallError as exc:
        out.problem("replying under the source message", exc)
    entry = TimelineEntry(
        actor=user,
        kind="source",
        text=f"Declared from a message in <#{src.channel}>" + (f": {permalink}" if permalink else ""),
        data={"channel": src.channel, "ts": src.ts, "permalink": permalink or ""},
    )
    try:
        await ctx.store.apply(inc.id, record(entry))
    except Exception:  # the declaration stands; the entry is a nicety, but never lost silently
        log.exception("%s: recording the source message on the timeline failed", inc.id)


async def _quote_in_war_room(
    ctx: AppContext,
    inc: Incident,
    src: dv.Source,
    quoted: str,
    permalink: str | None,
    user: str,
    out: Outcome,
) -> None:
    if inc.war_room:
        where, thread_ts = inc.war_room.channel_id, None
    elif inc.announcement and not inc.private:
        where, thread_ts = inc.announcement.channel, inc.announcement.ts
    else:
        return
    try:
        await ctx.slack.post(
            where,
            dv.source_quote(src, quoted, permalink, user),
            dv.source_quote_text(inc),
            thread_ts=thread_ts,
            unfurl=False,
        )
    except SlackCallError as exc:
        out.problem("quoting the source message", exc)
