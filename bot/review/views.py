"""Views for after the incident: the full timeline, action items, stats, the review reply, and the
"Create review" button on resolved incidents. Pure functions of their inputs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, Option, StaticSelectElement

from bot.blocks import MAX_BLOCKS, context, fields, header, section, sections
from bot.config.policy import Policy
from bot.core.models import Incident, TimelineEntry
from bot.durations import format_duration
from bot.incidents.views import incident_button
from bot.review.records import ActionItem, Review
from bot.review.stats import Stats
from bot.slack.limits import MESSAGE_TEXT_BUDGET, split_blocks
from bot.templates import escape, slack_date, user_link
from bot.text import mrkdwn

CREATE_REVIEW = "review_create"
EXPORT_ACTION = "review_action_export"  # + "_<tracker>"; value (or chosen option): "<INC>:<number>"
TRACKER_LABELS = {"github": "GitHub", "jira": "Jira"}
MAX_PAGES = 5  # a response_url takes five messages


@incident_button
def review_button(policy: Policy, inc: Incident) -> list[Any]:
    if inc.is_resolved and not inc.closed_at:
        return [ButtonElement(text="Create review", action_id=CREATE_REVIEW, value=inc.id)]
    return []


def _actor(actor: str) -> str:
    return user_link(actor) if actor[:1] in "UW" and actor[1:].isalnum() else escape(actor)


def timeline_line(e: TimelineEntry) -> str:
    text = mrkdwn(e.text)  # timeline text is Slack text: mentions and links live, broadcasts inert
    if e.kind == "pinned":
        link = e.data.get("permalink")
        pin = f"<{link}|:pushpin:>" if link else ":pushpin:"
        text = f"{pin} “{text}”"
    return f"• {slack_date(e.at, '{date_short} {time_secs}')} {_actor(e.actor)}: {text}"


def timeline_pages(inc: Incident, entries: list[TimelineEntry]) -> list[list[Block]]:
    """The whole timeline as messages within Block Kit limits (sections of 3000, 50 blocks each)."""
    body = sections("\n".join(timeline_line(e) for e in entries)) if entries else [section("_empty_")]
    # a page is one message: at most 50 blocks and about 12,000 characters of block text in all
    # (Slack answers msg_blocks_too_long past that), header and footer included
    groups = split_blocks(body, MESSAGE_TEXT_BUDGET - 500)
    chunks = [[b for b in map(Block.parse, group) if b is not None] for group in groups] or [[]]
    chunks = [c[i : i + MAX_BLOCKS - 2] for c in chunks for i in range(0, len(c), MAX_BLOCKS - 2)]
    # a response_url takes five messages: past that the latest pages are shown (what happened last
    # matters most during an incident) and the first says where the earlier entries are
    first = max(0, len(chunks) - MAX_PAGES)
    pages: list[list[Block]] = []
    for n, chunk in enumerate(chunks[first:], start=first + 1):
        page: list[Block] = []
        if n == first + 1:
            page.append(header(f"{inc.id} timeline ({counted(len(entries), 'entry', 'entries')})"))
        page.extend(chunk)
        if len(chunks) > 1:
            more = ""
            if n == first + 1 and first:
                more = f" · pages 1–{first} (the earliest entries) are not shown: the review file has the whole timeline"
            page.append(context(f"page {n} of {len(chunks)}{more}"))
        pages.append(page)
    return pages


def action_line(a: ActionItem) -> str:
    extra = []
    if a.owner:
        extra.append(f"owner {user_link(a.owner)}")
    if a.due:
        extra.append(f"due {a.due.isoformat()}")
    tail = f" ({', '.join(extra)})" if extra else ""
    return f"*#{a.number}* {mrkdwn(a.text)}{tail}{issue_note(a)}"


def issue_note(a: ActionItem) -> str:
    """`` · <link|acme/ops#12> open`` for an exported item, else nothing."""
    if a.issue is None:
        return ""
    mark = ":white_check_mark: closed" if a.issue.state == "closed" else ":large_green_circle: open"
    return f" · <{a.issue.url}|{escape(a.issue.key)}> {mark}"


def export_action_id(tracker: str) -> str:
    return f"{EXPORT_ACTION}_{tracker}"


