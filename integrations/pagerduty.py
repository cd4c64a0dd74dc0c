"""PagerDuty Events API v2 client: trigger, acknowledge and resolve alerts keyed by incident ID.

POST {base_url}/v2/enqueue with ``routing_key``, ``event_action`` and ``dedup_key``; a trigger also
carries ``payload`` (summary, source, severity, component, group, class, custom_details) and
``links``. PagerDuty answers 202 with ``{"status": "success", "dedup_key": ...}``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from integrations.paging import PageRequest
from integrations.vendor_http import (
    CallResult,
    Delivered,
    Failed,
    FailureKind,
    RetryPolicy,
    SleepFn,
    send_with_retries,
)

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


class PagerDutyClient:
    name = "pagerduty"

    def __init__(
        self,
        routing_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        policy: RetryPolicy | None = None,
        http: httpx.AsyncClient | None = None,
        sleep: SleepFn = asyncio.sleep,
    ) -> None:
        self._routing_key = routing_key
        self.url = base_url.rstrip("/") + "/v2/enqueue"
        self.policy = policy or RetryPolicy()
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=self.policy.timeout)
        self._sleep = sleep

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, policy: RetryPolicy | None = None
    ) -> PagerDutyClient | None:
        """Client from PAGERDUTY_ROUTING_KEY (and optional PAGERDUTY_API_URL); None when no key is set."""
        env = os.environ if env is None else env
        key = env.get("PAGERDUTY_ROUTING_KEY", "").strip()
        if not key:
            return None
        return cls(key, base_url=env.get("PAGERDUTY_API_URL", DEFAULT_BASE_URL), policy=policy)

    def __repr__(self) -> str:  # never show the routing key
        return f"PagerDutyClient(url={self.url!r})"

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def _send(self, action: str, body: dict[str, Any]) -> CallResult:
        if not self._routing_key:
            return Failed(
                self.name, action, FailureKind.NOT_CONFIGURED, "PAGERDUTY_ROUTING_KEY is not set", 0
            )
        result = await send_with_retries(
            self._http,
            "POST",
            self.url,
            service=self.name,
            action=action,
            policy=self.policy,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            json=body,
            sleep=self._sleep,
        )
        if isinstance(result, Delivered) and result.data.get("status") not in (None, "success"):
            return Failed(
                self.name,
                action,
                FailureKind.BAD_RESPONSE,
                f"status {result.data.get('status')!r}: {result.data.get('message', '')}",
                result.attempts,
                result.status_code,
            )
        return result

    def _base(self, action: str, incident_id: str) -> dict[str, Any]:
        return {
            "routing_key": self._routing_key,
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
