"""PagerDuty Events API v2 client: trigger, acknowledge and resolve alerts keyed by incident ID.

POST {base_url}/v2/enqueue with ``routing_key``, ``event_action`` and ``dedup_key``; a trigger also
carries ``payload`` (summary, source, severity, component, group, class, custom_details) and
``links``. PagerDuty answers 202 with ``{"status": "success", "dedup_key": ...}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from integrations.paging import PageRequest
from integrations.vendor_http import CallResult, Delivered, VendorClient

DEFAULT_BASE_URL = "https://events.pagerduty.com"
SEVERITIES = ("critical", "error", "warning", "info")
# our severity names (and their usual aliases) -> PagerDuty's four
SEVERITY_MAP: dict[str, str] = {
    "critical": "critical",
    "p1": "critical",
    "sev1": "critical",
    "high": "error",
    "p2": "error",
    "sev2": "error",
    "medium": "warning",
    "p3": "warning",
    "sev3": "warning",
    "low": "info",
    "p4": "info",
    "sev4": "info",
}
SUMMARY_MAX = 1024
DEDUP_MAX = 255


def pagerduty_severity(severity: str) -> str:
    value = severity.strip().lower()
    if value in SEVERITIES:
        return value
    return SEVERITY_MAP.get(value, "info")


class PagerDutyClient(VendorClient):
    name = "pagerduty"
    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    SECRET_NAME = "PAGERDUTY_ROUTING_KEY"

    @property
    def url(self) -> str:
        return self.base_url + "/v2/enqueue"

    def _answer_problem(self, result: Delivered) -> str | None:
        status = result.data.get("status")
        if status in (None, "success"):
            return None
        return f"status {status!r}: {result.data.get('message', '')}"

    async def _send(self, action: str, body: dict[str, Any]) -> CallResult:
        return await self._request(action, "POST", self.url, json=body)

    def _base(self, action: str, incident_id: str) -> dict[str, Any]:
        return {
            "routing_key": self._secret,
            "event_action": action,
            "dedup_key": incident_id[:DEDUP_MAX],
        }

    async def trigger(self, page: PageRequest) -> CallResult:
        payload: dict[str, Any] = {
            "summary": page.summary[:SUMMARY_MAX] or page.incident_id,
            "source": page.source,
            "severity": pagerduty_severity(page.severity),
            "timestamp": datetime.now(UTC).isoformat(),
        }
        if page.service:
            payload["component"] = page.service
        if page.group:
            payload["group"] = page.group
        if page.event_class:
            payload["class"] = page.event_class
        details = {"incident_id": page.incident_id, **dict(page.details)}
        payload["custom_details"] = details
        body = self._base("trigger", page.incident_id)
        body["payload"] = payload
        body["client"] = "chatops-bot"
        if page.links:
            body["links"] = [{"href": href, "text": text} for href, text in page.links]
        return await self._send("trigger", body)

    async def acknowledge(self, incident_id: str, *, by: str | None = None) -> CallResult:
        return await self._send("acknowledge", self._base("acknowledge", incident_id))

    async def resolve(
        self, incident_id: str, *, by: str | None = None, note: str | None = None
    ) -> CallResult:
        return await self._send("resolve", self._base("resolve", incident_id))
