"""Incident messages: the announcement, updates, resolution, details and lists."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    DividerBlock,
    PlainTextObject,
)

from bot.blocks import clip, context, fields, header, limit_blocks, section, sections
from bot.config.policy import Policy
from bot.core.models import Incident, StatusUpdate, TimelineEntry
from bot.durations import format_duration
from bot.incidents import fields as incident_fields
from bot.templates import SlackSafe, TemplateFailure, escape, render, slack_date, user_link
from bot.text import mrkdwn

ACK = "incident_ack"
RESOLVE = "incident_resolve"
REOPEN = "incident_reopen"
ACCEPT = "incident_accept"
REQUEST_ACCESS = "incident_request_access"
TEST_MARK = "TEST"
# Slack takes about 12,000 characters of block text in one message (msg_blocks_too_long): free text
# (a status update, a summary) shows at most this much, a list this much in all
FREE_TEXT_MAX = 6_000
LIST_TEXT_MAX = 10_000

# Other parts add their buttons (Escalate, Runbook, Run diagnostics...) to incident messages here.
ButtonProvider = Callable[[Policy, Incident], list[Any]]
BUTTON_PROVIDERS: list[ButtonProvider] = []


def incident_button(fn: ButtonProvider) -> ButtonProvider:
    BUTTON_PROVIDERS.append(fn)
    return fn


def _as_slack_text(inc: Incident) -> Incident:
    """The incident for templates: its free text (the summary) is Slack text, rendered as safe
    mrkdwn and marked so the template does not escape it again; the title is plain (escaped once)."""
    if not inc.summary:
        return inc
    return inc.model_copy(update={"summary": SlackSafe(mrkdwn(inc.summary, FREE_TEXT_MAX))})


def template_context(policy: Policy, inc: Incident) -> dict[str, Any]:
    sev = policy.severity_by_name(inc.severity)
    status = policy.status_by_name(inc.status)
    return {
        "incident": _as_slack_text(inc),
        "severity": sev,
        "status": status,
        "commander": inc.commander,
        "war_room": inc.war_room.channel_id if inc.war_room else None,
        "response_target": sev.response_text or format_duration(sev.response_target),
        "metrics": {
            "time_to_acknowledge": format_duration(inc.time_to_acknowledge),
            "time_to_mitigate": format_duration(inc.time_to_mitigate),
            "time_to_resolve": format_duration(inc.time_to_resolve),
            "updates": len(inc.updates),
            "escalations": inc.escalations,
        },
    }


def _templated(policy: Policy, name: str, inc: Incident, extra: dict[str, Any] | None = None) -> str:
    from bot.config.policy import TemplatesPolicy

    ctx = {**template_context(policy, inc), **(extra or {})}
    source = getattr(policy.templates, name)
    try:
        return render(name, source, ctx)
    except TemplateFailure as exc:
        # a broken policy template never silences a post: fall back to the built-in one and say so
        text = render(name, getattr(TemplatesPolicy(), name), ctx)
        return f"{text}\n_:warning: {escape(str(exc))}; the default template was used._"


def marked(inc: Incident, text: str) -> str:
    """``text`` with the marks every view shows: TEST for a drill, a lock for a private one."""
    if inc.private:
        text = f":lock: {text}"
    return f"{TEST_MARK} · {text}" if inc.test else text


def stage_text(policy: Policy, inc: Incident) -> str:
    """Where the incident stands: triage, declined, merged, closed, or its status."""
    if inc.merged_into:
        return f":twisted_rightwards_arrows: Merged into *{inc.merged_into}*"
    if inc.declined is not None:
        return f":no_entry_sign: Declined by {user_link(inc.declined.by)}: {escape(inc.declined.reason)}"
    if inc.triage:
        return ":mag_right: *Triage*: accept or decline"
    status = policy.status_by_name(inc.status)
    return f"{status.emoji} {status.label}".strip()


def stage_word(inc: Incident) -> str:
    """One word for lists: triage, declined, merged, closed or the status."""
    if inc.stage != "active":
        return inc.stage
    return "closed" if inc.closed_at else inc.status


def incident_buttons(policy: Policy, inc: Incident) -> list[Any]:
    buttons: list[Any] = []
    if inc.stage in ("declined", "merged"):
        return buttons
    if inc.triage:
        buttons.append(ButtonElement(text="Accept", action_id=ACCEPT, value=inc.id, style="primary"))
    elif not inc.is_resolved:
        if not inc.acknowledged_by:
            buttons.append(ButtonElement(text="Acknowledge", action_id=ACK, value=inc.id, style="primary"))
        buttons.append(
            ButtonElement(
                text="Resolve",
                action_id=RESOLVE,
                value=inc.id,
                style="danger",
                confirm=ConfirmObject(
                    title="Resolve incident?",
                    # plain_text, as Slack documents a confirmation dialog's text (the title is plain)
                    text=PlainTextObject(text=clip(f"Mark {inc.id} ({inc.title}) as resolved?", 300)),
                    confirm="Resolve",
                    deny="Cancel",
                ),
            )
        )
    elif not inc.closed_at:
        buttons.append(ButtonElement(text="Reopen", action_id=REOPEN, value=inc.id))
    for provider in BUTTON_PROVIDERS:
        buttons.extend(provider(policy, inc))
    return buttons[:25]


def announcement(policy: Policy, inc: Incident) -> list[Block]:
    """The headline post; re-rendered in place on every change."""
    blocks: list[Block] = [
        header(marked(inc, f"{inc.id}: {inc.title}")),
        *sections(_templated(policy, "announcement", inc)),
    ]
    typed = incident_fields.pairs(policy, inc)  # the incident type and its custom fields
    if typed:
        blocks.append(fields(typed[:10]))
    facts = [stage_text(policy, inc)]
    if inc.test:
        facts.insert(0, f"*{TEST_MARK} incident*: no pages, no status page, not in metrics")
    if inc.acknowledged_by:
        facts.append(f"acknowledged by {user_link(inc.acknowledged_by)} {slack_date(inc.acknowledged_at)}")
    if inc.updates:
        last = inc.updates[-1]
        facts.append(f"update #{last.number} {slack_date(last.at)}")
    if inc.is_resolved:
        facts.append(f"resolved by {user_link(inc.resolved_by)} {slack_date(inc.resolved_at)}")
    if inc.closed_at:
        facts.insert(0, f":lock: *Closed* {slack_date(inc.closed_at)}")
    blocks.append(context(" · ".join(facts)))
    if inc.alert_links:
        blocks.append(context(alert_links_text(inc)))
    if inc.merged_from:
        blocks.append(context(":twisted_rightwards_arrows: Merged in: " + ", ".join(inc.merged_from[:20])))
    buttons = incident_buttons(policy, inc)
    if buttons:
        blocks.append(ActionsBlock(block_id=f"incident:{inc.id}", elements=buttons))
    return limit_blocks(blocks)


def alert_links_text(inc: Incident) -> str:
    """`:bell: From alert <thread|headline>` for each alert group the incident was declared from."""
    links = [
        f"<{escape(a.url)}|{escape(clip(a.title, 150))}>" if a.url else escape(clip(a.title, 150))
        for a in inc.alert_links[:5]
    ]
    more = f" and {len(inc.alert_links) - 5} more" if len(inc.alert_links) > 5 else ""
    return ":bell: From alert " + ", ".join(links) + more


def announcement_text(policy: Policy, inc: Incident) -> str:
    sev = policy.severity_by_name(inc.severity)
    return clip(marked(inc, f"{sev.label} incident {inc.id}: {escape(inc.title)} ({stage_word(inc)})"), 3000)


def private_stub(policy: Policy, inc: Incident) -> list[Block]:
    """What a public channel shows of a private incident: that one exists, its severity, and a
    button to ask its commander for access. No title, no people, no details."""
    sev = policy.severity_by_name(inc.severity)
    text = marked(
        inc, f"A private {sev.emoji} *{escape(sev.label)}* incident is in progress.".replace("  ", " ")
    )
    button = ButtonElement(text="Request access", action_id=REQUEST_ACCESS, value=inc.id)
    return [
        section(text),
        context("Its details are shared in its private war room only. Ask its commander to let you in."),
        ActionsBlock(block_id=f"private:{inc.id}", elements=[button]),
    ]


def private_stub_text(policy: Policy, inc: Incident) -> str:
    sev = policy.severity_by_name(inc.severity)
    return marked(inc, f"A private {sev.label} incident is in progress")


def status_update(policy: Policy, inc: Incident, update: StatusUpdate) -> list[Block]:
    message = mrkdwn(update.message, FREE_TEXT_MAX)  # Slack text, clipped (…) to fit one message
    shown = update.model_copy(update={"message": SlackSafe(message)})
    text = _templated(
        policy, "status_update", inc, {"update": shown, "status": policy.status_by_name(update.status)}
    )
    about = f"{inc.id} · by {user_link(update.by)} · {slack_date(update.at)}"
    whole = len(mrkdwn(update.message))
    if len(message) < whole:
        room = f"; the war room is <#{inc.war_room.channel_id}>" if inc.war_room else ""
        about += (
            f" · clipped to fit one Slack message ({len(message):,} of {whole:,} characters);"
            f" the whole update is kept with {inc.id}{room}"
        )
    return [*sections(clip(text, LIST_TEXT_MAX)), context(about)]


def status_update_text(inc: Incident, update: StatusUpdate) -> str:
    return clip(f"{inc.id} update #{update.number} ({update.status}): {mrkdwn(update.message)}", 3000)


def resolution(policy: Policy, inc: Incident) -> list[Block]:
    return [
        *sections(clip(_templated(policy, "resolution", inc), LIST_TEXT_MAX)),
        context(f"Resolved by {user_link(inc.resolved_by)}"),
    ]


def topic(policy: Policy, inc: Incident) -> str:
    sev = policy.severity_by_name(inc.severity)
    commander = f"IC <@{inc.commander}>" if inc.commander else "no commander yet"
    return clip(marked(inc, f"{inc.id} · {sev.label} · {stage_word(inc)} · {commander} · {inc.title}"), 250)


def closed_status(inc: Incident) -> str | None:
    """``:lock: Closed <date>`` once the incident is closed (reviewed, war room archived)."""
    return f":lock: Closed {slack_date(inc.closed_at)}" if inc.closed_at else None


def details(policy: Policy, inc: Incident, timeline: list[TimelineEntry]) -> list[Block]:
    sev = policy.severity_by_name(inc.severity)
    status = policy.status_by_name(inc.status)
    roles = ", ".join(f"{r.replace('_', ' ')}: {user_link(u)}" for r, u in inc.roles.items()) or "none"
    pairs = [
        ("Severity", f"{sev.emoji} {sev.label}".strip()),
        (
            "Status",
            (closed_status(inc) if inc.stage == "active" else None)
            or stage_text(policy, inc)
            or f"{status.emoji} {status.label}".strip(),
        ),
        ("Declared", f"{slack_date(inc.created_at)} by {user_link(inc.created_by)}"),
        (
            "Acknowledged",
            f"{slack_date(inc.acknowledged_at)} by {user_link(inc.acknowledged_by)}"
            if inc.acknowledged_by
            else "not yet",
        ),
        ("Roles", roles),
        ("War room", f"<#{inc.war_room.channel_id}>" if inc.war_room else "none"),
    ]
    if inc.is_resolved:
        pairs.append(
            ("Resolved", f"{slack_date(inc.resolved_at)} after {format_duration(inc.time_to_resolve)}")
        )
    if inc.merged_from:
        pairs.append(("Merged in", ", ".join(inc.merged_from[:20])))
    pairs += incident_fields.pairs(policy, inc)
    if inc.private or inc.test:
        kinds = ["private"] * inc.private + [f"{TEST_MARK} (no pages, not in metrics)"] * inc.test
        pairs.append(("Kind", ", ".join(kinds)))
    blocks: list[Block] = [
        header(marked(inc, f"{inc.id}: {inc.title}")),
        *(fields(pairs[i : i + 10]) for i in range(0, len(pairs), 10)),  # a section holds 10 fields
    ]
    if inc.summary:
        blocks.append(section(f"*Summary:* {mrkdwn(inc.summary)}"))
    blocks.append(DividerBlock())
    blocks.append(section("*Timeline*\n" + timeline_text(timeline[-20:])))
    if len(timeline) > 20:
        blocks.append(context(f"{len(timeline) - 20} earlier entries: `/incident timeline {inc.id}`"))
    return limit_blocks(blocks)


def timeline_text(entries: list[TimelineEntry]) -> str:
    lines = [
        f"• {slack_date(e.at, '{time}')} {user_link(e.actor) if e.actor[:1] in 'UW' else escape(e.actor)}: "
        f"{mrkdwn(e.text)}"  # timeline text is Slack text: mentions live, broadcasts inert
        for e in entries
    ]
    return "\n".join(lines) or "_empty_"


def incident_list(policy: Policy, incidents: list[Incident], scope: str) -> list[Block]:
    if not incidents:
        return [section(f"No {'open ' if scope == 'open' else ''}incidents. :tada:")]
    lines: list[str] = []
    used = 0
    for inc in incidents:
        sev = policy.severity_by_name(inc.severity)
        room = f" · <#{inc.war_room.channel_id}>" if inc.war_room else ""
        shown = marked(inc, f"{sev.emoji} *{inc.id}* {escape(inc.title)} — {stage_word(inc)}{room}")
        if used + len(shown) + 1 > LIST_TEXT_MAX:  # one message holds ~12,000 characters of text
            break
        lines.append(shown)
        used += len(shown) + 1
    title = "Open incidents" if scope == "open" else "All incidents"
    blocks: list[Block] = [header(f"{title} ({len(incidents)})"), *sections("\n".join(lines))]
    if len(lines) < len(incidents):
        left = len(incidents) - len(lines)
        blocks.append(context(f"…and {left} more not shown: `/incident show <INC>` shows one"))
    return limit_blocks(blocks)


def created_reply(inc: Incident, announcement_link: str | None) -> list[Block]:
    where = []
    if announcement_link:
        where.append(f"<{announcement_link}|announcement>")
    if inc.war_room:
        where.append(f"war room <#{inc.war_room.channel_id}>")
    text = marked(inc, f":rotating_light: *{inc.id}* declared: {escape(inc.title)}")
    if inc.triage:
        text += "\nIn triage: no war room or pages until someone accepts it (`/incident accept`)."
    if where:
        text += "\n" + " · ".join(where)
    return [section(text)]


def now_text() -> str:
    return datetime.now(UTC).isoformat()


__all__ = ["PlainTextObject"]


def triage(snapshot: Any, suggested: str | None) -> list[Block]:
    """The triage snapshot of the incident's service (pods, error rate, latency from the policy)."""
    lines = [f":stethoscope: *Triage of `{escape(snapshot.service)}`*", *snapshot.lines]
    if suggested:
        why = "; ".join(snapshot.reasons)
        lines.append(f"Severity *{escape(suggested)}* was suggested by triage ({escape(why)}).")
    blocks: list[Block] = list(sections("\n".join(lines)))
    if snapshot.failures:
        blocks.append(
            context("Checks that could not run: " + "; ".join(escape(f) for f in snapshot.failures))
        )
    return blocks
