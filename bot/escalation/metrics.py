"""Escalation metrics on prometheus-client's default registry (served on /metrics)."""

from __future__ import annotations

from prometheus_client import Counter

ESCALATIONS = Counter(
    "chatops_escalations_total", "Escalations sent, by level and how they started", ["level", "trigger"]
)
TIMERS = Counter("chatops_escalation_timers_total", "Escalation timers run, by outcome", ["outcome"])
PAGES = Counter(
    "chatops_pager_calls_total",
    "Pager and status-page calls, by service, action and outcome",
    ["service", "action", "outcome"],
)
REMINDERS = Counter("chatops_update_reminders_total", "Status-update reminders, by outcome", ["outcome"])
