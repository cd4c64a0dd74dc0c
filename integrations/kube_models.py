"""Typed results of the Kubernetes queries (plain dataclasses, never Slack blocks) and cluster specs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

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
