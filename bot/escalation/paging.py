"""Pages through PagerDuty or Opsgenie as durable jobs; every failure is reported in the war room.

The incident ID is the de-duplication key on both vendors, so a trigger, its acknowledgement and
its resolution always name the same alert. A trigger that lands after the incident was already
acknowledged or resolved in Slack is followed by that acknowledgement or resolution at once.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from bot.blocks import to_dicts
from bot.config.escalation import PagerRoute
from bot.context import AppContext
from bot.core.models import Incident, TimelineEntry
from bot.core.state import record
from bot.escalation import views as views
from bot.escalation.metrics import PAGES
from bot.escalation.runtime import escalation_policy, pager_key, runtime
from bot.incidents import posts
from integrations.paging import PageRequest
from integrations.vendor_http import CallResult, Failed

log = logging.getLogger(__name__)
ACTIONS = ("trigger", "acknowledge", "resolve")


async def report(ctx: AppContext, inc: Incident, text: str, *, kind: str = "page_failed") -> None:
    """A problem the responders must see: in the war room (or under the announcement) and the timeline."""
    log.error("%s: %s", inc.id, text)
    version = inc.version
    try:
        recorded, _ = await ctx.store.apply(inc.id, record(TimelineEntry(actor="bot", kind=kind, text=text)))
        version = recorded.version
    except Exception:
        log.exception("%s: recording %r in the timeline failed", inc.id, text)
    # named for the change that recorded it: queueing it again never posts it twice
    digest = hashlib.sha1(f"{kind}|{text}|{version}".encode()).hexdigest()[:16]
    try:
        queued = await posts.post_in_room(
            ctx, inc, f"{kind}-{digest}", to_dicts(views.failure_notice(inc, text)), f"{inc.id}: {text}"
        )
    except Exception:
        log.exception("%s: queueing the report %r for Slack failed", inc.id, text)
        return
    if not queued:
        log.error("%s: no war room or announcement to report in: %s", inc.id, text)


async def request(
    ctx: AppContext,
    inc: Incident,
    action: str,
    route: PagerRoute | None = None,
    *,
    key: str | None = None,
    label: str = "",
    reason: str = "",
    escalation: int = 0,
    by: str | None = None,
    again: bool = False,
) -> list[str]:
    """Queue a pager call (or make it now when this process has no job queue); problems as lines.
    A test incident (a drill) pages nobody: nothing is queued or called for it."""
    if inc.test:
        log.info("%s: a test incident; the pager %s is not called", inc.id, action)
        return []
    rt = runtime(ctx)
    key = key or (pager_key(route) if route else None)
    if key is None:
        return []
    if action == "trigger":
        await rt.store.add_paged(
            inc.id, key
        )  # acknowledge/resolve follow even if the trigger is still queued
    args: list[Any] = [inc.id, action, key, label, reason, by or ""]
    if rt.queue is None:
        await call(ctx, *args, responders=list(route.responders) if route else [])
        return []
    # one job per escalation (trigger) or per incident change (acknowledge, resolve: after a reopen
    # the next resolution is a new change and pages again)
    suffix = f"e{escalation}" if action == "trigger" and not again else f"v{inc.version}"
    job_id = rt.queue.job_id("page", inc.id, action, key, suffix)
    try:
        await rt.queue.enqueue_once("esc_page", *args, list(route.responders) if route else [], job_id=job_id)
    except Exception as exc:
        log.exception("%s: queueing %s %s failed", inc.id, key, action)
        return [f"queueing the {key} {action} failed: {exc}"]
    return []


async def page_job(wctx: dict[str, Any], *args: Any) -> str:
    """Job: (incident_id, action, key, label, reason, by, responders)."""
    incident_id, action, key, label, reason, by, responders = args
    return await call(wctx["app"], incident_id, action, key, label, reason, by, responders=responders)


async def call(
    ctx: AppContext,
    incident_id: str,
    action: str,
    key: str,
    label: str,
    reason: str,
    by: str,
    *,
    responders: list[str] | None = None,
) -> str:
    outcome = await _call(ctx, incident_id, action, key, label, reason, by, responders or [])
    PAGES.labels(key.split(":", 1)[0], action, outcome).inc()
    return outcome


async def _call(
    ctx: AppContext,
    incident_id: str,
    action: str,
    key: str,
    label: str,
    reason: str,
    by: str,
    responders: list[str],
) -> str:
    inc = await ctx.store.find(incident_id)
    if inc is None:
        log.warning("pager %s %s for %s: the incident is gone", key, action, incident_id)
        return "gone"
    rt = runtime(ctx)
    client = rt.pager(key)
    service = key.split(":", 1)[0]
    if client is None:
        await report(
            ctx, inc, f"paging via {service} is configured but its key is not set in the environment"
        )
        return "not_configured"
    esc = escalation_policy(ctx)
    result: CallResult
    if action == "trigger":
        details: dict[str, Any] = {"escalated_to": label, "status": inc.status, "declared_by": inc.created_by}
        if reason:
            details["reason"] = reason
        if inc.war_room:
            details["war_room"] = f"#{inc.war_room.name}"
        page = PageRequest(
            incident_id=inc.id,
            summary=f"{inc.id}: {inc.title}",
            severity=inc.severity,
            source=esc.pagers.source,
            service=inc.service,
            group=label or None,
            event_class="incident",
            details=details,
            responders=tuple(responders or ()),
            tags=(inc.severity, "chatops"),
        )
        result = await client.trigger(page)
    elif action == "acknowledge":
        result = await client.acknowledge(inc.id, by=f"slack:{by}" if by else None)
    elif action == "resolve":
        result = await client.resolve(inc.id, by=f"slack:{by}" if by else None, note=inc.summary)
    else:
        log.error("unknown pager action %s", action)
        return "bad_action"
    if isinstance(result, Failed):
        await report(ctx, inc, f"{result.reason}. The page was not delivered; reach the people directly.")
        return result.kind.value
    what = {
        "trigger": f"Paged via {service}" + (f" for {label}" if label else ""),
        "acknowledge": f"Page acknowledged in {service}",
        "resolve": f"Page resolved in {service}",
    }[action]
    await ctx.store.apply(
        inc.id, record(TimelineEntry(actor="bot", kind="paged", text=what, data={"key": key}))
    )
    if action == "trigger":  # Slack moved on while the trigger was queued: bring the page in line
        latest = await ctx.store.find(incident_id)
        if latest is not None and latest.is_resolved:
            return await call(ctx, incident_id, "resolve", key, label, reason, latest.resolved_by or "")
        if latest is not None and latest.acknowledged_by:
            return await call(ctx, incident_id, "acknowledge", key, label, reason, latest.acknowledged_by)
    return "ok"


async def follow(ctx: AppContext, inc: Incident, action: str, by: str | None) -> list[str]:
    """Acknowledge, resolve or (after a reopen) trigger again every page this incident triggered."""
    problems: list[str] = []
    for key in await runtime(ctx).store.paged(inc.id):
        problems += await request(ctx, inc, action, key=key, by=by, label="reopened", again=True)
    return problems
