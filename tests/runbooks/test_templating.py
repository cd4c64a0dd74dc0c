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
    with pytest.raises(TemplateProblem, match="query: 'service' is undefined"):
        render('up{job="{{ service }}"}', build_context(), what="query")


def test_sandbox_blocks_unsafe_access() -> None:
    with pytest.raises(TemplateProblem):
        render("{{ labels.__class__.__mro__[1].__subclasses__() }}", build_context(labels={"a": "b"}))
