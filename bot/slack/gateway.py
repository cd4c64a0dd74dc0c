"""The outbound gateway: the only place that calls the Slack Web API.

* pacing: chat.postMessage about one per second per channel (with a small burst), other methods by
  Slack's rate-limit tier, shared by all replicas through a GCRA reservation in Redis;
* retries: every failure is classified once (bot/slack/errors.py); transient ones (429 with its
  Retry-After, 5xx, timeouts, connection errors) are retried with tenacity (bot/slack/retry.py),
  permanent and too-large ones raise at once. Only ``SlackCallError`` ever leaves this module;
* metrics for every call, by method and outcome.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

from bot.keys import Keys
from bot.metrics import SLACK_CALL_SECONDS, SLACK_CALLS, SLACK_PACING_WAIT, SLACK_RATELIMITED
from bot.slack import lanes
from bot.slack.errors import ErrorKind, SlackCallError
from bot.slack.retry import gateway_wait
from bot.tasks import raise_if_cancelling

log = logging.getLogger(__name__)

# (interval between calls in ms, burst) per pacing scope; Slack's documented minimum tier rates.
TIER_1 = (60_000, 1)
TIER_2 = (3_000, 5)
TIER_3 = (1_200, 10)
TIER_4 = (600, 20)
PER_CHANNEL_POST = (1_000, 3)

METHOD_TIERS: dict[str, tuple[int, int]] = {
    "conversations.create": TIER_2,
    "conversations.invite": TIER_3,
    "conversations.setTopic": TIER_2,
    "conversations.setPurpose": TIER_2,
    "conversations.list": TIER_2,
    "conversations.archive": TIER_2,
    "conversations.history": TIER_3,
    "conversations.replies": TIER_3,
    "conversations.info": TIER_3,
    "conversations.join": TIER_3,
    "conversations.members": TIER_4,
    "chat.update": TIER_3,
    "chat.delete": TIER_3,
    "pins.add": TIER_2,
    "bookmarks.add": TIER_2,
    "reactions.add": TIER_3,
    "users.list": TIER_2,
    "users.lookupByEmail": TIER_3,
    "usergroups.list": TIER_2,
    "usergroups.users.list": TIER_2,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
    "views.publish": TIER_4,
}

# GCRA with lanes. KEYS: the scope's shared key, then (bulk only) the bulk lane's cap key.
# ARGV: interval, tolerance, bulk (0/1), cap interval, cap tolerance, bulk max wait (ms).
# Returns {wait_ms, reserved}. Interactive callers always reserve (and wait their turn); a bulk caller
# reserves only when its slot is at most ``max wait`` away on both keys, else nothing is reserved and
# it asks again after the wait: bulk never holds future slots, so interactive calls never queue behind
# bulk ones, and the cap key keeps bulk within its share of the scope's rate.
_GCRA = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now_ms)
if tat < now_ms then tat = now_ms end
local wait = tat - tolerance - now_ms
if wait < 0 then wait = 0 end
if ARGV[3] == '1' then
  local ctat = now_ms
  local ci = tonumber(ARGV[4])
  local ct = tonumber(ARGV[5])
  if KEYS[2] then
    ctat = tonumber(redis.call('GET', KEYS[2]) or now_ms)
    if ctat < now_ms then ctat = now_ms end
    local cw = ctat - ct - now_ms
    if cw > wait then wait = cw end
  end
  if wait > tonumber(ARGV[6]) then return {wait, 0} end
  if KEYS[2] then redis.call('SET', KEYS[2], ctat + ci, 'PX', ci + ct + 60000) end
end
redis.call('SET', KEYS[1], tat + interval, 'PX', interval + tolerance + 60000)
return {wait, 1}
"""


@dataclass
class GatewayConfig:
    attempts: int = 8
    base_backoff: float = 0.5
    max_backoff: float = 30.0
    timeout: float = 10.0
    pacing: bool = True


