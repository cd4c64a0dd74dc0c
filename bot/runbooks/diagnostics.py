"""Run a runbook's diagnostics concurrently, each with its own timeout, reporting as each finishes.

One failing check (bad template, unreachable cluster, forbidden, bad PromQL, timeout, a bug) is a
failed result with one clear line; it never stops the others.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.durations import parse_duration
from bot.runbooks import summaries
from bot.runbooks.model import Diagnostic
from bot.runbooks.templating import TemplateProblem, render, render_value
from integrations.failures import Failure
from integrations.graphs import render_range
from integrations.kubernetes import Clusters, KubernetesClient
from integrations.prometheus import InstantResult, PrometheusClient, RangeResult

log = logging.getLogger(__name__)


@dataclass
class DiagnosticResult:
    name: str
    type: str
    ok: bool
    lines: list[str] = field(default_factory=list)  # mrkdwn
    reason: str | None = None  # one line when not ok
    attention: bool = False  # the check ran and found something wrong
    graph_png: bytes | None = None
    graph_title: str | None = None
    seconds: float = 0.0
    data: Any = None  # the typed integration result

    @property
    def status(self) -> str:
        return "failed" if not self.ok else ("attention" if self.attention else "ok")


Progress = Callable[[DiagnosticResult, int, int], Awaitable[None]]


class DiagnosticsRunner:
    def __init__(
        self,
        *,
        clusters: Clusters,
        prometheus: PrometheusClient | None,
        check_timeout: float = 20.0,
        graph_range: timedelta = timedelta(hours=1),
    ) -> None:
        self.clusters = clusters
        self.prometheus = prometheus
        self.check_timeout = check_timeout
        self.graph_range = graph_range

    async def run(
        self,
        diagnostics: Sequence[Diagnostic],
        context: Mapping[str, Any],
        progress: Progress | None = None,
        *,
        runbook: str | None = None,
    ) -> list[DiagnosticResult]:
        """All checks at once; ``progress(result, done, total)`` after each; results in runbook order.

        ``runbook`` names the runbook in the lines of failed checks."""
        total = len(diagnostics)
        done = 0
        lock = asyncio.Lock()

        async def one(diagnostic: Diagnostic) -> DiagnosticResult:
            nonlocal done
            result = await self.run_one(diagnostic, context, runbook=runbook)
            if progress is not None:
                async with lock:  # progress updates in order, one at a time
                    done += 1
                    try:
                        await progress(result, done, total)
                    except Exception:
                        log.exception("diagnostics progress callback failed after %s", diagnostic.name)
            return result

        return list(await asyncio.gather(*(one(d) for d in diagnostics)))

    async def run_one(
        self, diagnostic: Diagnostic, context: Mapping[str, Any], *, runbook: str | None = None
    ) -> DiagnosticResult:
        started = time.monotonic()
        try:
            result = await asyncio.wait_for(self._dispatch(diagnostic, context), timeout=self.check_timeout)
        except TimeoutError:
            result = self._failed(diagnostic, f"timed out after {self.check_timeout:g}s")
        except TemplateProblem as exc:
            log.info("diagnostic %s of %s: %s", diagnostic.name, runbook or "a runbook", exc)
            result = self._failed(diagnostic, exc.line(runbook, diagnostic.name))
        except Exception as exc:  # a bug must not take the other checks down; say so and log it
            log.exception("diagnostic %s crashed", diagnostic.name)
            result = self._failed(diagnostic, f"internal error ({type(exc).__name__}); see the bot's log")
        result.seconds = time.monotonic() - started
        return result

    @staticmethod
    def _failed(diagnostic: Diagnostic, reason: str) -> DiagnosticResult:
        return DiagnosticResult(diagnostic.name, diagnostic.type, ok=False, reason=reason)

    def _cluster(self, diagnostic: Diagnostic, context: Mapping[str, Any]) -> KubernetesClient | Failure:
        name = (
            render(diagnostic.cluster, context, what="cluster")
            if diagnostic.cluster
            else context.get("cluster")
        )
        return self.clusters.get(name or None)

    async def _dispatch(self, diagnostic: Diagnostic, context: Mapping[str, Any]) -> DiagnosticResult:
        if diagnostic.type == "promql":
            return await self._promql(diagnostic, context)
        params = render_value(diagnostic.params, context, what="params")
        client = self._cluster(diagnostic, context)
        if isinstance(client, Failure):
            return self._failed(diagnostic, client.reason)
        kind = diagnostic.type
        data: Any
        if kind == "pods":
            data = await client.unhealthy_pods(params["namespace"], params.get("selector") or None)
            summarise: Callable[[Any], tuple[list[str], bool]] = summaries.summarise_pods
        elif kind == "events":
            data = await client.warning_events(
                params["namespace"], kind=params.get("kind") or None, name=params.get("name") or None
            )
            summarise = summaries.summarise_events
        elif kind == "deployment":
            data = await client.deployment_status(params["namespace"], params["name"])
            summarise = summaries.summarise_deployment
        elif kind == "rollout_history":
            data = await client.rollout_history(params["namespace"], params["name"])
            summarise = summaries.summarise_history
        elif kind == "logs":
            data = await client.error_logs(
                params["namespace"],
                selector=params.get("selector") or None,
                pod=params.get("pod") or None,
                container=params.get("container") or None,
                tail_lines=int(params.get("tail_lines", 500)),
                since_seconds=int(params.get("since_seconds", 3600)) or None,
                previous=str(params.get("previous", "")).lower() in ("true", "1", "yes"),
            )
            summarise = summaries.summarise_logs
        elif kind == "nodes":
            data = await client.node_conditions()
            summarise = summaries.summarise_nodes
        else:
            data = await client.top(params.get("namespace") or None, params.get("selector") or None)
            summarise = summaries.summarise_top
        if isinstance(data, Failure):
            return self._failed(diagnostic, data.line())
        lines, attention = summarise(data)
        return DiagnosticResult(diagnostic.name, kind, ok=True, lines=lines, attention=attention, data=data)

    async def _promql(self, diagnostic: Diagnostic, context: Mapping[str, Any]) -> DiagnosticResult:
        if self.prometheus is None:
            return self._failed(
                diagnostic, "Prometheus is not configured (set PROMETHEUS_URL or prometheus.url)"
            )
        query = render(diagnostic.query or "", context, what="query")
        if not diagnostic.graph:
            instant = await self.prometheus.query(query, unit=diagnostic.unit)
            if isinstance(instant, Failure):
                return self._failed(diagnostic, instant.line())
            lines, attention = summaries.summarise_instant(instant)
            return DiagnosticResult(
                diagnostic.name, "promql", ok=True, lines=lines, attention=attention, data=instant
            )

        duration = parse_duration(diagnostic.range) if diagnostic.range else self.graph_range
        instant_task = self.prometheus.query(query, unit=diagnostic.unit)
        range_task = self.prometheus.query_range(query, duration=duration, unit=diagnostic.unit)
        instant, ranged = await asyncio.gather(instant_task, range_task)
        if isinstance(instant, Failure):
            return self._failed(diagnostic, instant.line())
        assert isinstance(instant, InstantResult)
        lines, attention = summaries.summarise_instant(instant)
        result = DiagnosticResult(
            diagnostic.name, "promql", ok=True, lines=lines, attention=attention, data=instant
        )
        if isinstance(ranged, Failure):
            result.lines.append(f"graph unavailable: {ranged.reason}")
        elif isinstance(ranged, RangeResult) and not any(s.points for s in ranged.series):
            result.lines.append("nothing to graph: no samples in the range")
        elif isinstance(ranged, RangeResult):
            result.graph_png = await asyncio.to_thread(render_range, ranged, title=diagnostic.name)
            result.graph_title = diagnostic.name
        return result
