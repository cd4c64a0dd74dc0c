"""Pure functions: alert group state → Slack Block Kit (slack_sdk.models), re-renderable at any time.

Longer than 400 lines because it holds every alert surface (root, thread replies, storm summary,
silence and declare notes) with the budgets that keep each within Slack's limits in one place."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject, PlainTextObject

from bot.alerts.diff import Change
from bot.alerts.state import AlertState, GroupState
from bot.blocks import clip as _clip
from bot.blocks import escape
from bot.config.alerts import AlertsPolicy
from bot.durations import format_duration
from bot.templates import slack_date

ACK_ACTION = "alerts_ack"
DECLARE_ACTION = "alerts_declare"
RUNBOOK_ACTION = "alerts_runbook"
RUNBOOK_LINK_ACTION = "alerts_runbook_link"
SILENCE_ACTION = "alerts_silence"
UNSILENCE_ACTION = "alerts_unsilence"

SECTION_LIMIT = 2900  # Slack allows 3000 characters per section text
FIELD_LIMIT = 2000  # per section field
MESSAGE_TEXT_BUDGET = 12_000  # total text of one message's blocks (Slack rejects much larger ones)
ROOT_LINES_BUDGET = 5_000  # characters of alert lines on a root post
REPLY_BUDGET = 9_000  # characters of one thread reply
THREAD_LIST_MAX = 200  # alert lines per kind (firing/resolved) in one thread reply
HIDDEN_LABELS = frozenset({"alertname"})

_SEVERITY_EMOJI = {
    "critical": ":red_circle:",
    "page": ":red_circle:",
    "high": ":large_orange_circle:",
    "error": ":large_orange_circle:",
    "warning": ":large_yellow_circle:",
    "medium": ":large_yellow_circle:",
    "info": ":large_blue_circle:",
    "low": ":large_blue_circle:",
}


def clip_escaped(text: str, limit: int) -> str:
    """Escape, then clip to ``limit`` characters without cutting an entity (`&amp;`) in half."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: max(0, limit - 1)]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def _one_line(text: str) -> str:
    """Annotation text for one mrkdwn line: no line breaks, no backticks (they would end a code span)."""
    return " ".join(text.replace("`", "'").split())


def duration(start: datetime, end: datetime) -> str:
    return format_duration(end - start)


def _listed(state: GroupState) -> list[AlertState]:
    """Firing alerts first (oldest first), then the resolved ones."""
    return sorted(state.alerts.values(), key=lambda a: (a.status != "firing", a.starts_at, a.fingerprint))


def runbook_for(state: GroupState, policy: AlertsPolicy) -> str | None:
    """The runbook of what fires now: a runbook_url annotation, else the policy's entry for its name."""
    url = state.annotation("runbook_url")
    if url:
        return url
    for alert in _listed(state):
        if alert.alertname in policy.runbooks:
            return policy.runbooks[alert.alertname]
    return None


def important_labels(state: GroupState, policy: AlertsPolicy) -> list[tuple[str, str]]:
    """The labels worth showing: the policy's list first, then the rest of the group labels."""
    labels = state.all_labels()
    picked: list[tuple[str, str]] = []
    for name in policy.important_labels:
        if name in labels and name != policy.severity_label:
            picked.append((name, labels[name]))
    for name, value in sorted(state.group_labels.items()):
        if name not in HIDDEN_LABELS and name != policy.severity_label and (name, value) not in picked:
            picked.append((name, value))
    return picked


def headline(state: GroupState, limit: int = 150) -> str:
    """`[FIRING:2] A, B` from what fires now; `[RESOLVED] A, B` once everything resolved (plain text)."""
    if state.status == "resolved":
        word, names = "RESOLVED", state.alertnames()
    else:
        word, names = f"FIRING:{state.firing}", state.alertnames(firing_only=True)
    names = names or ["alert"]
    text = f"[{word}] " + ", ".join(names)
    shown = len(names)
    while len(text) > limit and shown > 1:
        shown -= 1
        text = f"[{word}] " + ", ".join(names[:shown]) + f", +{len(names) - shown} more"
    return _clip(text, limit)


