"""The diagnostics runner: every check of a runbook at once against the Kubernetes emulator and a real
Prometheus; progress after each; one failing check never stops the others."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from bot.runbooks.diagnostics import DiagnosticResult, DiagnosticsRunner
from bot.runbooks.loader import RunbookLibrary
from bot.runbooks.model import Diagnostic
from bot.runbooks.templating import build_context
from integrations.graphs import PNG_MAGIC
from integrations.kubernetes import Clusters, ClusterSpec
from integrations.prometheus import PrometheusClient
from tests.harness.kubernetes import KubeEmulator, deployment, event, pod, replicaset
from tests.harness.prometheus import MetricsEndpoint, PrometheusServer

REPO_RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"


def seed_crash_loop(kube: KubeEmulator) -> None:
    kube.put("v1/pods", pod("checkout-1", "shop", labels={"app": "checkout"}))
    kube.put(
        "v1/pods",
        pod(
            "checkout-2",
            "shop",
            labels={"app": "checkout"},
            ready=False,
            restarts=9,
            waiting="CrashLoopBackOff",
            last_terminated="OOMKilled",
            exit_code=137,
        ),
    )
    kube.put(
        "v1/events", event("ev1", "shop", obj="checkout-2", reason="BackOff", message="Back-off restarting")
    )
    kube.serve_logs("shop", "checkout-2", "ERROR out of memory allocating 1048576 bytes\n" * 3 + "ok\n")
    kube.put("apps/v1/deployments", deployment("checkout", "shop", replicas=2, ready=1, revision=4))
    kube.put("apps/v1/replicasets", replicaset("checkout", 3, "registry.local/checkout:1.3", "shop"))
    kube.put(
        "apps/v1/replicasets", replicaset("checkout", 4, "registry.local/checkout:1.4", "shop", replicas=2)
    )


async def test_pod_crash_loop_runbook_runs_every_check(
    kube: KubeEmulator, shared_metrics_endpoint: MetricsEndpoint, shared_prometheus: PrometheusServer
) -> None:
    seed_crash_loop(kube)
    shared_metrics_endpoint.set(
        'kube_pod_container_status_restarts_total{namespace="shop",pod="checkout-2"} 9\n'
        'kube_pod_container_status_restarts_total{namespace="shop",pod="checkout-1"} 0\n'
    )
    # increase() needs two samples in its window: wait for a few so the graph has points to draw
    await shared_prometheus.async_wait_for_query(
        "count_over_time(kube_pod_container_status_restarts_total[15m]) >= 4", lambda r: len(r) == 2
    )
    runbook = RunbookLibrary.load([REPO_RUNBOOKS]).get("KubePodCrashLooping")
    assert runbook is not None
    runner = DiagnosticsRunner(
        clusters=Clusters([ClusterSpec("test", str(kube.kubeconfig), "test")]),
        prometheus=PrometheusClient(shared_prometheus.url, timeout=5),
        graph_range=timedelta(minutes=5),
    )
    seen: list[tuple[str, int, int]] = []

    async def progress(result: DiagnosticResult, done: int, total: int) -> None:
        seen.append((result.name, done, total))

    context = build_context(
        labels={"alertname": "KubePodCrashLooping", "namespace": "shop", "app": "checkout"}
    )
    results = await runner.run(runbook.diagnostics, context, progress)

    assert [r.name for r in results] == [d.name for d in runbook.diagnostics]
    assert sorted(n for n, _, _ in seen) == sorted(d.name for d in runbook.diagnostics)
    assert [d for _, d, _ in seen] == list(range(1, len(results) + 1))
    by_name = {r.name: r for r in results}
    assert all(r.ok for r in results), [(r.name, r.reason) for r in results]
    pods = by_name["Unhealthy pods"]
    assert pods.attention and "*1 of 2*" in pods.lines[0]
    assert "CrashLoopBackOff" in pods.lines[1] and "OOMKilled" in pods.lines[1]
    assert "BackOff" in "\n".join(by_name["Warning events"].lines)
    logs = by_name["Error lines in recent logs"]
    assert logs.lines[0].startswith("*3* error lines") and "×3" in logs.lines[1]
    history = by_name["Rollout history"].lines
    assert history[0].startswith("• rev 4 *(current)* `registry.local/checkout:1.4`")
    restarts = by_name["Container restarts (15m)"]
    assert restarts.graph_png is not None and restarts.graph_png.startswith(PNG_MAGIC)


async def test_failing_checks_report_a_clear_line_and_the_others_still_run(
    kube: KubeEmulator, shared_metrics_endpoint: MetricsEndpoint, shared_prometheus: PrometheusServer
) -> None:
    seed_crash_loop(kube)
    kube.forbid("/api/v1/namespaces/secure/pods", 'pods is forbidden: User "bot" cannot list pods')
    shared_metrics_endpoint.set("diag_ok_metric 5")
    await shared_prometheus.async_wait_for_query("diag_ok_metric")
    runner = DiagnosticsRunner(
        clusters=Clusters([ClusterSpec("test", str(kube.kubeconfig), "test")]),
        prometheus=PrometheusClient(shared_prometheus.url, timeout=5),
        check_timeout=2,
    )
    slow_gate = asyncio.Event()
    original = runner._dispatch

    async def dispatch(diagnostic: Diagnostic, context: dict) -> DiagnosticResult:  # a check that hangs
        if diagnostic.name == "hangs":
            await slow_gate.wait()
        return await original(diagnostic, context)

    runner._dispatch = dispatch  # type: ignore[method-assign]
    diagnostics = [
        Diagnostic(name="good pods", type="pods", params={"namespace": "shop", "selector": "app=checkout"}),
        Diagnostic(name="forbidden pods", type="pods", params={"namespace": "secure"}),
        Diagnostic(name="other cluster", type="nodes", cluster="prod"),
        Diagnostic(name="bad promql", type="promql", query="sum(rate(x[5m]"),
        Diagnostic(name="missing label", type="promql", query='up{job="{{ service }}"}'),
        Diagnostic(name="good promql", type="promql", query="diag_ok_metric", unit="count"),
        Diagnostic(name="hangs", type="nodes"),
    ]
    results = {r.name: r for r in await runner.run(diagnostics, build_context(), runbook="checkout-slow")}

    assert results["good pods"].ok and results["good promql"].ok
    assert results["good promql"].lines == ["`diag_ok_metric` → *5*"]
    assert results["forbidden pods"].reason == (
        'kubernetes:test: pods in secure: forbidden (403): pods is forbidden: User "bot" cannot list pods'
    )
    assert results["other cluster"].reason == "unknown cluster 'prod' (configured: test)"
    bad = results["bad promql"].reason or ""
    assert bad.startswith("prometheus: bad PromQL `sum(rate(x[5m]`:")
    # the runbook, the check and the variable, in words: never Jinja's own message
    missing = results["missing label"].reason or ""
    assert missing.startswith(
        "runbook checkout-slow, check missing label: query needs {{ service }}, which this alert or "
        "incident does not provide"
    )
    assert "is undefined" not in missing
    assert results["hangs"].reason == "timed out after 2s"
    assert [r.status for r in results.values()].count("failed") == 5


async def test_no_prometheus_configured_is_a_clear_line(kube: KubeEmulator) -> None:
    runner = DiagnosticsRunner(clusters=Clusters([]), prometheus=None)
    [promql, pods] = await runner.run(
        [
            Diagnostic(name="q", type="promql", query="up"),
            Diagnostic(name="p", type="pods", params={"namespace": "x"}),
        ],
        build_context(),
    )
    assert promql.reason == "Prometheus is not configured (set PROMETHEUS_URL or prometheus.url)"
    assert pods.reason == "no Kubernetes cluster is configured in the policy"
