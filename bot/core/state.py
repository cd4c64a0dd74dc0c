"""The incident state machine: which changes are allowed, and why not when they are not.

Every function takes an incident, returns nothing, mutates it in place and raises ``Refused`` with
a sentence for the user when the change is not allowed. The store applies them atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.config.policy import Policy
from bot.core.models import Decline, Incident, StatusUpdate, TimelineEntry, utcnow


class Refused(Exception):
    """A change the state machine does not allow; the message is shown to the user as it is."""


Change = Callable[[Incident], list[TimelineEntry]]


def _open_statuses(policy: Policy) -> list[str]:
    return [s.name for s in policy.statuses if not s.resolved]


def _not_gone(inc: Incident) -> None:
    """Refuse any change to an incident that was declined or merged into another."""
    if inc.merged_into:
        raise Refused(f"{inc.id} was merged into {inc.merged_into}; work on {inc.merged_into} instead.")
    if inc.declined is not None:
        raise Refused(
            f"{inc.id} was declined in triage ({inc.declined.reason}); declare a new one if needed."
        )


def _not_in_triage(inc: Incident, what: str) -> None:
    if inc.triage:
        raise Refused(
            f"{inc.id} is in triage: accept it first (`/incident accept {inc.id}`) before you {what}, "
            f'or decline it (`/incident decline {inc.id} "reason"`).'
        )


def acknowledge(user: str, at: datetime | None = None) -> Change:
    def change(inc: Incident) -> list[TimelineEntry]:
        _not_gone(inc)
        _not_in_triage(inc, "acknowledge it")
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
        _not_gone(inc)
        if inc.triage and target.resolved:
            _not_in_triage(inc, "resolve it")
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
        _not_gone(inc)
        _not_in_triage(inc, "resolve it")
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
        _not_gone(inc)
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


def accept(policy: Policy, user: str, at: datetime | None = None) -> Change:
    """Triage → the normal flow (the caller then opens the war room and pages)."""

    def change(inc: Incident) -> list[TimelineEntry]:
        _not_gone(inc)
        if not inc.triage:
            who = f" by <@{inc.accepted_by}>" if inc.accepted_by else ""
            raise Refused(f"{inc.id} is not in triage (it was accepted{who} or declared directly).")
        if inc.is_resolved:
            raise Refused(f"{inc.id} is resolved; there is nothing to accept.")
        now = at or utcnow()
        inc.triage = False
        inc.accepted_by, inc.accepted_at = user, now
        inc.status = policy.initial_status
        return [TimelineEntry(at=now, actor=user, kind="accepted", text="Accepted from triage")]

    return change


def decline(policy: Policy, user: str, reason: str, at: datetime | None = None) -> Change:
    """Triage → closed, with the reason; kept out of metrics."""

    def change(inc: Incident) -> list[TimelineEntry]:
        _not_gone(inc)
        if not inc.triage:
            raise Refused(
                f"Only an incident in triage can be declined; {inc.id} is past triage. "
                f"Resolve it instead (`/incident resolve {inc.id}`)."
            )
        if not reason.strip():
            raise Refused('Say why it is declined, e.g. `/incident decline INC-12 "known flaky alert"`.')
        now = at or utcnow()
        inc.triage = False
        inc.declined = Decline(by=user, at=now, reason=reason)
        inc.status = policy.resolved_status
        inc.resolved_at, inc.resolved_by, inc.closed_at = now, user, now
        return [TimelineEntry(at=now, actor=user, kind="declined", text=f"Declined: {reason}")]

    return change


def check_merge(source: Incident, target: Incident) -> None:
    """Why ``source`` cannot be merged into ``target`` (raises ``Refused``), read before any write."""
    if source.id == target.id:
        raise Refused(f"{source.id} cannot be merged into itself.")
    for inc in (source, target):
        _not_gone(inc)
    if source.merged_from and target.id in source.merged_from:
        raise Refused(f"{target.id} was merged into {source.id}; merge the other way round is not possible.")
    if source.closed_at:
        raise Refused(f"{source.id} is closed; its record can no longer change.")
    if target.closed_at or target.is_resolved:
        raise Refused(
            f"{target.id} is resolved; reopen it (`/incident reopen {target.id}`) to merge into it."
        )
    if source.private and not target.private:
        raise Refused(
            f"{source.id} is private and {target.id} is not: merging would show its record to everyone. "
            f"Merge {target.id} into {source.id} instead."
        )
    if target.test and not source.test:
        raise Refused(f"{target.id} is a test incident; a real incident cannot be merged into it.")


def merge_away(policy: Policy, user: str, target: Incident, at: datetime | None = None) -> Change:
    """The merged incident: closed, with a pointer to the one it went into."""

    def change(inc: Incident) -> list[TimelineEntry]:
        check_merge(inc, target)
        now = at or utcnow()
        inc.merged_into = target.id
        inc.triage = False
        inc.status = policy.resolved_status
        inc.resolved_at, inc.resolved_by, inc.closed_at = now, user, now
        inc.summary = inc.summary or f"Merged into {target.id}"
        return [
            TimelineEntry(
                at=now, actor=user, kind="merged", text=f"Merged into {target.id}", data={"into": target.id}
            )
        ]

    return change


def absorb(user: str, source_id: str, at: datetime | None = None) -> Change:
    """The incident another was merged into: records the link (never refused: checked before)."""

    def change(inc: Incident) -> list[TimelineEntry]:
        if source_id not in inc.merged_from:
            inc.merged_from.append(source_id)
        return [
            TimelineEntry(
                at=at or utcnow(),
                actor=user,
                kind="merged",
                text=f"{source_id} was merged into this incident",
                data={"from": source_id},
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
