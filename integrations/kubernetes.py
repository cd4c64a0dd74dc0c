"""Read-only Kubernetes queries (and three guarded remediations) over the official client.

Every query runs the blocking client in a thread (``asyncio.to_thread``) with a client-side request
timeout and an outer ``asyncio.wait_for``; the expected failures (unreachable, 401/403, 404, timeout,
bad kubeconfig) come back as a :class:`~integrations.failures.Failure` with one clear line. Results are
plain dataclasses, never Slack blocks.

Selectors are sent to the API server *and* re-applied on the returned objects, so the answers are
right also on API servers that ignore a selector.

The remediation functions (:meth:`KubernetesClient.rollout_restart`, :meth:`scale`,
:meth:`rollout_undo`) change the cluster: only code that has checked the policy may call them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from integrations.failures import Failure, FailureKind, one_line

log = logging.getLogger(__name__)

T = TypeVar("T")

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"


# --------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class ClusterSpec:
    """How to reach one named cluster: a kubeconfig (path + context) or the in-cluster service account."""

    name: str
    kubeconfig: str | None = None  # None: $KUBECONFIG or ~/.kube/config
    context: str | None = None  # None: the kubeconfig's current context
    in_cluster: bool = False
    timeout: float = 10.0  # seconds, per call
    verify_ssl: bool | None = None  # None: as the kubeconfig says


# ---------------------------------------------------------------------------------------------- types


@dataclass(frozen=True)
class PodProblem:
    namespace: str
    name: str
    phase: str
    ready: bool
    restarts: int
    reason: str  # CrashLoopBackOff, OOMKilled, ImagePullBackOff, Unschedulable, NotReady, ...
    message: str = ""  # scheduler message, last termination, ...
    container: str | None = None
    node: str | None = None
    age_seconds: float | None = None


@dataclass(frozen=True)
class PodsReport:
    cluster: str
    namespace: str
    selector: str | None
    total: int
    problems: list[PodProblem]


@dataclass(frozen=True)
class EventInfo:
    namespace: str
    kind: str
    name: str
    type: str
    reason: str
    message: str
    count: int
    last_seen: datetime | None


@dataclass(frozen=True)
class EventsReport:
    cluster: str
    namespace: str
    object: str | None  # "Kind/name" or None for the whole namespace
    events: list[EventInfo]


@dataclass(frozen=True)
class DeploymentCondition:
    type: str
    status: str
    reason: str
    message: str


@dataclass(frozen=True)
class DeploymentStatus:
    cluster: str
    namespace: str
    name: str
    desired: int
    ready: int
    updated: int
    available: int
    unavailable: int
    images: list[str]
    revision: int | None
    conditions: list[DeploymentCondition]
    paused: bool = False

    @property
    def healthy(self) -> bool:
        return self.desired == self.ready == self.available == self.updated


@dataclass(frozen=True)
class Revision:
    revision: int
    replicaset: str
    images: list[str]
    created: datetime | None
    age_seconds: float | None
    replicas: int
    ready: int
    current: bool
    change_cause: str = ""


@dataclass(frozen=True)
class RolloutHistory:
    cluster: str
    namespace: str
    deployment: str
    revisions: list[Revision]  # newest first


@dataclass(frozen=True)
class LogErrorGroup:
    pattern: str  # the normalised line
    count: int
    example: str  # one original line
    pods: list[str]


@dataclass(frozen=True)
class LogsReport:
    cluster: str
    namespace: str
    pods: list[str]
    lines_scanned: int
    error_lines: int
    groups: list[LogErrorGroup]  # most frequent first
    failures: list[str] = field(default_factory=list)  # per-pod log failures, one line each


@dataclass(frozen=True)
class NodeConditionInfo:
    type: str
    status: str
    reason: str
    message: str


@dataclass(frozen=True)
class NodeInfo:
    name: str
    ready: bool
    unschedulable: bool
    problems: list[NodeConditionInfo]  # conditions that are not in their healthy state


@dataclass(frozen=True)
class NodesReport:
    cluster: str
    nodes: list[NodeInfo]


@dataclass(frozen=True)
class Usage:
    kind: str  # "pod" or "node"
    name: str
    namespace: str | None
    cpu_millicores: float
    memory_bytes: float


@dataclass(frozen=True)
class TopReport:
    cluster: str
    namespace: str | None
    usage: list[Usage]  # highest CPU first


@dataclass(frozen=True)
class RemediationResult:
    cluster: str
    namespace: str
    deployment: str
    action: str
    detail: str


# --------------------------------------------------------------------------------------- pure parsing

_HEALTHY_NODE_CONDITION = {
    "Ready": "True",
    "MemoryPressure": "False",
    "DiskPressure": "False",
    "PIDPressure": "False",
    "NetworkUnavailable": "False",
}

_ERROR_LINE = re.compile(
    r"(?i)(\b(error|err|exception|fatal|panic|critical|traceback|failed|failure|refused|timed? ?out)\b"
    r"|\"level\"\s*:\s*\"(error|fatal|critical)\"|level=(error|fatal|critical))"
)
_TIMESTAMP_PREFIX = re.compile(
    r"^\s*\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?\]?\s*"
)
_NORMALISERS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
        "<uuid>",
    ),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"), "<time>"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), "<ip>"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    (re.compile(r"(?<![\w<])(?=[\w.-]*\d)(?=[\w.-]*[A-Za-z])[\w.-]{6,}"), "<id>"),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
]


def is_error_line(line: str) -> bool:
    return bool(_ERROR_LINE.search(line))


def normalise_log_line(line: str) -> str:
    """Strip the timestamp prefix and replace ids, addresses and numbers so similar lines group."""
    text = _TIMESTAMP_PREFIX.sub("", line.strip())
    for pattern, replacement in _NORMALISERS:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())[:300]


def free_of_ids(pattern: str) -> bool:
    """True when a normalised pattern holds no digits left (ids, numbers, addresses all replaced)."""
    return not re.search(r"\d", pattern)


def group_error_lines(lines: Iterable[tuple[str, str]]) -> list[LogErrorGroup]:
    """Group ``(pod, line)`` pairs whose error lines normalise alike; most frequent first."""
    counts: Counter[str] = Counter()
    examples: dict[str, str] = {}
    pods: dict[str, list[str]] = {}
    for pod, line in lines:
        if not line.strip() or not is_error_line(line):
            continue
        key = normalise_log_line(line)
        counts[key] += 1
        examples.setdefault(key, one_line(line, 300))
        seen = pods.setdefault(key, [])
        if pod not in seen:
            seen.append(pod)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [LogErrorGroup(pattern=k, count=n, example=examples[k], pods=pods[k]) for k, n in ordered]


def parse_cpu(quantity: str | None) -> float:
    """CPU quantity → millicores ("250m" → 250, "1" → 1000, "12345n" → 0.012345)."""
    if not quantity:
        return 0.0
    q = str(quantity).strip()
    units = {"n": 1e-6, "u": 1e-3, "m": 1.0}
    if q[-1] in units:
        return float(q[:-1]) * units[q[-1]]
    return float(q) * 1000.0


_MEMORY_UNITS = {
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
    "Pi": 1024**5,
    "Ei": 1024**6,
    "k": 1000,
    "K": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "T": 1000**4,
    "P": 1000**5,
    "E": 1000**6,
}


def parse_memory(quantity: str | None) -> float:
    """Memory quantity → bytes ("128Mi" → 134217728)."""
    if not quantity:
        return 0.0
    q = str(quantity).strip()
    for suffix in sorted(_MEMORY_UNITS, key=len, reverse=True):
        if q.endswith(suffix):
            return float(q[: -len(suffix)]) * _MEMORY_UNITS[suffix]
    return float(q)


def parse_selector(selector: str | None) -> dict[str, str]:
    """Equality-based label selector ``a=b,c==d`` → dict (set-based terms are left to the server)."""
    result: dict[str, str] = {}
    for term in (selector or "").split(","):
        term = term.strip()
        if "!=" in term or " in " in term or " notin " in term or not term:
            continue
        key, sep, value = term.replace("==", "=").partition("=")
        if sep:
            result[key.strip()] = value.strip()
    return result


def labels_match(labels: Mapping[str, str] | None, selector: Mapping[str, str]) -> bool:
    labels = labels or {}
    return all(labels.get(k) == v for k, v in selector.items())


def _age(when: datetime | None, now: datetime) -> float | None:
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (now - when).total_seconds())


def pod_problem(pod: Any, now: datetime, events: Iterable[EventInfo] = ()) -> PodProblem | None:
    """The problem with one pod (a V1Pod), or None when it is Running and Ready (or Succeeded)."""
    meta, status = pod.metadata, pod.status
    phase = (status.phase if status else None) or "Unknown"
    if phase == "Succeeded":
        return None
    conditions = {c.type: c for c in (status.conditions or [])} if status else {}
    ready_cond = conditions.get("Ready")
    ready = bool(ready_cond and ready_cond.status == "True")
    statuses = (
        list((status.init_container_statuses or []) + (status.container_statuses or [])) if status else []
    )
    restarts = sum(int(cs.restart_count or 0) for cs in statuses)
    if phase == "Running" and ready:
        return None

    reason, message, container = "", "", None
    # The most telling container state wins: waiting reason, then last/current termination.
    for cs in statuses:
        waiting = cs.state.waiting if cs.state else None
        last_term = cs.last_state.terminated if cs.last_state else None
        term = cs.state.terminated if cs.state else None
        if waiting and waiting.reason and waiting.reason not in ("ContainerCreating", "PodInitializing"):
            reason, container = waiting.reason, cs.name
            message = waiting.message or ""
            if last_term and last_term.reason:
                message = f"last exit: {last_term.reason} (code {last_term.exit_code})" + (
                    f"; {message}" if message else ""
                )
            break
        if term and term.reason and term.reason != "Completed":
            reason, container = term.reason, cs.name
            message = f"exit code {term.exit_code}" + (f": {term.message}" if term.message else "")
            break
        if last_term and last_term.reason == "OOMKilled" and not reason:
            reason, container = "OOMKilled", cs.name
            message = f"last exit: OOMKilled (code {last_term.exit_code})"
    if not reason and phase == "Pending":
        scheduled = conditions.get("PodScheduled")
        if scheduled is not None and scheduled.status == "False":
            reason = scheduled.reason or "Unschedulable"
            message = scheduled.message or ""
        if not message:
            for event in events:
                if event.name == meta.name and event.reason == "FailedScheduling":
                    reason, message = reason or "Unschedulable", event.message
                    break
        if not reason:
            waiting_on = [cs for cs in statuses if cs.state and cs.state.waiting]
            reason = waiting_on[0].state.waiting.reason if waiting_on else "Pending"
    if not reason:
        reason = (status.reason if status and status.reason else None) or (
            "NotReady" if phase == "Running" else phase
        )
        if ready_cond is not None and ready_cond.message:
            message = ready_cond.message
    return PodProblem(
        namespace=meta.namespace or "",
        name=meta.name,
        phase=phase,
        ready=ready,
        restarts=restarts,
        reason=reason,
        message=one_line(message),
        container=container,
        node=pod.spec.node_name if pod.spec else None,
        age_seconds=_age(meta.creation_timestamp, now),
    )


def _event_info(ev: Any) -> EventInfo:
    obj = ev.involved_object
    last = ev.last_timestamp or ev.event_time or ev.first_timestamp or (ev.metadata.creation_timestamp)
    return EventInfo(
        namespace=ev.metadata.namespace or "",
        kind=obj.kind or "",
        name=obj.name or "",
        type=ev.type or "",
        reason=ev.reason or "",
        message=one_line(ev.message or ""),
        count=int(ev.count or 1),
        last_seen=last,
    )


def _revision_of(obj: Any) -> int | None:
    annotations = (obj.metadata.annotations or {}) if obj.metadata else {}
    try:
        return int(annotations[REVISION_ANNOTATION])
    except (KeyError, ValueError, TypeError):
        return None


def _images(template: Any) -> list[str]:
    if template is None or template.spec is None:
        return []
    return [c.image for c in (template.spec.containers or []) if c.image]


def _owned_by(obj: Any, kind: str, name: str, uid: str | None) -> bool:
    for ref in obj.metadata.owner_references or []:
        if ref.kind == kind and ref.name == name and (uid is None or not ref.uid or ref.uid == uid):
            return True
    return False


# --------------------------------------------------------------------------------------------- client


class KubernetesClient:
    """One named cluster. Build it from a :class:`ClusterSpec`; the API client is created lazily."""

    def __init__(self, spec: ClusterSpec) -> None:
        self.spec = spec
        self.source = f"kubernetes:{spec.name}"
        self._api: k8s.ApiClient | None = None
        self._lock = threading.Lock()

    # -- plumbing
    def _api_client(self) -> k8s.ApiClient:
        with self._lock:
            if self._api is None:
                configuration = k8s.Configuration()
                if self.spec.in_cluster:
                    k8s_config.load_incluster_config(client_configuration=configuration)
                else:
                    k8s_config.load_kube_config(
                        config_file=self.spec.kubeconfig,
                        context=self.spec.context,
                        client_configuration=configuration,
                        persist_config=False,
                    )
                configuration.retries = 1
                if self.spec.verify_ssl is not None:
                    configuration.verify_ssl = self.spec.verify_ssl
                self._api = k8s.ApiClient(configuration)
            return self._api

    def close(self) -> None:
        with self._lock:
            if self._api is not None:
                self._api.close()
                self._api = None

    @property
    def _timeout(self) -> tuple[float, float]:
        return (min(5.0, self.spec.timeout), self.spec.timeout)

    def _core(self) -> k8s.CoreV1Api:
        return k8s.CoreV1Api(self._api_client())

    def _apps(self) -> k8s.AppsV1Api:
        return k8s.AppsV1Api(self._api_client())

    def _custom(self) -> k8s.CustomObjectsApi:
        return k8s.CustomObjectsApi(self._api_client())

    def failure_for(self, exc: BaseException, what: str) -> Failure:
        """Turn a client exception into one clear line (also used by the remediation callers)."""
        src = self.source
        if isinstance(exc, MetricsUnavailableError):
            return Failure(
                src, FailureKind.UNAVAILABLE, f"{what}: metrics-server not available (no metrics.k8s.io API)"
            )
        if isinstance(exc, ApiException):
            message = _api_message(exc)
            if exc.status == 403:
                return Failure(src, FailureKind.FORBIDDEN, f"{what}: forbidden (403): {message}")
            if exc.status == 401:
                return Failure(
                    src, FailureKind.UNAUTHORIZED, f"{what}: unauthorized (401): check the credentials"
                )
            if exc.status == 404:
                return Failure(src, FailureKind.NOT_FOUND, f"{what}: not found (404): {message}")
            if exc.status in (None, 0):
                return Failure(src, FailureKind.ERROR, f"{what}: unexpected answer: {message}")
            return Failure(src, FailureKind.ERROR, f"{what}: API error {exc.status}: {message}")
        if isinstance(exc, ConfigException):
            return Failure(src, FailureKind.CONFIG, f"{what}: bad cluster configuration: {one_line(exc)}")
        cause = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) else exc
        if isinstance(cause, urllib3.exceptions.NewConnectionError | ConnectionRefusedError):
            return Failure(src, FailureKind.UNREACHABLE, f"{what}: cluster unreachable at {self._host()}")
        if isinstance(cause, TimeoutError | urllib3.exceptions.TimeoutError):
            return Failure(src, FailureKind.TIMEOUT, f"{what}: timed out after {self.spec.timeout:g}s")
        if isinstance(cause, urllib3.exceptions.HTTPError | ConnectionError | OSError):
            return Failure(src, FailureKind.UNREACHABLE, f"{what}: cluster unreachable at {self._host()}")
        return Failure(src, FailureKind.ERROR, f"{what}: {type(exc).__name__}: {one_line(exc)}")

    def _host(self) -> str:
        api = self._api
        return api.configuration.host if api is not None else "(not configured)"

    async def _run(self, what: str, fn: Callable[[], T]) -> T | Failure:
        try:
            return await asyncio.wait_for(asyncio.to_thread(fn), timeout=self.spec.timeout + 2.0)
        except Exception as exc:
            failure = self.failure_for(exc, what)
            log.warning(
                "kubernetes query failed: %s", failure.line(), exc_info=failure.kind is FailureKind.ERROR
            )
            return failure

    # -- queries
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
            items = [p for p in pods.items if labels_match(p.metadata.labels, wanted)]
            now = datetime.now(UTC)
            pending_names = {p.metadata.name for p in items if (p.status and p.status.phase) == "Pending"}
            sched_events: list[EventInfo] = []
            if pending_names:
                evs = core.list_namespaced_event(
                    namespace, field_selector="reason=FailedScheduling", _request_timeout=self._timeout
                )
                sched_events = [
                    e
                    for e in map(_event_info, evs.items)
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
                for e in map(_event_info, evs.items)
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
            return _deployment_status(self.spec.name, dep)

        return await self._run(f"deployment {namespace}/{name}", query)

    async def rollout_history(
        self, namespace: str, name: str, *, limit: int = 10
    ) -> RolloutHistory | Failure:
        """ReplicaSet revisions of a deployment with their images and age, newest first."""

        def query() -> RolloutHistory:
            dep, replicasets = self._deployment_and_replicasets(namespace, name)
            current = _revision_of(dep)
            now = datetime.now(UTC)
            revisions = []
            for rs in replicasets:
                rev = _revision_of(rs)
                if rev is None:
                    continue
                st = rs.status
                annotations = rs.metadata.annotations or {}
                revisions.append(
                    Revision(
                        revision=rev,
                        replicaset=rs.metadata.name,
                        images=_images(rs.spec.template if rs.spec else None),
                        created=rs.metadata.creation_timestamp,
                        age_seconds=_age(rs.metadata.creation_timestamp, now),
                        replicas=int((st.replicas if st else 0) or 0),
                        ready=int((st.ready_replicas if st else 0) or 0),
                        current=rev == current if current is not None else False,
                        change_cause=annotations.get("kubernetes.io/change-cause", ""),
                    )
                )
            revisions.sort(key=lambda r: r.revision, reverse=True)
            if current is None and revisions:
                revisions[0] = _replace_current(revisions[0])
            return RolloutHistory(self.spec.name, namespace, name, revisions[:limit])

        return await self._run(f"rollout history of {namespace}/{name}", query)

    def _deployment_and_replicasets(self, namespace: str, name: str) -> tuple[Any, list[Any]]:
        apps = self._apps()
        dep = apps.read_namespaced_deployment(name, namespace, _request_timeout=self._timeout)
        match = (dep.spec.selector.match_labels or {}) if dep.spec and dep.spec.selector else {}
        selector = ",".join(f"{k}={v}" for k, v in sorted(match.items())) or None
        rss = apps.list_namespaced_replica_set(
            namespace, label_selector=selector, _request_timeout=self._timeout
        )
        uid = dep.metadata.uid
        owned = [rs for rs in rss.items if _owned_by(rs, "Deployment", name, uid)]
        return dep, owned

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
                items = [p for p in pods.items if labels_match(p.metadata.labels, wanted)]
                # Troubled pods first: they are the ones whose logs matter.
                items.sort(
                    key=lambda p: (
                        -sum(int(cs.restart_count or 0) for cs in (p.status.container_statuses or []))
                        if p.status
                        else 0
                    )
                )
                names = [p.metadata.name for p in items[:max_pods]]
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
                    if c.type in _HEALTHY_NODE_CONDITION and c.status != _HEALTHY_NODE_CONDITION[c.type]
                ]
                ready = any(c.type == "Ready" and c.status == "True" for c in conds)
                result.append(
                    NodeInfo(
                        name=node.metadata.name,
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
            for item in data.get("items", []):
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

    # -- remediation (callers must have checked the policy and the clicker's permission)
    async def rollout_restart(self, namespace: str, name: str) -> RemediationResult | Failure:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT_ANNOTATION: stamp}}}}}

        def action() -> RemediationResult:
            self._apps().patch_namespaced_deployment(name, namespace, body, _request_timeout=self._timeout)
            return RemediationResult(
                self.spec.name, namespace, name, "rollout restart", f"restartedAt={stamp}"
            )

        return await self._run(f"rollout restart of {namespace}/{name}", action)

    async def scale(self, namespace: str, name: str, replicas: int) -> RemediationResult | Failure:
        if replicas < 0:
            return Failure(
                self.source, FailureKind.BAD_QUERY, f"scale {namespace}/{name}: replicas must be ≥ 0"
            )

        def action() -> RemediationResult:
            apps = self._apps()
            dep = apps.read_namespaced_deployment(name, namespace, _request_timeout=self._timeout)
            before = int((dep.spec.replicas if dep.spec else 0) or 0)
            apps.patch_namespaced_deployment(
                name, namespace, {"spec": {"replicas": replicas}}, _request_timeout=self._timeout
            )
            return RemediationResult(
                self.spec.name, namespace, name, "scale", f"replicas {before} → {replicas}"
            )

        return await self._run(f"scale of {namespace}/{name}", action)

    async def rollout_undo(self, namespace: str, name: str) -> RemediationResult | Failure:
        """Roll back to the previous ReplicaSet revision (what ``kubectl rollout undo`` does)."""

        def action() -> RemediationResult | Failure:
            dep, replicasets = self._deployment_and_replicasets(namespace, name)
            by_rev = sorted(
                ((rev, rs) for rs in replicasets if (rev := _revision_of(rs)) is not None),
                key=lambda pair: pair[0],
                reverse=True,
            )
            current = _revision_of(dep) or (by_rev[0][0] if by_rev else None)
            older = [(rev, rs) for rev, rs in by_rev if current is None or rev < current]
            if not older:
                return Failure(
                    self.source,
                    FailureKind.NOT_FOUND,
                    f"rollout undo of {namespace}/{name}: no previous revision",
                )
            rev, rs = older[0]
            template = self._api_client().sanitize_for_serialization(rs.spec.template)
            labels = template.get("metadata", {}).get("labels", {})
            labels.pop("pod-template-hash", None)
            body = self._api_client().sanitize_for_serialization(dep)
            body["spec"]["template"] = template
            self._apps().replace_namespaced_deployment(name, namespace, body, _request_timeout=self._timeout)
            images = ", ".join(_images(rs.spec.template)) or "?"
            return RemediationResult(
                self.spec.name, namespace, name, "rollout undo", f"revision {current} → {rev} ({images})"
            )

        return await self._run(f"rollout undo of {namespace}/{name}", action)


class MetricsUnavailableError(Exception):
    """metrics.k8s.io is not served (no metrics-server)."""


def _replace_current(rev: Revision) -> Revision:
    return replace(rev, current=True)


def _api_message(exc: ApiException) -> str:
    body = exc.body
    if isinstance(body, bytes):
        body = body.decode(errors="replace")
    if body:
        try:
            data = json.loads(body)
            if isinstance(data, dict) and data.get("message"):
                return one_line(data["message"], 200)
        except ValueError:
            return one_line(body, 200)
    return one_line(exc.reason or "no details", 200)


def _deployment_status(cluster: str, dep: Any) -> DeploymentStatus:
    spec, st = dep.spec, dep.status
    desired = int((spec.replicas if spec and spec.replicas is not None else 1) or 0)
    conditions = [
        DeploymentCondition(c.type, c.status, c.reason or "", one_line(c.message or ""))
        for c in ((st.conditions or []) if st else [])
    ]
    return DeploymentStatus(
        cluster=cluster,
        namespace=dep.metadata.namespace or "",
        name=dep.metadata.name,
        desired=desired,
        ready=int((st.ready_replicas if st else 0) or 0),
        updated=int((st.updated_replicas if st else 0) or 0),
        available=int((st.available_replicas if st else 0) or 0),
        unavailable=int((st.unavailable_replicas if st else 0) or 0),
        images=_images(spec.template if spec else None),
        revision=_revision_of(dep),
        conditions=conditions,
        paused=bool(spec and spec.paused),
    )


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
