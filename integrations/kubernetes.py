"""Read-only Kubernetes queries (and three guarded remediations) over the official client.

Every query runs the blocking client in a thread (``asyncio.to_thread``) with a client-side request
timeout and an outer ``asyncio.wait_for``; the expected failures (unreachable, 401/403, 404, timeout,
bad kubeconfig) come back as a :class:`~integrations.failures.Failure` with one clear line. Results are
plain dataclasses, never Slack blocks.

Selectors are sent to the API server *and* re-applied on the returned objects, so the answers are
right also on API servers that ignore a selector.

The remediation functions (:meth:`KubernetesClient.rollout_restart`, :meth:`scale`,
:meth:`rollout_undo`) change the cluster: only code that has checked the policy may call them.

Split in three: the connection and failure mapping (:mod:`integrations.kube_connection`), the
remediations (:mod:`integrations.kube_remediation`) and the queries here; this module stays the one
to import from.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from kubernetes.client.exceptions import ApiException

from integrations.failures import Failure, FailureKind, one_line
from integrations.kube_connection import MetricsUnavailableError
from integrations.kube_models import (
    ClusterSpec,
    DeploymentCondition,
    DeploymentStatus,
    EventInfo,
    EventsReport,
    LogErrorGroup,
    LogsReport,
    NodeConditionInfo,
    NodeInfo,
    NodesReport,
    PodProblem,
    PodsReport,
    RemediationResult,
    Revision,
    RolloutHistory,
    TopReport,
    Usage,
)
from integrations.kube_parsing import (
    HEALTHY_NODE_CONDITION,
    age_seconds,
    deployment_status,
    event_info,
    free_of_ids,
    group_error_lines,
    images_of,
    labels_match,
    mark_current,
    normalise_log_line,
    parse_cpu,
    parse_memory,
    parse_selector,
    pod_problem,
    revision_of,
)
from integrations.kube_remediation import KubeRemediation

__all__ = [
    "ClusterSpec",
    "Clusters",
    "DeploymentCondition",
    "DeploymentStatus",
    "EventInfo",
    "EventsReport",
    "KubernetesClient",
    "LogErrorGroup",
    "LogsReport",
    "MetricsUnavailableError",
    "NodeConditionInfo",
    "NodeInfo",
    "NodesReport",
    "PodProblem",
    "PodsReport",
    "RemediationResult",
    "Revision",
    "RolloutHistory",
    "TopReport",
    "Usage",
    "free_of_ids",
    "group_error_lines",
    "normalise_log_line",
    "parse_cpu",
    "parse_memory",
]

log = logging.getLogger(__name__)


class KubernetesClient(KubeRemediation):
    """One named cluster: the read-only queries (connection and failures in :class:`KubeConnection`,
    remediations in :class:`KubeRemediation`)."""

    async def unhealthy_pods(
        self, namespace: str, selector: str | None = None, *, limit: int = 50
    ) -> PodsReport | Failure:
        """Pods that are not Running or not Ready, with restarts and the reason (scheduler's too)."""

        def query() -> PodsReport:
            core = self._core()
            pods = core.list_namespaced_pod(
                namespace, label_selector=selector or None, _request_timeout=self._timeout
            )
            wanted = parse_selector(selector)
            listed: list[Any] = pods.items
            items = [p for p in listed if labels_match(p.metadata.labels, wanted)]
            now = datetime.now(UTC)
            pending_names = {p.metadata.name for p in items if (p.status and p.status.phase) == "Pending"}
            sched_events: list[EventInfo] = []
            if pending_names:
                evs = core.list_namespaced_event(
                    namespace, field_selector="reason=FailedScheduling", _request_timeout=self._timeout
                )
                sched_events = [
                    e
                    for e in map(event_info, evs.items)
                    if e.reason == "FailedScheduling" and e.name in pending_names
                ]
                sched_events.sort(key=lambda e: e.last_seen or datetime.min.replace(tzinfo=UTC), reverse=True)
            problems = [p for p in (pod_problem(pod, now, sched_events) for pod in items) if p is not None]
            problems.sort(key=lambda p: (-p.restarts, p.name))
            return PodsReport(self.spec.name, namespace, selector, len(items), problems[:limit])

        return await self._run(f"pods in {namespace}", query)

    async def warning_events(
        self,
        namespace: str,
        *,
        kind: str | None = None,
        name: str | None = None,
        limit: int = 20,
        include_normal: bool = False,
    ) -> EventsReport | Failure:
        """Recent Warning events for one object (kind/name) or for the whole namespace, newest first."""
        selectors = [] if include_normal else ["type=Warning"]
        if name:
            selectors.append(f"involvedObject.name={name}")
        if kind:
            selectors.append(f"involvedObject.kind={kind}")

        def query() -> EventsReport:
            evs = self._core().list_namespaced_event(
                namespace, field_selector=",".join(selectors) or None, _request_timeout=self._timeout
            )
            events = [
                e
                for e in map(event_info, evs.items)
                if (include_normal or e.type == "Warning")
                and (not name or e.name == name)
                and (not kind or e.kind == kind)
            ]
            events.sort(key=lambda e: e.last_seen or datetime.min.replace(tzinfo=UTC), reverse=True)
            target = f"{kind or 'object'}/{name}" if name else None
            return EventsReport(self.spec.name, namespace, target, events[:limit])

        target = f" for {kind or ''}{'/' if kind else ''}{name}" if name else ""
        return await self._run(f"events in {namespace}{target}", query)

    async def deployment_status(self, namespace: str, name: str) -> DeploymentStatus | Failure:
        def query() -> DeploymentStatus:
            dep = self._apps().read_namespaced_deployment(name, namespace, _request_timeout=self._timeout)
            return deployment_status(self.spec.name, dep)

        return await self._run(f"deployment {namespace}/{name}", query)

    async def rollout_history(
        self, namespace: str, name: str, *, limit: int = 10
    ) -> RolloutHistory | Failure:
        """ReplicaSet revisions of a deployment with their images and age, newest first."""

        def query() -> RolloutHistory:
            dep, replicasets = self._deployment_and_replicasets(namespace, name)
            current = revision_of(dep)
            now = datetime.now(UTC)
            revisions = []
            for rs in replicasets:
                rev = revision_of(rs)
                if rev is None:
                    continue
                st = rs.status
                annotations = rs.metadata.annotations or {}
                revisions.append(
                    Revision(
                        revision=rev,
                        replicaset=rs.metadata.name,
                        images=images_of(rs.spec.template if rs.spec else None),
                        created=rs.metadata.creation_timestamp,
                        age_seconds=age_seconds(rs.metadata.creation_timestamp, now),
                        replicas=int((st.replicas if st else 0) or 0),
                        ready=int((st.ready_replicas if st else 0) or 0),
                        current=rev == current if current is not None else False,
                        change_cause=annotations.get("kubernetes.io/change-cause", ""),
                    )
                )
            revisions.sort(key=lambda r: r.revision, reverse=True)
            if current is None and revisions:
                revisions[0] = mark_current(revisions[0])
            return RolloutHistory(self.spec.name, namespace, name, revisions[:limit])

        return await self._run(f"rollout history of {namespace}/{name}", query)

    async def error_logs(
        self,
        namespace: str,
        *,
        selector: str | None = None,
        pod: str | None = None,
        container: str | None = None,
        tail_lines: int = 500,
        since_seconds: int | None = 3600,
        max_pods: int = 5,
        previous: bool = False,
    ) -> LogsReport | Failure:
        """Recent logs of a pod (or of the pods a selector matches), error lines grouped and counted."""

        def query() -> LogsReport:
            core = self._core()
            if pod:
                names = [pod]
            else:
                pods = core.list_namespaced_pod(
                    namespace, label_selector=selector or None, _request_timeout=self._timeout
                )
                wanted = parse_selector(selector)
                listed: list[Any] = pods.items
                items = [p for p in listed if labels_match(p.metadata.labels, wanted)]
                # Troubled pods first: they are the ones whose logs matter.
                items.sort(
                    key=lambda p: (
                        -sum(int(cs.restart_count or 0) for cs in (p.status.container_statuses or []))
                        if p.status
                        else 0
                    )
                )
                names = [str(p.metadata.name) for p in items[:max_pods]]
            pairs: list[tuple[str, str]] = []
            failures: list[str] = []
            scanned = 0
            for pod_name in names:
                kwargs: dict[str, Any] = {"tail_lines": tail_lines, "_request_timeout": self._timeout}
                if container:
                    kwargs["container"] = container
                if since_seconds:
                    kwargs["since_seconds"] = since_seconds
                if previous:
                    kwargs["previous"] = True
                try:
                    text = core.read_namespaced_pod_log(pod_name, namespace, **kwargs)
                except ApiException as exc:
                    failures.append(self.failure_for(exc, f"logs of {pod_name}").reason)
                    continue
                lines = str(text or "").splitlines()
                scanned += len(lines)
                pairs.extend((pod_name, line) for line in lines)
            groups = group_error_lines(pairs)
            return LogsReport(
                cluster=self.spec.name,
                namespace=namespace,
                pods=names,
                lines_scanned=scanned,
                error_lines=sum(g.count for g in groups),
                groups=groups,
                failures=failures,
            )

        target = pod or selector or "all pods"
        return await self._run(f"logs of {namespace}/{target}", query)

    async def node_conditions(self) -> NodesReport | Failure:
        def query() -> NodesReport:
            nodes = self._core().list_node(_request_timeout=self._timeout)
            result = []
            for node in nodes.items:
                conds = (node.status.conditions or []) if node.status else []
                problems = [
                    NodeConditionInfo(c.type, c.status, c.reason or "", one_line(c.message or ""))
                    for c in conds
                    if c.type in HEALTHY_NODE_CONDITION and c.status != HEALTHY_NODE_CONDITION[c.type]
                ]
                ready = any(c.type == "Ready" and c.status == "True" for c in conds)
                result.append(
                    NodeInfo(
                        name=str(node.metadata.name) if node.metadata else "",
                        ready=ready,
                        unschedulable=bool(node.spec and node.spec.unschedulable),
                        problems=problems,
                    )
                )
            result.sort(key=lambda n: (n.ready and not n.problems, n.name))
            return NodesReport(self.spec.name, result)

        return await self._run("node conditions", query)

    async def top(
        self, namespace: str | None = None, selector: str | None = None, *, limit: int = 10
    ) -> TopReport | Failure:
        """CPU and memory from metrics.k8s.io: pods of a namespace, or nodes when no namespace is given."""

        def query() -> TopReport:
            custom = self._custom()
            try:
                if namespace:
                    data = custom.list_namespaced_custom_object(
                        "metrics.k8s.io",
                        "v1beta1",
                        namespace,
                        "pods",
                        label_selector=selector or None,
                        _request_timeout=self._timeout,
                    )
                else:
                    data = custom.list_cluster_custom_object(
                        "metrics.k8s.io", "v1beta1", "nodes", _request_timeout=self._timeout
                    )
            except ApiException as exc:
                if exc.status in (404, 503):
                    raise MetricsUnavailableError() from exc
                raise
            wanted = parse_selector(selector)
            usage = []
            payload: dict[str, Any] = data if isinstance(data, dict) else {}
            for item in payload.get("items", []):
                meta = item.get("metadata", {})
                if namespace and not labels_match(meta.get("labels"), wanted):
                    continue
                if namespace:
                    containers = item.get("containers", [])
                    cpu = sum(parse_cpu(c.get("usage", {}).get("cpu")) for c in containers)
                    mem = sum(parse_memory(c.get("usage", {}).get("memory")) for c in containers)
                    usage.append(
                        Usage("pod", meta.get("name", ""), meta.get("namespace", namespace), cpu, mem)
                    )
                else:
                    u = item.get("usage", {})
                    usage.append(
                        Usage(
                            "node",
                            meta.get("name", ""),
                            None,
                            parse_cpu(u.get("cpu")),
                            parse_memory(u.get("memory")),
                        )
                    )
            usage.sort(key=lambda u: (-u.cpu_millicores, u.name))
            return TopReport(self.spec.name, namespace, usage[:limit])

        return await self._run(f"resource usage in {namespace or 'the cluster'}", query)


class Clusters:
    """The clusters the policy names, each a lazily configured :class:`KubernetesClient`."""

    def __init__(self, specs: Iterable[ClusterSpec], default: str | None = None) -> None:
        self._clients = {spec.name: KubernetesClient(spec) for spec in specs}
        self.default = default or next(iter(self._clients), None)

    @property
    def names(self) -> list[str]:
        return list(self._clients)

    def get(self, name: str | None = None) -> KubernetesClient | Failure:
        key = name or self.default
        if key is None:
            return Failure(
                "kubernetes", FailureKind.CONFIG, "no Kubernetes cluster is configured in the policy"
            )
        client = self._clients.get(key)
        if client is None:
            known = ", ".join(self._clients) or "none"
            return Failure("kubernetes", FailureKind.CONFIG, f"unknown cluster {key!r} (configured: {known})")
        return client

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
