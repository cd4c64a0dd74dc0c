"""Diagnostic parameters as Jinja2 templates, rendered in a sandbox from the alert and incident context.

Context keys: ``labels`` (the alert's labels, also reachable as ``alert.labels``), ``service``,
``namespace``, ``cluster``, ``incident`` (id, title, severity, service), plus every alert label at the
top level when it does not clash (``{{ namespace }}``, ``{{ pod }}``). A missing variable is an error
that names it, never an empty string sent to a cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


class TemplateProblem(ValueError):
    """A parameter template could not be rendered; the message says which and why."""


def build_context(
    *,
    labels: Mapping[str, str] | None = None,
    service: str | None = None,
    incident: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    labels = dict(labels or {})
    context: dict[str, Any] = {k: v for k, v in labels.items() if k.isidentifier()}
    resolved_service = service or labels.get("service") or labels.get("app") or labels.get("job")
    context.update(
        {
            "labels": labels,
            "alert": {"labels": labels},
            "incident": dict(incident or {}),
        }
    )
    if resolved_service:
        context["service"] = resolved_service
    context.update(extra or {})
    return context


def render(template: str, context: Mapping[str, Any], *, what: str = "template") -> str:
    try:
        return _ENV.from_string(template).render(**context).strip()
    except TemplateError as exc:
        raise TemplateProblem(f"{what}: {exc.message or type(exc).__name__}") from exc


def render_value(value: Any, context: Mapping[str, Any], *, what: str) -> Any:
    """Strings are templates; other scalars pass through; lists and dicts are rendered item by item."""
    if isinstance(value, str):
        return render(value, context, what=what)
    if isinstance(value, list):
        return [render_value(v, context, what=f"{what}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: render_value(v, context, what=f"{what}.{k}") for k, v in value.items()}
    return value
