"""Pure functions over Kubernetes API objects: pod problems, log line grouping, quantities, selectors.

No network here: :mod:`integrations.kubernetes` fetches, these functions interpret.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from integrations.failures import one_line
from integrations.kube_models import (
    DeploymentCondition,
    DeploymentStatus,
    EventInfo,
    LogErrorGroup,
    PodProblem,
    Revision,
)

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"

# --------------------------------------------------------------------------------------- pure parsing

HEALTHY_NODE_CONDITION = {
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


def age_seconds(when: datetime | None, now: datetime) -> float | None:
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
        age_seconds=age_seconds(meta.creation_timestamp, now),
    )


def event_info(ev: Any) -> EventInfo:
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


def revision_of(obj: Any) -> int | None:
    annotations = (obj.metadata.annotations or {}) if obj.metadata else {}
    try:
        return int(annotations[REVISION_ANNOTATION])
    except (KeyError, ValueError, TypeError):
        return None


def images_of(template: Any) -> list[str]:
    if template is None or template.spec is None:
        return []
    return [c.image for c in (template.spec.containers or []) if c.image]


def owned_by(obj: Any, kind: str, name: str, uid: str | None) -> bool:
    for ref in obj.metadata.owner_references or []:
        if ref.kind == kind and ref.name == name and (uid is None or not ref.uid or ref.uid == uid):
            return True
    return False


def mark_current(rev: Revision) -> Revision:
    return replace(rev, current=True)


def deployment_status(cluster: str, dep: Any) -> DeploymentStatus:
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
        images=images_of(spec.template if spec else None),
        revision=revision_of(dep),
        conditions=conditions,
        paused=bool(spec and spec.paused),
    )
