"""The post-incident review as a Markdown document: a pure function of the incident, its timeline,
its action items and people's names, through the policy's template."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.config.policy import Policy
from bot.config.review import DEFAULT_REVIEW_TEMPLATE
from bot.core.models import Incident, TimelineEntry
from bot.incidents import fields as incident_fields
from bot.incidents.views import template_context
from bot.review.markdown import MarkdownSafe, TemplateFailure, md_escape, md_link, render_markdown
from bot.review.names import is_user_id, mentioned_users, slack_to_plain
from bot.review.records import ActionItem

PINNED = "pinned"


@dataclass
class Participant:
    user_id: str
    name: str
    roles: list[str] = field(default_factory=list)


def people_in(inc: Incident, timeline: list[TimelineEntry], actions: list[ActionItem]) -> list[str]:
    """Every user id the review names, for one batch of name look-ups."""
    ids = [inc.created_by, *inc.roles.values(), inc.acknowledged_by or "", inc.resolved_by or ""]
    for e in timeline:
        ids.append(e.actor)
        ids += mentioned_users(e.text)
    for a in actions:
        ids += [a.owner or "", a.created_by, *mentioned_users(a.text)]
    ids += [u.by for u in inc.updates]
    ids += list(inc.fields.values())  # user fields hold user IDs; is_user_id keeps only those
    return [i for i in dict.fromkeys(ids) if is_user_id(i)]


def person(user_id: str, names: dict[str, str]) -> str:
    return names.get(user_id, user_id) if is_user_id(user_id) else user_id


def event_text(entry: TimelineEntry, names: dict[str, str]) -> str:
    """The timeline entry as one Markdown-safe line (pinned messages link back to Slack)."""
    text = md_escape(slack_to_plain(entry.text, names))
    if entry.kind != PINNED:
        return MarkdownSafe(text)
    link = entry.data.get("permalink")
    pinned = f"Pinned message: “{text}”"
    return MarkdownSafe(f"{pinned} {md_link('message', str(link))}" if link else pinned)


def timeline_rows(timeline: list[TimelineEntry], names: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "at": e.at,
            "kind": e.kind,
            "event": event_text(e, names),
            "person": person(e.actor, names),
            "actor": e.actor,
        }
        for e in timeline
    ]


def participants(
    policy: Policy,
    inc: Incident,
    timeline: list[TimelineEntry],
    actions: list[ActionItem],
    names: dict[str, str],
) -> list[Participant]:
    found: dict[str, Participant] = {}

    def add(uid: str | None, role: str | None = None) -> None:
        if not is_user_id(uid):
            return
        assert uid is not None
        p = found.setdefault(uid, Participant(uid, person(uid, names)))
        if role and role not in p.roles:
            p.roles.append(role)

    add(inc.created_by, "reporter")
    for role, uid in inc.roles.items():
        found_role = policy.role(role)
        add(uid, found_role.label if found_role else role.replace("_", " "))
    add(inc.acknowledged_by, "acknowledged")
    for u in inc.updates:
        add(u.by, "status updates")
    add(inc.resolved_by, "resolved")
    for e in timeline:
        add(e.actor)
    for a in actions:
        add(a.owner, "action owner")
    return list(found.values())


def review_context(
    policy: Policy,
    inc: Incident,
    timeline: list[TimelineEntry],
    actions: list[ActionItem],
    names: dict[str, str],
    *,
    generated_at: datetime,
    meeting_at: datetime | None,
) -> dict[str, Any]:
    base = template_context(policy, inc)
    return {
        **base,
        "timeline": timeline_rows(timeline, names),
        "participants": participants(policy, inc, timeline, actions, names),
        "actions": [
            {
                "number": a.number,
                "text": slack_to_plain(a.text, names),
                "owner": a.owner,
                "due": a.due.isoformat() if a.due else None,
                "issue": a.issue.model_dump(include={"tracker", "key", "url", "state"}) if a.issue else None,
            }
            for a in actions
        ],
        "generated_at": generated_at,
        "meeting_at": meeting_at,
        "summary": slack_to_plain(inc.summary or "", names),
        # the incident type and its custom fields (policy incidents.types), people by name
        "incident_fields": [
            {"label": label, "value": slack_to_plain(value, names)}
            for label, value in incident_fields.pairs(policy, inc)
        ],
    }


def render_review(
    policy: Policy,
    inc: Incident,
    timeline: list[TimelineEntry],
    actions: list[ActionItem],
    names: dict[str, str],
    *,
    generated_at: datetime,
    meeting_at: datetime | None = None,
) -> tuple[str, str | None]:
    """The Markdown review, and a warning when the policy's template failed (default used then)."""
    ctx = review_context(
        policy, inc, timeline, actions, names, generated_at=generated_at, meeting_at=meeting_at
    )
    try:
        return render_markdown(policy.review.template, ctx, names), None
    except TemplateFailure as exc:
        return render_markdown(DEFAULT_REVIEW_TEMPLATE, ctx, names), str(exc)
