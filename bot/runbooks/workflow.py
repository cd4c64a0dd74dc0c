"""What happens in Slack for runbooks: post one (continuing in its thread), run its diagnostics with a
message updated in place, upload graphs, and carry out a confirmed remediation. Used by
commands/runbook.py and by other parts (alert enrichment) alike."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot import audit
from bot.blocks import section
from bot.context import AppContext
from bot.core.models import TimelineEntry
from bot.core.store import NotFound
from bot.runbooks import views as views
from bot.runbooks.diagnostics import DiagnosticResult
from bot.runbooks.model import Runbook
from bot.runbooks.service import service_for
from bot.runbooks.slack_files import upload_file
from bot.runbooks.templating import build_context
from bot.slack.errors import SlackCallError
from integrations.failures import Failure
from integrations.kubernetes import DeploymentStatus, RemediationResult, RolloutHistory

log = logging.getLogger(__name__)

# How long the target of a diagnostics message's remediation menu is kept (its options carry a key
# to it when the names are too long for Slack's 150-character option value).
TARGET_TTL_SECONDS = 30 * 86400


def target_key(ctx: AppContext, ref: str) -> str:
    """Redis key of a remediation target kept by its ref, under its own hash tag."""
    return ctx.keys.custom(f"{{rbt:{ref}}}", "target")


async def keep_target(ctx: AppContext, target: views.RemediationTarget) -> str:
    """Store the target under its ref (refreshing the TTL) and return the ref."""
    ref = views.target_ref(target)
    await ctx.redis.set(target_key(ctx, ref), views.target_payload(target), ex=TARGET_TTL_SECONDS)
    return ref


async def load_target(ctx: AppContext, ref: str) -> dict[str, Any] | None:
    """The stored target (``c``, ``n``, ``d``, ``i``) for a ref, None when unknown or expired."""
    raw = await ctx.redis.get(target_key(ctx, ref))
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        log.error("remediation target %s in Redis is not JSON", ref)
        return None
    return data if isinstance(data, dict) else None


async def post(
    ctx: AppContext, channel: str, blocks: list[Any], text: str, thread_ts: str | None = None
) -> str:
    """chat.postMessage (joining a public channel the bot is not in yet: the Slack layer)."""
    return await ctx.slack.post(channel, blocks, text, thread_ts=thread_ts)


# Slack's answers to a post where the app is not part of the conversation (a DM between people, a
# private channel it was not invited to)
NOT_PART_OF_IT = ("channel_not_found", "not_in_channel")


async def open_dm(ctx: AppContext, user: str) -> str:
    """The app's direct message with a person (conversations.open, im:write): its channel ID."""
    return await ctx.slack.open_dm(user)


async def add_timeline(ctx: AppContext, incident_id: str | None, actor: str, kind: str, text: str) -> None:
    if not incident_id:
        return
    try:
        await ctx.store.apply(incident_id, lambda inc: [TimelineEntry(actor=actor, kind=kind, text=text)])
    except NotFound:
        log.warning("timeline entry for unknown incident %s dropped: %s", incident_id, text)


async def post_runbook(
    ctx: AppContext,
    channel: str,
    runbook: Runbook,
    incident_id: str | None,
    labels: Mapping[str, str] | None = None,
) -> str:
    """Post a runbook; pages after the first continue in its thread. Returns the first message's ts."""
    pages = views.runbook_pages(runbook, incident_id, labels)
    first_ts = await post(ctx, channel, pages[0], views.page_text(runbook, 1, len(pages)))
    for n, page in enumerate(pages[1:], start=2):
        await post(ctx, channel, page, views.page_text(runbook, n, len(pages)), thread_ts=first_ts)
    return first_ts


@dataclass
class DiagnosticsRun:
    runbook: Runbook
    channel: str
    thread_ts: str
    message_ts: str
    results: list[DiagnosticResult] = field(default_factory=list)
    uploaded: list[str] = field(default_factory=list)
    continued: list[str] = field(default_factory=list)  # ts of the results' further pages
    problems: list[str] = field(default_factory=list)


