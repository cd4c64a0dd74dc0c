"""The runbook part wired to the policy and settings: library, clusters, Prometheus, runner.

Built once per process and kept on ``ctx.runbooks``; the library is re-read on every use so an edited
runbook file counts without a restart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.context import AppContext
from bot.runbooks.diagnostics import DiagnosticsRunner
from bot.runbooks.loader import RunbookLibrary
from integrations.kubernetes import Clusters, ClusterSpec
from integrations.prometheus import PrometheusClient

log = logging.getLogger(__name__)


@dataclass
class RunbookService:
    ctx: AppContext
    clusters: Clusters
    prometheus: PrometheusClient | None
    runner: DiagnosticsRunner

    def library(self) -> RunbookLibrary:
        section = self.ctx.policy.runbooks
        return RunbookLibrary.load(section.paths, alert_map=section.alerts)

    def close(self) -> None:
        self.clusters.close()
        if self.prometheus is not None:
            self.prometheus.close()


def build_service(ctx: AppContext) -> RunbookService:
    policy, settings = ctx.policy, ctx.settings
    specs = policy.kubernetes.specs()
    if not specs and settings.kubeconfig:
        # No clusters in the policy: the KUBECONFIG of the process, its current context, named "default".
        specs = [ClusterSpec(name="default", kubeconfig=settings.kubeconfig)]
    clusters = Clusters(specs, default=policy.kubernetes.default_cluster)
    url = policy.prometheus.url or settings.prometheus_url
    prometheus = (
        PrometheusClient(
            url,
            headers=policy.prometheus.resolved_headers(),
            timeout=policy.prometheus.timeout.total_seconds(),
            verify_ssl=policy.prometheus.verify_ssl,
        )
        if url
        else None
    )
    runner = DiagnosticsRunner(
        clusters=clusters,
        prometheus=prometheus,
        check_timeout=policy.runbooks.check_timeout.total_seconds(),
        graph_range=policy.runbooks.graph_range,
    )
    return RunbookService(ctx, clusters, prometheus, runner)


def service_for(ctx: AppContext) -> RunbookService:
    existing = ctx.runbooks
    if existing is not None and existing.ctx is ctx:
        return existing
    service = build_service(ctx)
    ctx.runbooks = service
    return service
