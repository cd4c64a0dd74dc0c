"""A Kubernetes API for tests: kmock's KubernetesEmulator on a loopback port + a kubeconfig for it.

The official client reaches the emulator through the kubeconfig this harness writes (context per
cluster name), exactly as it would reach a real cluster. Builders below make realistic pods, events,
deployments and replicasets as the API would return them.

Fixture (import it in a conftest.py): ``kube`` → :class:`KubeEmulator` (async, function scope).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import kmock
import pytest_asyncio
import yaml

RESOURCES: dict[str, dict[str, Any]] = {
    "v1/pods": {"kind": "Pod", "namespaced": True, "subresources": ["log"]},
    "v1/events": {"kind": "Event", "namespaced": True},
    "v1/nodes": {"kind": "Node", "namespaced": False},
    "apps/v1/deployments": {"kind": "Deployment", "namespaced": True, "subresources": ["scale", "status"]},
    "apps/v1/replicasets": {"kind": "ReplicaSet", "namespaced": True},
}
METRICS_RESOURCES: dict[str, dict[str, Any]] = {
    "metrics.k8s.io/v1beta1/pods": {"kind": "PodMetrics", "namespaced": True},
    "metrics.k8s.io/v1beta1/nodes": {"kind": "NodeMetrics", "namespaced": False},
}


def ts(ago: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) - ago).strftime("%Y-%m-%dT%H:%M:%SZ")


class KubeEmulator:
    """The running emulator: ``.handler`` is the kmock handler, ``.kubeconfig`` the file for the client."""

    def __init__(self, handler: kmock.KubernetesEmulator, url: str, directory: Path) -> None:
        self.handler = handler
        self.url = url
        self.kubeconfig = directory / "kubeconfig.yaml"
        self.contexts: dict[str, str] = {}
        self.write_kubeconfig({"test": url})

    def write_kubeconfig(self, clusters: dict[str, str]) -> Path:
        """One context per cluster name (name → API server URL); the first is the current context."""
        self.contexts = dict(clusters)
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": n, "cluster": {"server": u}} for n, u in clusters.items()],
            "users": [{"name": "tester", "user": {"token": "test-token"}}],
            "contexts": [{"name": n, "context": {"cluster": n, "user": "tester"}} for n in clusters],
            "current-context": next(iter(clusters)),
        }
        self.kubeconfig.write_text(yaml.safe_dump(config))
        return self.kubeconfig

    # -- state
    def put(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        self.handler.objects[resource, meta.get("namespace"), meta["name"]] = obj
        return obj

    def get(self, resource: str, namespace: str | None, name: str) -> dict[str, Any]:
        return dict(self.handler.objects[resource, namespace, name])

    def enable_metrics(self) -> None:
        for resource, info in METRICS_RESOURCES.items():
            self.handler.resources[resource] = info

    def serve_logs(self, namespace: str, pod: str, text: str) -> None:
        """Serve text/plain container logs for a pod (repeatable)."""
        (
            self.handler[f"get /api/v1/namespaces/{namespace}/pods/{pod}/log"]
            << {"Content-Type": "text/plain"}
            << (lambda: text.encode())
        )

    def forbid(self, path: str, message: str = "access denied by RBAC") -> None:
        """Answer 403 Forbidden (a Kubernetes Status) for GET requests to ``path``."""
        status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 403}
        self.handler[f"get {path}"] << 403 << (lambda: {**status, "reason": "Forbidden", "message": message})


@pytest_asyncio.fixture
async def kube(tmp_path: Path) -> AsyncIterator[KubeEmulator]:
    async with kmock.KubernetesEmulator() as handler, kmock.Server(handler) as server:
        for resource, info in RESOURCES.items():
            handler.resources[resource] = info
        # kmock's emulator handles PATCH (merge) but not PUT (replace): replace the stored object here.
        handler[kmock.method.PUT] << _replace_object(handler)
        yield KubeEmulator(handler, str(server.url), tmp_path)


def _replace_object(handler: kmock.KubernetesEmulator) -> Any:
    def replace(request: kmock.Request) -> dict[str, Any]:
        key = (request.resource, request.namespace, request.name)
        if key not in handler.objects:
            raise kmock.KubernetesObjectNotFoundError()
        handler.objects[key] = request.data
        return dict(request.data)

    return replace


# ------------------------------------------------------------------------------------------ builders


def pod(
    name: str,
    namespace: str = "default",
    *,
    labels: dict[str, str] | None = None,
    phase: str = "Running",
    ready: bool = True,
    restarts: int = 0,
    waiting: str | None = None,
    waiting_message: str = "",
    last_terminated: str | None = None,
    exit_code: int = 1,
    unschedulable: str | None = None,
    node: str | None = "node-1",
    age: timedelta = timedelta(hours=1),
) -> dict[str, Any]:
    state: dict[str, Any] = {"running": {"startedAt": ts(age)}}
    if waiting:
        state = {"waiting": {"reason": waiting, "message": waiting_message}}
    last_state: dict[str, Any] = {}
    if last_terminated:
        last_state = {"terminated": {"reason": last_terminated, "exitCode": exit_code, "finishedAt": ts()}}
    conditions = [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": ts()}]
    if unschedulable is not None:
        conditions = [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": unschedulable,
                "lastTransitionTime": ts(),
            }
        ]
    status: dict[str, Any] = {"phase": phase, "conditions": conditions}
    if unschedulable is None:
        status["containerStatuses"] = [
            {
                "name": "app",
                "image": "registry.local/app:1",
                "imageID": "",
                "ready": ready,
                "restartCount": restarts,
                "state": state,
                "lastState": last_state,
            }
        ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels or {},
            "creationTimestamp": ts(age),
            "uid": f"uid-{name}",
        },
        "spec": {"containers": [{"name": "app", "image": "registry.local/app:1"}], "nodeName": node},
        "status": status,
    }


def event(
    name: str,
    namespace: str = "default",
    *,
    kind: str = "Pod",
    obj: str,
    reason: str,
    message: str,
    type: str = "Warning",
    count: int = 1,
    ago: timedelta = timedelta(minutes=1),
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": ts(ago)},
        "involvedObject": {"kind": kind, "name": obj, "namespace": namespace},
        "reason": reason,
        "message": message,
        "type": type,
        "count": count,
        "firstTimestamp": ts(ago),
        "lastTimestamp": ts(ago),
    }


def _template(app: str, image: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {"containers": [{"name": "app", "image": image}]},
    }


def deployment(
    name: str,
    namespace: str = "default",
    *,
    replicas: int = 3,
    ready: int = 3,
    updated: int | None = None,
    available: int | None = None,
    image: str = "registry.local/app:2",
    revision: int = 2,
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"uid-deploy-{name}",
            "annotations": {"deployment.kubernetes.io/revision": str(revision)},
            "creationTimestamp": ts(timedelta(days=3)),
            "resourceVersion": "1",
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": _template(name, image),
        },
        "status": {
            "replicas": replicas,
            "readyReplicas": ready,
            "updatedReplicas": replicas if updated is None else updated,
            "availableReplicas": ready if available is None else available,
            "unavailableReplicas": max(0, replicas - ready),
            "conditions": [
                {
                    "type": "Available",
                    "status": "True" if ready >= replicas else "False",
                    "reason": "MinimumReplicasAvailable"
                    if ready >= replicas
                    else "MinimumReplicasUnavailable",
                    "message": "Deployment has minimum availability.",
                }
            ],
        },
    }


def replicaset(
    deploy: str,
    revision: int,
    image: str,
    namespace: str = "default",
    *,
    replicas: int = 0,
    ready: int = 0,
    age: timedelta = timedelta(hours=1),
) -> dict[str, Any]:
    template = _template(deploy, image)
    template["metadata"]["labels"]["pod-template-hash"] = f"h{revision}"
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{deploy}-h{revision}",
            "namespace": namespace,
            "labels": {"app": deploy, "pod-template-hash": f"h{revision}"},
            "annotations": {"deployment.kubernetes.io/revision": str(revision)},
            "creationTimestamp": ts(age),
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": deploy,
                    "uid": f"uid-deploy-{deploy}",
                    "controller": True,
                }
            ],
        },
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": deploy}}, "template": template},
        "status": {"replicas": replicas, "readyReplicas": ready},
    }


def node(name: str, *, ready: bool = True, pressure: str | None = None) -> dict[str, Any]:
    conditions = [
        {
            "type": "Ready",
            "status": "True" if ready else "False",
            "reason": "KubeletReady" if ready else "KubeletNotReady",
            "message": "kubelet is posting ready status" if ready else "PLEG is not healthy",
        }
    ]
    for kind in ("MemoryPressure", "DiskPressure", "PIDPressure"):
        conditions.append(
            {
                "type": kind,
                "status": "True" if pressure == kind else "False",
                "reason": f"Kubelet{'Has' if pressure == kind else 'HasNo'}{kind}",
                "message": "",
            }
        )
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name},
        "spec": {},
        "status": {"conditions": conditions},
    }


def pod_metrics(
    name: str, namespace: str, cpu: str, memory: str, labels: dict[str, str] | None = None
) -> dict:
    return {
        "apiVersion": "metrics.k8s.io/v1beta1",
        "kind": "PodMetrics",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "timestamp": ts(),
        "window": "30s",
        "containers": [{"name": "app", "usage": {"cpu": cpu, "memory": memory}}],
    }
