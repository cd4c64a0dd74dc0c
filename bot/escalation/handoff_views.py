"""Block Kit for on-call hand-offs: the DM to the outgoing and incoming on-call, the channel post,
and the "next hand-off" lines of ``/escalate who``. Pure functions of their inputs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from slack_sdk.models.blocks import Block

from bot.blocks import MAX_BLOCKS, context, header, section, sections
from bot.templates import escape, slack_date, user_link
from bot.text import mrkdwn

if TYPE_CHECKING:
    from bot.core.models import Incident
    from bot.escalation.handoff import Handoff, ShiftReport

LIST_MAX = 10


@dataclass(frozen=True)
class SilenceLine:
    group: str
    by: str | None
    until: datetime


def _who(user: str | None) -> str:
    if not user:
        return "nobody"
    return user_link(user) if user[:1] in "UW" and user[1:].isalnum() else escape(user)


def handoff_text(h: Handoff) -> str:
    return f"On-call hand-off for {h.rotation}: {h.outgoing or 'nobody'} to {h.incoming or 'nobody'}"


def _more(n: int) -> str:
    return f"\n…and {n - LIST_MAX} more" if n > LIST_MAX else ""


def _incident_line(inc: Incident) -> str:
    room = f" · <#{inc.war_room.channel_id}>" if inc.war_room else ""
    test = " · TEST" if inc.test else ""
    return (
        f"• *{escape(inc.id)}* {mrkdwn(inc.title)} ({escape(inc.severity)}, {escape(inc.status)}){room}{test}"
    )


def handoff_blocks(h: Handoff, report: ShiftReport, *, for_user: str | None) -> list[Block]:
    when = slack_date(h.at)
    if for_user is not None and for_user == h.outgoing:
        opening = (
            f":wave: Your *{escape(h.rotation)}* on-call shift ends {when}; {_who(h.incoming)} takes over."
        )
    elif for_user is not None and for_user == h.incoming:
        opening = f":pager: You are on call for *{escape(h.rotation)}* from {when}, taking over from {_who(h.outgoing)}."
    else:
        opening = f":arrows_counterclockwise: *{escape(h.rotation)}* on-call: {_who(h.outgoing)} → {_who(h.incoming)} at {when}."
    blocks: list[Block] = [
        header(f"On-call hand-off: {h.rotation}"[:150]),
        section(opening),
        context(f"The shift: {slack_date(report.start)} to {slack_date(report.end)}"),
    ]
    open_lines = "\n".join(_incident_line(i) for i in report.open_incidents[:LIST_MAX])
    blocks += sections(
        f"*Open incidents ({len(report.open_incidents)})*\n"
        + (open_lines + _more(len(report.open_incidents)) if open_lines else "_none_")
    )
    resolved_lines = "\n".join(_incident_line(i) for i in report.resolved[:LIST_MAX])
    blocks += sections(
        f"*Resolved during the shift ({len(report.resolved)})* · {report.declared} declared\n"
        + (resolved_lines + _more(len(report.resolved)) if resolved_lines else "_none_")
    )
    alert_lines = "\n".join(f"• {escape(name)} ×{count}" for name, count in report.top_alerts)
    blocks += sections(f"*Alerts that fired most*\n{alert_lines or '_none_'}")
    follow = "\n".join(
        f"• {escape(iid)} #{a.number} {mrkdwn(a.text)}"
        + (f" ({_who(a.owner)})" if a.owner else "")
        + (f" due {a.due.isoformat()}" if a.due else "")
        + (f" · <{a.issue.url}|{escape(a.issue.key)}>" if a.issue else "")
        for iid, a in report.follow_ups[:LIST_MAX]
    )
    blocks += sections(
        f"*Pending follow-ups ({len(report.follow_ups)})*\n"
        + (follow + _more(len(report.follow_ups)) if follow else "_none_")
    )
    silence = "\n".join(
        f"• {escape(s.group)} until {slack_date(s.until)}" + (f" (by {_who(s.by)})" if s.by else "")
        for s in report.silences[:LIST_MAX]
    )
    blocks += sections(
        f"*Silences active ({len(report.silences)})*\n"
        + (silence + _more(len(report.silences)) if silence else "_none_")
    )
    return blocks[:MAX_BLOCKS]


def next_handoff_lines(found: list[Handoff]) -> list[Block]:
    """`/escalate who`: each rotation's next hand-off as a Slack date token."""
    if not found:
        return []
    lines = [
        f"• *{escape(h.rotation)}*: {slack_date(h.at)} ({_who(h.outgoing)} → {_who(h.incoming)})"
        for h in found
    ]
    return [context(("*Next hand-offs*\n" + "\n".join(lines))[:3000])]
