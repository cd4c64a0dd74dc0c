"""Atlassian Statuspage client: create and update a public incident.

POST {base_url}/v1/pages/{page_id}/incidents and PATCH .../incidents/{incident_id}, authorised with
``Authorization: OAuth <key>``, body ``{"incident": {name, status, body, component_ids, components,
impact_override, deliver_notifications}}``. Create answers 201, update 200, both with the incident
(its ``id`` is what later updates need).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from integrations.vendor_http import CallResult, Delivered, VendorClient

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


class StatuspageClient(VendorClient):
    name = "statuspage"
    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    SECRET_NAME = "STATUSPAGE_API_KEY"

    def __init__(self, api_key: str, page_id: str, **kwargs: Any) -> None:
        super().__init__(api_key, **kwargs)
        self.page_id = page_id

    def __repr__(self) -> str:
        return f"StatuspageClient(base_url={self.base_url!r}, page_id={self.page_id!r})"

    def _missing(self) -> str | None:
        if not self._secret or not self.page_id:
            return "STATUSPAGE_API_KEY or STATUSPAGE_PAGE_ID is not set"
        return None

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"OAuth {self._secret}"}

    def _answer_problem(self, result: Delivered) -> str | None:
        return None if result.data.get("id") else "answer has no incident id"

    def _incidents_url(self) -> str:
        return f"{self.base_url}/v1/pages/{quote(self.page_id, safe='')}/incidents"

    async def _send(self, action: str, method: str, url: str, incident: dict[str, Any]) -> CallResult:
        return await self._request(action, method, url, json={"incident": incident})

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
