"""Prometheus instant and range queries (prometheus-api-client) returning typed results.

The blocking client runs in a thread with an HTTP timeout, a server-side query timeout and an outer
``asyncio.wait_for``. Bad PromQL, an unreachable server, auth errors and timeouts come back as a
:class:`~integrations.failures.Failure` with one clear line. :func:`format_value` (from
:mod:`integrations.prom_units`) renders a value with its unit (seconds/ms, bytes, percent, req/s).
"""

from __future__ import annotations

import ast
import asyncio
import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import urllib3
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from urllib3.util.retry import Retry

from integrations.failures import Failure, FailureKind, one_line
from integrations.prom_units import (
    axis_unit_label,
    format_value,
    normalise_unit,
    scale_for_axis,
    series_label,
)

__all__ = [
    "InstantResult",
    "PrometheusClient",
    "RangeResult",
    "Sample",
    "Series",
    "auto_step",
    "axis_unit_label",
    "format_value",
    "normalise_unit",
    "scale_for_axis",
    "series_label",
]

log = logging.getLogger(__name__)

SOURCE = "prometheus"


# ---------------------------------------------------------------------------------------------- types


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float

    @property
    def name(self) -> str:
        return series_label(self.labels)


@dataclass(frozen=True)
class InstantResult:
    query: str
    samples: list[Sample]
    unit: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def formatted(self, sample: Sample) -> str:
        return format_value(sample.value, self.unit)


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    points: list[tuple[datetime, float]]

    @property
    def name(self) -> str:
        return series_label(self.labels)

    @property
    def last(self) -> float | None:
        return self.points[-1][1] if self.points else None


@dataclass(frozen=True)
class RangeResult:
    query: str
    series: list[Series]
    start: datetime
    end: datetime
    step_seconds: float
    unit: str | None = None


def _to_float(raw: Any) -> float:
    try:
        return float(raw)
    except (TypeError, ValueError):
        return math.nan


def auto_step(duration: timedelta, points: int = 120) -> float:
    """A step giving about ``points`` points over ``duration``, at least 1 s, rounded to whole seconds."""
    return float(max(1, round(duration.total_seconds() / points)))


# ---------------------------------------------------------------------------------------------- client


