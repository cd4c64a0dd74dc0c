"""``chatops check-config``: every problem of a policy file, each with its location, and warnings:
an integration the policy configures whose secret is not set in this environment (or in
``CHATOPS_SECRETS_DIR``), named by its key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import alerts as alerts_config
from bot.config import escalation as escalation_config
from bot.config import runbooks as runbooks_config
from bot.config.policy import Policy, PolicyError, load_policy
from bot.core.models import Incident, StatusUpdate, utcnow
from bot.incidents.views import template_context
from bot.settings import Settings
from bot.templates import TemplateFailure, check_template, render

SectionCheck = Callable[[Policy, Path], list[str]]


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)  # the policy is wrong: exit 1
    warnings: list[str] = field(default_factory=list)  # it works, but something is missing here
    notes: list[str] = field(default_factory=list)  # for information only, never a failure


def review(path: str, settings: Settings) -> Report:
    """The policy's problems, its deprecated keys, and the secrets its integrations need that
    ``settings`` lacks."""
    try:
        policy = load_policy(path)
    except PolicyError as exc:
        return Report(problems=exc.problems)
    deprecated = [f"{path}: {note}" for note in policy.deprecations()]
    return Report(
        problems=_problems(policy, path),
        warnings=deprecated + missing_secrets(policy, settings, path),
        notes=runbook_notes(policy),
    )


def runbook_notes(policy: Policy) -> list[str]:
    """Front-matter keys the runbooks carry that the bot does not use: one line per key (ignored when
    loading, never a skipped file)."""
    from bot.runbooks.loader import RunbookLibrary

    library = RunbookLibrary.load(policy.runbooks.paths, alert_map=policy.runbooks.alerts)
    return library.unknown_front_matter_report()


def check(path: str) -> list[str]:
    """The policy file's problems (an empty list when it is fine)."""
    try:
        policy = load_policy(path)
    except PolicyError as exc:
        return exc.problems
    return _problems(policy, path)


def _problems(policy: Policy, path: str) -> list[str]:
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


def _section_checks() -> list[SectionCheck]:
    """Further checks of policy sections: ``check(policy, path) -> list[str]`` in their config module."""
    checks: list[SectionCheck] = []
    for module in (runbooks_config, alerts_config, escalation_config):
        found = getattr(module, "check", None)
        if callable(found):
            checks.append(found)
    return checks


def _where(level: int, target: str) -> str:
    return f"escalation level {level} target {target!r}"


def missing_secrets(policy: Policy, settings: Settings, path: str) -> list[str]:
    """One line per integration the policy configures whose secret ``settings`` lacks.

    PagerDuty and Opsgenie count as configured when a target pages them (or ``pagers.default_service``
    names them) and ``pagers.enabled``; a target's own PagerDuty key is the secret its
    ``routing_key_env`` names. The status page counts when the policy has an ``escalation.statuspage``
    section with ``enabled`` left on. The follow-up trackers count when ``review.trackers`` configures
    them: GitHub needs ``GITHUB_TOKEN``, Jira ``JIRA_URL`` and ``JIRA_API_TOKEN``.
    """
    esc = policy.escalation
    needs: dict[str, list[str]] = {}  # secret name -> who needs it

    def need(secret: str, who: str) -> None:
        needs.setdefault(secret, []).append(who)

    if esc.pagers.enabled:
        default = esc.pagers.default_service
        for level in esc.levels:
            for target in level.targets:
                route = target.pager
                service = route.service if route is not None else default
                if service == "opsgenie":
                    need("OPSGENIE_API_KEY", _where(level.level, target.name))
                elif service == "pagerduty":
                    secret = (route.routing_key_env if route is not None else None) or "PAGERDUTY_ROUTING_KEY"
                    need(secret, _where(level.level, target.name))
    if "statuspage" in esc.model_fields_set and esc.statuspage.enabled:
        need("STATUSPAGE_API_KEY", "escalation.statuspage")
        need("STATUSPAGE_PAGE_ID", "escalation.statuspage")

    trackers = policy.review.trackers
    if trackers.github is not None:
        need("GITHUB_TOKEN", "review.trackers.github")
    if trackers.jira is not None:
        need("JIRA_URL", "review.trackers.jira")
        need("JIRA_API_TOKEN", "review.trackers.jira")

    have = {
        "GITHUB_TOKEN": settings.github_token.get_secret_value(),
        "JIRA_URL": settings.jira_url,
        "JIRA_API_TOKEN": settings.jira_api_token.get_secret_value(),
        "PAGERDUTY_ROUTING_KEY": settings.pagerduty_routing_key.get_secret_value(),
        "OPSGENIE_API_KEY": settings.opsgenie_api_key.get_secret_value(),
        "STATUSPAGE_API_KEY": settings.statuspage_api_key.get_secret_value(),
        "STATUSPAGE_PAGE_ID": settings.statuspage_page_id,
    }
    out: list[str] = []
    for secret, who in needs.items():
        value = have[secret] if secret in have else settings.named_secret(secret)
        if not value.strip():
            shown = ", ".join(who[:3]) + (f" and {len(who) - 3} more" if len(who) > 3 else "")
            out.append(
                f"{path}: {secret} is not set (environment or CHATOPS_SECRETS_DIR) but {shown} needs it"
            )
    return out
