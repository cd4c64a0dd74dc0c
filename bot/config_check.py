"""``chatops check-config``: every problem of a policy file, each with its location."""

from __future__ import annotations

from pathlib import Path

from bot.config.policy import PolicyError, load_policy
from bot.core.models import Incident, StatusUpdate, utcnow
from bot.incidents.views import template_context
from bot.templates import TemplateFailure, check_template, render


def check(path: str) -> list[str]:
    try:
        policy = load_policy(path)
    except PolicyError as exc:
        return exc.problems
    problems: list[str] = []
    sample = Incident(
        id="INC-1",
        number=1,
        title="Sample",
        severity=policy.severities[0].name,
        status=policy.initial_status,
        created_by="U0000000",
        summary="Sample summary",
    )
    sample.resolved_at = sample.acknowledged_at = sample.mitigated_at = utcnow()
    update = StatusUpdate(
        number=1, status=policy.initial_status, message="sample", by="U0000000", at=utcnow()
    )
    for name in ("announcement", "status_update", "resolution"):
        source = getattr(policy.templates, name)
        err = check_template(name, source)
        if err:
            problems.append(f"{path}: templates.{name}: {err}")
            continue
        try:
            render(name, source, {**template_context(policy, sample), "update": update})
        except TemplateFailure as exc:
            problems.append(f"{path}: templates.{name}: {exc}")
    known = {s.name for s in policy.severities}
    for name in policy.escalation.unknown_severities(known):
        problems.append(
            f"{path}: escalation: severity `{name}` (in timers, reminders or statuspage) is not one of "
            f"the policy's severities: {', '.join(sorted(known))}"
        )
    for extra in _section_checks():
        problems += extra(policy, Path(path))
    return problems


def _section_checks() -> list:  # type: ignore[type-arg]
    """Further checks contributed by parts: ``bot.<part>.config.check(policy, path) -> list[str]``."""
    from bot.app import _import_optional

    checks = []
    for name in ("bot.config.runbooks", "bot.config.alerts", "bot.config.escalation"):
        module = _import_optional(name)
        if module is not None and hasattr(module, "check"):
            checks.append(module.check)
    return checks
