"""Builders for Alertmanager webhook payloads (version 4) as Alertmanager sends them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def fingerprint(labels: dict[str, str]) -> str:
    return hashlib.sha256(repr(sorted(labels.items())).encode()).hexdigest()[:16]


def alert(
    labels: dict[str, str],
    status: str = "firing",
    *,
    annotations: dict[str, str] | None = None,
    starts: datetime = T0,
    ends: datetime | None = None,
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": labels,
        "annotations": annotations or {},
        "startsAt": starts.isoformat(),
        "endsAt": (
            ends or (T0 + timedelta(minutes=5) if status == "resolved" else datetime(1, 1, 1, tzinfo=UTC))
        )
        .isoformat()
        .replace("+00:00", "Z"),
        "generatorURL": "http://prometheus.local/graph",
        "fingerprint": fingerprint(labels),
    }


def payload(
    group: dict[str, str],
    alerts: list[dict[str, Any]],
    *,
    common: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    truncated: int = 0,
) -> dict[str, Any]:
    firing = any(a["status"] == "firing" for a in alerts)
    if common is None:
        sets = [set(a["labels"].items()) for a in alerts]
        common = dict(set.intersection(*sets)) if sets else {}
    return {
        "version": "4",
        "groupKey": "{}:{" + ",".join(f'{k}="{v}"' for k, v in sorted(group.items())) + "}",
        "truncatedAlerts": truncated,
        "status": "firing" if firing else "resolved",
        "receiver": "chatops",
        "groupLabels": group,
        "commonLabels": common,
        "commonAnnotations": annotations or {},
        "externalURL": "http://alertmanager.local",
        "alerts": alerts,
    }


def host_alerts(
    name: str, hosts: range | list[int], status: str = "firing", **extra: str
) -> list[dict[str, Any]]:
    return [alert({"alertname": name, "instance": f"host-{i}", **extra}, status) for i in hosts]
