"""Graphs: range results (from a real Prometheus and built by hand) → decodable PNGs."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import matplotlib.image as mpimg

from integrations.graphs import PNG_MAGIC, render_range
from integrations.prometheus import PrometheusClient, RangeResult, Series
from tests.harness.prometheus import MetricsEndpoint, PrometheusServer


def decode(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_MAGIC)
    image = mpimg.imread(io.BytesIO(png), format="png")
    height, width = image.shape[:2]
    return width, height


def synthetic(n_series: int, unit: str = "seconds") -> RangeResult:
    end = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    start = end - timedelta(hours=1)
    series = [
        Series(
            {"pod": f"api-{i}"},
            [(start + timedelta(minutes=m), 0.05 * (i + 1) + m / 1000) for m in range(0, 61, 1)],
        )
        for i in range(n_series)
    ]
    return RangeResult("histogram_quantile(0.95, ...)", series, start, end, 60.0, unit)


def test_png_is_valid_and_readable_size() -> None:
    png = render_range(synthetic(3), title="p95 latency")
    width, height = decode(png)
    assert (width, height) == (880, 462)
    assert 5_000 < len(png) < 400_000


def test_many_series_are_capped_and_still_render() -> None:
    few = render_range(synthetic(2))
    many = render_range(synthetic(30), max_series=5)
    assert decode(few) == decode(many)


def test_empty_result_renders_no_data() -> None:
    empty = RangeResult("up", [], datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 1, tzinfo=UTC), 30.0)
    assert decode(render_range(empty)) == (880, 462)


async def test_graph_from_a_real_prometheus_range_query(
    shared_metrics_endpoint: MetricsEndpoint, shared_prometheus: PrometheusServer
) -> None:
    shared_metrics_endpoint.set('graph_demo_bytes{pod="a"} 1048576\ngraph_demo_bytes{pod="b"} 3145728')
    await shared_prometheus.async_wait_for_query("graph_demo_bytes", lambda r: len(r) == 2)
    result = await PrometheusClient(shared_prometheus.url, timeout=5).query_range(
        "graph_demo_bytes",
        duration=timedelta(minutes=5),
        end=datetime.now(UTC) + timedelta(seconds=1),
        unit="bytes",
    )
    assert isinstance(result, RangeResult) and len(result.series) == 2
    assert decode(render_range(result, title="memory")) == (880, 462)
