"""The catch-up summary: where an incident stands and what changed since the reader last looked.

Pure: the incident, its timeline entries since the mark, and the mark in; Block Kit out, within a
message's limits (50 blocks, 3000 characters a section) however long the timeline is. Times are
Slack date tokens, so each reader sees them in their own time zone.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import Block, DividerBlock

from bot.blocks import clip, context, escape, fields, header, limit_blocks, section
from bot.config.policy import Policy
from bot.core.models import Incident, TimelineEntry
from bot.templates import slack_date, user_link
from bot.text import mrkdwn

LINE_MAX = 400  # characters of one timeline entry's text
PER_GROUP = 8  # entries shown per group (the latest ones)

# timeline kinds by what a reader cares about, in the order they are shown
GROUPS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("Status updates", ":mega:", frozenset({"status"})),
    ("Role changes", ":busts_in_silhouette:", frozenset({"role"})),
    (
        "Escalations",
        ":arrow_double_up:",
        frozenset({"escalated", "paged", "escalation_acknowledged", "page_failed"}),
    ),
    ("Alerts", ":bell:", frozenset({"alert"})),
    ("Diagnostics", ":stethoscope:", frozenset({"diagnostics", "remediation"})),
)
OTHER = ("Other changes", ":memo:")


def group_of(kind: str) -> str:
    for label, _, kinds in GROUPS:
        if kind in kinds:
            return label
    return OTHER[0]


def _actor(actor: str) -> str:
    return str(user_link(actor)) if actor[:1] in "UW" else escape(actor)


def _role_label(policy: Policy, role: str) -> str:
    found = policy.role(role)
    return found.label if found else role.replace("_", " ")


def entry_line(entry: TimelineEntry) -> str:
    # timeline text is Slack text: mentions stay live, broadcasts inert, cut between tokens
    return f"• {slack_date(entry.at, '{date_short_pretty} {time}')} {_actor(entry.actor)}: {mrkdwn(entry.text, LINE_MAX)}"


def _group_section(label: str, emoji: str, entries: list[TimelineEntry]) -> Block:
    shown = entries[-PER_GROUP:]
    head = f"{emoji} *{label}* ({len(entries)})"
    lines = [entry_line(e) for e in shown]
    earlier = len(entries) - len(shown)
    if earlier:
        lines.insert(0, f"_{earlier} earlier not shown_")
    body = head + "\n" + "\n".join(lines)
    while len(body) > 3000 and len(lines) > 1:  # long entries: fewer of them, never a cut token
        lines.pop(1 if earlier else 0)
        body = head + "\n" + "\n".join(lines)
    return section(body)


def summary(
    policy: Policy,
    inc: Incident,
    new: list[TimelineEntry],
    since: datetime | None,
    *,
    total: int,
) -> list[Block]:
    """The reader's catch-up: status, severity, roles, the latest update, then what changed since
    ``since`` (their last look; None: everything so far), grouped."""
    sev = policy.severity_by_name(inc.severity)
    status = policy.status_by_name(inc.status)
    roles = ", ".join(f"{escape(_role_label(policy, r))}: {user_link(u)}" for r, u in inc.roles.items())
    pairs = [
        ("Status", f"{status.emoji} {escape(status.label)}".strip()),
        ("Severity", f"{sev.emoji} {escape(sev.label)}".strip()),
        ("Roles", roles or "none assigned"),
        ("War room", f"<#{inc.war_room.channel_id}>" if inc.war_room else "none"),
    ]
    blocks: list[Block] = [header(f"Catch up: {inc.id} {inc.title}"), fields(pairs)]
    if inc.updates:
        last = inc.updates[-1]
        blocks.append(
            section(
                f"*Latest update* (#{last.number}, {escape(last.status)}, {user_link(last.by)} "
                f"{slack_date(last.at)}):\n{mrkdwn(last.message, 2500)}"
            )
        )
    else:
        blocks.append(section("*Latest update:* none yet."))
    blocks.append(DividerBlock())
    if since is None:
        blocks.append(
            section(f"*Everything so far* ({total} timeline entries since {slack_date(inc.created_at)})")
        )
    elif not new:
        blocks.append(
            section(f":white_check_mark: *Nothing new* since you last looked, {slack_date(since)}.")
        )
    else:
        blocks.append(
            section(
                f"*Since you last looked* ({slack_date(since)}): {len(new)} {'change' if len(new) == 1 else 'changes'}"
            )
        )
    buckets: dict[str, list[TimelineEntry]] = {}
    for entry in new:
        buckets.setdefault(group_of(entry.kind), []).append(entry)
    for label, emoji, _ in GROUPS:
        if buckets.get(label):
            blocks.append(_group_section(label, emoji, buckets[label]))
    if buckets.get(OTHER[0]):
        blocks.append(_group_section(OTHER[0], OTHER[1], buckets[OTHER[0]]))
    blocks.append(context(clip(f"Full timeline: `/incident timeline {inc.id}` · only you can see this", 300)))
    return limit_blocks(blocks)


def summary_text(inc: Incident, new: list[TimelineEntry]) -> str:
    return clip(f"Catch up on {inc.id}: {len(new)} {'change' if len(new) == 1 else 'changes'}", 3000)
