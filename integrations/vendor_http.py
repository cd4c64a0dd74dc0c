"""The vendor HTTP client base shared by PagerDuty, Opsgenie and Statuspage: one call with retries
(:func:`send_with_retries`) and one client class (:class:`VendorClient`) with the constructor, the
secret check, the headers and the answer check every vendor client needs.

Policy: retry on 5xx, 429 (and Statuspage's 420), timeouts and connection errors with exponential
backoff, honouring ``Retry-After`` (capped), else ``X-RateLimit-Reset`` when ``X-RateLimit-Remaining``
is 0 (GitHub, Jira); a 403 that is a rate limit (GitHub's: remaining 0 or a Retry-After) counts as
one; never retry any other 4xx. Every call ends in a typed
result, :class:`Delivered` or :class:`Failed`; nothing raises to the caller for an HTTP problem.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
)
from tenacity.wait import wait_base

from integrations.failures import FailureKind

log = logging.getLogger(__name__)

SleepFn = Callable[[float], Awaitable[None]]
RATE_LIMIT_STATUSES = frozenset({420, 429})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts in total, per-request timeout and backoff bounds, in seconds."""

    attempts: int = 4
    timeout: float = 5.0
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    retry_after_max: float = 60.0


@dataclass(frozen=True)
class Delivered:
    service: str
    action: str
    status_code: int
    attempts: int
    data: dict[str, Any] = field(default_factory=dict)
    ok: Literal[True] = True

    @property
    def reason(self) -> str:
        return f"{self.service} {self.action}: delivered (HTTP {self.status_code})"


@dataclass(frozen=True)
class Failed:
    service: str
    action: str
    kind: FailureKind
    detail: str
    attempts: int
    status_code: int | None = None
    ok: Literal[False] = False

    @property
    def reason(self) -> str:
        code = f" HTTP {self.status_code}" if self.status_code is not None else ""
        tries = "attempt" if self.attempts == 1 else "attempts"
        what = f"{self.kind.value}{code}, {self.attempts} {tries}"
        return f"{self.service} {self.action} failed ({what}): {self.detail}"


CallResult = Delivered | Failed


