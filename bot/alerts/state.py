"""Durable state of one alert group (one Alertmanager groupKey), stored as JSON in Redis."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["firing", "resolved"]


def group_id(group_key: str) -> str:
    """Stable short id of an Alertmanager groupKey (used in Redis hash tags and button values)."""
    return hashlib.sha256(group_key.encode()).hexdigest()[:20]


class AlertState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    fingerprint: str
    status: Status
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime
    ends_at: datetime | None = None
    generator_url: str = ""
    first_seen: datetime
    last_change: datetime


class GroupState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    gid: str
    group_key: str
    channel: str
    episode: int = 1
    status: Status = "firing"
    receiver: str = ""
    external_url: str = ""
    group_labels: dict[str, str] = Field(default_factory=dict)
    common_labels: dict[str, str] = Field(default_factory=dict)
    common_annotations: dict[str, str] = Field(default_factory=dict)
    alerts: dict[str, AlertState] = Field(default_factory=dict)
    first_seen: datetime
    resolved_at: datetime | None = None
    # Last stream entry applied (monotonic stream ids: older entries are stale snapshots).
    last_entry: str = "0-0"
    notifications: int = 0
    # Outbox thread this episode posts into: "ag:<gid>:<episode>" or a storm thread "storm:<sid>".
    thread: str = ""
    storm: str | None = None
    acked_by: str | None = None
    acked_at: datetime | None = None
    incident_id: str | None = None

    @property
    def firing(self) -> int:
        return sum(1 for a in self.alerts.values() if a.status == "firing")

    @property
    def resolved(self) -> int:
        return sum(1 for a in self.alerts.values() if a.status == "resolved")

    def label(self, name: str) -> str:
        """A label common to the group, else the value the first alert carries."""
        if name in self.common_labels:
            return self.common_labels[name]
        if name in self.group_labels:
            return self.group_labels[name]
        for alert in self.alerts.values():
            if name in alert.labels:
                return alert.labels[name]
        return ""

    def annotation(self, name: str) -> str:
        if name in self.common_annotations:
            return self.common_annotations[name]
        for alert in self.alerts.values():
            if name in alert.annotations:
                return alert.annotations[name]
        return ""

    @property
    def alertname(self) -> str:
        return self.label("alertname") or "alert"

    def all_labels(self) -> dict[str, str]:
        merged = dict(self.group_labels)
        merged.update(self.common_labels)
        return merged


def entry_seq(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)