def group_title(state: GroupState) -> str:
    """`AlertName · k=v, k=v` from the group labels: how thread replies name the group (mrkdwn-safe)."""
    extra = ", ".join(f"{k}={v}" for k, v in sorted(state.group_labels.items()) if k not in HIDDEN_LABELS)
    title = state.alertname + (f" · {extra}" if extra else "")
    return clip_escaped(title, 200)


def alert_ident(state: GroupState, alert: AlertState) -> str:
    """What tells this alert apart from the rest of its group: labels beyond the group's labels."""
    skip = set(state.group_labels) | HIDDEN_LABELS
    distinct = [f"{k}={v}" for k, v in sorted(alert.labels.items()) if k not in skip and k != "severity"]
    common = state.common_labels
    narrowed = [p for p in distinct if p.split("=", 1)[0] not in common] or distinct
    ident = ", ".join(narrowed[:4]) if narrowed else alert.fingerprint
    return clip_escaped(ident.replace("`", "'"), 300)


def alert_line(state: GroupState, alert: AlertState, *, mark: str = "", when: str = "") -> str:
    """One alert: its name (when the group holds several), its summary, then the labels telling it apart.

    Always shorter than 700 characters, whatever the labels and annotations hold."""
    parts: list[str] = []
    if state.mixed and alert.alertname:
        parts.append(f"*{clip_escaped(alert.alertname, 120)}*")
    summary = alert.annotations.get("summary", "")
    shared = not state.mixed and summary and state.common_annotations.get("summary") == summary
    if summary and not shared:
        parts.append(clip_escaped(_one_line(summary), 200))
    head = " — ".join(parts)
    line = f"{mark} " if mark else ""
    line += f"{head} " if head else ""
    line += f"`{alert_ident(state, alert)}`"
    return line + (f" · {when}" if when else "")


def silencer(created_by: str) -> str:
    """Who made a silence, as mrkdwn: a mention for a Slack user id (silences made from Slack), else the
    name Alertmanager holds (escaped)."""
    if re.fullmatch(r"[UW][A-Z0-9]{2,20}", created_by):
        return f"<@{created_by}>"
    return f"*{clip_escaped(_one_line(created_by), 80)}*" if created_by.strip() else "someone"


def _mark(alert: AlertState) -> str:
    return ":red_circle:" if alert.status == "firing" else ":large_green_circle:"


def _alert_when(alert: AlertState) -> str:
    if alert.status == "firing":
        return f"since {slack_date(alert.starts_at)}"
    end = alert.ends_at or alert.last_change
    return f"resolved after {duration(alert.starts_at, end)}"


def _bounded(lines: list[str], total: int, budget: int, more: str) -> list[str]:
    """Lines up to ``budget`` characters, then "…and M more" for the ``total - shown`` not listed."""
    shown: list[str] = []
    size = 0
    for line in lines:
        if shown and size + len(line) + 1 > budget:
            break
        shown.append(line)
        size += len(line) + 1
    if total > len(shown):
        shown.append(f"…and {total - len(shown)} more{more}")
    return shown


def change_replies(state: GroupState, change: Change, *, with_title: bool) -> list[list[str]]:
    """Thread replies for what changed (newly firing, resolved, whole group resolved), each a list of
    mrkdwn lines under ``REPLY_BUDGET`` characters; a storm thread's replies each start with the title."""
    title = [f"*{group_title(state)}*"] if with_title else []
    lines: list[str] = []
    for kind, fps, head in (
        ("firing", change.newly_firing, ":red_circle: Firing"),
        ("resolved", change.resolved, ":large_green_circle: Resolved"),
    ):
        alerts = [state.alerts[fp] for fp in fps if fp in state.alerts]
        if not alerts:
            continue
        alerts.sort(key=lambda a: (a.alertname, a.starts_at, alert_ident(state, a)))
        lines.append(f"{head} ({len(alerts)}):")
        listed = [f"• {alert_line(state, a, when=_alert_when(a))}" for a in alerts[:THREAD_LIST_MAX]]
        if len(alerts) > THREAD_LIST_MAX:
            listed.append(f"…and {len(alerts) - THREAD_LIST_MAX} more {kind} (see Alertmanager)")
        lines += listed
    if change.group_resolved:
        end = state.ended_at or state.resolved_at or datetime.now(UTC)
        lines.append(
            f":white_check_mark: All {len(state.alerts)} alerts resolved after "
            f"{duration(state.started_at, end)}."
        )
    replies: list[list[str]] = []
    current: list[str] = []
    size = 0
    for line in lines:
        line = _clip(line, SECTION_LIMIT)
        if current and size + len(line) + 1 > REPLY_BUDGET:
            replies.append(title + current)
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        replies.append(title + current)
    return replies


