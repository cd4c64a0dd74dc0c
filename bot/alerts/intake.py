"""POST /alerts/alertmanager: authenticate, size-check, validate, write to the Redis stream, then 200.

Lean on purpose (it must take ≥1000 notifications/s per process): one read, one pydantic parse in
Rust, one XADD. Redis unreachable → 503 so Alertmanager retries; nothing is held only in memory.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import time
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from aiohttp import web
from pydantic import ValidationError
from redis.exceptions import RedisError

from bot.alerts import metrics
from bot.alerts.models import WebhookPayload, validation_reason
from bot.config.alerts import AlertsPolicy

log = logging.getLogger(__name__)

ROUTE = "/alerts/alertmanager"


def _error(status: int, reason: str, headers: dict[str, str] | None = None) -> web.Response:
    metrics.NOTIFICATIONS.labels(f"rejected_{status}").inc()
    return web.json_response({"ok": False, "error": reason}, status=status, headers=headers)


class Authenticator:
    """Bearer token or basic auth, as Alertmanager's http_config sends them (constant-time compares)."""

    def __init__(self, policy: AlertsPolicy) -> None:
        self.token = policy.auth.bearer_token()
        self.basic = policy.auth.basic_credentials()

    @property
    def required(self) -> bool:
        return bool(self.token or self.basic)

    def check(self, header: str) -> bool:
        if not self.required:
            return True
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        value = value.strip()
        if self.token and scheme == "bearer":
            return hmac.compare_digest(value.encode(), self.token.encode())
        if self.basic and scheme == "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return False
            user, sep, password = decoded.partition(":")
            if not sep:
                return False
            ok_user = hmac.compare_digest(user.encode(), self.basic[0].encode())
            ok_pw = hmac.compare_digest(password.encode(), self.basic[1].encode())
            return ok_user and ok_pw
        return False


def make_handler(
    redis: aioredis.Redis, stream_key: str, policy: AlertsPolicy
) -> Callable[[web.Request], Awaitable[web.Response]]:
    auth = Authenticator(policy)
    limit = policy.max_body_bytes

    async def handle(request: web.Request) -> web.Response:
        if not auth.check(request.headers.get("Authorization", "")):
            return _error(401, "missing or wrong credentials", {"WWW-Authenticate": 'Bearer realm="alerts"'})
        if request.content_length is not None and request.content_length > limit:
            return _error(413, f"body larger than {limit} bytes")
        body = await request.content.read(limit + 1)
        if len(body) > limit:
            return _error(413, f"body larger than {limit} bytes")
        if not body:
            return _error(400, "empty body: expected an Alertmanager webhook payload (version 4)")
        try:
            payload = WebhookPayload.model_validate_json(body)
        except ValidationError as exc:
            return _error(400, f"not an Alertmanager webhook payload (version 4): {validation_reason(exc)}")
        try:
            entry = await redis.xadd(stream_key, {"body": body.decode("utf-8"), "at": f"{time.time():.3f}"})
        except (RedisError, OSError) as exc:
            log.error("alert intake: cannot write to redis (%s); answering 503 so Alertmanager retries", exc)
            return _error(503, "state store unavailable; retry later")
        metrics.NOTIFICATIONS.labels("accepted").inc()
        return web.json_response({"ok": True, "id": str(entry), "alerts": len(payload.alerts)})

    return handle
