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
    # True when the bot concluded the alert resolved because a complete notification no longer held it
    # (Alertmanager did not say so): a later notification of the same occurrence may revive it.
    ends_inferred: bool = False

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "")


class SilenceNote(BaseModel):
    """A silence made outside Slack (Alertmanager's UI, amtool) that mutes alerts of the group."""

    model_config = ConfigDict(extra="ignore")

    created_by: str
    ends_at: datetime
    comment: str = ""


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
    # A silence made from Slack for this group (Alertmanager's silence id, who, until when).
    silence_id: str | None = None
    silenced_by: str | None = None
    silenced_until: datetime | None = None
    # Set while a silence is being created from Slack (the watcher leaves the group alone meanwhile).
    silencing_since: datetime | None = None
    # Active silences made outside Slack that mute alerts of this group, by Alertmanager silence id
    # (kept up to date by bot/alerts/silence_watch.py).
    external_silences: dict[str, SilenceNote] = Field(default_factory=dict)

    def firing_alerts(self) -> list[AlertState]:
        return [a for a in self.alerts.values() if a.status == "firing"]

    def alertnames(self, *, firing_only: bool = False) -> list[str]:
        """Distinct alert names (sorted): of the firing alerts, or of every alert of the episode."""
        alerts = self.firing_alerts() if firing_only else list(self.alerts.values())
        return sorted({a.alertname for a in alerts if a.alertname})

    @property
    def mixed(self) -> bool:
        """Whether the group holds more than one alert name (alert lines then name their alert)."""
        return len(self.alertnames()) > 1

    @property
    def firing_since(self) -> datetime | None:
        """The earliest ``startsAt`` of the alerts firing now."""
        starts = [a.starts_at for a in self.firing_alerts()]
        return min(starts) if starts else None

    @property
    def started_at(self) -> datetime:
        """The earliest ``startsAt`` of the episode's alerts (the bot's first sight when none)."""
        starts = [a.starts_at for a in self.alerts.values()]
        return min(starts) if starts else self.first_seen

    @property
    def ended_at(self) -> datetime | None:
        """When the last alert of a resolved episode ended (its ``endsAt``), else None."""
        if self.status != "resolved":
            return None
        ends = [a.ends_at for a in self.alerts.values() if a.ends_at is not None]
        return max(ends) if ends else self.resolved_at

    @property
    def firing(self) -> int:
        return sum(1 for a in self.alerts.values() if a.status == "firing")

    @property
    def resolved(self) -> int:
        return sum(1 for a in self.alerts.values() if a.status == "resolved")

    def _current(self) -> list[AlertState]:
        """The alerts that speak for the group now: the firing ones first (oldest first), then the rest."""
        return sorted(self.alerts.values(), key=lambda a: (a.status != "firing", a.starts_at, a.fingerprint))

    def label(self, name: str) -> str:
        """A label common to the group, else the value the first firing alert carries."""
        if name in self.common_labels:
            return self.common_labels[name]
        if name in self.group_labels:
            return self.group_labels[name]
        for alert in self._current():
            if name in alert.labels:
                return alert.labels[name]
        return ""

    def annotation(self, name: str) -> str:
        """An annotation every alert shares, else the one of the first firing alert that has it."""
        if name in self.common_annotations:
            return self.common_annotations[name]
        for alert in self._current():
            if name in alert.annotations:
                return alert.annotations[name]
        return ""

    @property
    def alertname(self) -> str:
        """What fires now: one name, or the names joined (every name once the group resolved)."""
        names = self.alertnames(firing_only=True) or self.alertnames()
        return ", ".join(names) or "alert"

    def all_labels(self) -> dict[str, str]:
        merged = dict(self.group_labels)
        merged.update(self.common_labels)
        return merged


def entry_seq(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)
