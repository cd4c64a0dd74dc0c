"""Prometheus queries against a real Prometheus scraping an endpoint the test controls."""

from __future__ import annotations

import math
import socket
from datetime import UTC, datetime, timedelta

import pytest

from integrations.failures import Failure, FailureKind
from integrations.prometheus import (
    InstantResult,
    PrometheusClient,
    RangeResult,
    format_value,
    scale_for_axis,
    series_label,
)
from tests.harness.prometheus import MetricsEndpoint, PrometheusServer

EXPOSITION = """\
# TYPE http_requests_total counter
http_requests_total{service="checkout",code="200"} 1000
http_requests_total{service="checkout",code="500"} 50
# TYPE memory_bytes gauge
memory_bytes{pod="api-1"} 268435456
"""


async def test_instant_query_returns_typed_samples(
    shared_metrics_endpoint: MetricsEndpoint, shared_prometheus: PrometheusServer
) -> None:
    prometheus = shared_prometheus
    shared_metrics_endpoint.set(EXPOSITION)
    await prometheus.async_wait_for_query("memory_bytes")
    client = PrometheusClient(prometheus.url, timeout=5)

    result = await client.query('http_requests_total{service="checkout"}', unit="count")

    assert isinstance(result, InstantResult)
    values = {s.labels["code"]: s.value for s in result.samples}
    assert values == {"200": 1000.0, "500": 50.0}
    memory = await client.query("memory_bytes", unit="bytes")
    assert isinstance(memory, InstantResult)
    assert [memory.formatted(s) for s in memory.samples] == ["256 MiB"]
    scalar = await client.query("scalar(sum(memory_bytes)) / 2")
    assert isinstance(scalar, InstantResult) and scalar.samples[0].value == 134217728.0


async def test_range_query_follows_the_changing_endpoint(
    shared_metrics_endpoint: MetricsEndpoint, shared_prometheus: PrometheusServer
) -> None:
    prometheus = shared_prometheus
    shared_metrics_endpoint.set("queue_depth 1")
    await prometheus.async_wait_for_query("queue_depth == 1")
    shared_metrics_endpoint.set("queue_depth 7")
    await prometheus.async_wait_for_query("queue_depth == 7")
    client = PrometheusClient(prometheus.url, timeout=5)

    # prometheus-api-client rounds the end to whole seconds: end a second ahead so the newest sample is in.
    end = datetime.now(UTC) + timedelta(seconds=1)
    result = await client.query_range(
        "queue_depth", duration=timedelta(minutes=2), end=end, step=1, unit="count"
    )

    assert isinstance(result, RangeResult)
    [series] = result.series
    values = [v for _, v in series.points]
    assert 1.0 in values and values[-1] == 7.0
    assert all(a <= b for (a, _), (b, _) in zip(series.points, series.points[1:], strict=False))


async def test_bad_promql_and_unreachable_are_clear_lines(
    shared_prometheus: PrometheusServer, unused_tcp_port: int
) -> None:
    client = PrometheusClient(shared_prometheus.url, timeout=5)
    bad = await client.query("rate(http_requests_total[5m]")
    assert isinstance(bad, Failure) and bad.kind is FailureKind.BAD_QUERY
    assert bad.reason.startswith("bad PromQL `rate(http_requests_total[5m]`: ")
    assert "parse error" in bad.reason

    bad_range = await client.query_range("sum by (x", duration=timedelta(minutes=1))
    assert isinstance(bad_range, Failure) and bad_range.kind is FailureKind.BAD_QUERY

    gone = PrometheusClient(f"http://127.0.0.1:{unused_tcp_port}", timeout=3)
    unreachable = await gone.query("up")
    assert isinstance(unreachable, Failure) and unreachable.kind is FailureKind.UNREACHABLE
    assert (
        unreachable.line()
        == f"prometheus: `up`: Prometheus unreachable at http://127.0.0.1:{unused_tcp_port}"
    )


async def test_a_server_that_never_answers_is_a_timeout() -> None:
    with socket.socket() as blackhole:  # accepts connections (backlog) but never answers
        blackhole.bind(("127.0.0.1", 0))
        blackhole.listen(8)
        url = f"http://127.0.0.1:{blackhole.getsockname()[1]}"
        result = await PrometheusClient(url, timeout=1).query("up")
    assert isinstance(result, Failure) and result.kind is FailureKind.TIMEOUT
    assert result.reason == "`up`: timed out after 1s"


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (0.2346, "seconds", "235ms"),
        (2.5, "s", "2.5s"),
        (90, "seconds", "1.5min"),
        (0.0000042, "seconds", "4.2µs"),
        (1500, "ms", "1.5s"),
        (12, "ms", "12ms"),
        (512, "bytes", "512 B"),
        (1536, "bytes", "1.5 KiB"),
        (268435456, "bytes", "256 MiB"),
        (1.5 * 1024**3, "bytes", "1.5 GiB"),
        (12.345, "percent", "12.3%"),
        (0.05, "ratio", "5%"),
        (1234.5, "req/s", "1.23k req/s"),
        (3.0, "rps", "3 req/s"),
        (7, None, "7"),
        (2_500_000, "count", "2.5M"),
        (math.nan, "seconds", "no data"),
        (5, "widgets", "5 widgets"),
    ],
)
def test_format_value_with_units(value: float, unit: str | None, text: str) -> None:
    assert format_value(value, unit) == text


def test_axis_scaling_and_series_labels() -> None:
    assert scale_for_axis([0.1, 0.4], "seconds") == (0.001, "ms")
    assert scale_for_axis([2.0, 30.0], "seconds") == (1.0, "seconds")
    assert scale_for_axis([200.0, 3000.0], "ms") == (1000.0, "seconds")
    assert scale_for_axis([3 * 1024**3], "bytes") == (1024.0**3, "GiB")
    assert scale_for_axis([0.5], "ratio") == (0.01, "%")
    assert series_label({"__name__": "up", "job": "api"}) == "api"
    assert series_label({"code": "500", "service": "checkout"}) == "code=500, service=checkout"
    assert series_label({"__name__": "up"}) == "up"
