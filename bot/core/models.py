"""The incident and its timeline. No Slack in here: plain data, stored as JSON in Redis."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field


def utcnow() -> datetime:
    return datetime.now(UTC)


class MessageRef(BaseModel):
    channel: str
    ts: str


class WarRoom(BaseModel):
    channel_id: str
    name: str


class AlertLink(BaseModel):
    """An alert group the incident was declared from: its headline and its Slack thread."""

    gid: str
    title: str
    url: str = ""  # permalink of the alert group's root message ("" when not known)


class StatusUpdate(BaseModel):
    number: int
    status: str
    message: str
    by: str
    at: datetime


class TimelineEntry(BaseModel):
    at: datetime = Field(default_factory=utcnow)
    actor: str  # a Slack user id, or "bot" / "alertmanager" for automatic events
    kind: str  # created, acknowledged, status, note, role, resolved, reopened, escalated, ...
    text: str
    data: dict[str, Any] = Field(default_factory=dict)


class Decline(BaseModel):
    """Why an incident in triage was declined, by whom and when (kept out of metrics)."""

    by: str
    at: datetime
    reason: str


class Incident(BaseModel):
    id: str
    number: int
    title: str
    severity: str
    status: str
    service: str | None = None
    created_by: str
    created_at: datetime = Field(default_factory=utcnow)
    origin_channel: str | None = None
    announcement: MessageRef | None = None
    war_room: WarRoom | None = None
    war_room_message: MessageRef | None = None
    roles: dict[str, str] = Field(default_factory=dict)
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    summary: str | None = None
    updates: list[StatusUpdate] = Field(default_factory=list)
    escalations: int = 0
    alert_groups: list[str] = Field(default_factory=list)
    alert_links: list[AlertLink] = Field(default_factory=list)
    closed_at: datetime | None = None
    private: bool = False  # a private war room; nothing but a stub in public channels
    test: bool = False  # a drill: no pages, no status page, kept out of metrics
    triage: bool = False  # declared for triage: waits for accept or decline
    accepted_by: str | None = None
    accepted_at: datetime | None = None
    declined: Decline | None = None
    merged_into: str | None = None
    merged_from: list[str] = Field(default_factory=list)
    type: str | None = None  # one of the policy's incidents.types
    fields: dict[str, str] = Field(default_factory=dict)  # that type's custom fields, by name
    version: int = 0

    @property
    def is_resolved(self) -> bool:
        return self.resolved_at is not None

    @property
    def stage(self) -> str:
        """``triage``, ``declined``, ``merged`` or ``active`` (then ``status`` says how far it is)."""
        if self.merged_into:
            return "merged"
        if self.declined is not None:
            return "declined"
        return "triage" if self.triage else "active"

    @property
    def in_metrics(self) -> bool:
        """Counted in response metrics: not a test, not declined, not merged into another."""
        return not (self.test or self.declined is not None or self.merged_into)

    @property
    def commander(self) -> str | None:
        return self.roles.get("commander")

    @property
    def last_update_at(self) -> datetime:
        return self.updates[-1].at if self.updates else self.created_at

    def elapsed(self, start: datetime | None, end: datetime | None) -> float | None:
        if start is None or end is None:
            return None
        return (end - start).total_seconds()

    @property
    def time_to_acknowledge(self) -> float | None:
        return self.elapsed(self.created_at, self.acknowledged_at)

    @property
    def time_to_mitigate(self) -> float | None:
        return self.elapsed(self.created_at, self.mitigated_at)

    @property
    def time_to_resolve(self) -> float | None:
        return self.elapsed(self.created_at, self.resolved_at)
