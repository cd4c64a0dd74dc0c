"""Typed integration results → short mrkdwn lines for a diagnostics message (no Block Kit here).

Each summariser returns ``(lines, attention)``: ``attention`` is True when the check found something
wrong (unhealthy pods, warnings, error lines, ...), so the view can mark it.
"""

from __future__ import annotations

from bot.durations import format_duration
from bot.runbooks.markdown import escape
from integrations.kubernetes import (
    DeploymentStatus,
    EventsReport,
    LogsReport,
    NodesReport,
    PodsReport,
    RolloutHistory,
    TopReport,
)
from integrations.prometheus import InstantResult, format_value

MAX_LINES = 8


def _age(seconds: float | None) -> str:
    return "age unknown" if seconds is None else f"{format_duration(seconds)} ago"


def _more(total: int, shown: int) -> list[str]:
    return [f"…and {total - shown} more"] if total > shown else []


def _code(text: str) -> str:
    return f"`{text.replace('`', 'ˋ')}`"


def summarise_instant(result: InstantResult) -> tuple[list[str], bool]:
    if not result.samples:
        return ["no data (the query matched no series)"], False
    ranked = sorted(result.samples, key=lambda s: (s.value != s.value, -s.value if s.value == s.value else 0))
    lines = [f"{_code(s.name)} → *{result.formatted(s)}*" for s in ranked[:MAX_LINES]]
    if len(ranked) == 1:  # one series: its metric name (if any) says more than its target labels
        only = ranked[0]
        name = only.labels.get("__name__")
        lines = [f"{_code(name)} → *{result.formatted(only)}*" if name else f"*{result.formatted(only)}*"]
    return lines + _more(len(ranked), MAX_LINES), False


def summarise_pods(report: PodsReport) -> tuple[list[str], bool]:
    where = f"{report.namespace}" + (f" ({report.selector})" if report.selector else "")
    if report.total == 0:
        return [f"no pods found in {escape(where)}"], True
    if not report.problems:
        return [f"all {report.total} pods in {escape(where)} are running and ready"], False
    lines = [
        f"*{len(report.problems)} of {report.total}* pods in {escape(where)} are not running or not ready:"
    ]
    for p in report.problems[:MAX_LINES]:
        detail = f" — {escape(p.message)}" if p.message else ""
        restarts = f" · {p.restarts} restarts" if p.restarts else ""
        lines.append(f"• {_code(p.name)} *{escape(p.reason)}*{restarts}{detail}")
    return lines + _more(len(report.problems), MAX_LINES), True


def summarise_events(report: EventsReport) -> tuple[list[str], bool]:
    target = report.object or f"namespace {report.namespace}"
    if not report.events:
        return [f"no recent warning events for {escape(target)}"], False
    lines = [f"*{len(report.events)}* recent warning events for {escape(target)}:"]
    for e in report.events[:MAX_LINES]:
        times = f" ×{e.count}" if e.count > 1 else ""
        when = ""
        if e.last_seen is not None:
            when = f" (<!date^{int(e.last_seen.timestamp())}^{{time}}|{e.last_seen:%H:%M} UTC>)"
        lines.append(
            f"• {_code(f'{e.kind}/{e.name}')} *{escape(e.reason)}*{times}: {escape(e.message)}{when}"
        )
    return lines + _more(len(report.events), MAX_LINES), True


def summarise_deployment(status: DeploymentStatus) -> tuple[list[str], bool]:
    head = (
        f"{_code(status.name)}: *{status.ready}/{status.desired} ready*, {status.updated} updated, "
        f"{status.available} available"
        + (f" · revision {status.revision}" if status.revision is not None else "")
        + (" · *paused*" if status.paused else "")
    )
    lines = [head]
    if status.images:
        lines.append("image: " + ", ".join(_code(i) for i in status.images))
    for c in status.conditions:
        if c.status != "True":
            lines.append(f"• {escape(c.type)}={escape(c.status)} {escape(c.reason)}: {escape(c.message)}")
    return lines, not status.healthy


def summarise_history(history: RolloutHistory) -> tuple[list[str], bool]:
    if not history.revisions:
        return [f"no ReplicaSet revisions found for {_code(history.deployment)}"], False
    lines = []
    for r in history.revisions[:MAX_LINES]:
        current = " *(current)*" if r.current else ""
        images = ", ".join(_code(i) for i in r.images) or "no image"
        lines.append(
            f"• rev {r.revision}{current} {images} · {_age(r.age_seconds)} · {r.ready}/{r.replicas} ready"
        )
    return lines + _more(len(history.revisions), MAX_LINES), False


def summarise_logs(report: LogsReport) -> tuple[list[str], bool]:
    pods = ", ".join(_code(p) for p in report.pods[:5]) or "no pods"
    lines = [f"*{report.error_lines}* error lines in {report.lines_scanned} log lines from {pods}"]
    for g in report.groups[:5]:
        lines.append(f"• ×{g.count} {_code(g.example[:200])}")
    lines += _more(len(report.groups), 5)
    lines += [f"⚠ {escape(f)}" for f in report.failures[:3]]
    return lines, report.error_lines > 0


def summarise_nodes(report: NodesReport) -> tuple[list[str], bool]:
    bad = [n for n in report.nodes if not n.ready or n.problems or n.unschedulable]
    if not report.nodes:
        return ["no nodes listed"], True
    if not bad:
        return [f"all {len(report.nodes)} nodes are Ready with no pressure"], False
    lines = [f"*{len(bad)} of {len(report.nodes)}* nodes need attention:"]
    for n in bad[:MAX_LINES]:
        problems = "; ".join(f"{c.type}={c.status} ({c.reason})" for c in n.problems) or "ok"
        flags = " · cordoned" if n.unschedulable else ""
        lines.append(f"• {_code(n.name)} {'Ready' if n.ready else '*NotReady*'}{flags}: {escape(problems)}")
    return lines + _more(len(bad), MAX_LINES), True


def summarise_top(report: TopReport) -> tuple[list[str], bool]:
    if not report.usage:
        return ["no usage samples"], False
    lines = []
    for u in report.usage[:MAX_LINES]:
        lines.append(
            f"• {_code(u.name)} cpu *{format_value(u.cpu_millicores, 'count')}m* · "
            f"memory *{format_value(u.memory_bytes, 'bytes')}*"
        )
    return lines, False
