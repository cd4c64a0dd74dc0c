"""Fixtures for integration tests: the real Prometheus harness and the Kubernetes emulator."""

from tests.harness.kubernetes import kube  # noqa: F401
from tests.harness.prometheus import metrics_endpoint, prometheus, prometheus_factory  # noqa: F401
