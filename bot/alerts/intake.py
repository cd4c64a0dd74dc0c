"""POST /alerts/alertmanager: authenticate, size-check, validate, write to the Redis stream, then 200.

Lean on purpose (it must take ≥1000 notifications/s per process): one read, one pydantic parse in
Rust, one XADD. Redis unreachable → 503 so Alertmanager retries; nothing is held only in memory.

With replicas (Sentinel, Cluster) the XADD is followed by ``WAIT 1 <ms>`` on the same connection, so
a notification answered 200 is on a replica too and survives a failover of its primary (replication
is asynchronous otherwise). ``CHATOPS_INTAKE_WAIT_REPLICAS`` (default 1 on Sentinel and Cluster, 0
on a single server) and ``CHATOPS_INTAKE_WAIT_MS`` (default 500) tune it. When no replica answers
in time (say the only one died and its primary now serves alone) the notification is still
accepted (nothing could fail over to a replica that does not exist) and WAIT is skipped for
``WAIT_BACKOFF`` seconds so the intake stays fast; the log says so.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import os
import time
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from aiohttp import web
from pydantic import ValidationError
from redis.exceptions import RedisError

from bot.alerts import metrics
from bot.alerts.models import WebhookPayload, validation_reason
from bot.config.alerts import AlertsPolicy
from bot.core.redis_factory import mode_of, write_and_wait
from bot.scheduling import defer_to_people

log = logging.getLogger(__name__)

ROUTE = "/alerts/alertmanager"
WAIT_BACKOFF = 5.0


class Durability:
    """How many replicas must hold a notification before the 200 (see the module's docstring)."""

    def __init__(self, redis: aioredis.Redis) -> None:
        default = "0" if mode_of(redis) == "single" else "1"
        self.replicas = _env_int("CHATOPS_INTAKE_WAIT_REPLICAS", default)
        self.timeout_ms = max(1, _env_int("CHATOPS_INTAKE_WAIT_MS", "500"))
        self._skip_until = 0.0

    def wanted(self) -> int:
        return self.replicas if time.monotonic() >= self._skip_until else 0

    def record(self, wanted: int, acked: int) -> None:
        if wanted and acked < wanted:
            self._skip_until = time.monotonic() + WAIT_BACKOFF
            metrics.NOTIFICATIONS.labels("accepted_unreplicated").inc()
            log.warning(
                "alert intake: %d of %d replica(s) confirmed a notification within %d ms; accepted, "
                "and not waiting for replicas for %.0fs",
                acked,
                wanted,
                self.timeout_ms,
                WAIT_BACKOFF,
            )


def _env_int(name: str, default: str) -> int:
    raw = os.environ.get(name, default)
    try:
        return max(0, int(raw))
    except ValueError:
        log.error("%s=%r is not a whole number; using %s", name, raw, default)
        return int(default)


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
    durability = Durability(redis)

    async def handle(request: web.Request) -> web.Response:
        # people first (bot/scheduling.py): a person's request in flight goes before this one's
        # read, parse and write; Alertmanager waits at most MAX_DEFER longer for its 200
        await defer_to_people("alert-intake")
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
        fields = ("body", body.decode("utf-8"), "at", f"{time.time():.3f}")
        wanted = durability.wanted()
        try:
            entry, acked = await write_and_wait(
                redis,
                stream_key,
                ("XADD", stream_key, "*", *fields),
                replicas=wanted,
                timeout_ms=durability.timeout_ms,
            )
        except (RedisError, OSError) as exc:
            log.error("alert intake: cannot write to redis (%s); answering 503 so Alertmanager retries", exc)
            return _error(503, "state store unavailable; retry later")
        durability.record(wanted, acked)
        metrics.NOTIFICATIONS.labels("accepted").inc()
        return web.json_response({"ok": True, "id": str(entry), "alerts": len(payload.alerts)})

    return handle
