"""A small client of Alertmanager's API v2 for silences: create, expire, read, and count the firing
alerts a set of matchers would mute (Alertmanager's own matching, ``GET /api/v2/alerts?filter=``).

Data only: every call returns a value or a :class:`~integrations.failures.Failure` with one line saying
why (unreachable, timeout, rejected…), never a Slack block and never an exception for those."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from integrations.failures import Failure, FailureKind

log = logging.getLogger(__name__)
SOURCE = "alertmanager"


@dataclass(frozen=True)
class Matcher:
    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    def as_api(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "isRegex": self.is_regex, "isEqual": self.is_equal}

    def matches(self, labels: dict[str, str]) -> bool:
        """Alertmanager's matching: a missing label is the empty string; regexes match the whole value."""
        value = labels.get(self.name, "")
        if self.is_regex:
            try:
                hit = re.fullmatch(self.value, value) is not None
            except re.error:
                return False
        else:
            hit = value == self.value
        return hit if self.is_equal else not hit

    def as_filter(self) -> str:
        op = ("=~" if self.is_regex else "=") if self.is_equal else ("!~" if self.is_regex else "!=")
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{op}"{escaped}"'


@dataclass(frozen=True)
class Silence:
    id: str
    state: str  # active, pending, expired
    created_by: str
    comment: str
    starts_at: datetime
    ends_at: datetime
    matchers: tuple[Matcher, ...]

    def mutes(self, labels: dict[str, str]) -> bool:
        """Whether this silence's matchers select an alert with these labels (active or not)."""
        return bool(self.matchers) and all(m.matches(labels) for m in self.matchers)


def _parse_silence(data: dict[str, Any]) -> Silence:
    return Silence(
        id=str(data["id"]),
        state=str(data["status"]["state"]),
        created_by=str(data.get("createdBy", "")),
        comment=str(data.get("comment", "")),
        starts_at=datetime.fromisoformat(data["startsAt"].replace("Z", "+00:00")),
        ends_at=datetime.fromisoformat(data["endsAt"].replace("Z", "+00:00")),
        matchers=tuple(
            Matcher(str(m["name"]), str(m["value"]), bool(m.get("isRegex")), bool(m.get("isEqual", True)))
            for m in data.get("matchers", [])
        ),
    )


def _failure(exc: Exception | httpx.Response, what: str) -> Failure:
    if isinstance(exc, httpx.TimeoutException):
        return Failure(SOURCE, FailureKind.TIMEOUT, f"{what}: Alertmanager did not answer in time")
    if isinstance(exc, httpx.HTTPError):
        return Failure(
            SOURCE, FailureKind.UNREACHABLE, f"{what}: Alertmanager is unreachable ({type(exc).__name__})"
        )
    if isinstance(exc, httpx.Response):
        body = " ".join(exc.text.split())[:200]
        kind = {
            401: FailureKind.UNAUTHORIZED,
            403: FailureKind.FORBIDDEN,
            404: FailureKind.NOT_FOUND,
        }.get(exc.status_code, FailureKind.UNAVAILABLE if exc.status_code >= 500 else FailureKind.REJECTED)
        return Failure(SOURCE, kind, f"{what}: Alertmanager answered {exc.status_code}: {body}")
    return Failure(SOURCE, FailureKind.ERROR, f"{what}: {type(exc).__name__}")


class AlertmanagerClient:
    def __init__(
        self, base_url: str, *, timeout: float = 5.0, transport: httpx.AsyncBaseTransport | None = None
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.transport = transport

    async def _request(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response | Failure:
        try:
            async with httpx.AsyncClient(
                base_url=self.base_url, timeout=self.timeout, transport=self.transport
            ) as http:
                resp = await http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            log.warning("alertmanager %s %s failed: %s", method, path, exc)
            return _failure(exc, what)
        if resp.status_code >= 300:
            log.warning("alertmanager %s %s answered %s", method, path, resp.status_code)
            return _failure(resp, what)
        return resp

    async def create_silence(
        self,
        matchers: list[Matcher],
        *,
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str,
    ) -> str | Failure:
        """A new silence; its id."""
        body = {
            "matchers": [m.as_api() for m in matchers],
            "startsAt": starts_at.isoformat(),
            "endsAt": ends_at.isoformat(),
            "createdBy": created_by,
            "comment": comment,
        }
        resp = await self._request("POST", "/api/v2/silences", "create a silence", json=body)
        if isinstance(resp, Failure):
            return resp
        try:
            return str(resp.json()["silenceID"])
        except (ValueError, KeyError, TypeError):
            return Failure(SOURCE, FailureKind.BAD_RESPONSE, "create a silence: no silence id in the answer")

    async def expire_silence(self, silence_id: str) -> Failure | None:
        resp = await self._request("DELETE", f"/api/v2/silence/{silence_id}", "expire the silence")
        return resp if isinstance(resp, Failure) else None

    async def silence(self, silence_id: str) -> Silence | Failure:
        resp = await self._request("GET", f"/api/v2/silence/{silence_id}", "read the silence")
        if isinstance(resp, Failure):
            return resp
        try:
            return _parse_silence(resp.json())
        except (ValueError, KeyError, TypeError) as exc:
            return Failure(SOURCE, FailureKind.BAD_RESPONSE, f"read the silence: unexpected answer ({exc})")

    async def silences(self) -> list[Silence] | Failure:
        """Every silence Alertmanager holds (active, pending, and expired ones it still keeps)."""
        resp = await self._request("GET", "/api/v2/silences", "list the silences")
        if isinstance(resp, Failure):
            return resp
        try:
            return [_parse_silence(item) for item in resp.json()]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return Failure(SOURCE, FailureKind.BAD_RESPONSE, f"list the silences: unexpected answer ({exc})")

    async def firing_count(self, matchers: list[Matcher]) -> int | Failure:
        """How many alerts firing now (active, not yet silenced or inhibited) the matchers select."""
        params = [("filter", m.as_filter()) for m in matchers]
        params += [
            ("active", "true"),
            ("silenced", "false"),
            ("inhibited", "false"),
            ("unprocessed", "false"),
        ]
        resp = await self._request("GET", "/api/v2/alerts", "count the firing alerts", params=params)
        if isinstance(resp, Failure):
            return resp
        try:
            return len(resp.json())
        except ValueError:
            return Failure(SOURCE, FailureKind.BAD_RESPONSE, "count the firing alerts: not JSON")
