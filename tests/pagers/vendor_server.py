"""A real aiohttp server on a loopback port that speaks PagerDuty Events v2, Opsgenie Alert and
Statuspage incident APIs closely enough to check our requests against their documented shapes.

It validates every request (required fields, enums, lengths, auth header), records it, keeps the
resulting state (alerts and status-page incidents), and can be scripted to answer the next requests
with a given status (4xx, 5xx, 429 + Retry-After) or to hang past the client's timeout.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

PD_ACTIONS = {"trigger", "acknowledge", "resolve"}
PD_SEVERITIES = {"critical", "error", "warning", "info"}
OG_PRIORITIES = {"P1", "P2", "P3", "P4", "P5"}
OG_RESPONDER_TYPES = {"team", "user", "escalation", "schedule"}
OG_IDENTIFIER_TYPES = {"id", "tiny", "alias"}
SP_STATUSES = {
    "investigating",
    "identified",
    "monitoring",
    "resolved",
    "scheduled",
    "in_progress",
    "verifying",
    "completed",
}
SP_COMPONENT_STATUSES = {
    "operational",
    "under_maintenance",
    "degraded_performance",
    "partial_outage",
    "major_outage",
}
SP_IMPACTS = {"none", "minor", "major", "critical"}


class SleepRecorder:
    """Stands in for asyncio.sleep in the retry loop: records each backoff asked for, sleeps briefly."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(min(seconds, 0.05))


@dataclass
class Recorded:
    vendor: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    answered: int | None = None


@dataclass
class Scripted:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    hang: float = 0.0  # seconds to wait before answering (past the client's timeout)


@dataclass
class PDAlert:
    dedup_key: str
    status: str
    summary: str
    severity: str
    events: list[str] = field(default_factory=list)


@dataclass
class OGAlert:
    alias: str
    message: str
    priority: str
    status: str = "open"
    acknowledged: bool = False
    responders: list[dict[str, str]] = field(default_factory=list)


@dataclass
class SPIncident:
    id: str
    name: str
    status: str
    impact: str
    components: dict[str, str]
    updates: list[dict[str, Any]] = field(default_factory=list)


