"""Alert pipeline metrics (prometheus-client default registry, like bot/metrics.py)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

NOTIFICATIONS = Counter(
    "chatops_alert_notifications_total", "Alertmanager notifications received, by outcome", ["outcome"]
)
ALERT_TRANSITIONS = Counter(
    "chatops_alert_transitions_total", "Alerts that changed state (firing, resolved)", ["state"]
)
GROUPS = Counter("chatops_alert_groups_total", "New alert group episodes, by how they were posted", ["mode"])
STREAM_LAG = Gauge(
    "chatops_alert_stream_pending", "Notifications written but not yet processed (as last seen)"
)
