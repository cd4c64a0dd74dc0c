"""Incident figures on /metrics (prometheus-client default registry), observed from incident events."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from bot import events
from bot.context import AppContext
from bot.core.models import Incident

INCIDENTS_OPENED = Counter("chatops_incidents_opened_total", "Incidents declared", ["severity"])
INCIDENTS_RESOLVED = Counter("chatops_incidents_resolved_total", "Incidents resolved", ["severity"])
TIME_TO_ACKNOWLEDGE = Histogram(
    "chatops_incident_time_to_acknowledge_seconds",
    "From declaration to the first acknowledgement",
    ["severity"],
    buckets=(30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400),
)
TIME_TO_RESOLVE = Histogram(
    "chatops_incident_time_to_resolve_seconds",
    "From declaration to resolution",
    ["severity"],
    buckets=(300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 172800, 604800),
)


@events.on(events.DECLARED)
async def count_declared(ctx: AppContext, incident: Incident, **_: object) -> None:
    if not incident.in_metrics:  # tests, declined and merged incidents are not counted
        return
    INCIDENTS_OPENED.labels(incident.severity).inc()


@events.on(events.ACKNOWLEDGED)
async def observe_acknowledged(ctx: AppContext, incident: Incident, **_: object) -> None:
    if not incident.in_metrics:  # tests, declined and merged incidents are not counted
        return
    if incident.time_to_acknowledge is not None:
        TIME_TO_ACKNOWLEDGE.labels(incident.severity).observe(max(0.0, incident.time_to_acknowledge))


@events.on(events.RESOLVED)
async def observe_resolved(ctx: AppContext, incident: Incident, **_: object) -> None:
    if not incident.in_metrics:  # tests, declined and merged incidents are not counted
        return
    INCIDENTS_RESOLVED.labels(incident.severity).inc()
    if incident.time_to_resolve is not None:
        TIME_TO_RESOLVE.labels(incident.severity).observe(max(0.0, incident.time_to_resolve))
