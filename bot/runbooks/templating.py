"""Diagnostic parameters as Jinja2 templates, rendered in a sandbox from the alert and incident context.

Context keys: ``labels`` (the alert's labels, also reachable as ``alert.labels``), ``service``,
``namespace``, ``cluster``, ``incident`` (id, title, severity, service), plus every alert label at the
top level when it does not clash (``{{ namespace }}``, ``{{ pod }}``). A missing variable is an error
that names it, never an empty string sent to a cluster.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


_UNDEFINED = re.compile(r"^'([^']+)' is undefined$")
_NO_ATTRIBUTE = re.compile(r"has no attribute '([^']+)'$")


class TemplateProblem(ValueError):
    """A parameter template could not be rendered; the message says which and why in words (never a
    raw Jinja message): ``query needs {{ service }}, which this alert or incident does not provide``."""

    def __init__(self, what: str, reason: str, variable: str | None = None) -> None:
        self.what = what
        self.reason = reason
        self.variable = variable
        super().__init__(f"{what}: {reason}")

    def line(self, runbook: str | None, check: str) -> str:
        """One line naming the runbook, the check and the variable (or the problem)."""
        where = f"runbook {runbook}, check {check}" if runbook else f"check {check}"
        if self.variable:
            return (
                f"{where}: {self.what} needs {{{{ {self.variable} }}}}, which this alert or incident "
                "does not provide (add the label, or a default: {{ " + self.variable + " | default('…') }})"
            )
        return f"{where}: {self.what}: {self.reason}"


def _problem(exc: TemplateError, what: str) -> TemplateProblem:
    message = (exc.message or "").strip()
    if isinstance(exc, UndefinedError):
        found = _UNDEFINED.match(message) or _NO_ATTRIBUTE.search(message)
        if found:
            return TemplateProblem(what, f"{{{{ {found.group(1)} }}}} is not defined", found.group(1))
        return TemplateProblem(what, "uses a value that is not defined")
    if isinstance(exc, TemplateSyntaxError):
        return TemplateProblem(what, f"template syntax error on line {exc.lineno}: {message}")
    return TemplateProblem(what, f"template error: {message or type(exc).__name__}")


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
        raise _problem(exc, what) from exc


def render_value(value: Any, context: Mapping[str, Any], *, what: str) -> Any:
    """Strings are templates; other scalars pass through; lists and dicts are rendered item by item."""
    if isinstance(value, str):
        return render(value, context, what=what)
    if isinstance(value, list):
        return [render_value(v, context, what=f"{what}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: render_value(v, context, what=f"{what}.{k}") for k, v in value.items()}
    return value
