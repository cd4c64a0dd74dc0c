"""Fixtures for integration tests: the real Prometheus harness and the Kubernetes emulator."""

from tests.harness.prometheus import metrics_endpoint, prometheus, prometheus_factory  # noqa: F401
