"""Policy sections for runbooks, clusters, metrics, remediation and triage. Every key has a default.

```yaml
runbooks:
  paths: [runbooks]                 # directories of Markdown runbooks, relative to the working directory
  alerts: {KubePodCrashLooping: pod-crash-loop}   # THE alert name → runbook map: a runbook name or
                                    # a URL (front matter `alerts:` works too; `alerts.runbooks` is deprecated)
  auto_diagnostics: false           # run the mapped runbook's diagnostics in a new alert group's thread
  check_timeout: 20s                # per diagnostic
  graph_range: 1h                   # range of PromQL graphs
  triage: {enabled: false, ...}     # snapshot attached by /incident create

kubernetes:
  default_cluster: prod
  clusters: [{name: prod, kubeconfig: ~/.kube/config, context: prod-admin}, {name: local, in_cluster: true}]
  remediation:
    enabled: false                  # read-only unless true
    actions: [rollout_restart, scale, rollout_undo]   # allow-list; who may click: permissions.remediate
    max_replicas: 50

prometheus:
  url: null                         # null: $PROMETHEUS_URL
  headers: {Authorization: "Bearer ${PROM_TOKEN}"}   # ${VAR} is read from the environment
  timeout: 10s
```
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.config.alerts import AlertsPolicy
from bot.durations import Duration
from integrations.kube_models import ClusterSpec

RemediationAction = Literal["rollout_restart", "scale", "rollout_undo"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TriageQuery(_Section):
    name: str = Field(min_length=1)
    query: str = Field(min_length=1)  # Jinja2 template; context: service, namespace
    unit: str | None = None
    warn: float | None = None  # value at or above → suggests high
    critical: float | None = None  # value at or above → suggests critical


def _default_triage_queries() -> list[TriageQuery]:
    return [
        TriageQuery(
            name="error rate",
            query='sum(rate(http_requests_total{service="{{ service }}",code=~"5.."}[5m]))'
            ' / sum(rate(http_requests_total{service="{{ service }}"}[5m]))',
            unit="ratio",
            warn=0.01,
            critical=0.05,
        ),
        TriageQuery(
            name="p95 latency",
            query="histogram_quantile(0.95, sum by (le) ("
            'rate(http_request_duration_seconds_bucket{service="{{ service }}"}[5m])))',
            unit="seconds",
            warn=0.5,
            critical=2.0,
        ),
    ]


class TriagePolicy(_Section):
    enabled: bool = False
    cluster: str | None = None
    namespace: str = "{{ service }}"  # Jinja2 templates
    selector: str = "app={{ service }}"
    queries: list[TriageQuery] = Field(default_factory=_default_triage_queries)
    timeout: Duration = timedelta(seconds=8)


class RunbooksPolicy(_Section):
    paths: list[str] = Field(default_factory=lambda: ["runbooks"])
    # alert name → runbook: a runbook name as `/runbook` knows it, or a URL. The policy's one such map.
    alerts: dict[str, str] = Field(default_factory=dict)
    auto_diagnostics: bool = False
    check_timeout: Duration = timedelta(seconds=20)
    graph_range: Duration = timedelta(hours=1)
    triage: TriagePolicy = Field(default_factory=TriagePolicy)

    @field_validator("paths")
    @classmethod
    def _some_path(cls, value: list[str]) -> list[str]:
        if any(not p.strip() for p in value):
            raise ValueError("runbook paths must not be empty strings")
        return value


def merge_runbook_maps(alerts: AlertsPolicy, runbooks: RunbooksPolicy) -> list[str]:
    """Fold the deprecated ``alerts.runbooks`` into ``runbooks.alerts`` (which wins a clash), then
    let ``alerts.runbooks`` name that same map so every reader sees one. Returns the deprecations."""
    old = alerts.runbooks
    notes: list[str] = []
    if old:
        clashes = sorted(a for a, target in old.items() if runbooks.alerts.get(a, target) != target)
        for alert, target in old.items():
            runbooks.alerts.setdefault(alert, target)
        note = (
            f"alerts.runbooks is deprecated: move its {len(old)} entr{'y' if len(old) == 1 else 'ies'} "
            "to runbooks.alerts (alert name → runbook name or URL), the one map"
        )
        if clashes:
            note += f"; runbooks.alerts wins for {', '.join(clashes)}"
        notes.append(note)
    alerts.runbooks = runbooks.alerts
    return notes


class ClusterPolicy(_Section):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    kubeconfig: str | None = None  # None: $KUBECONFIG or ~/.kube/config
    context: str | None = None
    in_cluster: bool = False
    timeout: Duration = timedelta(seconds=10)
    verify_ssl: bool | None = None

    def spec(self) -> ClusterSpec:
        return ClusterSpec(
            name=self.name,
            kubeconfig=os.path.expanduser(self.kubeconfig) if self.kubeconfig else None,
            context=self.context,
            in_cluster=self.in_cluster,
            timeout=self.timeout.total_seconds(),
            verify_ssl=self.verify_ssl,
        )


class RemediationPolicy(_Section):
    enabled: bool = False
    actions: list[RemediationAction] = Field(default_factory=list)
    max_replicas: int = Field(default=50, ge=0)

    def allows(self, action: str) -> bool:
        return self.enabled and action in self.actions


class KubernetesPolicy(_Section):
    default_cluster: str | None = None
    clusters: list[ClusterPolicy] = Field(default_factory=list)
    remediation: RemediationPolicy = Field(default_factory=RemediationPolicy)

    @model_validator(mode="after")
    def _check(self) -> KubernetesPolicy:
        names = [c.name for c in self.clusters]
        if len(set(names)) != len(names):
            raise ValueError("cluster names must be unique")
        if self.default_cluster and self.default_cluster not in names:
            raise ValueError(f"default_cluster {self.default_cluster!r} is not one of the clusters ({names})")
        return self

    def specs(self) -> list[ClusterSpec]:
        return [c.spec() for c in self.clusters]


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class PrometheusPolicy(_Section):
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: Duration = timedelta(seconds=10)
    verify_ssl: bool = True

    def resolved_headers(self) -> dict[str, str]:
        """Header values with ``${VAR}`` taken from the environment (secrets stay out of the file)."""
        return {k: _ENV_REF.sub(lambda m: os.environ.get(m.group(1), ""), v) for k, v in self.headers.items()}
