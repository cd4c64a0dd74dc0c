"""A runbook: Markdown text plus optional front matter (title, aliases, alerts, service, diagnostics)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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


class RunbookKeys(BaseModel):
    """The front-matter keys a runbook keeps as they were written: declared once, for the front
    matter and for the loaded runbook."""

    aliases: list[str] = Field(default_factory=list)
    alerts: list[str] = Field(default_factory=list)
    service: str | None = None
    summary: str | None = None
    runbook_url: str | None = None
    diagnostics: list[Diagnostic] = Field(default_factory=list)


class FrontMatter(RunbookKeys):
    """The front-matter keys the bot uses. Any other key (Hugo's ``weight``, ``bookCollapseSection``,
    MkDocs' ``tags``…) is ignored here: the loader lists them for check-config, never skips a file."""

    model_config = ConfigDict(extra="ignore")

    title: str | None = None

    @field_validator("aliases", "alerts", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        """One value or a list of them (collections write both); numbers become text."""
        if value is None:
            return []
        if isinstance(value, str | int | float):
            return [str(value)]
        if isinstance(value, list):
            return [str(v) for v in value if v is not None]
        return value

    @field_validator("title", "service", "summary", "runbook_url", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _unique_names(self) -> FrontMatter:
        names = [d.name for d in self.diagnostics]
        if len(set(names)) != len(names):
            raise ValueError("diagnostic names must be unique within a runbook")
        return self


KNOWN_KEYS = frozenset(FrontMatter.model_fields)


class Runbook(RunbookKeys):
    name: str  # file name without .md (the path below its directory when two files share a name)
    title: str
    path: Path
    body: str  # Markdown without the front matter
    section: str = ""  # the folder below the runbook directory ("" at the top)
    unknown_keys: list[str] = Field(default_factory=list)  # front-matter keys the bot does not use


class Section(BaseModel):
    """A folder's index page (``_index.md``, ``index.md``, ``README.md``): listed, not a runbook."""

    folder: str  # below the runbook directory; "" for the top
    title: str
    path: Path
    body: str


_SEPARATORS = re.compile(r"[\s_\-./]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def lookup_key(text: str) -> str:
    """Case- and separator-insensitive key: KubePodCrashLooping and kube-pod-crash-looping agree."""
    stem = text.strip()
    for suffix in (".md", ".markdown", ".html"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    return _SEPARATORS.sub("", stem).lower()


def reference_keys(text: str) -> list[str]:
    """Lookup keys of a runbook reference that is a URL or a path: its last part, and its anchor.

    ``https://rb.example/k8s/KubePodCrashLooping/``, ``k8s/kube-pod-crash-looping.md`` and
    ``…/README.md#alert-name-kubepodcrashlooping`` all name the runbook of KubePodCrashLooping."""
    ref = text.strip()
    keys: list[str] = []
    base, _, anchor = ref.partition("#")
    if anchor.strip():
        keys.append(lookup_key(anchor))
        if anchor.lower().startswith("alert-name-"):
            keys.append(lookup_key(anchor[len("alert-name-") :]))
    last = base.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    if last:
        keys.append(lookup_key(last))
    return [k for k in keys if k]


def words_key(text: str) -> str:
    """Readable form for fuzzy matching: CamelCase and separators become spaces."""
    return " ".join(_SEPARATORS.sub(" ", _CAMEL.sub(" ", text.strip())).lower().split())
