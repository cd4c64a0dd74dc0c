"""A runbook: Markdown text plus optional front matter (title, aliases, alerts, service, diagnostics)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DiagnosticType = Literal["promql", "pods", "events", "deployment", "rollout_history", "logs", "nodes", "top"]

# Which parameters each Kubernetes diagnostic understands (all are Jinja2 templates).
K8S_PARAMS: dict[str, set[str]] = {
    "pods": {"namespace", "selector"},
    "events": {"namespace", "kind", "name"},
    "deployment": {"namespace", "name"},
    "rollout_history": {"namespace", "name"},
    "logs": {"namespace", "selector", "pod", "container", "tail_lines", "since_seconds", "previous"},
    "nodes": set(),
    "top": {"namespace", "selector"},
}
REQUIRED_PARAMS: dict[str, set[str]] = {
    "pods": {"namespace"},
    "events": {"namespace"},
    "deployment": {"namespace", "name"},
    "rollout_history": {"namespace", "name"},
    "logs": {"namespace"},
}


class Diagnostic(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    type: DiagnosticType
    query: str | None = None  # PromQL (Jinja2 template) for type promql
    params: dict[str, Any] = Field(default_factory=dict)
    unit: str | None = None
    graph: bool = False
    cluster: str | None = None  # None: the policy's default cluster
    range: str | None = None  # graph range override, e.g. "30m"

    @model_validator(mode="after")
    def _check(self) -> Diagnostic:
        if self.type == "promql":
            if not self.query:
                raise ValueError(f"diagnostic {self.name!r}: a promql diagnostic needs `query`")
        else:
            if self.query:
                raise ValueError(f"diagnostic {self.name!r}: `query` is only for promql; use `params`")
            if self.graph:
                raise ValueError(f"diagnostic {self.name!r}: only promql diagnostics can draw a graph")
            unknown = set(self.params) - K8S_PARAMS[self.type]
            if unknown:
                allowed = ", ".join(sorted(K8S_PARAMS[self.type])) or "none"
                raise ValueError(
                    f"diagnostic {self.name!r}: unknown params {sorted(unknown)} for {self.type}"
                    f" (allowed: {allowed})"
                )
            missing = REQUIRED_PARAMS.get(self.type, set()) - set(self.params)
            if missing:
                raise ValueError(f"diagnostic {self.name!r}: {self.type} needs params {sorted(missing)}")
        return self


class FrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    aliases: list[str] = Field(default_factory=list)
    alerts: list[str] = Field(default_factory=list)
    service: str | None = None
    summary: str | None = None
    diagnostics: list[Diagnostic] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> FrontMatter:
        names = [d.name for d in self.diagnostics]
        if len(set(names)) != len(names):
            raise ValueError("diagnostic names must be unique within a runbook")
        return self


class Runbook(BaseModel):
    name: str  # file name without .md
    title: str
    path: Path
    body: str  # Markdown without the front matter
    aliases: list[str] = Field(default_factory=list)
    alerts: list[str] = Field(default_factory=list)
    service: str | None = None
    summary: str | None = None
    diagnostics: list[Diagnostic] = Field(default_factory=list)


_SEPARATORS = re.compile(r"[\s_\-./]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def lookup_key(text: str) -> str:
    """Case- and separator-insensitive key: KubePodCrashLooping and kube-pod-crash-looping agree."""
    stem = text.strip()
    if stem.lower().endswith(".md"):
        stem = stem[:-3]
    return _SEPARATORS.sub("", stem).lower()


def words_key(text: str) -> str:
    """Readable form for fuzzy matching: CamelCase and separators become spaces."""
    return " ".join(_SEPARATORS.sub(" ", _CAMEL.sub(" ", text.strip())).lower().split())
