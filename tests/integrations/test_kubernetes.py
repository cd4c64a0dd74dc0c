"""Kubernetes queries through the official client against kmock's KubernetesEmulator."""

from __future__ import annotations

from datetime import timedelta

from integrations.failures import Failure, FailureKind
from integrations.kubernetes import (
    Clusters,
    ClusterSpec,
    DeploymentStatus,
    EventsReport,
    KubernetesClient,
    LogsReport,
    NodesReport,
    PodsReport,
    RemediationResult,
    RolloutHistory,
    TopReport,
    free_of_ids,
)
from tests.harness.kubernetes import (
    KubeEmulator,
    deployment,
    event,
    node,
    pod,
    pod_metrics,
    replicaset,
)


def client_for(kube: KubeEmulator, name: str = "test", timeout: float = 10.0) -> KubernetesClient:
    return KubernetesClient(
        ClusterSpec(name=name, kubeconfig=str(kube.kubeconfig), context=name, timeout=timeout)
    )


async def test_unhealthy_pods_with_reasons(kube: KubeEmulator) -> None:
    kube.put("v1/pods", pod("api-ok", "shop", labels={"app": "api"}))
    kube.put(
        "v1/pods",
        pod(
            "api-crash",
            "shop",
            labels={"app": "api"},
            ready=False,
            restarts=7,
            waiting="CrashLoopBackOff",
            waiting_message="back-off 5m0s restarting failed container",
            last_terminated="OOMKilled",
            exit_code=137,
        ),
    )
    kube.put(
        "v1/pods",
        pod(
            "api-pull",
            "shop",
            labels={"app": "api"},
            ready=False,
            phase="Pending",
            waiting="ImagePullBackOff",
        ),
    )
    kube.put(
        "v1/pods",
        pod(
            "api-pending",
            "shop",
            labels={"app": "api"},
            phase="Pending",
            ready=False,
            unschedulable="0/3 nodes are available: 3 Insufficient cpu.",
            node=None,
        ),
    )
    kube.put("v1/pods", pod("worker-crash", "shop", labels={"app": "worker"}, ready=False, waiting="Error"))

    report = await client_for(kube).unhealthy_pods("shop", "app=api")

    assert isinstance(report, PodsReport)
    assert report.total == 4
    by_name = {p.name: p for p in report.problems}
    assert set(by_name) == {"api-crash", "api-pull", "api-pending"}
    crash = by_name["api-crash"]
    assert (crash.reason, crash.restarts, crash.container) == ("CrashLoopBackOff", 7, "app")
    assert "OOMKilled" in crash.message and "137" in crash.message
    assert by_name["api-pull"].reason == "ImagePullBackOff"
    assert by_name["api-pending"].reason == "Unschedulable"
    assert "Insufficient cpu" in by_name["api-pending"].message
    assert report.problems[0].name == "api-crash"  # most restarts first


async def test_pending_reason_from_scheduler_events(kube: KubeEmulator) -> None:
    pending = pod("db-0", "data", phase="Pending", ready=False, unschedulable="", node=None)
    kube.put("v1/pods", pending)
    kube.put(
        "v1/events",
        event(
            "db-0.1",
            "data",
            obj="db-0",
            reason="FailedScheduling",
            message="0/2 nodes are available: 2 node(s) had volume node affinity conflict.",
        ),
    )
    report = await client_for(kube).unhealthy_pods("data")
    assert isinstance(report, PodsReport)
    [problem] = report.problems
    assert problem.reason == "Unschedulable"
    assert "volume node affinity conflict" in problem.message


async def test_warning_events_for_object_and_namespace(kube: KubeEmulator) -> None:
    kube.put(
        "v1/events",
        event("e1", "shop", obj="api-1", reason="BackOff", message="Back-off restarting", count=12),
    )
    kube.put(
        "v1/events",
        event(
            "e2", "shop", obj="api-2", reason="Unhealthy", message="Readiness probe failed", ago=timedelta(0)
        ),
    )
    kube.put("v1/events", event("e3", "shop", obj="api-1", reason="Pulled", message="ok", type="Normal"))
    kube.put("v1/events", event("e4", "other", obj="x", reason="BackOff", message="elsewhere"))
    client = client_for(kube)

    for_pod = await client.warning_events("shop", kind="Pod", name="api-1")
    assert isinstance(for_pod, EventsReport)
    assert [(e.reason, e.count) for e in for_pod.events] == [("BackOff", 12)]
    assert for_pod.object == "Pod/api-1"

    namespace = await client.warning_events("shop")
    assert isinstance(namespace, EventsReport)
    assert [e.name for e in namespace.events] == ["api-2", "api-1"]  # newest first, Normal left out
    sent = [r for r in list(kube.handler) if r.resource is not None and r.resource.plural == "events"]
    assert any("type=Warning" in str(r.params.get("fieldSelector", "")) for r in sent)


