"""Opsgenie Alert API client: create, acknowledge and close alerts whose alias is the incident ID.

POST {base_url}/v2/alerts, POST /v2/alerts/{alias}/acknowledge?identifierType=alias and
POST /v2/alerts/{alias}/close?identifierType=alias, authorised with ``Authorization: GenieKey <key>``.
Opsgenie processes these asynchronously: it answers 202 with ``{"result": ..., "requestId": ...}``;
the request ID is kept in the result's data so a caller can look the request up later.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from integrations.failures import FailureKind
from integrations.paging import PageRequest
from integrations.vendor_http import CallResult, Delivered, Failed, VendorClient

DEFAULT_BASE_URL = "https://api.opsgenie.com"
PRIORITIES = ("P1", "P2", "P3", "P4", "P5")
PRIORITY_MAP: dict[str, str] = {
    "critical": "P1",
    "p1": "P1",
    "sev1": "P1",
    "high": "P2",
    "p2": "P2",
    "sev2": "P2",
    "medium": "P3",
    "p3": "P3",
    "sev3": "P3",
    "low": "P4",
    "p4": "P4",
    "sev4": "P4",
}
MESSAGE_MAX = 130
ALIAS_MAX = 512
DESCRIPTION_MAX = 15000
RESPONDER_TYPES = ("team", "user", "escalation", "schedule")


def opsgenie_priority(severity: str) -> str:
    value = severity.strip()
    if value.upper() in PRIORITIES:
        return value.upper()
    return PRIORITY_MAP.get(value.lower(), "P5")


def opsgenie_responders(names: Sequence[str]) -> list[dict[str, str]]:
    """``team:sre`` → {"type": "team", "name": "sre"}; ``user:a@b.c`` → username; bare names are teams."""
    out: list[dict[str, str]] = []
    for raw in names:
        kind, sep, value = raw.partition(":")
        if not sep:
            kind, value = "team", raw
        kind = kind.strip().lower()
        value = value.strip()
        if kind not in RESPONDER_TYPES or not value:
            raise ValueError(
                f"bad Opsgenie responder {raw!r}: use team:NAME, user:EMAIL, escalation:NAME or schedule:NAME"
            )
        out.append({"type": "user", "username": value} if kind == "user" else {"type": kind, "name": value})
    return out


class OpsgenieClient(VendorClient):
    name = "opsgenie"
    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    SECRET_NAME = "OPSGENIE_API_KEY"

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"GenieKey {self._secret}"}

    def _answer_problem(self, result: Delivered) -> str | None:
        return None if result.data.get("requestId") else "answer has no requestId"

    async def _send(
        self, action: str, path: str, body: dict[str, Any], params: Mapping[str, str] | None = None
    ) -> CallResult:
        return await self._request(action, "POST", self.base_url + path, json=body, params=params)

    async def trigger(self, page: PageRequest) -> CallResult:
        try:
            responders = opsgenie_responders(page.responders)
        except ValueError as exc:
            return Failed(self.name, "create", FailureKind.REJECTED, str(exc), 0)
        description_lines = [page.summary]
        description_lines += [f"{key}: {value}" for key, value in page.details.items()]
        description_lines += [f"{text}: {href}" for href, text in page.links]
        body: dict[str, Any] = {
            "message": (f"[{page.incident_id}] {page.summary}")[:MESSAGE_MAX],
            "alias": page.incident_id[:ALIAS_MAX],
            "description": "\n".join(description_lines)[:DESCRIPTION_MAX],
            "priority": opsgenie_priority(page.severity),
            "source": page.source,
            "tags": list(page.tags) or [page.severity],
            "details": {"incident_id": page.incident_id, **{k: str(v) for k, v in page.details.items()}},
        }
        if responders:
            body["responders"] = responders
        if page.service:
            body["entity"] = page.service
        return await self._send("create", "/v2/alerts", body)

    def _alias_path(self, incident_id: str, verb: str) -> str:
        return f"/v2/alerts/{quote(incident_id[:ALIAS_MAX], safe='')}/{verb}"

    async def acknowledge(self, incident_id: str, *, by: str | None = None) -> CallResult:
        body: dict[str, Any] = {"source": "chatops-bot", "note": "Acknowledged in Slack"}
        if by:
            body["user"] = by
        return await self._send(
            "acknowledge", self._alias_path(incident_id, "acknowledge"), body, {"identifierType": "alias"}
        )

    async def resolve(
        self, incident_id: str, *, by: str | None = None, note: str | None = None
    ) -> CallResult:
        body: dict[str, Any] = {"source": "chatops-bot", "note": note or "Resolved in Slack"}
        if by:
            body["user"] = by
        return await self._send(
            "close", self._alias_path(incident_id, "close"), body, {"identifierType": "alias"}
        )
