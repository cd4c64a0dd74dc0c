"""Fixtures for integration tests: the real Prometheus harness and the Kubernetes emulator."""

from tests.harness.kubernetes import kube  # noqa: F401
from tests.harness.prometheus import (  # noqa: F401
    metrics_endpoint,
    prometheus,
    prometheus_factory,
    shared_metrics_endpoint,
    shared_prometheus,
)