async def run_diagnostics(
    ctx: AppContext,
    runbook: Runbook,
    *,
    channel: str,
    thread_ts: str,
    actor: str,
    incident_id: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> DiagnosticsRun:
    """One message in the thread, updated as each check finishes, then the results; graphs uploaded.

    Direct (the Slack layer), not the outbox: the live progress is state this process holds while
    the checks run (a crash ends the run), and the graphs are files (the outbox carries messages)."""
    service = service_for(ctx)
    incident_data: dict[str, Any] = {}
    incident_service = None
    if incident_id:
        inc = await ctx.store.find(incident_id)
        if inc is not None:
            incident_service = inc.service
            incident_data = {
                "id": inc.id,
                "title": inc.title,
                "severity": inc.severity,
                "service": inc.service,
            }
    context = build_context(
        labels=labels,
        service=(labels or {}).get("service") or incident_service or runbook.service,
        incident=incident_data,
    )
    names = [d.name for d in runbook.diagnostics]
    done: dict[str, DiagnosticResult] = {}
    ts = await post(
        ctx,
        channel,
        views.progress(runbook.title, names, done),
        f"Diagnostics for {runbook.title}",
        thread_ts,
    )
    run = DiagnosticsRun(runbook, channel, thread_ts, ts)

    async def on_progress(result: DiagnosticResult, n: int, total: int) -> None:
        done[result.name] = result
        if n < total:  # the last one is shown with the results
            await ctx.slack.update(
                channel,
                ts,
                views.progress(runbook.title, names, done),
                f"Diagnostics for {runbook.title}: {n}/{total}",
            )

    run.results = await service.runner.run(runbook.diagnostics, context, on_progress, runbook=runbook.name)
    remediation = ctx.policy.kubernetes.remediation
    target = (
        remediation_target(run.results, incident_id, service.clusters.default)
        if remediation.enabled
        else None
    )
    ref = await keep_target(ctx, target) if target is not None else None
    pages = views.results_pages(
        runbook.title,
        run.results,
        remediation=target,
        actions=remediation.actions if remediation.enabled else (),
        max_replicas=remediation.max_replicas,
        target_ref=ref,
    )
    # the first page replaces the progress message; the rest continue in the thread, in order
    await ctx.slack.update(channel, ts, pages[0], f"Diagnostics for {runbook.title}")
    for n, page in enumerate(pages[1:], start=2):
        text = f"Diagnostics for {runbook.title} (part {n} of {len(pages)})"
        try:
            run.continued.append(await post(ctx, channel, page, text, thread_ts))
        except SlackCallError as exc:
            log.error("diagnostics page %d of %d for %s failed: %s", n, len(pages), runbook.name, exc)
            run.problems.append(f"diagnostics part {n}: Slack refused {exc.method} ({exc.error})")
    for result in run.results:
        if result.graph_png is None:
            continue
        try:
            file_id = await upload_file(
                ctx.slack,
                channel=channel,
                thread_ts=thread_ts,
                content=result.graph_png,
                filename=f"{runbook.name}-{_slug(result.name)}.png",
                title=result.graph_title or result.name,
                alt_text=f"Graph: {result.name}",
            )
            run.uploaded.append(file_id)
        except SlackCallError as exc:
            log.error("graph upload for %s failed: %s", result.name, exc)
            run.problems.append(f"graph {result.name}: Slack refused {exc.method} ({exc.error})")
    failed = sum(1 for r in run.results if not r.ok)
    await add_timeline(
        ctx,
        incident_id,
        actor,
        "diagnostics",
        f"ran diagnostics of runbook {runbook.name}: {len(run.results) - failed} ran, {failed} failed",
    )
    return run


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")[:40] or "graph"


def remediation_target(
    results: list[DiagnosticResult], incident_id: str | None, default_cluster: str | None
) -> views.RemediationTarget | None:
    """The deployment the diagnostics looked at (deployment status, else rollout history)."""
    for result in results:
        if isinstance(result.data, DeploymentStatus):
            d = result.data
            return views.RemediationTarget(d.cluster, d.namespace, d.name, incident_id, d.desired)
    for result in results:
        if isinstance(result.data, RolloutHistory):
            h = result.data
            replicas = next((r.replicas for r in h.revisions if r.current), None)
            return views.RemediationTarget(h.cluster, h.namespace, h.deployment, incident_id, replicas)
    return None


class RemediationRefused(Exception):
    pass


async def remediate(
    ctx: AppContext,
    *,
    actor: str,
    action: str,
    cluster: str,
    namespace: str,
    deployment: str,
    incident_id: str | None,
    replicas: int | None = None,
    channel: str | None = None,
    thread_ts: str | None = None,
) -> RemediationResult | Failure:
    """Carry out one remediation the policy allows (the caller checked the clicker's permission)."""
    policy = ctx.policy.kubernetes.remediation
    if not policy.allows(action):
        raise RemediationRefused(f"`{action}` is not enabled in the policy (kubernetes.remediation).")
    if action == "scale" and (replicas is None or not 0 <= replicas <= policy.max_replicas):
        raise RemediationRefused(f"Scale to between 0 and {policy.max_replicas} replicas.")
    client = service_for(ctx).clusters.get(cluster)
    if isinstance(client, Failure):
        raise RemediationRefused(client.reason)
    if action == "rollout_restart":
        result = await client.rollout_restart(namespace, deployment)
    elif action == "rollout_undo":
        result = await client.rollout_undo(namespace, deployment)
    else:
        assert replicas is not None
        result = await client.scale(namespace, deployment, replicas)
    ok = isinstance(result, RemediationResult)
    line = (
        f"{result.action} of {namespace}/{deployment} on {cluster}: {result.detail}"
        if isinstance(result, RemediationResult)
        else f"{action} of {namespace}/{deployment} on {cluster} failed: {result.reason}"
    )
    await audit.record(
        ctx,
        actor=actor,
        action=f"remediation {action}",
        outcome="ok" if ok else "error",
        incident=incident_id,
        channel=channel,
        detail=line,
    )
    await add_timeline(ctx, incident_id, actor, "remediation", line)
    if channel:
        icon = ":hammer_and_wrench:" if ok else ":x:"
        text = f"{icon} <@{actor}> {line}"
        try:
            await post(ctx, channel, [section(text)], text, thread_ts=thread_ts)
        except SlackCallError as exc:
            log.error("posting the remediation outcome failed: %s", exc)
    return result
