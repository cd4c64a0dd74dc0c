"""Diff a notification (a snapshot of one Alertmanager group) against the group's last known state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.alerts.models import WebhookAlert, WebhookPayload
from bot.alerts.state import AlertState, GroupState, entry_seq, group_id


@dataclass(frozen=True)
class Change:
    """What a notification changed. Empty (``not change``) when nothing worth telling happened."""

    new_episode: bool = False
    newly_firing: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    group_resolved: bool = False
    stale: bool = False
    # True when only details changed (labels/annotations/counts need a re-render, no thread reply).
    rerender: bool = False

    def __bool__(self) -> bool:
        return self.new_episode or bool(self.newly_firing) or bool(self.resolved) or self.group_resolved


def _alert_state(alert: WebhookAlert, now: datetime, previous: AlertState | None) -> AlertState:
    changed = previous is None or previous.status != alert.status
    return AlertState(
        fingerprint=alert.fingerprint,
        status=alert.status,
        labels=dict(alert.labels),
        annotations=dict(alert.annotations),
        starts_at=alert.starts_at,
        ends_at=alert.ends_at if alert.status == "resolved" else None,
        generator_url=alert.generator_url,
        first_seen=previous.first_seen if previous else now,
        last_change=now if changed else previous.last_change,  # type: ignore[union-attr]
    )


def apply_notification(
    old: GroupState | None,
    payload: WebhookPayload,
    *,
    entry_id: str,
    channel: str,
    now: datetime,
) -> tuple[GroupState, Change]:
    """Fold one notification into the group state. Pure: returns the new state and the change.

    * entries older than the last applied one are stale snapshots and change nothing;
    * a firing alert missing from a complete (not truncated) snapshot has been resolved: Alertmanager
      keeps every firing alert of a group in each notification;
    * a group that was fully resolved and fires again starts a new episode (a new thread).
    """
    if old is not None and entry_seq(entry_id) <= entry_seq(old.last_entry):
        return old, Change(stale=True)

    incoming_firing = any(a.status == "firing" for a in payload.alerts)
    new_episode = old is None or (old.status == "resolved" and incoming_firing)
    if old is not None and old.status == "resolved" and not incoming_firing:
        # A repeat of a resolved notification: remember we saw it, nothing to tell.
        return old.model_copy(
            update={"last_entry": entry_id, "notifications": old.notifications + 1}
        ), Change()

    previous_alerts: dict[str, AlertState] = {} if new_episode or old is None else dict(old.alerts)
    alerts = dict(previous_alerts)
    newly_firing: list[str] = []
    resolved: list[str] = []
    seen: set[str] = set()
    for alert in payload.alerts:
        if alert.fingerprint in seen:
            continue
        seen.add(alert.fingerprint)
        prev = previous_alerts.get(alert.fingerprint)
        alerts[alert.fingerprint] = _alert_state(alert, now, prev)
        if alert.status == "firing" and (prev is None or prev.status != "firing"):
            newly_firing.append(alert.fingerprint)
        elif alert.status == "resolved" and (prev is None or prev.status != "resolved"):
            resolved.append(alert.fingerprint)
    if payload.truncated_alerts == 0:
        for fp, prev in previous_alerts.items():
            if fp not in seen and prev.status == "firing":
                alerts[fp] = prev.model_copy(
                    update={"status": "resolved", "ends_at": now, "last_change": now}
                )
                resolved.append(fp)

    status = "firing" if any(a.status == "firing" for a in alerts.values()) else "resolved"
    base = {
        "receiver": payload.receiver,
        "external_url": payload.external_url,
        "group_labels": dict(payload.group_labels),
        "common_labels": dict(payload.common_labels),
        "common_annotations": dict(payload.common_annotations),
        "alerts": alerts,
        "status": status,
        "last_entry": entry_id,
    }
    if new_episode:
        state = GroupState(
            gid=group_id(payload.group_key),
            group_key=payload.group_key,
            channel=old.channel if old is not None else channel,
            episode=(old.episode + 1) if old is not None else 1,
            first_seen=now,
            resolved_at=now if status == "resolved" else None,
            notifications=(old.notifications if old else 0) + 1,
            **base,
        )
    else:
        assert old is not None
        state = old.model_copy(
            update={
                **base,
                "notifications": old.notifications + 1,
                "resolved_at": now if status == "resolved" else None,
            }
        )
    group_resolved = status == "resolved" and (new_episode or (old is not None and old.status == "firing"))
    change = Change(
        new_episode=new_episode,
        newly_firing=newly_firing,
        resolved=resolved,
        group_resolved=group_resolved,
        rerender=not (newly_firing or resolved),
    )
    return state, change