def export_buttons(inc: Incident, items: list[ActionItem], trackers: Sequence[str]) -> list[Block]:
    """For one item not yet exported: an "Export to <tracker>" button per tracker. For several: a
    menu per tracker with the items not yet exported (action IDs stay unique within the block)."""
    waiting = [a for a in items if a.issue is None]
    if not waiting or not trackers:
        return []
    elements: list[Any] = []
    for t in trackers:
        label = TRACKER_LABELS.get(t, t)
        if len(waiting) == 1:
            elements.append(
                ButtonElement(
                    text=f"Export #{waiting[0].number} to {label}",
                    action_id=export_action_id(t),
                    value=f"{inc.id}:{waiting[0].number}",
                )
            )
        else:
            options = [
                Option(value=f"{inc.id}:{a.number}", text=f"#{a.number} {plain_text(a.text)}"[:75])
                for a in waiting[:100]
            ]
            elements.append(
                StaticSelectElement(
                    placeholder=f"Export to {label}…", action_id=export_action_id(t), options=options
                )
            )
    return [ActionsBlock(elements=elements)]


def plain_text(text: str) -> str:
    return " ".join(text.split())


def action_added(inc: Incident, item: ActionItem, trackers: Sequence[str] | None = None) -> list[Block]:
    shown: list[Block] = [
        section(f":ballot_box_with_check: Action item added to {inc.id}: {action_line(item)}")
    ]
    return shown + export_buttons(inc, [item], trackers or [])


def action_exported(inc: Incident, item: ActionItem) -> list[Block]:
    assert item.issue is not None
    where = TRACKER_LABELS.get(item.issue.tracker, item.issue.tracker)
    return [
        section(
            f":outbox_tray: Action item #{item.number} of {inc.id} is now tracked in {where}: "
            f"<{item.issue.url}|{escape(item.issue.key)}>"
        )
    ]


def action_list(inc: Incident, items: list[ActionItem], trackers: Sequence[str] | None = None) -> list[Block]:
    if not items:
        return [
            section(
                f"{inc.id} has no action items yet. Add one: "
                f"`/incident action {inc.id} <text> [@owner] [due YYYY-MM-DD]`"
            )
        ]
    buttons = export_buttons(inc, items, trackers or [])
    body = [header(f"{inc.id} action items ({len(items)})"), *sections("\n".join(map(action_line, items)))]
    return [*body[: MAX_BLOCKS - len(buttons)], *buttons]


def review_created(inc: Incident, review: Review, shared_in: str | None) -> list[Block]:
    where = f" and shared in <#{shared_in}>" if shared_in else " (saved; not shared in Slack)"
    lines = [f":memo: Post-incident review v{review.version} for *{inc.id}* generated{where}."]
    if review.meeting_at:
        lines.append(f"Review meeting proposed for {slack_date(review.meeting_at)} (calendar file attached).")
    lines.append(f"When it is done: `/incident close {inc.id}` archives the war room.")
    return [section("\n".join(lines))]


def counted(n: int, one: str, many: str | None = None) -> str:
    """``1 incident``, ``2 incidents``, ``1 entry``, ``3 entries``."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def stats_blocks(policy: Policy, stats: Stats) -> list[Block]:
    total = stats.total
    blocks: list[Block] = [
        header(f"Incidents, last {stats.days} days"),
        section(
            f"*{total.count}* declared · *{total.resolved}* resolved · "
            f"mean time to acknowledge *{format_duration(total.mean_tta)}* · "
            f"mean time to resolve *{format_duration(total.mean_ttr)}*"
        ),
    ]
    pairs = []
    for s in stats.by_severity:
        sev = policy.severity_by_name(s.severity)
        pairs.append(
            (
                f"{sev.emoji} {sev.label or sev.name}".strip(),
                f"{counted(s.count, 'incident')} · TTA {format_duration(s.mean_tta)} · TTR {format_duration(s.mean_ttr)}",
            )
        )
    for i in range(0, len(pairs), 10):
        blocks.append(fields(pairs[i : i + 10]))
    blocks.append(
        context(
            f"From {slack_date(stats.since)} to {slack_date(stats.until)}. Means over the incidents "
            "acknowledged / resolved in the period."
        )
    )
    return blocks[:MAX_BLOCKS]


def stats_text(policy: Policy, stats: Stats) -> str:
    """The same figures as one plain message (the chart's comment)."""
    lines = [f"Incidents in the last {stats.days} days:"]
    for s in stats.by_severity:
        label = policy.severity_by_name(s.severity).label or s.severity
        lines.append(
            f"{label}: {s.count} (TTA {format_duration(s.mean_tta)}, TTR {format_duration(s.mean_ttr)})"
        )
    return "\n".join(lines)
