"""The incident state machine: which changes are allowed, and why not when they are not.

Every function takes an incident, returns nothing, mutates it in place and raises ``Refused`` with
a sentence for the user when the change is not allowed. The store applies them atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.config.policy import Policy
from bot.core.models import Incident, StatusUpdate, TimelineEntry, utcnow


class Refused(Exception):
    """A change the state machine does not allow; the message is shown to the user as it is."""


Change = Callable[[Incident], list[TimelineEntry]]


def _open_statuses(policy: Policy) -> list[str]:
    return [s.name for s in policy.statuses if not s.resolved]


def acknowledge(user: str, at: datetime | None = None) -> Change:
    def change(inc: Incident) -> list[TimelineEntry]:
        if inc.is_resolved:
            raise Refused(f"{inc.id} is already resolved.")
        if inc.acknowledged_by:
            raise Refused(f"{inc.id} was already acknowledged by <@{inc.acknowledged_by}>.")
        inc.acknowledged_by = user
        inc.acknowledged_at = at or utcnow()
        if "commander" not in inc.roles:
            inc.roles["commander"] = user
        return [TimelineEntry(at=inc.acknowledged_at, actor=user, kind="acknowledged", text="Acknowledged")]

    return change


def update_status(policy: Policy, user: str, status: str, message: str, at: datetime | None = None) -> Change:
    def change(inc: Incident) -> list[TimelineEntry]:
        target = policy.status(status)
        names = ", ".join(s.name for s in policy.statuses)
        if target is None:
            raise Refused(f"`{status}` is not a status. Use one of: {names}.")
        if inc.closed_at:
            raise Refused(f"{inc.id} is closed; its record can no longer change.")
        if inc.is_resolved:
            raise Refused(f"{inc.id} is resolved. Reopen it first with `/incident reopen {inc.id}`.")
        now = at or utcnow()
        previous = inc.status
        number = len(inc.updates) + 1
        inc.updates.append(StatusUpdate(number=number, status=target.name, message=message, by=user, at=now))
        inc.status = target.name
        order = [s.name for s in policy.statuses]
        if (
            inc.mitigated_at is None
            and "monitoring" in order
            and order.index(target.name) >= order.index("monitoring")
        ):
            inc.mitigated_at = now
        if target.resolved:
            inc.resolved_at, inc.resolved_by = now, user
            inc.summary = inc.summary or message
        verb = "Status" if previous == target.name else f"Status {previous} → {target.name}"
        return [
            TimelineEntry(
                at=now,
                actor=user,
                kind="status",
                text=f"{verb}: {message}",
                data={"number": number, "status": target.name, "previous": previous},
            )
        ]

    return change


def resolve(policy: Policy, user: str, summary: str | None, at: datetime | None = None) -> Change:
    def change(inc: Incident) -> list[TimelineEntry]:
        if inc.is_resolved:
            raise Refused(f"{inc.id} is already resolved (by <@{inc.resolved_by}>).")
        now = at or utcnow()
        inc.status = policy.resolved_status
        inc.resolved_at, inc.resolved_by = now, user
        if summary:
            inc.summary = summary
        if inc.mitigated_at is None:
            inc.mitigated_at = now
        return [
            TimelineEntry(at=now, actor=user, kind="resolved", text=f"Resolved: {summary or 'no summary'}")
        ]

    return change


def reopen(policy: Policy, user: str, at: datetime | None = None) -> Change:
    def change(inc: Incident) -> list[TimelineEntry]:
        if inc.closed_at:
            raise Refused(f"{inc.id} is closed; declare a new incident instead.")
        if not inc.is_resolved:
            raise Refused(f"{inc.id} is not resolved; there is nothing to reopen.")
        inc.status = policy.initial_status
        inc.resolved_at = inc.resolved_by = None
        return [TimelineEntry(at=at or utcnow(), actor=user, kind="reopened", text="Reopened")]

    return change


def assign_role(policy: Policy, user: str, role: str, assignee: str) -> Change:
    def change(inc: Incident) -> list[TimelineEntry]:
        found = policy.role(role)
        if found is None:
            names = ", ".join(r.name.replace("_", "-") for r in policy.roles)
            raise Refused(f"`{role}` is not a role. Roles: {names}.")
        if inc.closed_at:
            raise Refused(f"{inc.id} is closed.")
        inc.roles[found.name] = assignee
        return [
            TimelineEntry(
                actor=user,
                kind="role",
                text=f"{found.label}: <@{assignee}>",
                data={"role": found.name, "user": assignee},
            )
        ]

    return change


def add_note(user: str, text: str) -> Change:
    def change(inc: Incident) -> list[TimelineEntry]:
        return [TimelineEntry(actor=user, kind="note", text=text)]

    return change


def record(entry: TimelineEntry) -> Change:
    """A timeline entry with no state change (alerts, pages, pinned messages...)."""

    def change(inc: Incident) -> list[TimelineEntry]:
        return [entry]

    return change