class _Retryable(Exception):
    def __init__(
        self, kind: FailureKind, detail: str, status_code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.status_code = status_code
        self.retry_after = retry_after


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date. None if absent or bad."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    return max(0.0, (when - current).total_seconds())


def rate_limit_wait(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from a rate-limited answer: ``Retry-After`` first, else ``X-RateLimit-Reset``
    (UTC epoch seconds as GitHub sends it, or an ISO 8601 time as Jira does) when
    ``X-RateLimit-Remaining`` is 0. None when neither says."""
    waited = parse_retry_after(headers.get("Retry-After"), now=now)
    if waited is not None:
        return waited
    reset = (headers.get("X-RateLimit-Reset") or "").strip()
    if not reset or (headers.get("X-RateLimit-Remaining") or "").strip() != "0":
        return None
    current = time.time() if now is None else now
    try:
        return max(0.0, float(reset) - current)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(reset.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - current)


def _is_rate_limited(status: int, headers: Mapping[str, str]) -> bool:
    if status in RATE_LIMIT_STATUSES:
        return True
    # GitHub answers an exhausted (primary) or secondary rate limit with 403 too
    return status == 403 and (
        (headers.get("X-RateLimit-Remaining") or "").strip() == "0" or "Retry-After" in headers
    )


class _WaitRetryAfterOrBackoff(wait_base):
    """Retry-After when the server sent one (capped), else exponential backoff."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return min(exc.retry_after, self.policy.retry_after_max)
        exponent = max(0, retry_state.attempt_number - 1)
        return min(self.policy.backoff_initial * (2**exponent), self.policy.backoff_max)


def _error_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:300] or response.reason_phrase
    if isinstance(body, dict):
        parts: list[str] = []
        for key in ("message", "error", "errorMessages", "errors", "result"):
            if body.get(key):
                parts.append(f"{key}: {body[key]}")
        if parts:
            return "; ".join(parts)[:300]
    return str(body)[:300]


async def send_with_retries(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    service: str,
    action: str,
    policy: RetryPolicy,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    params: Mapping[str, str] | None = None,
    sleep: SleepFn = asyncio.sleep,
) -> CallResult:
    """Send one request under ``policy``; return Delivered or Failed, never raise for HTTP trouble."""
    attempts = 0

    async def attempt() -> CallResult:
        nonlocal attempts
        attempts += 1
        try:
            response = await http.request(
                method, url, headers=headers, json=json, params=params, timeout=policy.timeout
            )
        except httpx.TimeoutException as exc:
            raise _Retryable(FailureKind.TIMEOUT, f"no answer within {policy.timeout:g}s") from exc
        except httpx.TransportError as exc:
            raise _Retryable(FailureKind.UNREACHABLE, f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if 200 <= status < 300:
            try:
                data = response.json() if response.content else {}
            except ValueError:
                return Failed(
                    service, action, FailureKind.BAD_RESPONSE, "answer is not JSON", attempts, status
                )
            return Delivered(service, action, status, attempts, data if isinstance(data, dict) else {})
        retry_after = rate_limit_wait(response.headers)
        if _is_rate_limited(status, response.headers):
            raise _Retryable(FailureKind.RATE_LIMITED, _error_detail(response), status, retry_after)
        if status >= 500:
            raise _Retryable(FailureKind.UNAVAILABLE, _error_detail(response), status, retry_after)
        return Failed(service, action, FailureKind.REJECTED, _error_detail(response), attempts, status)

    def log_retry(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        log.warning(
            "%s %s: attempt %d failed (%s): %s; retrying",
            service,
            action,
            state.attempt_number,
            getattr(exc, "kind", "error"),
            exc,
        )

    retrying = AsyncRetrying(
        stop=stop_after_attempt(max(1, policy.attempts)),
        wait=_WaitRetryAfterOrBackoff(policy),
        retry=retry_if_exception_type(_Retryable),
        before_sleep=log_retry,
        sleep=sleep,
        reraise=True,
    )
    try:
        result: CallResult = await retrying(attempt)
    except _Retryable as exc:
        result = Failed(service, action, exc.kind, exc.detail, attempts, exc.status_code)
    if isinstance(result, Failed):
        log.error("%s", result.reason)
    return result


class VendorClient:
    """One vendor's HTTP client: base URL, retry policy, an own or borrowed ``httpx`` client, the
    sleep between retries, and :meth:`_request`, which answers ``Failed(CONFIG)`` without a secret,
    sends with retries and turns a success whose body is unusable into ``Failed(BAD_RESPONSE)``.

    Subclasses set ``name``, ``DEFAULT_BASE_URL`` and ``SECRET_NAME`` (the setting that holds the
    secret, named in the not-configured message) and override :meth:`_auth_headers`, and
    :meth:`_answer_problem` when a 2xx needs checking. The secret never appears in ``repr``.
    """

    name: str
    DEFAULT_BASE_URL: ClassVar[str]
    SECRET_NAME: ClassVar[str]

    def __init__(
        self,
        secret: str,
        *,
        base_url: str | None = None,
        policy: RetryPolicy | None = None,
        http: httpx.AsyncClient | None = None,
        sleep: SleepFn = asyncio.sleep,
    ) -> None:
        self._secret = secret
        self.base_url = (base_url or self.DEFAULT_BASE_URL).rstrip("/")
        self.policy = policy or RetryPolicy()
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=self.policy.timeout)
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    def _missing(self) -> str | None:
        """Why this client cannot send (a missing setting), or None."""
        return None if self._secret else f"{self.SECRET_NAME} is not set"

    def _auth_headers(self) -> dict[str, str]:
        return {}

    def _answer_problem(self, result: Delivered) -> str | None:
        """Why a 2xx answer is unusable, or None."""
        return None

    async def _request(
        self,
        action: str,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> CallResult:
        missing = self._missing()
        if missing:
            return Failed(self.name, action, FailureKind.CONFIG, missing, 0)
        headers = {"Content-Type": "application/json", "Accept": "application/json", **self._auth_headers()}
        result = await send_with_retries(
            self._http,
            method,
            url,
            service=self.name,
            action=action,
            policy=self.policy,
            headers=headers,
            json=json,
            params=params,
            sleep=self._sleep,
        )
        if isinstance(result, Delivered):
            problem = self._answer_problem(result)
            if problem:
                log.error("%s %s: unusable answer: %s", self.name, action, problem)
                return Failed(
                    self.name, action, FailureKind.BAD_RESPONSE, problem, result.attempts, result.status_code
                )
        return result