async def test_deployment_status_and_rollout_history(kube: KubeEmulator) -> None:
    kube.put(
        "apps/v1/deployments",
        deployment("api", "shop", replicas=3, ready=1, updated=3, available=1, revision=3),
    )
    kube.put(
        "apps/v1/replicasets", replicaset("api", 1, "registry.local/api:1.0", "shop", age=timedelta(days=2))
    )
    kube.put(
        "apps/v1/replicasets", replicaset("api", 2, "registry.local/api:1.1", "shop", age=timedelta(days=1))
    )
    kube.put(
        "apps/v1/replicasets", replicaset("api", 3, "registry.local/api:1.2", "shop", replicas=3, ready=1)
    )
    foreign = replicaset("other", 9, "registry.local/other:9", "shop")
    foreign["metadata"]["labels"]["app"] = "api"  # same labels, different owner: not part of the history
    kube.put("apps/v1/replicasets", foreign)
    client = client_for(kube)

    status = await client.deployment_status("shop", "api")
    assert isinstance(status, DeploymentStatus)
    assert (status.desired, status.ready, status.updated, status.available) == (3, 1, 3, 1)
    assert status.revision == 3 and not status.healthy

    history = await client.rollout_history("shop", "api")
    assert isinstance(history, RolloutHistory)
    assert [r.revision for r in history.revisions] == [3, 2, 1]
    assert history.revisions[0].current and history.revisions[0].images == ["registry.local/api:1.2"]
    assert history.revisions[2].age_seconds is not None and history.revisions[2].age_seconds > 86400


async def test_error_logs_grouped_most_frequent_first(kube: KubeEmulator) -> None:
    kube.put("v1/pods", pod("api-1", "shop", labels={"app": "api"}, restarts=4))
    kube.put("v1/pods", pod("api-2", "shop", labels={"app": "api"}))
    kube.serve_logs(
        "shop",
        "api-1",
        "2026-01-01T10:00:00Z INFO started\n"
        "2026-01-01T10:00:01Z ERROR db timeout after 5000ms on 10.0.0.7:5432 (req 8f14e45fceea)\n"
        "2026-01-01T10:00:02Z ERROR db timeout after 5012ms on 10.0.0.8:5432 (req 1679091c5a88)\n"
        "2026-01-01T10:00:03Z ERROR payment 4411 declined\n",
    )
    kube.serve_logs(
        "shop", "api-2", "ERROR db timeout after 4999ms on 10.0.0.9:5432 (req c9f0f895fb98)\nok\n"
    )

    report = await client_for(kube).error_logs("shop", selector="app=api")

    assert isinstance(report, LogsReport)
    assert report.pods == ["api-1", "api-2"]  # most restarts first
    assert report.lines_scanned == 6 and report.error_lines == 4
    top, second = report.groups
    assert top.count == 3 and top.pods == ["api-1", "api-2"]
    assert "db timeout" in top.pattern and "<ip>" in top.pattern
    assert second.count == 1 and "declined" in second.example
    assert free_of_ids(top.pattern)


async def test_node_conditions(kube: KubeEmulator) -> None:
    kube.put("v1/nodes", node("node-a"))
    kube.put("v1/nodes", node("node-b", pressure="MemoryPressure"))
    kube.put("v1/nodes", node("node-c", ready=False))
    report = await client_for(kube).node_conditions()
    assert isinstance(report, NodesReport)
    assert [n.name for n in report.nodes] == ["node-b", "node-c", "node-a"]
    by_name = {n.name: n for n in report.nodes}
    assert [c.type for c in by_name["node-b"].problems] == ["MemoryPressure"]
    assert not by_name["node-c"].ready and by_name["node-c"].problems[0].reason == "KubeletNotReady"
    assert by_name["node-a"].problems == []


