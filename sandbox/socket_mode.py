"""Socket Mode: ``apps.connections.open`` and the WebSocket Slack delivers envelopes over.

The app asks ``apps.connections.open`` (app-level ``xapp-`` token, in the Authorization header only)
for a single-use WebSocket URL, connects, and gets ``hello``. While at least one connection is open,
slash commands, interactivity and Events API events reach the app as envelopes over it instead of
HTTP; the app acknowledges each with ``{"envelope_id": ..., "payload": {...}}`` within the ack
timeout, and the payload counts as the HTTP answer would (an ephemeral for a command, a
``response_action`` for a modal). An unacknowledged event is sent again with ``retry_attempt`` /
``retry_reason: "timeout"``. ``disconnect`` asks the app to reconnect; the old connection is closed
after a grace period if the app does not close it first.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from sandbox.core import Core
from sandbox.delivery import Delivery, DeliveryResult

log = logging.getLogger("sandbox.socket_mode")

APP_TOKEN = "xapp-1-A0CHATOPS1-1-sandbox-app-level-token"
DISCONNECT_REASONS = ("refresh_requested", "warning", "link_disabled")
# Envelope type by the kind of delivery, and whether Slack lets the ack carry a payload.
ENVELOPE_TYPES = {"slash_commands": True, "interactive": True, "events_api": False}
INTERACTIVE_WITH_PAYLOAD = {"view_submission", "block_suggestion"}
MAX_CONNECTIONS = 10  # Slack allows up to 10 open connections per app


@dataclass
class Connection:
    id: int
    ws: web.WebSocketResponse
    opened: float
    draining: bool = False
    envelopes: int = 0
    pending: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "draining": self.draining,
            "envelopes": self.envelopes,
            "closed": self.ws.closed,
        }


class SocketMode:
    """The app's Socket Mode connections; :class:`Delivery` sends through it while one is open."""

    def __init__(self, core: Core, delivery: Delivery, app_token: str = APP_TOKEN) -> None:
        self.core = core
        self.delivery = delivery
        self.app_token = app_token
        self.disconnect_grace_seconds = 10.0
        self._tickets: set[str] = set()
        self._connections: dict[int, Connection] = {}
        self._ids = itertools.count(1)
        self._rr = itertools.count()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.envelopes: list[dict[str, Any]] = []  # every envelope sent, newest last (500 kept)

    # ---- routes --------------------------------------------------------------------------------
    def routes(self) -> list[web.RouteDef]:
        return [
            web.route("*", "/api/apps.connections.open", self.connections_open),
            web.get("/link/", self.link),
            web.get("/sandbox/socket", self.state),
            web.post("/sandbox/socket/disconnect", self.disconnect_route),
        ]

    async def connections_open(self, request: web.Request) -> web.Response:
        """``apps.connections.open``: Tier 1; the app-level token in the Authorization header only."""
        name = "apps.connections.open"
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not token:
            # A token passed as a POST parameter is an error for this method (Slack's docs).
            self.core.count(name, "not_authed")
            return web.json_response({"ok": False, "error": "not_authed"})
        if token.startswith(("xoxb-", "xoxp-")):
            self.core.count(name, "not_allowed_token_type")
            return web.json_response({"ok": False, "error": "not_allowed_token_type"})
        if token != self.app_token:
            self.core.count(name, "invalid_auth")
            return web.json_response({"ok": False, "error": "invalid_auth"})
        cfg = self.core.config
        if cfg.rate_limits:
            retry = self.core.limiter.check_tier(name, cfg.tier_per_minute.get(1, 1))
            if retry:
                self.core.count(name, "ratelimited")
                return web.json_response(
                    {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(retry)}
                )
        ticket = secrets.token_hex(16)
        self._tickets.add(ticket)
        base = self.core.base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        self.core.count(name, "ok")
        return web.json_response(
            {"ok": True, "url": f"{base}/link/?ticket={ticket}&app_id={self.core.workspace.bot.app_id}"}
        )

    async def link(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            log.warning("SANDBOX: Socket Mode connection with an unknown or used ticket refused")
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        self._tickets.discard(ticket)  # single use
        if len(self.open_connections()) >= MAX_CONNECTIONS:
            return web.json_response({"ok": False, "error": "too_many_connections"}, status=429)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = Connection(next(self._ids), ws, self.core.clock.now())
        self._connections[conn.id] = conn
        self.core.publish({"type": "socket", "event": "connected", "connection": conn.id})
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self.open_connections()),
                "debug_info": {
                    "host": "sandbox",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": self.core.workspace.bot.app_id},
            }
        )
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._receive(conn, msg.data)
                elif msg.type == WSMsgType.ERROR:
                    log.warning("SANDBOX: Socket Mode connection %s failed: %s", conn.id, ws.exception())
        finally:
            self._connections.pop(conn.id, None)
            for fut in conn.pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("the Socket Mode connection closed before the ack"))
            self.core.publish({"type": "socket", "event": "closed", "connection": conn.id})
        return ws

    def _receive(self, conn: Connection, data: str) -> None:
        try:
            message = json.loads(data)
        except json.JSONDecodeError:
            log.warning("SANDBOX: Socket Mode message is not JSON: %.200s", data)
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        fut = conn.pending.get(envelope_id or "")
        if fut is None:
            log.warning("SANDBOX: ack for an unknown envelope_id %r", envelope_id)
            return
        if not fut.done():
            fut.set_result(message)

    async def state(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"ok": True, "connections": [c.to_json() for c in self._connections.values()]}
        )

    async def disconnect_route(self, request: web.Request) -> web.Response:
        try:
            data = await request.json() if request.can_read_body else {}
        except json.JSONDecodeError:
            return web.json_response({"ok": False, "error": "invalid_json"}, status=400)
        reason = (data or {}).get("reason", "refresh_requested")
        if reason not in DISCONNECT_REASONS:
            return web.json_response({"ok": False, "error": "invalid_reason"}, status=400)
        n = await self.disconnect(reason)
        return web.json_response({"ok": True, "disconnected": n})

    # ---- state ---------------------------------------------------------------------------------
    def open_connections(self) -> list[Connection]:
        return [c for c in self._connections.values() if not c.ws.closed]

    @property
    def is_open(self) -> bool:
        return bool(self.open_connections())

    def connections(self) -> list[dict[str, Any]]:
        return [c.to_json() for c in self.open_connections()]

    async def disconnect(self, reason: str = "refresh_requested") -> int:
        """Send ``disconnect`` on every open connection; each closes after the grace period."""
        if reason not in DISCONNECT_REASONS:
            raise ValueError(f"reason must be one of {DISCONNECT_REASONS}")
        conns = self.open_connections()
        for conn in conns:
            conn.draining = True
            await conn.ws.send_json(
                {"type": "disconnect", "reason": reason, "debug_info": {"host": "sandbox"}}
            )
            self._spawn(self._close_later(conn))
        return len(conns)

    async def _close_later(self, conn: Connection) -> None:
        await asyncio.sleep(self.disconnect_grace_seconds)
        if not conn.ws.closed:
            await conn.ws.close()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for conn in list(self._connections.values()):
            if not conn.ws.closed:
                await conn.ws.close()

    # ---- delivery ------------------------------------------------------------------------------
    def _pick(self) -> Connection | None:
        conns = self.open_connections()
        fresh = [c for c in conns if not c.draining] or conns
        if not fresh:
            return None
        return fresh[next(self._rr) % len(fresh)]

    async def deliver(self, envelope_type: str, payload: dict[str, Any], kind: str) -> DeliveryResult:
        """Send one envelope and wait for its ack; an unacked event is retried like Slack does."""
        if envelope_type == "interactive":
            accepts = payload.get("type") in INTERACTIVE_WITH_PAYLOAD
        else:
            accepts = ENVELOPE_TYPES[envelope_type]
        result = await self._send(envelope_type, payload, kind, accepts, 0, "")
        if envelope_type == "events_api" and result.error and self.delivery.event_retry_delays:
            self._spawn(self._retry(payload, kind))
        return result

    async def _retry(self, payload: dict[str, Any], kind: str) -> None:
        for num, delay in enumerate(self.delivery.event_retry_delays, start=1):
            await asyncio.sleep(delay)
            result = await self._send("events_api", payload, f"{kind} retry {num}", False, num, "timeout")
            if not result.error:
                return
        log.warning("SANDBOX: event not acknowledged over Socket Mode after retries; Slack gives up too")

    async def _send(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        kind: str,
        accepts: bool,
        retry_attempt: int,
        retry_reason: str,
    ) -> DeliveryResult:
        kind = f"socket {kind}"
        conn = self._pick()
        if conn is None:
            self._record(kind, "dispatch_failed", 0.0)
            return DeliveryResult(None, 0.0, error="dispatch_failed", detail="no Socket Mode connection")
        envelope: dict[str, Any] = {
            "envelope_id": str(uuid.uuid4()),
            "payload": payload,
            "type": envelope_type,
            "accepts_response_payload": accepts,
        }
        if envelope_type == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        conn.pending[envelope["envelope_id"]] = fut
        conn.envelopes += 1
        self.envelopes.append({**envelope, "connection": conn.id})
        del self.envelopes[:-500]
        started = time.perf_counter()
        try:
            await conn.ws.send_json(envelope)
            async with asyncio.timeout(self.delivery.ack_timeout):
                ack = await fut
        except TimeoutError:
            ms = (time.perf_counter() - started) * 1000
            log.warning("SANDBOX: no Socket Mode ack for %s within %.1f s", kind, self.delivery.ack_timeout)
            self._record(kind, "operation_timeout", ms)
            return DeliveryResult(None, ms, error="operation_timeout", retry_reason="timeout")
        except (ConnectionError, RuntimeError) as exc:
            ms = (time.perf_counter() - started) * 1000
            log.warning("SANDBOX: Socket Mode delivery of %s failed: %s", kind, exc)
            self._record(kind, "dispatch_failed", ms)
            return DeliveryResult(None, ms, error="dispatch_failed", detail=str(exc))
        finally:
            conn.pending.pop(envelope["envelope_id"], None)
        ms = (time.perf_counter() - started) * 1000
        body = ack.get("payload")
        if body is not None and not accepts:
            log.warning("SANDBOX: %s ack carried a payload the envelope does not accept; ignored", kind)
            body = None
        self._record(kind, None, ms)
        return DeliveryResult(200, ms, body=body if body not in ({}, "") else None)

    def _record(self, kind: str, error: str | None, ms: float) -> None:
        self.delivery.log.append(
            {"kind": kind, "status": None if error else 200, "ack_ms": round(ms, 2), "error": error}
        )
        del self.delivery.log[:-500]