def change_lines(state: GroupState, change: Change, *, with_title: bool) -> list[str]:
    """All the reply lines of a change in one list (the replies of :func:`change_replies`, joined)."""
    return [line for reply in change_replies(state, change, with_title=with_title) for line in reply]


def event_lines(state: GroupState, text: str, *, with_title: bool) -> list[str]:
    """A human event in the thread (acknowledged, incident declared); `text` is already mrkdwn-safe."""
    return ([f"*{group_title(state)}*"] if with_title else []) + [text]


def _status_line(state: GroupState) -> str:
    if state.status == "resolved":
        end = state.ended_at or state.resolved_at or datetime.now(UTC)
        return (
            f":white_check_mark: *Resolved* after {duration(state.started_at, end)} (ended {slack_date(end)})"
        )
    since = state.firing_since or state.first_seen
    return f":fire: *Firing* since {slack_date(since, '{date_short_pretty} {time} ({ago})')}"


def group_text(state: GroupState) -> str:
    """Notification fallback text."""
    extra = ", ".join(f"{k}={v}" for k, v in sorted(state.group_labels.items()) if k not in HIDDEN_LABELS)
    return clip_escaped(headline(state, 1000) + (f" · {extra}" if extra else ""), 3000)


def group_blocks(state: GroupState, policy: AlertsPolicy) -> list[Block]:
    severity = state.label(policy.severity_label) or "unknown"
    emoji = (
        ":white_check_mark:"
        if state.status == "resolved"
        else _SEVERITY_EMOJI.get(severity.lower(), ":bell:")
    )
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=headline(state, 150)))]

    # resolved: the status line's own check mark says it (never "✅ ✅")
    body = [_status_line(state) if state.status == "resolved" else f"{emoji} {_status_line(state)}"]
    if not state.mixed or len(state.alertnames(firing_only=True)) == 1:
        summary = state.annotation("summary")
        description = state.annotation("description")
        if summary:
            body.append(f"*{clip_escaped(_one_line(summary), 500)}*")
        if description:
            body.append(clip_escaped(description, 1500))
    blocks.append(SectionBlock(text=MarkdownTextObject(text=_clip("\n".join(body), SECTION_LIMIT))))

    fields = [
        MarkdownTextObject(text=f"*Severity*\n{clip_escaped(severity, 100)}"),
        MarkdownTextObject(text=f"*Alerts*\n{state.firing} firing · {state.resolved} resolved"),
    ]
    for name, value in important_labels(state, policy)[:8]:
        fields.append(MarkdownTextObject(text=f"*{clip_escaped(name, 50)}*\n{clip_escaped(value, 200)}"))
    blocks.append(SectionBlock(fields=fields[:10]))

    listed = _listed(state)
    if policy.root_alert_lines and listed:
        lines = [alert_line(state, a, mark=_mark(a)) for a in listed[: policy.root_alert_lines]]
        lines = _bounded(lines, len(listed), ROOT_LINES_BUDGET, " (see thread)")
        for text in chunk_lines(lines, SECTION_LIMIT):
            blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))

    context: list[MarkdownTextObject] = []
    if state.acked_by:
        when = f" at {slack_date(state.acked_at)}" if state.acked_at else ""
        context.append(MarkdownTextObject(text=f":eyes: Acknowledged by <@{escape(state.acked_by)}>{when}"))
    if state.silence_id and state.silenced_by:
        until = f" until {slack_date(state.silenced_until)}" if state.silenced_until else ""
        context.append(
            MarkdownTextObject(text=f":no_bell: Silenced by <@{escape(state.silenced_by)}>{until}")
        )
    outside = sorted(state.external_silences.values(), key=lambda n: n.ends_at)
    for note in outside[:3]:
        context.append(
            MarkdownTextObject(
                text=f":no_bell: Silenced in Alertmanager by {silencer(note.created_by)} "
                f"until {slack_date(note.ends_at)}"
            )
        )
    if len(outside) > 3:
        context.append(MarkdownTextObject(text=f"…and {len(outside) - 3} more silences"))
    if state.incident_id:
        context.append(MarkdownTextObject(text=f":rotating_light: Incident *{escape(state.incident_id)}*"))
    am_url = policy.alertmanager_for(state.all_labels(), state.external_url) or ""
    if am_url and len(am_url) <= 2000:
        context.append(MarkdownTextObject(text=f"<{escape(am_url)}|Alertmanager>"))
    if context:
        blocks.append(ContextBlock(elements=context))

    buttons: list[ButtonElement] = []
    if state.acked_by is None and state.status == "firing":
        buttons.append(
            ButtonElement(text="Acknowledge", action_id=ACK_ACTION, value=state.gid, style="primary")
        )
    if state.incident_id is None:
        buttons.append(
            ButtonElement(text="Declare incident", action_id=DECLARE_ACTION, value=state.gid, style="danger")
        )
    if state.silence_id:
        buttons.append(ButtonElement(text="Unsilence", action_id=UNSILENCE_ACTION, value=state.gid))
    elif state.status == "firing":
        buttons.append(ButtonElement(text="Silence", action_id=SILENCE_ACTION, value=state.gid))
    runbook = runbook_for(state, policy)
    if runbook and runbook.startswith(("http://", "https://")) and len(runbook) <= 3000:
        buttons.append(ButtonElement(text="Runbook", action_id=RUNBOOK_LINK_ACTION, url=runbook))
    elif runbook:
        buttons.append(ButtonElement(text="Runbook", action_id=RUNBOOK_ACTION, value=_clip(runbook, 200)))
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    return blocks


