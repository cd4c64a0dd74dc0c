"""Diff a notification (a snapshot of one Alertmanager group) against the group's last known state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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


def _ends(alert: WebhookAlert, now: datetime) -> tuple[datetime, bool]:
    """A resolved alert's own end (``endsAt``), or ``now`` (inferred) when Alertmanager left it unset."""
    end = alert.ends_at
    if end is None or end.year <= 1 or end < alert.starts_at:
        return now, True
    return end, False


def _alert_state(alert: WebhookAlert, now: datetime, previous: AlertState | None) -> AlertState:
    changed = previous is None or previous.status != alert.status
    ends_at, inferred = _ends(alert, now) if alert.status == "resolved" else (None, False)
    return AlertState(
        fingerprint=alert.fingerprint,
        status=alert.status,
        labels=dict(alert.labels),
        annotations=dict(alert.annotations),
        starts_at=alert.starts_at,
        ends_at=ends_at,
        generator_url=alert.generator_url,
        first_seen=previous.first_seen if previous else now,
        last_change=now if changed else previous.last_change,  # type: ignore[union-attr]
        ends_inferred=inferred,
    )


def _is_late(alert: WebhookAlert, known: AlertState) -> bool:
    """Whether this copy of an alert is older than what the bot already knows (Alertmanager retried an
    earlier notification, or notifications crossed): an earlier occurrence, or a firing copy of an
    occurrence already resolved by Alertmanager itself."""
    if alert.starts_at < known.starts_at:
        return True
    same = alert.starts_at == known.starts_at
    return same and known.status == "resolved" and not known.ends_inferred and alert.status == "firing"


def _fires_anew(alert: WebhookAlert, known: AlertState | None) -> bool:
    """A firing copy that tells something new: an alert not known, a new occurrence, or one the bot
    had only inferred resolved (it vanished from one notification) that Alertmanager still holds."""
    if alert.status != "firing":
        return False
    if known is None:
        return True
    if known.status == "firing":
        return False
    return alert.starts_at > known.starts_at or (alert.starts_at == known.starts_at and known.ends_inferred)


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
    * each alert is compared with what the bot knows of it by its own ``startsAt``: a copy of an earlier
      occurrence, or a firing copy of an occurrence Alertmanager already resolved, is late and changes
      nothing (times never move backwards, a resolved alert is never resurrected by a retry);
    * a firing alert missing from a complete (not truncated, not late) snapshot has been resolved:
      Alertmanager keeps every firing alert of a group in each notification. One that started after
      everything the snapshot holds is kept: the snapshot may predate it;
    * a group that was fully resolved and fires anew starts a new episode (a new thread).
    """
    if old is not None and entry_seq(entry_id) <= entry_seq(old.last_entry):
        return old, Change(stale=True)

    known_alerts: dict[str, AlertState] = dict(old.alerts) if old is not None else {}
    fresh = any(_fires_anew(a, known_alerts.get(a.fingerprint)) for a in payload.alerts)
    new_episode = old is None or (old.status == "resolved" and fresh)
    if old is not None and old.status == "resolved" and not fresh:
        # A repeat of a resolved notification, or a late one: remember we saw it, nothing to tell.
        return old.model_copy(
            update={"last_entry": entry_id, "notifications": old.notifications + 1}
        ), Change()

    previous_alerts: dict[str, AlertState] = {} if new_episode or old is None else dict(old.alerts)
    alerts = dict(previous_alerts)
    newly_firing: list[str] = []
    resolved: list[str] = []
    seen: set[str] = set()
    late = False
    for alert in payload.alerts:
        if alert.fingerprint in seen:
            continue
        seen.add(alert.fingerprint)
        prev = previous_alerts.get(alert.fingerprint)
        if new_episode and prev is None:
            earlier = known_alerts.get(alert.fingerprint)
            if earlier is not None and not _fires_anew(alert, earlier):
                continue  # the previous episode's alert, not part of this one
        if prev is not None and _is_late(alert, prev):
            late = True
            continue
        if prev is not None and prev.status == "resolved" and alert.status == "resolved":
            if prev.ends_inferred and alert.starts_at == prev.starts_at:
                own_end, inferred = _ends(alert, now)
                if not inferred:  # Alertmanager's own end replaces the bot's guess
                    alerts[alert.fingerprint] = prev.model_copy(
                        update={"ends_at": own_end, "ends_inferred": False}
                    )
            continue
        alerts[alert.fingerprint] = _alert_state(alert, now, prev)
        if alert.status == "firing" and (prev is None or prev.status != "firing"):
            newly_firing.append(alert.fingerprint)
        elif alert.status == "resolved" and (prev is None or prev.status != "resolved"):
            resolved.append(alert.fingerprint)
    if payload.truncated_alerts == 0 and not late:
        horizon = max(
            [a.starts_at for a in payload.alerts] + [a.ends_at for a in payload.alerts if a.ends_at]
        )
        for fp, prev in previous_alerts.items():
            if fp not in seen and prev.status == "firing" and prev.starts_at <= horizon:
                alerts[fp] = prev.model_copy(
                    update={"status": "resolved", "ends_at": now, "last_change": now, "ends_inferred": True}
                )
                resolved.append(fp)

    status = "firing" if any(a.status == "firing" for a in alerts.values()) else "resolved"
    # A late snapshot's group-wide labels and annotations are older than the ones already known.
    summary_from: WebhookPayload | GroupState = old if (late and old is not None) else payload
    base: dict[str, Any] = {
        "receiver": payload.receiver,
        "external_url": payload.external_url or (old.external_url if old is not None else ""),
        "group_labels": dict(summary_from.group_labels),
        "common_labels": dict(summary_from.common_labels),
        "common_annotations": dict(summary_from.common_annotations),
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
