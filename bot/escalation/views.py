"""Escalation messages: the escalation post, the DM to targets, /escalate who, the Escalate select
on incident messages, the update reminder and its modal. Pure functions of their inputs."""

from __future__ import annotations

from datetime import timedelta

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks import clip, context, header, limit_blocks, section
from bot.config.escalation import EscalationPolicy
from bot.config.policy import Policy
from bot.core.models import Incident
from bot.durations import format_duration
from bot.incidents.views import TEST_MARK
from bot.templates import escape, user_link
from bot.text import mrkdwn

ESCALATE_SELECT = "escalation_select"
DM_ACK = "escalation_dm_ack"
REMINDER_UPDATE = "escalation_reminder_update"
REMINDER_SNOOZE = "escalation_reminder_snooze"
STATUS_MODAL = "escalation_status_modal"
MODAL_STATUS_BLOCK = "status"
MODAL_MESSAGE_BLOCK = "message"
MODAL_VALUE = "value"
TITLE_MAX = 200
REASON_MAX = 1500


def _who(users: list[str], usergroups: list[str], channels: list[str]) -> str:
    parts = (
        [f"<@{u}>" for u in users]
        + [f"@{escape(h)}" for h in usergroups]
        + [f"#{escape(c)}" for c in channels]
    )
    return ", ".join(parts) or "nobody (check the policy)"


def escalation_post(
    inc: Incident,
    *,
    label: str,
    actor: str,
    reason: str,
    users: list[str],
    usergroups: list[str],
    channels: list[str],
    automatic: bool,
    pagers_skipped: list[str] | None = None,
) -> list[Block]:
    """``pagers_skipped``: the pager services a test incident's escalation did not call."""
    by = "automatically" if automatic else f"by {user_link(actor)}"
    mark = f"{TEST_MARK} · " if inc.test else ""
    lines = [f":arrow_double_up: {mark}*{inc.id} escalated to {escape(label)}* {by}"]
    if reason:
        lines.append(f"*Reason:* {mrkdwn(reason, REASON_MAX)}")
    lines.append(f"*Paging:* {_who(users, usergroups, channels)}")
    if pagers_skipped:
        services = ", ".join(escape(s) for s in dict.fromkeys(pagers_skipped))
        lines.append(f":test_tube: {TEST_MARK} incident: no page sent via {services} (a drill pages nobody).")
    title = clip(escape(inc.title), TITLE_MAX)
    return [section("\n".join(lines)), context(f"Escalation #{inc.escalations} · {title}")]


def escalation_text(inc: Incident, label: str) -> str:
    mark = f"{TEST_MARK} · " if inc.test else ""
    return clip(f"{mark}{inc.id} escalated to {label}", 3000)


def escalation_dm(
    policy: Policy, inc: Incident, *, label: str, actor: str, reason: str, automatic: bool
) -> list[Block]:
    sev = policy.severity_by_name(inc.severity)
    by = "automatically" if automatic else f"by {user_link(actor)}"
    mark = f"{TEST_MARK} · " if inc.test else ""
    room = f"\n*War room:* <#{inc.war_room.channel_id}>" if inc.war_room else ""
    text = (
        f":rotating_light: {mark}You are needed on *{inc.id}: {clip(escape(inc.title), TITLE_MAX)}*, "
        f"escalated to {escape(label)} {by}.\n"
        f"*Severity:* {sev.emoji} {escape(sev.label or sev.name)} · *Status:* {escape(inc.status)}{room}"
    )
    if reason:
        text += f"\n*Reason:* {mrkdwn(reason, REASON_MAX)}"
    return [
        section(text),
        ActionsBlock(
            block_id=f"escalation-dm:{inc.id}",
            elements=[ButtonElement(text="Acknowledge", action_id=DM_ACK, value=inc.id, style="primary")],
        ),
    ]


def dm_acknowledged(inc: Incident, user: str) -> list[Block]:
    return [section(f":white_check_mark: {user_link(user)} acknowledged the escalation on *{inc.id}*.")]


def escalate_select(esc: EscalationPolicy, inc: Incident) -> StaticSelectElement:
    options = [
        Option(text=clip(f"Level {lv.level}: {lv.name}", 75), value=f"{inc.id}|{lv.level}")
        for lv in esc.levels
    ][:100]
    return StaticSelectElement(placeholder="Escalate", action_id=ESCALATE_SELECT, options=options)


def who_is_on_call(
    esc: EscalationPolicy, lines_by_level: dict[int, list[str]], problems: list[str]
) -> list[Block]:
    blocks: list[Block] = [header("Who is on call now")]
    for lv in esc.levels:
        body = "\n".join(lines_by_level.get(lv.level, [])) or "_nobody configured_"
        blocks.append(section(f"*Level {lv.level} · {escape(lv.name)}*\n{body}"))
    if problems:
        blocks.append(context(":warning: " + "; ".join(escape(p) for p in problems[:10])))
    return limit_blocks(blocks)


def usage_levels(esc: EscalationPolicy) -> str:
    lines = [
        f"`{lv.level}` {escape(lv.name)}" + (f" ({', '.join(lv.aliases)})" if lv.aliases else "")
        for lv in esc.levels
    ]
    roles = ", ".join(f"`{name}`" for name in sorted(esc.roles))
    return "*Levels:* " + " · ".join(lines) + (f"\n*Roles:* {roles}" if roles else "")


def reminder(
    inc: Incident, *, mention: str | None, since: timedelta, cadence: timedelta, snooze: timedelta
) -> list[Block]:
    who = user_link(mention) if mention else "Team"
    text = (
        f":alarm_clock: {who}, *{inc.id}* has had no status update for {format_duration(since)} "
        f"(expected every {format_duration(cadence)}). Post one so everyone knows where things stand."
    )
    return [
        section(text),
        ActionsBlock(
            block_id=f"escalation-reminder:{inc.id}",
            elements=[
                ButtonElement(text="Post update", action_id=REMINDER_UPDATE, value=inc.id, style="primary"),
                ButtonElement(
                    text=f"Snooze {format_duration(snooze)}", action_id=REMINDER_SNOOZE, value=inc.id
                ),
            ],
        ),
    ]


def status_modal(policy: Policy, inc: Incident, prefill: str) -> View:
    options = [
        Option(text=clip(f"{s.emoji} {s.label or s.name}".strip(), 75), value=s.name) for s in policy.statuses
    ]
    current = next((o for o in options if o.value == inc.status), options[0] if options else None)
    return View(
        type="modal",
        callback_id=STATUS_MODAL,
        private_metadata=inc.id,
        title=clip(f"Update {inc.id}", 24),
        submit="Post update",
        close="Cancel",
        blocks=[
            section(f"*{escape(inc.id)}: {escape(inc.title)}*"),
            InputBlock(
                block_id=MODAL_STATUS_BLOCK,
                label="Status",
                element=StaticSelectElement(action_id=MODAL_VALUE, options=options, initial_option=current),
            ),
            InputBlock(
                block_id=MODAL_MESSAGE_BLOCK,
                label="What is happening",
                element=PlainTextInputElement(
                    action_id=MODAL_VALUE, multiline=True, initial_value=clip(prefill, 3000), max_length=3000
                ),
            ),
        ],
    )


def failure_notice(inc: Incident, text: str) -> list[Block]:
    return [section(f":warning: *{inc.id}:* {escape(text)}")]