def incident_title(state: GroupState, limit: int = 150) -> str:
    """An incident title from what fires now: the firing alerts' names, the service, and the summary
    when one alert name fires (plain text, as incident titles are stored)."""
    names = state.alertnames(firing_only=True) or state.alertnames() or ["Alert"]
    title = ", ".join(names)
    service = state.label("service")
    if service:
        title += f" on {service}"
    summary = state.annotation("summary") if len(names) == 1 else ""
    if summary:
        title += f": {_one_line(summary)}"
    return _clip(title, limit)


def runbook_text(runbook: str | None) -> str:
    """The runbook as a mrkdwn line: a link for a URL, the /runbook command for a name."""
    if not runbook:
        return ""
    if runbook.startswith(("http://", "https://")) and len(runbook) <= 2000:
        return f":book: <{escape(runbook)}|Runbook>"
    return f":book: Runbook: `/runbook {_one_line(runbook)[:200]}`"


def incident_summary(state: GroupState, policy: AlertsPolicy, thread_url: str = "") -> list[Block]:
    """What a war room declared from an alert group is told: the group's headline (linked to its alert
    thread), summary, alert lines, runbook and Alertmanager links. Within Slack's limits for any group."""
    head = clip_escaped(headline(state, 150), 300)
    first = (
        f":bell: *Declared from alert* <{escape(thread_url)}|{head}>" if thread_url else f":bell: *{head}*"
    )
    body = [first, _status_line(state)]
    summary = state.annotation("summary")
    if summary and len(state.alertnames(firing_only=True)) <= 1:
        body.append(f"*{clip_escaped(_one_line(summary), 500)}*")
    description = state.annotation("description")
    if description and not state.mixed:
        body.append(clip_escaped(description, 1000))
    out: list[Block] = [SectionBlock(text=MarkdownTextObject(text=_clip("\n".join(body), SECTION_LIMIT)))]
    listed = _listed(state)
    lines = [alert_line(state, a, mark=_mark(a), when=_alert_when(a)) for a in listed[:20]]
    lines = _bounded(lines, len(listed), ROOT_LINES_BUDGET, " (see the alert thread)")
    for text in chunk_lines(lines, SECTION_LIMIT):
        out.append(SectionBlock(text=MarkdownTextObject(text=text)))
    links = [t for t in (runbook_text(runbook_for(state, policy)),) if t]
    am_url = policy.alertmanager_for(state.all_labels(), state.external_url) or ""
    if am_url and len(am_url) <= 2000:
        links.append(f"<{escape(am_url)}|Alertmanager>")
    if links:
        out.append(ContextBlock(elements=[MarkdownTextObject(text=" · ".join(links))]))
    return out