class VendorServer:
    def __init__(
        self,
        *,
        routing_key: str = "R" * 32,
        genie_key: str = "genie-test-key",
        statuspage_key: str = "sp-test-key",
        page_id: str = "page123",
    ) -> None:
        self.routing_key = routing_key
        self.genie_key = genie_key
        self.statuspage_key = statuspage_key
        self.page_id = page_id
        self.requests: list[Recorded] = []
        self.script: deque[Scripted] = deque()
        self.pd_alerts: dict[str, PDAlert] = {}
        self.og_alerts: dict[str, OGAlert] = {}
        self.sp_incidents: dict[str, SPIncident] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v2/enqueue", self._pagerduty)
        app.router.add_post("/v2/alerts", self._og_create)
        app.router.add_post("/v2/alerts/{identifier}/{verb}", self._og_action)
        app.router.add_post("/v1/pages/{page_id}/incidents", self._sp_create)
        app.router.add_patch("/v1/pages/{page_id}/incidents/{incident_id}", self._sp_update)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- scripting ---------------------------------------------------------------------------
    def answer_next(self, *behaviours: Scripted) -> None:
        self.script.extend(behaviours)

    def of(self, vendor: str) -> list[Recorded]:
        return [r for r in self.requests if r.vendor == vendor]

    async def _record(self, vendor: str, request: web.Request) -> tuple[Recorded, Any, web.Response | None]:
        raw = await request.read()
        body: Any
        bad: web.Response | None = None
        try:
            body = await request.json() if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
            bad = web.json_response({"message": "body is not JSON"}, status=400)
        rec = Recorded(vendor, request.method, request.path, dict(request.query), dict(request.headers), body)
        self.requests.append(rec)
        if bad is None and request.content_type != "application/json":
            bad = web.json_response(
                {"message": f"Content-Type {request.content_type} is not JSON"}, status=400
            )
        if self.script:
            scripted = self.script.popleft()
            if scripted.hang:
                await asyncio.sleep(scripted.hang)
            if scripted.status != 200 or scripted.body is not None or scripted.headers:
                rec.answered = scripted.status
                return (
                    rec,
                    body,
                    web.json_response(
                        scripted.body if scripted.body is not None else {"message": "scripted"},
                        status=scripted.status,
                        headers=scripted.headers,
                    ),
                )
        return rec, body, bad

    @staticmethod
    def _answer(rec: Recorded, payload: Any, status: int) -> web.Response:
        rec.answered = status
        return web.json_response(payload, status=status)

    # -- PagerDuty Events API v2 ---------------------------------------------------------------
    def _pd_errors(self, body: Any) -> list[str]:
        if not isinstance(body, dict):
            return ["body must be a JSON object"]
        errors: list[str] = []
        key = body.get("routing_key")
        if not isinstance(key, str) or not key:
            errors.append("'routing_key' is missing or blank")
        elif key != self.routing_key:
            errors.append("'routing_key' is not a valid integration key")
        action = body.get("event_action")
        if action not in PD_ACTIONS:
            errors.append("'event_action' must be trigger, acknowledge or resolve")
        dedup = body.get("dedup_key")
        if dedup is not None and (not isinstance(dedup, str) or len(dedup) > 255):
            errors.append("'dedup_key' must be a string of at most 255 characters")
        if action in {"acknowledge", "resolve"} and not dedup:
            errors.append("'dedup_key' is required for acknowledge and resolve")
        if action == "trigger":
            payload = body.get("payload")
            if not isinstance(payload, dict):
                errors.append("'payload' is required for trigger")
            else:
                summary = payload.get("summary")
                if not isinstance(summary, str) or not summary or len(summary) > 1024:
                    errors.append("'payload.summary' is required (1..1024 characters)")
                if not isinstance(payload.get("source"), str) or not payload.get("source"):
                    errors.append("'payload.source' is required")
                if payload.get("severity") not in PD_SEVERITIES:
                    errors.append("'payload.severity' must be critical, error, warning or info")
                for opt in ("component", "group", "class", "timestamp"):
                    if opt in payload and not isinstance(payload[opt], str):
                        errors.append(f"'payload.{opt}' must be a string")
                if "custom_details" in payload and not isinstance(payload["custom_details"], dict | str):
                    errors.append("'payload.custom_details' must be an object")
            for link in body.get("links", []) or []:
                if not isinstance(link, dict) or not isinstance(link.get("href"), str):
                    errors.append("each link needs 'href'")
        return errors

    async def _pagerduty(self, request: web.Request) -> web.Response:
        rec, body, early = await self._record("pagerduty", request)
        if early is not None:
            return early
        errors = self._pd_errors(body)
        if errors:
            return self._answer(
                rec, {"status": "invalid event", "message": "Event object is invalid", "errors": errors}, 400
            )
        action = body["event_action"]
        dedup = body.get("dedup_key") or uuid.uuid4().hex
        alert = self.pd_alerts.get(dedup)
        if action == "trigger":
            if alert is None or alert.status == "resolved":
                alert = PDAlert(dedup, "triggered", body["payload"]["summary"], body["payload"]["severity"])
                self.pd_alerts[dedup] = alert
        elif alert is not None and alert.status != "resolved":
            alert.status = "acknowledged" if action == "acknowledge" else "resolved"
        if alert is not None:
            alert.events.append(action)
        return self._answer(rec, {"status": "success", "message": "Event processed", "dedup_key": dedup}, 202)

    # -- Opsgenie Alert API --------------------------------------------------------------------
    def _og_auth(self, rec: Recorded) -> web.Response | None:
        if rec.headers.get("Authorization") != f"GenieKey {self.genie_key}":
            return self._answer(
                rec, {"message": "Could not authenticate", "took": 0.0, "requestId": "x"}, 401
            )
        return None

    def _og_accepted(self, rec: Recorded) -> web.Response:
        return self._answer(
            rec, {"result": "Request will be processed", "took": 0.01, "requestId": str(uuid.uuid4())}, 202
        )

    async def _og_create(self, request: web.Request) -> web.Response:
        rec, body, early = await self._record("opsgenie", request)
        if early is not None:
            return early
        denied = self._og_auth(rec)
        if denied is not None:
            return denied
        errors: list[str] = []
        if not isinstance(body, dict):
            errors.append("body must be a JSON object")
            body = {}
        message = body.get("message")
        if not isinstance(message, str) or not message.strip() or len(message) > 130:
            errors.append("message is required (at most 130 characters)")
        if "alias" in body and (not isinstance(body["alias"], str) or len(body["alias"]) > 512):
            errors.append("alias must be at most 512 characters")
        if "description" in body and (
            not isinstance(body["description"], str) or len(body["description"]) > 15000
        ):
            errors.append("description must be at most 15000 characters")
        if "priority" in body and body["priority"] not in OG_PRIORITIES:
            errors.append("priority must be one of P1..P5")
        for responder in body.get("responders", []) or []:
            if not isinstance(responder, dict) or responder.get("type") not in OG_RESPONDER_TYPES:
                errors.append("responder type must be team, user, escalation or schedule")
            elif not any(responder.get(k) for k in ("id", "name", "username")):
                errors.append("responder needs id, name or username")
        tags = body.get("tags", [])
        if not isinstance(tags, list) or len(tags) > 20 or not all(isinstance(t, str) for t in tags):
            errors.append("tags must be at most 20 strings")
        details = body.get("details", {})
        if not isinstance(details, dict) or not all(isinstance(v, str) for v in details.values()):
            errors.append("details must map strings to strings")
        if errors:
            return self._answer(rec, {"message": "; ".join(errors), "took": 0.0, "requestId": "x"}, 422)
        alias = body.get("alias") or message
        existing = self.og_alerts.get(alias)
        if existing is None or existing.status == "closed":
            self.og_alerts[alias] = OGAlert(
                alias, message, body.get("priority", "P3"), responders=body.get("responders", [])
            )
        return self._og_accepted(rec)

    async def _og_action(self, request: web.Request) -> web.Response:
        rec, body, early = await self._record("opsgenie", request)
        if early is not None:
            return early
        denied = self._og_auth(rec)
        if denied is not None:
            return denied
        verb = request.match_info["verb"]
        identifier_type = request.query.get("identifierType", "id")
        if verb not in {"acknowledge", "close"}:
            return self._answer(
                rec, {"message": f"unknown action {verb}", "took": 0.0, "requestId": "x"}, 404
            )
        if identifier_type not in OG_IDENTIFIER_TYPES:
            return self._answer(
                rec, {"message": "identifierType must be id, tiny or alias", "took": 0.0}, 422
            )
        if body is not None and not isinstance(body, dict):
            return self._answer(rec, {"message": "body must be an object", "took": 0.0}, 422)
        for key in ("user", "source", "note"):
            if body and key in body and not isinstance(body[key], str):
                return self._answer(rec, {"message": f"{key} must be a string", "took": 0.0}, 422)
        if identifier_type == "alias":
            alert = self.og_alerts.get(request.match_info["identifier"])
            if alert is not None:  # like Opsgenie: unknown aliases still get 202, the request then fails
                if verb == "acknowledge":
                    alert.acknowledged = True
                else:
                    alert.status = "closed"
        return self._og_accepted(rec)

    # -- Statuspage ----------------------------------------------------------------------------
    def _sp_check(self, rec: Recorded, page_id: str, body: Any, *, create: bool) -> web.Response | None:
        if rec.headers.get("Authorization") != f"OAuth {self.statuspage_key}":
            return self._answer(rec, {"error": "Could not authenticate"}, 401)
        if page_id != self.page_id:
            return self._answer(rec, {"error": "Page not found"}, 404)
        errors: list[str] = []
        incident = body.get("incident") if isinstance(body, dict) else None
        if not isinstance(incident, dict):
            return self._answer(rec, {"error": "incident is missing"}, 400)
        if create and (not isinstance(incident.get("name"), str) or not incident["name"].strip()):
            errors.append("name can't be blank")
        if "status" in incident and incident["status"] not in SP_STATUSES:
            errors.append("status is not included in the list")
        if "impact_override" in incident and incident["impact_override"] not in SP_IMPACTS:
            errors.append("impact_override is not included in the list")
        ids = incident.get("component_ids", [])
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            errors.append("component_ids must be a list of strings")
        components = incident.get("components", {})
        if not isinstance(components, dict) or not all(
            v in SP_COMPONENT_STATUSES for v in components.values()
        ):
            errors.append("components must map IDs to a component status")
        if "body" in incident and not isinstance(incident["body"], str):
            errors.append("body must be a string")
        if "deliver_notifications" in incident and not isinstance(incident["deliver_notifications"], bool):
            errors.append("deliver_notifications must be a boolean")
        if errors:
            return self._answer(rec, {"error": errors}, 422)
        return None

    def _sp_json(self, inc: SPIncident) -> dict[str, Any]:
        return {
            "id": inc.id,
            "page_id": self.page_id,
            "name": inc.name,
            "status": inc.status,
            "impact": inc.impact,
            "components": [{"id": cid, "status": st} for cid, st in inc.components.items()],
            "incident_updates": inc.updates,
        }

    async def _sp_create(self, request: web.Request) -> web.Response:
        rec, body, early = await self._record("statuspage", request)
        if early is not None:
            return early
        bad = self._sp_check(rec, request.match_info["page_id"], body, create=True)
        if bad is not None:
            return bad
        incident = body["incident"]
        inc = SPIncident(
            id=f"sp{next(self._ids)}",
            name=incident["name"],
            status=incident.get("status", "investigating"),
            impact=incident.get("impact_override", "none"),
            components=dict(incident.get("components", {})),
        )
        inc.updates.append({"status": inc.status, "body": incident.get("body", "")})
        self.sp_incidents[inc.id] = inc
        return self._answer(rec, self._sp_json(inc), 201)

    async def _sp_update(self, request: web.Request) -> web.Response:
        rec, body, early = await self._record("statuspage", request)
        if early is not None:
            return early
        bad = self._sp_check(rec, request.match_info["page_id"], body, create=False)
        if bad is not None:
            return bad
        inc = self.sp_incidents.get(request.match_info["incident_id"])
        if inc is None:
            return self._answer(rec, {"error": "Incident not found"}, 404)
        incident = body["incident"]
        inc.status = incident.get("status", inc.status)
        inc.impact = incident.get("impact_override", inc.impact)
        inc.components.update(incident.get("components", {}))
        inc.updates.append({"status": inc.status, "body": incident.get("body", "")})
        return self._answer(rec, self._sp_json(inc), 200)
