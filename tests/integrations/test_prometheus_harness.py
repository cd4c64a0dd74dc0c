"""The Prometheus harness itself: real binary, scrape of a test-controlled endpoint, rules, reload."""

from __future__ import annotations

from tests.harness.prometheus import MetricsEndpoint, PrometheusFactory, PrometheusServer


def test_scrapes_the_text_the_test_serves(
    metrics_endpoint: MetricsEndpoint, prometheus: PrometheusServer
) -> None:
    up = prometheus.query('up{job="test"}')
    assert [r["value"][1] for r in up] == ["1"]

    metrics_endpoint.set('demo_requests_total{code="500"} 42')
    result = prometheus.wait_for_query("demo_requests_total")
    assert result[0]["metric"]["code"] == "500"
    assert result[0]["value"][1] == "42"

    metrics_endpoint.set('demo_requests_total{code="500"} 99')
    result = prometheus.wait_for_query("demo_requests_total == 99")
    assert result[0]["value"][1] == "99"


def test_rules_fire_and_reload_changes_them(
    metrics_endpoint: MetricsEndpoint, prometheus_factory: PrometheusFactory
) -> None:
    metrics_endpoint.set("demo_queue_depth 10")
    rules = """
groups:
- name: demo
  rules:
  - alert: QueueTooDeep
    expr: demo_queue_depth > 5
    labels: {severity: critical}
"""
    server = prometheus_factory(rules={"demo.yml": rules}, alertmanagers=["127.0.0.1:1"])
    alert = server.wait_for_alert("QueueTooDeep", state="firing")
    assert alert["labels"]["severity"] == "critical"
    config = server.config_path.read_text()
    assert "127.0.0.1:1" in config and "demo.yml" in config

    server.set_rules({"demo.yml": rules.replace("QueueTooDeep", "QueueRenamed")})
    renamed = server.wait_for_alert("QueueRenamed", state="firing")
    assert renamed["labels"]["alertname"] == "QueueRenamed"


def test_stop_removes_the_workdir(metrics_endpoint: MetricsEndpoint) -> None:
    server = PrometheusServer([metrics_endpoint]).start()
    workdir = server.workdir
    assert workdir is not None and (workdir / "prometheus.yml").exists()
    server.stop()
    assert not workdir.exists()