def block_text_size(blocks: Sequence[Block]) -> int:
    """Characters of text a message's blocks carry (what Slack counts against its message limits)."""
    total = 0
    for raw in (b.to_dict() for b in blocks):
        text = raw.get("text")
        if isinstance(text, dict):
            total += len(text.get("text", ""))
        for f in raw.get("fields") or []:
            total += len(f.get("text", ""))
        for el in raw.get("elements") or []:
            if isinstance(el, dict):
                t = el.get("text")
                total += len(t.get("text", "")) if isinstance(t, dict) else len(t or "")
                total += len(el.get("value") or "") + len(el.get("url") or "")
    return total


def storm_text(groups: Sequence[GroupState]) -> str:
    firing = sum(g.firing for g in groups)
    return f"Alert storm: {len(groups)} alert groups, {firing} alerts firing"


# the text a storm summary lists groups in: with the header and intro, well under the ~12,000
# characters Slack takes in one message's blocks (msg_blocks_too_long)
STORM_LIST_BUDGET = 10_000


def storm_blocks(groups: Sequence[GroupState], *, max_sections: int = 40) -> list[Block]:
    firing = sum(g.firing for g in groups)
    resolved = sum(g.resolved for g in groups)
    open_groups = sum(1 for g in groups if g.status == "firing")
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=f"Alert storm: {len(groups)} alert groups")),
        SectionBlock(
            text=MarkdownTextObject(
                text=(
                    f":rotating_light: {open_groups} groups firing · {firing} alerts firing · "
                    f"{resolved} resolved.\n"
                    "Too many new alert groups at once for a thread each: they are listed here and "
                    "every change is posted in this thread."
                )
            )
        ),
    ]
    lines = []
    for g in sorted(groups, key=lambda s: (s.status != "firing", s.first_seen, s.gid)):
        mark = ":red_circle:" if g.status == "firing" else ":white_check_mark:"
        lines.append(f"{mark} *{group_title(g)}* — {g.firing} firing, {g.resolved} resolved")
    sections = list(chunk_lines(lines, SECTION_LIMIT))
    shown: list[str] = []
    size = 0
    for text in sections[:max_sections]:
        if size + len(text) > STORM_LIST_BUDGET:
            break
        shown.append(text)
        size += len(text)
    for text in shown:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))
    if len(sections) > len(shown):
        hidden = sum(t.count("\n") + 1 for t in sections[len(shown) :])
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"…and {hidden} more groups")]))
    return blocks


def chunk_lines(lines: Iterable[str], limit: int = SECTION_LIMIT) -> Iterable[str]:
    """Join lines into texts of at most `limit` characters (a longer line is clipped)."""
    current: list[str] = []
    size = 0
    for line in lines:
        line = _clip(line, limit)
        if current and size + 1 + len(line) > limit:
            yield "\n".join(current)
            current, size = [], 0
        current.append(line)
        size += len(line) + (1 if size else 0)
    if current:
        yield "\n".join(current)
