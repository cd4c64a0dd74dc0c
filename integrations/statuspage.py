"""Atlassian Statuspage client: create and update a public incident.

POST {base_url}/v1/pages/{page_id}/incidents and PATCH .../incidents/{incident_id}, authorised with
``Authorization: OAuth <key>``, body ``{"incident": {name, status, body, component_ids, components,
impact_override, deliver_notifications}}``. Create answers 201, update 200, both with the incident
(its ``id`` is what later updates need).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from integrations.vendor_http import (
    CallResult,
    Delivered,
    Failed,
    FailureKind,
    RetryPolicy,
    SleepFn,
    send_with_retries,
)

DEFAULT_BASE_URL = "https://api.statuspage.io"
INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
COMPONENT_STATUSES = (
    "operational",
    "under_maintenance",
    "degraded_performance",
    "partial_outage",
    "major_outage",
)
IMPACTS = ("none", "minor", "major", "critical")

COMPONENT_STATUS_BY_SEVERITY: dict[str, str] = {
    "critical": "major_outage",
    "high": "partial_outage",
    "medium": "degraded_performance",
    "low": "degraded_performance",
}
IMPACT_BY_SEVERITY: dict[str, str] = {
    "critical": "critical",
    "high": "major",
    "medium": "minor",
    "low": "minor",
}


def statuspage_status(our_status: str) -> str:
    """Our incident status → Statuspage's; anything unknown (e.g. 'open') counts as investigating."""
    value = our_status.strip().lower()
    return value if value in INCIDENT_STATUSES else "investigating"


def component_status(severity: str, our_status: str) -> str:
    if statuspage_status(our_status) == "resolved":
        return "operational"
    return COMPONENT_STATUS_BY_SEVERITY.get(severity.strip().lower(), "degraded_performance")


def impact_for(severity: str) -> str:
    return IMPACT_BY_SEVERITY.get(severity.strip().lower(), "minor")


class StatuspageClient:
    name = "statuspage"

    def __init__(
        self,
        api_key: str,
        page_id: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        policy: RetryPolicy | None = None,
        http: httpx.AsyncClient | None = None,
        sleep: SleepFn = asyncio.sleep,
    ) -> None:
        self._api_key = api_key
        self.page_id = page_id
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=self.policy.timeout)
        self._sleep = sleep

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, policy: RetryPolicy | None = None
    ) -> StatuspageClient | None:
        """Client from STATUSPAGE_API_KEY + STATUSPAGE_PAGE_ID (opt. STATUSPAGE_API_URL); None if unset."""
        env = os.environ if env is None else env
        key = env.get("STATUSPAGE_API_KEY", "").strip()
        page = env.get("STATUSPAGE_PAGE_ID", "").strip()
        if not key or not page:
            return None
        return cls(key, page, base_url=env.get("STATUSPAGE_API_URL", DEFAULT_BASE_URL), policy=policy)

    def __repr__(self) -> str:
        return f"StatuspageClient(base_url={self.base_url!r}, page_id={self.page_id!r})"

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    def _incidents_url(self) -> str:
        return f"{self.base_url}/v1/pages/{quote(self.page_id, safe='')}/incidents"

    async def _send(self, action: str, method: str, url: str, incident: dict[str, Any]) -> CallResult:
        if not self._api_key or not self.page_id:
            return Failed(
                self.name,
                action,
                FailureKind.NOT_CONFIGURED,
                "STATUSPAGE_API_KEY or STATUSPAGE_PAGE_ID is not set",
                0,
            )
        result = await send_with_retries(
            self._http,
            method,
            url,
            service=self.name,
            action=action,
            policy=self.policy,
            headers={
                "Authorization": f"OAuth {self._api_key}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            json={"incident": incident},
            sleep=self._sleep,
        )
        if isinstance(result, Delivered) and not result.data.get("id"):
            return Failed(
                self.name,
                action,
                FailureKind.BAD_RESPONSE,
                "answer has no incident id",
                result.attempts,
                result.status_code,
            )
        return result

    @staticmethod
    def _incident_body(
        *,
        name: str | None,
        status: str,
        body: str,
        severity: str | None,
        component_ids: Sequence[str],
        notify: bool,
    ) -> dict[str, Any]:
        sp_status = statuspage_status(status)
        incident: dict[str, Any] = {"status": sp_status, "body": body, "deliver_notifications": notify}
        if name is not None:
            incident["name"] = name
        if component_ids:
            incident["component_ids"] = list(component_ids)
            incident["components"] = {cid: component_status(severity or "", status) for cid in component_ids}
        if severity is not None:
            incident["impact_override"] = impact_for(severity)
        return incident

    async def create_incident(
        self,
        *,
        name: str,
        status: str,
        body: str,
        severity: str,
        component_ids: Sequence[str] = (),
        notify: bool = True,
    ) -> CallResult:
        incident = self._incident_body(
            name=name, status=status, body=body, severity=severity, component_ids=component_ids, notify=notify
        )
        return await self._send("create", "POST", self._incidents_url(), incident)

    async def update_incident(
        self,
        statuspage_incident_id: str,
        *,
        status: str,
        body: str,
        severity: str | None = None,
        component_ids: Sequence[str] = (),
        notify: bool = True,
    ) -> CallResult:
        incident = self._incident_body(
            name=None, status=status, body=body, severity=severity, component_ids=component_ids, notify=notify
        )
        url = f"{self._incidents_url()}/{quote(statuspage_incident_id, safe='')}"
        return await self._send("update", "PATCH", url, incident)
