"""Signed HTTP requests to the bot, as Slack sends them (v0 signature, 3-second acknowledgement)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp

if TYPE_CHECKING:
    from sandbox.socket_mode import SocketMode

log = logging.getLogger("sandbox.delivery")

USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class DeliveryResult:
    status: int | None
    ack_ms: float
    body: Any = None
    error: str | None = None
    detail: str | None = None
    retry_reason: str = "http_error"
    no_retry: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


class Delivery:
    """Sends requests to ``bot_url``; the HTTP answer within the ack timeout is Slack's acknowledgement."""

    def __init__(self, signing_secret: str, ack_timeout: float) -> None:
        self.signing_secret = signing_secret
        self.ack_timeout = ack_timeout
        self.bot_url: str | None = None
        self.event_retry_delays: list[float] = []
        self._retries: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self.log: list[dict[str, Any]] = []
        # While the app has a Socket Mode connection open, deliveries go over it instead of HTTP.
        self.socket: SocketMode | None = None

    def _socket(self) -> SocketMode | None:
        return self.socket if self.socket is not None and self.socket.is_open else None

    @property
    def pending_retries(self) -> int:
        """Event deliveries waiting for a retry."""
        return len(self._retries)

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers={"User-Agent": USER_AGENT})

    async def close(self) -> None:
        for task in list(self._retries):
            task.cancel()
        if self._retries:
            await asyncio.gather(*self._retries, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send_form(self, fields: dict[str, str], kind: str) -> DeliveryResult:
        if socket := self._socket():
            return await socket.deliver("slash_commands", dict(fields), kind)
        return await self._send(urlencode(fields).encode(), "application/x-www-form-urlencoded", kind)

    async def send_payload(self, payload: dict[str, Any], kind: str) -> DeliveryResult:
        if socket := self._socket():
            return await socket.deliver("interactive", payload, kind)
        return await self.send_form({"payload": json.dumps(payload)}, kind)

    async def send_event(self, envelope: dict[str, Any]) -> DeliveryResult:
        """Events API: when the app fails (timeout, error status, unreachable), Slack retries the same
        event with X-Slack-Retry-Num / X-Slack-Retry-Reason, unless the app answered X-Slack-No-Retry: 1."""
        if socket := self._socket():
            return await socket.deliver("events_api", envelope, "event")
        body = json.dumps(envelope).encode()
        result = await self._send(body, "application/json", "event")
        if result.error and not result.no_retry and self.event_retry_delays:
            task = asyncio.create_task(self._retry_event(body, result))
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)
        return result

    async def _retry_event(self, body: bytes, first: DeliveryResult) -> None:
        reason = first.retry_reason
        for num, delay in enumerate(self.event_retry_delays, start=1):
            await asyncio.sleep(delay)
            headers = {"X-Slack-Retry-Num": str(num), "X-Slack-Retry-Reason": reason}
            result = await self._send(body, "application/json", f"event retry {num}", headers)
            if not result.error or result.no_retry:
                return
            reason = result.retry_reason
        log.warning(
            "SANDBOX: event not accepted after %d retries; Slack gives up too", len(self.event_retry_delays)
        )

    async def _send(
        self, body: bytes, content_type: str, kind: str, extra_headers: dict[str, str] | None = None
    ) -> DeliveryResult:
        if not self.bot_url:
            log.warning("SANDBOX: no bot_url set; %s not delivered", kind)
            return DeliveryResult(None, 0.0, error="dispatch_failed", detail="no bot_url configured")
        await self.start()
        assert self._session is not None
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature(self.signing_secret, timestamp, body),
            **(extra_headers or {}),
        }
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.ack_timeout):
                async with self._session.post(self.bot_url, data=body, headers=headers) as resp:
                    raw = await resp.read()
                    status = resp.status
                    ctype = resp.content_type
                    no_retry = resp.headers.get("X-Slack-No-Retry") == "1"
        except TimeoutError:
            ms = (time.perf_counter() - started) * 1000
            log.warning(
                "SANDBOX: bot did not acknowledge %s within %.1f s: operation_timeout", kind, self.ack_timeout
            )
            self._record(kind, None, ms, "operation_timeout")
            return DeliveryResult(None, ms, error="operation_timeout", retry_reason="http_timeout")
        except aiohttp.ClientError as exc:
            ms = (time.perf_counter() - started) * 1000
            log.warning("SANDBOX: delivering %s to %s failed: %s", kind, self.bot_url, exc)
            self._record(kind, None, ms, "dispatch_failed")
            return DeliveryResult(
                None, ms, error="dispatch_failed", detail=str(exc), retry_reason="unknown_error"
            )
        ms = (time.perf_counter() - started) * 1000
        parsed: Any = None
        if raw.strip():
            text = raw.decode("utf-8", "replace")
            if ctype == "application/json" or text.lstrip().startswith("{"):
                try:
                    parsed = json.loads(text)
                except json.JSONDecodeError:
                    parsed = text
            else:
                parsed = text
        if status >= 300:
            log.warning("SANDBOX: bot answered %s with HTTP %s", kind, status)
            self._record(kind, status, ms, "dispatch_failed")
            return DeliveryResult(
                status, ms, body=parsed, error="dispatch_failed", detail=f"HTTP {status}", no_retry=no_retry
            )
        self._record(kind, status, ms, None)
        return DeliveryResult(status, ms, body=parsed)

    def _record(self, kind: str, status: int | None, ms: float, error: str | None) -> None:
        self.log.append({"kind": kind, "status": status, "ack_ms": round(ms, 2), "error": error})
        del self.log[:-500]
