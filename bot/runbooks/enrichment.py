"""Alert enrichment and incident triage built on the runbook machinery.

* :func:`enrich_alert_thread` — for a new alert group, when ``runbooks.auto_diagnostics`` is on, run the
  diagnostics of the runbook mapped to the alert (policy ``runbooks.alerts`` or front matter ``alerts``)
  with the alert's labels, in the alert group's thread.
* :func:`triage_snapshot` — for ``/incident create``: pods not ready and the policy's triage queries for
  the incident's service, plus a suggested severity when the values cross the policy's thresholds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.blocks import context as context_block
from bot.config.runbooks import TriageQuery
from bot.context import AppContext
from bot.runbooks import workflow
from bot.runbooks.markdown import escape
from bot.runbooks.service import service_for
from bot.runbooks.templating import TemplateProblem, build_context, render
from integrations.failures import Failure
from integrations.kubernetes import PodsReport
from integrations.prometheus import InstantResult, format_value

log = logging.getLogger(__name__)


async def enrich_alert_thread(
    ctx: AppContext,
    *,
    alertname: str,
    labels: Mapping[str, str],
    channel: str,
    thread_ts: str,
) -> workflow.DiagnosticsRun | None:
    """Run the mapped runbook's diagnostics in an alert group's thread (None when not configured)."""
    if not ctx.policy.runbooks.auto_diagnostics:
        return None
    runbook = service_for(ctx).library().for_alert(alertname)
    if runbook is None or not runbook.diagnostics:
        return None
    note = f":blue_book: Runbook *{escape(runbook.title)}* (`/runbook {escape(runbook.name)}`): running its diagnostics."
    await workflow.post(ctx, channel, [context_block(note)], f"Runbook {runbook.title}", thread_ts=thread_ts)
    return await workflow.run_diagnostics(
        ctx, runbook, channel=channel, thread_ts=thread_ts, actor="alertmanager", labels=dict(labels)
    )


@dataclass
class TriageSnapshot:
    service: str
    lines: list[str] = field(default_factory=list)  # mrkdwn
    failures: list[str] = field(default_factory=list)  # one line per check that could not run
    suggested_severity: str | None = None
    reasons: list[str] = field(default_factory=list)  # why that severity


_RANK = {None: 0, "high": 1, "critical": 2}


async def triage_snapshot(ctx: AppContext, service: str) -> TriageSnapshot | None:
    """Pods not ready and the triage queries for ``service``; None when triage is off in the policy."""
    triage = ctx.policy.runbooks.triage
    if not triage.enabled:
        return None
    svc = service_for(ctx)
    snapshot = TriageSnapshot(service)
    tmpl = build_context(service=service)
    suggestion: str | None = None

    def suggest(level: str, reason: str) -> None:
        nonlocal suggestion
        snapshot.reasons.append(reason)
        if _RANK[level] > _RANK[suggestion]:
            suggestion = level

    async def pods() -> None:
        client = svc.clusters.get(triage.cluster)
        if isinstance(client, Failure):
            snapshot.failures.append(f"pods: {client.reason}")
            return
        try:
            namespace = render(triage.namespace, tmpl, what="triage.namespace")
            selector = render(triage.selector, tmpl, what="triage.selector") or None
        except TemplateProblem as exc:
            snapshot.failures.append(f"pods: {exc}")
            return
        report = await client.unhealthy_pods(namespace, selector)
        if isinstance(report, Failure):
            snapshot.failures.append(f"pods: {report.reason}")
            return
        assert isinstance(report, PodsReport)
        bad = len(report.problems)
        reasons = sorted({p.reason for p in report.problems})
        detail = f" ({', '.join(reasons)})" if reasons else ""
        snapshot.lines.append(f"*Pods:* {bad} of {report.total} not ready{escape(detail)}")
        if report.total and bad == report.total:
            suggest("critical", "no pod is ready")
        elif report.total and bad * 2 >= report.total:
            suggest("high", "half or more of the pods are not ready")

    async def query(q: TriageQuery) -> None:
        if svc.prometheus is None:
            snapshot.failures.append(f"{q.name}: Prometheus is not configured")
            return
        try:
            promql = render(q.query, tmpl, what=f"triage {q.name}")
        except TemplateProblem as exc:
            snapshot.failures.append(str(exc))
            return
        result = await svc.prometheus.query(promql, unit=q.unit)
        if isinstance(result, Failure):
            snapshot.failures.append(f"{q.name}: {result.reason}")
            return
        assert isinstance(result, InstantResult)
        if not result.samples:
            snapshot.lines.append(f"*{escape(q.name)}:* no data")
            return
        value = max(s.value for s in result.samples)
        shown = format_value(value, q.unit)
        snapshot.lines.append(f"*{escape(q.name)}:* {shown}")
        if q.critical is not None and value >= q.critical:
            suggest("critical", f"{q.name} {shown} ≥ {format_value(q.critical, q.unit)}")
        elif q.warn is not None and value >= q.warn:
            suggest("high", f"{q.name} {shown} ≥ {format_value(q.warn, q.unit)}")

    checks = [pods(), *(query(q) for q in triage.queries)]
    try:
        await asyncio.wait_for(asyncio.gather(*checks), timeout=triage.timeout.total_seconds())
    except TimeoutError:
        snapshot.failures.append(f"triage timed out after {triage.timeout.total_seconds():g}s")
    names = {s.name for s in ctx.policy.severities}
    snapshot.suggested_severity = suggestion if suggestion in names else None
    return snapshot
