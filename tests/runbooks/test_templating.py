"""Diagnostic parameters rendered as sandboxed Jinja2 templates from alert labels and incident service."""

from __future__ import annotations

import pytest

from bot.runbooks.templating import TemplateProblem, build_context, render, render_value


def test_labels_service_and_defaults() -> None:
    context = build_context(labels={"namespace": "shop", "app": "checkout", "pod": "checkout-1"})
    assert render("{{ namespace }}/{{ service }}", context) == "shop/checkout"
    assert render("{{ labels.pod }}", context) == "checkout-1"
    assert render("{{ missing | default('x') }}", context) == "x"
    incident = build_context(service="payments", incident={"id": "INC-7"})
    assert render("{{ service }} {{ incident.id }}", incident) == "payments INC-7"
    assert render_value({"a": ["{{ service }}", 3]}, incident, what="params") == {"a": ["payments", 3]}


def test_missing_variable_names_it() -> None:
    with pytest.raises(TemplateProblem) as info:
        render('up{job="{{ service }}"}', build_context(), what="query")
    assert info.value.variable == "service"
    assert info.value.line("pod-crash-loop", "restarts") == (
        "runbook pod-crash-loop, check restarts: query needs {{ service }}, which this alert or incident "
        "does not provide (add the label, or a default: {{ service | default('…') }})"
    )
    with pytest.raises(TemplateProblem) as attr:
        render("{{ labels.pod }}", build_context(labels={"a": "b"}), what="params.pod")
    assert attr.value.variable == "pod" and "no attribute" not in str(attr.value)
    with pytest.raises(TemplateProblem) as syntax:
        render("{{ oops", build_context(), what="query")
    assert syntax.value.variable is None
    assert syntax.value.line(None, "x").startswith("check x: query: template syntax error on line 1")


def test_sandbox_blocks_unsafe_access() -> None:
    with pytest.raises(TemplateProblem):
        render("{{ labels.__class__.__mro__[1].__subclasses__() }}", build_context(labels={"a": "b"}))