async def test_top_with_and_without_metrics_server(kube: KubeEmulator) -> None:
    client = client_for(kube)
    missing = await client.top("shop")
    assert isinstance(missing, Failure) and missing.kind is FailureKind.UNAVAILABLE
    assert "metrics-server not available" in missing.reason

    kube.enable_metrics()
    kube.put("metrics.k8s.io/v1beta1/pods", pod_metrics("api-1", "shop", "250m", "128Mi", {"app": "api"}))
    kube.put("metrics.k8s.io/v1beta1/pods", pod_metrics("api-2", "shop", "1", "1Gi", {"app": "api"}))
    report = await client.top("shop", "app=api")
    assert isinstance(report, TopReport)
    assert [(u.name, u.cpu_millicores, u.memory_bytes) for u in report.usage] == [
        ("api-2", 1000.0, 1024**3),
        ("api-1", 250.0, 128 * 1024**2),
    ]


async def test_failures_are_one_clear_line(kube: KubeEmulator, unused_tcp_port: int) -> None:
    kube.forbid("/api/v1/namespaces/secure/pods", 'pods is forbidden: User "bot" cannot list pods')
    client = client_for(kube)
    forbidden = await client.unhealthy_pods("secure")
    assert isinstance(forbidden, Failure) and forbidden.kind is FailureKind.FORBIDDEN
    assert (
        forbidden.reason == 'pods in secure: forbidden (403): pods is forbidden: User "bot" cannot list pods'
    )

    missing = await client.deployment_status("shop", "nope")
    assert isinstance(missing, Failure) and missing.kind is FailureKind.NOT_FOUND
    assert missing.reason.startswith("deployment shop/nope: not found (404)")

    kube.write_kubeconfig({"test": kube.url, "gone": f"http://127.0.0.1:{unused_tcp_port}"})
    gone = client_for(kube, "gone", timeout=3)
    unreachable = await gone.node_conditions()
    assert isinstance(unreachable, Failure) and unreachable.kind is FailureKind.UNREACHABLE
    assert (
        unreachable.line()
        == f"kubernetes:gone: node conditions: cluster unreachable at http://127.0.0.1:{unused_tcp_port}"
    )

    clusters = Clusters([ClusterSpec("test", str(kube.kubeconfig), "test")])
    unknown = clusters.get("prod")
    assert isinstance(unknown, Failure) and unknown.reason == "unknown cluster 'prod' (configured: test)"
    bad_context = KubernetesClient(ClusterSpec("x", str(kube.kubeconfig), "no-such-context"))
    config_failure = await bad_context.node_conditions()
    assert isinstance(config_failure, Failure) and config_failure.kind is FailureKind.CONFIG


async def test_remediations_change_the_deployment(kube: KubeEmulator) -> None:
    kube.put("apps/v1/deployments", deployment("api", "shop", image="registry.local/api:1.2", revision=3))
    kube.put("apps/v1/replicasets", replicaset("api", 2, "registry.local/api:1.1", "shop"))
    kube.put("apps/v1/replicasets", replicaset("api", 3, "registry.local/api:1.2", "shop", replicas=3))
    client = client_for(kube)

    restarted = await client.rollout_restart("shop", "api")
    assert isinstance(restarted, RemediationResult)
    annotations = kube.get("apps/v1/deployments", "shop", "api")["spec"]["template"]["metadata"][
        "annotations"
    ]
    assert "kubectl.kubernetes.io/restartedAt" in annotations

    scaled = await client.scale("shop", "api", 5)
    assert isinstance(scaled, RemediationResult) and scaled.detail == "replicas 3 → 5"
    assert kube.get("apps/v1/deployments", "shop", "api")["spec"]["replicas"] == 5

    undone = await client.rollout_undo("shop", "api")
    assert isinstance(undone, RemediationResult)
    assert undone.detail == "revision 3 → 2 (registry.local/api:1.1)"
    template = kube.get("apps/v1/deployments", "shop", "api")["spec"]["template"]
    assert template["spec"]["containers"][0]["image"] == "registry.local/api:1.1"
    assert "pod-template-hash" not in template["metadata"]["labels"]
