"""Pure functions: alert group state → Slack Block Kit (slack_sdk.models), re-renderable at any time."""

from __future__ import annotations

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

SECTION_LIMIT = 2900  # Slack allows 3000 characters per section text
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


def duration(start: datetime, end: datetime) -> str:
    return format_duration(end - start)


def runbook_for(state: GroupState, policy: AlertsPolicy) -> str | None:
    url = state.annotation("runbook_url")
    if url:
        return url
    return policy.runbooks.get(state.alertname)


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


def group_title(state: GroupState) -> str:
    """`AlertName · k=v, k=v` from the group labels: how thread replies name the group (mrkdwn-safe)."""
    extra = ", ".join(f"{k}={v}" for k, v in sorted(state.group_labels.items()) if k not in HIDDEN_LABELS)
    title = state.alertname + (f" · {extra}" if extra else "")
    return escape(_clip(title, 200))


def alert_ident(state: GroupState, alert: AlertState) -> str:
    """What tells this alert apart from the rest of its group: labels beyond the group's labels."""
    skip = set(state.group_labels) | HIDDEN_LABELS
    distinct = [f"{k}={v}" for k, v in sorted(alert.labels.items()) if k not in skip and k != "severity"]
    common = state.common_labels
    narrowed = [p for p in distinct if p.split("=", 1)[0] not in common] or distinct
    ident = ", ".join(narrowed[:4]) if narrowed else alert.fingerprint
    return escape(_clip(ident, 300))


def _wrap(prefix: str, items: Sequence[str], limit: int = SECTION_LIMIT) -> list[str]:
    """`prefix item, item, …` split into lines that each fit in one section."""
    lines: list[str] = []
    current = prefix
    for item in items:
        piece = f"`{item}`"
        candidate = piece if current == prefix else f", {piece}"
        if len(current) + len(candidate) > limit and current != prefix:
            lines.append(current)
            current = f"{prefix}{piece}"
        else:
            current = f"{current}{candidate}" if current != prefix else f"{prefix}{piece}"
    if current != prefix:
        lines.append(current)
    return lines


def change_lines(state: GroupState, change: Change, *, with_title: bool) -> list[str]:
    """Thread reply lines for what changed (newly firing, resolved, whole group resolved)."""
    lines: list[str] = [f"*{group_title(state)}*"] if with_title else []
    firing = [alert_ident(state, state.alerts[fp]) for fp in change.newly_firing if fp in state.alerts]
    resolved = [alert_ident(state, state.alerts[fp]) for fp in change.resolved if fp in state.alerts]
    if firing:
        lines += _wrap(f":red_circle: Firing ({len(firing)}): ", firing)
    if resolved:
        lines += _wrap(f":large_green_circle: Resolved ({len(resolved)}): ", resolved)
    if change.group_resolved:
        end = state.resolved_at or datetime.now(UTC)
        lines.append(
            f":white_check_mark: All {len(state.alerts)} alerts resolved after "
            f"{duration(state.first_seen, end)}."
        )
    return lines


def event_lines(state: GroupState, text: str, *, with_title: bool) -> list[str]:
    """A human event in the thread (acknowledged, incident declared); `text` is already mrkdwn-safe."""
    return ([f"*{group_title(state)}*"] if with_title else []) + [text]


def _status_line(state: GroupState) -> str:
    if state.status == "resolved":
        end = state.resolved_at or datetime.now(UTC)
        return f":white_check_mark: *Resolved* after {duration(state.first_seen, end)}"
    return f":fire: *Firing* since {slack_date(state.first_seen)}"


def group_text(state: GroupState) -> str:
    """Notification fallback text."""
    word = "RESOLVED" if state.status == "resolved" else f"FIRING:{state.firing}"
    return _clip(f"[{word}] {group_title(state)}", 3000)


def group_blocks(state: GroupState, policy: AlertsPolicy) -> list[Block]:
    severity = state.label(policy.severity_label) or "unknown"
    emoji = (
        ":white_check_mark:"
        if state.status == "resolved"
        else _SEVERITY_EMOJI.get(severity.lower(), ":bell:")
    )
    word = "RESOLVED" if state.status == "resolved" else f"FIRING:{state.firing}"
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=_clip(f"[{word}] {state.alertname}", 150)))]

    summary = state.annotation("summary")
    description = state.annotation("description")
    body = [f"{emoji} {_status_line(state)}"]
    if summary:
        body.append(f"*{escape(_clip(summary, 500))}*")
    if description:
        body.append(escape(_clip(description, 1500)))
    blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(body))))

    fields = [
        MarkdownTextObject(text=f"*Severity*\n{escape(_clip(severity, 100))}"),
        MarkdownTextObject(text=f"*Alerts*\n{state.firing} firing · {state.resolved} resolved"),
    ]
    for name, value in important_labels(state, policy)[:8]:
        fields.append(MarkdownTextObject(text=f"*{escape(_clip(name, 50))}*\n{escape(_clip(value, 200))}"))
    blocks.append(SectionBlock(fields=fields[:10]))

    listed = sorted(state.alerts.values(), key=lambda a: (a.status != "firing", a.starts_at, a.fingerprint))
    if policy.root_alert_lines and listed:
        lines = []
        for alert in listed[: policy.root_alert_lines]:
            mark = ":red_circle:" if alert.status == "firing" else ":large_green_circle:"
            lines.append(f"{mark} `{alert_ident(state, alert)}`")
        if len(listed) > policy.root_alert_lines:
            lines.append(f"…and {len(listed) - policy.root_alert_lines} more (see thread)")
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_clip("\n".join(lines), SECTION_LIMIT))))

    context: list[MarkdownTextObject] = []
    if state.acked_by:
        when = f" at {slack_date(state.acked_at)}" if state.acked_at else ""
        context.append(MarkdownTextObject(text=f":eyes: Acknowledged by <@{escape(state.acked_by)}>{when}"))
    if state.incident_id:
        context.append(MarkdownTextObject(text=f":rotating_light: Incident *{escape(state.incident_id)}*"))
    if state.external_url.startswith(("http://", "https://")):
        context.append(MarkdownTextObject(text=f"<{escape(state.external_url)}|Alertmanager>"))
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
    runbook = runbook_for(state, policy)
    if runbook and runbook.startswith(("http://", "https://")) and len(runbook) <= 3000:
        buttons.append(ButtonElement(text="Runbook", action_id=RUNBOOK_LINK_ACTION, url=runbook))
    elif runbook:
        buttons.append(ButtonElement(text="Runbook", action_id=RUNBOOK_ACTION, value=_clip(runbook, 2000)))
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    return blocks


def storm_text(groups: Sequence[GroupState]) -> str:
    firing = sum(g.firing for g in groups)
    return f"Alert storm: {len(groups)} alert groups, {firing} alerts firing"


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
    shown = sections[:max_sections]
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
