"""Fixtures for runbook tests: the Kubernetes emulator and the shared real Prometheus."""

from tests.harness.kubernetes import kube  # noqa: F401
from tests.harness.prometheus import shared_metrics_endpoint, shared_prometheus  # noqa: F401