class PrometheusClient:
    """Queries one Prometheus. ``headers`` carry optional auth (e.g. ``Authorization: Bearer ...``)."""

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        verify_ssl: bool = True,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        retry = Retry(
            total=1,
            read=False,
            backoff_factor=0.2,
            status_forcelist=[502, 504],
            allowed_methods=["GET", "POST"],
        )
        self._client = PrometheusConnect(
            url=self.url,
            headers=dict(headers or {}),
            disable_ssl=not verify_ssl,
            retry=retry,
            timeout=timeout,
        )

    @property
    def _server_timeout(self) -> str:
        """Prometheus' own query timeout (a Go duration), so a heavy query stops on the server too."""
        return f"{max(1, round(self.timeout * 1000))}ms"

    def close(self) -> None:
        self._client._session.close()

    async def query(
        self, promql: str, *, unit: str | None = None, at: datetime | None = None
    ) -> InstantResult | Failure:
        params: dict[str, Any] = {"timeout": self._server_timeout}
        if at is not None:
            params["time"] = at.timestamp()

        def run() -> InstantResult:
            data = self._client.custom_query(promql, params=params, timeout=self.timeout)
            samples = _instant_samples(data)
            return InstantResult(promql, samples, unit, at or datetime.now(UTC))

        return await self._run(promql, run)

    async def query_range(
        self,
        promql: str,
        *,
        duration: timedelta = timedelta(hours=1),
        end: datetime | None = None,
        step: float | None = None,
        unit: str | None = None,
    ) -> RangeResult | Failure:
        end_at = end or datetime.now(UTC)
        start_at = end_at - duration
        step_s = step or auto_step(duration)

        def run() -> RangeResult:
            data = self._client.custom_query_range(
                promql,
                start_time=start_at,
                end_time=end_at,
                step=f"{step_s:g}",
                params={"timeout": self._server_timeout},
                timeout=self.timeout,
            )
            series = [
                Series(
                    labels=dict(item.get("metric", {})),
                    points=[
                        (datetime.fromtimestamp(float(t), UTC), _to_float(v))
                        for t, v in item.get("values", [])
                    ],
                )
                for item in data
            ]
            return RangeResult(promql, series, start_at, end_at, step_s, unit)

        return await self._run(promql, run)

    async def _run(self, promql: str, fn: Any) -> Any:
        try:
            return await asyncio.wait_for(asyncio.to_thread(fn), timeout=self.timeout + 2.0)
        except Exception as exc:
            failure = self.failure_for(exc, promql)
            log.warning(
                "prometheus query failed: %s", failure.line(), exc_info=failure.kind is FailureKind.ERROR
            )
            return failure

    def failure_for(self, exc: BaseException, promql: str) -> Failure:
        short = one_line(promql, 80)
        if isinstance(exc, PrometheusApiClientException):
            status, error_type, error = _parse_api_error(str(exc))
            if status == 400 or error_type == "bad_data":
                error = re.sub(r'^invalid parameter "query": ', "", error)
                return Failure(SOURCE, FailureKind.BAD_QUERY, f"bad PromQL `{short}`: {error}")
            if status == 401:
                return Failure(
                    SOURCE, FailureKind.UNAUTHORIZED, f"`{short}`: unauthorized (401): check the headers"
                )
            if status == 403:
                return Failure(SOURCE, FailureKind.FORBIDDEN, f"`{short}`: forbidden (403)")
            if error_type == "timeout":
                return Failure(
                    SOURCE, FailureKind.TIMEOUT, f"`{short}`: query timed out in Prometheus: {error}"
                )
            return Failure(SOURCE, FailureKind.ERROR, f"`{short}`: Prometheus answered {status}: {error}")
        if isinstance(exc, TimeoutError | requests.Timeout) or _is_read_timeout(exc):
            return Failure(SOURCE, FailureKind.TIMEOUT, f"`{short}`: timed out after {self.timeout:g}s")
        if isinstance(exc, requests.ConnectionError):
            return Failure(
                SOURCE, FailureKind.UNREACHABLE, f"`{short}`: Prometheus unreachable at {self.url}"
            )
        if isinstance(exc, requests.RequestException | ValueError | KeyError):
            return Failure(SOURCE, FailureKind.ERROR, f"`{short}`: unexpected answer: {one_line(exc, 150)}")
        return Failure(SOURCE, FailureKind.ERROR, f"`{short}`: {type(exc).__name__}: {one_line(exc, 150)}")


def _is_read_timeout(exc: BaseException) -> bool:
    inner = exc.args[0] if isinstance(exc, requests.ConnectionError) and exc.args else None
    reason = inner.reason if isinstance(inner, urllib3.exceptions.MaxRetryError) else None
    # NewConnectionError subclasses ConnectTimeoutError in urllib3 2: a refused connection is no timeout.
    return isinstance(reason, urllib3.exceptions.TimeoutError) and not isinstance(
        reason, urllib3.exceptions.NewConnectionError
    )


def _instant_samples(data: Any) -> list[Sample]:
    # /api/v1/query returns a vector (list of {metric, value}), or a scalar/string [ts, "v"].
    if isinstance(data, list) and len(data) == 2 and not isinstance(data[0], dict):
        return [Sample({}, _to_float(data[1]))]
    return [
        Sample(dict(item.get("metric", {})), _to_float(item.get("value", [0, "NaN"])[1])) for item in data
    ]


_API_ERROR = re.compile(r"HTTP Status Code (\d+) \((.*)\)\s*$", re.S)


def _parse_api_error(message: str) -> tuple[int | None, str, str]:
    """prometheus-api-client puts ``HTTP Status Code 400 (b'{json}')`` in the message: take it apart."""
    match = _API_ERROR.search(message)
    if not match:
        return None, "", one_line(message, 200)
    status = int(match.group(1))
    raw = match.group(2)
    try:
        body = ast.literal_eval(raw)
        text = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
        data = json.loads(text)
        return status, str(data.get("errorType", "")), one_line(data.get("error", text), 200)
    except (ValueError, SyntaxError, AttributeError):
        return status, "", one_line(raw, 200)