class SlackGateway:
    def __init__(
        self, client: AsyncWebClient, redis: aioredis.Redis, keys: Keys, config: GatewayConfig | None = None
    ) -> None:
        self.client = client
        self.redis = redis
        self.keys = keys
        self.config = config or GatewayConfig()
        self._gcra = redis.register_script(_GCRA)
        self._http: aiohttp.ClientSession | None = None
        self._closed = False
        self._bulk_locks: dict[str, asyncio.Lock] = {}
        self.calls = 0  # calls made by this process (bench and tests read it)

    async def close(self) -> None:
        self._closed = True
        if self._http is not None:
            await self._http.close()
            self._http = None

    # ----------------------------------------------------------------------------------------
    async def _pace(self, method: str, kwargs: dict[str, Any]) -> None:
        if not self.config.pacing:
            return
        channel = kwargs.get("channel") or kwargs.get("channel_id")
        if method in ("chat.postMessage", "chat.postEphemeral") and channel:
            # one channel's posts: no bulk cap (a storm's own channel is bulk's), but bulk still
            # never reserves ahead of interactive posts
            scope, (interval, burst), capped = f"{{post:{channel}}}", PER_CHANNEL_POST, False
        elif method in METHOD_TIERS:
            scope, (interval, burst), capped = f"{{m:{method}}}", METHOD_TIERS[method], True
        else:
            return
        lane = lanes.current()
        tolerance = (burst - 1) * interval
        if lane == lanes.INTERACTIVE:
            wait_ms, _ = await self._gcra(
                keys=[self.keys.pacing(scope)], args=[interval, tolerance, 0, 0, 0, 0]
            )
            await self._wait(method, lane, int(wait_ms))
            return
        cap_interval = int(interval / lanes.BULK_TIER_SHARE)
        cap_burst = max(1, int(burst * lanes.BULK_TIER_SHARE))
        keys = (
            [self.keys.pacing(scope), self.keys.pacing(f"{scope}:bulk")]
            if capped
            else [self.keys.pacing(scope)]
        )
        args = [interval, tolerance, 1, cap_interval, (cap_burst - 1) * cap_interval, lanes.BULK_MAX_WAIT_MS]
        # one bulk caller per scope asks at a time in this process (no herd of retries)
        lock = self._bulk_locks.setdefault(scope, asyncio.Lock())
        async with lock:
            while True:
                wait_ms, reserved = (int(x) for x in await self._gcra(keys=keys, args=args))
                await self._wait(method, lane, wait_ms)
                if reserved:
                    return

    async def _wait(self, method: str, lane: str, wait_ms: int) -> None:
        if wait_ms > 0:
            SLACK_PACING_WAIT.labels(method).inc(wait_ms / 1000)
            lanes.LANE_PACING_WAIT.labels(lane).inc(wait_ms / 1000)
            await asyncio.sleep(wait_ms / 1000)

    def _retrying(self, attempts: int) -> AsyncRetrying:
        return AsyncRetrying(
            stop=stop_after_attempt(attempts),
            wait=gateway_wait(self.config.base_backoff, self.config.max_backoff),
            retry=retry_if_exception(_is_transient),
            reraise=True,
        )

    async def call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        """Call a Web API method; returns Slack's response data or raises ``SlackCallError``
        (transient failures only after the configured attempts)."""
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        try:
            async for attempt in self._retrying(self.config.attempts):
                with attempt:
                    return await self._once(method, kwargs)
        except SlackCallError as exc:
            if exc.transient:
                SLACK_CALLS.labels(method, "gave_up").inc()
                log.error("slack call gave up", extra={"method": method, "reason": exc.error})
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(self, method: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        await self._pace(method, kwargs)
        started = time.perf_counter()
        self.calls += 1
        try:
            body = _json_safe(kwargs)
            # Slack reads JSON bodies on write methods; read methods want form fields
            as_json = any(isinstance(v, list | dict) for v in body.values())
            call = (
                self.client.api_call(method, json=body)
                if as_json
                else self.client.api_call(method, data=_form_booleans(body))
            )
            response = await asyncio.wait_for(call, timeout=self.config.timeout)
            SLACK_CALLS.labels(method, "ok").inc()
            return dict(response.data) if isinstance(response.data, dict) else {"ok": True}
        except SlackApiError as exc:
            status = exc.response.status_code
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            error = str(data.get("error") or f"http_{status}")
            retry_after: float | None = None
            if status == 429:
                SLACK_RATELIMITED.labels(method).inc()
                SLACK_CALLS.labels(method, "ratelimited").inc()
                error = "ratelimited"
                retry_after = _retry_after(exc.response.headers)
            elif status >= 500:
                SLACK_CALLS.labels(method, "server_error").inc()
                error = f"http_{status}"
            else:
                SLACK_CALLS.labels(method, "error").inc()
            raise SlackCallError(method, error, dict(data), retry_after=retry_after, status=status) from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise_if_cancelling()  # a cancellation that surfaced as a timeout is not retried
            SLACK_CALLS.labels(method, "connection_error").inc()
            raise SlackCallError(method, type(exc).__name__, kind=ErrorKind.TRANSIENT) from exc
        finally:
            SLACK_CALL_SECONDS.labels(method).observe(time.perf_counter() - started)

    # ----------------------------------------------------------------------------------------
    async def respond(self, response_url: str, payload: dict[str, Any]) -> None:
        """Post to a slash command's or action's response_url (ephemeral by default)."""
        timeout = aiohttp.ClientTimeout(total=self.config.timeout)
        if self._closed:
            # an answer still owed after shutdown began: its own short-lived session
            async with aiohttp.ClientSession(timeout=timeout) as http:
                await self._respond(http, response_url, payload)
            return
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=timeout)
        await self._respond(self._http, response_url, payload)

    async def _respond(self, http: aiohttp.ClientSession, response_url: str, payload: dict[str, Any]) -> None:
        method = "response_url"
        try:
            async for attempt in self._retrying(4):
                with attempt:
                    await self._respond_once(http, response_url, payload)
        except SlackCallError as exc:
            if exc.transient:
                SLACK_CALLS.labels(method, "gave_up").inc()
                log.error("slack call gave up", extra={"method": method, "reason": exc.error})
            raise

    async def _respond_once(
        self, http: aiohttp.ClientSession, response_url: str, payload: dict[str, Any]
    ) -> None:
        method = "response_url"
        try:
            async with http.post(response_url, json=payload) as resp:
                body = await resp.text()
                if resp.status == 429:
                    SLACK_CALLS.labels(method, "ratelimited").inc()
                    raise SlackCallError(
                        method, "ratelimited", status=429, retry_after=_retry_after(resp.headers)
                    )
                if resp.status >= 500:
                    SLACK_CALLS.labels(method, "server_error").inc()
                    raise SlackCallError(method, f"http_{resp.status}", status=resp.status)
                if resp.status >= 400:
                    SLACK_CALLS.labels(method, "error").inc()
                    raise SlackCallError(method, f"http_{resp.status}: {body[:200]}", status=resp.status)
                SLACK_CALLS.labels(method, "ok").inc()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise_if_cancelling()
            SLACK_CALLS.labels(method, "connection_error").inc()
            raise SlackCallError(method, type(exc).__name__, kind=ErrorKind.TRANSIENT) from exc


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, SlackCallError) and exc.transient


def _retry_after(headers: Any) -> float:
    """Seconds from a Retry-After header (Slack sends whole seconds); 1 when absent or unreadable."""
    raw = headers.get("Retry-After") or headers.get("retry-after") if headers else None
    try:
        return max(0.0, float(raw)) if raw is not None else 1.0
    except ValueError:
        return 1.0


def _form_booleans(body: dict[str, Any]) -> dict[str, Any]:
    """Booleans in a form body as Slack documents them (``true``/``false``): form-encoding a Python
    bool would send ``True``/``False``, which Slack does not read as a boolean."""
    return {k: ("true" if v else "false") if isinstance(v, bool) else v for k, v in body.items()}


def _json_safe(kwargs: dict[str, Any]) -> dict[str, Any]:
    """slack_sdk model objects -> dicts, so the JSON body serialises."""
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        if isinstance(value, list | tuple):
            out[key] = [v.to_dict() if hasattr(v, "to_dict") else v for v in value]
        elif hasattr(value, "to_dict"):
            out[key] = value.to_dict()
        else:
            out[key] = value
    return out
