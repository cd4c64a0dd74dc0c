"""The public status page: an incident goes there when ``/status update ... --public`` asks for it
or its severity is listed in ``escalation.statuspage.auto_severities``; from then on each change is
pushed to Statuspage (create once, then update), mapping our statuses to Statuspage's.

Each push sends the incident's current state, under a per-incident lock, and remembers what it
sent: pushes that arrive late or twice find nothing new and do nothing, so the page never goes back
to an older state.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from bot.context import AppContext
from bot.core.models import Incident, TimelineEntry
from bot.core.state import record
from bot.escalation.jobs import RetryLater
from bot.escalation.metrics import PAGES
from bot.escalation.paging import report
from bot.escalation.runtime import escalation_policy, runtime
from bot.text import plain
from integrations.statuspage import statuspage_status
from integrations.vendor_http import Failed

log = logging.getLogger(__name__)
PUBLIC_FLAG = "--public"
_FLAG = re.compile(r"(?<!\S)--public(?!\S)")


def split_public_flag(text: str) -> tuple[str, bool]:
    """``"DB failover done --public"`` → (``"DB failover done"``, True); the flag may stand anywhere
    as a word of its own, and the rest of the text keeps its spacing."""
    kept, count = _FLAG.subn("", text)
    return (kept.strip(), True) if count else (text, False)


async def mark_public(ctx: AppContext, incident_id: str) -> None:
    await runtime(ctx).store.mark_public(incident_id)


async def is_public(ctx: AppContext, inc: Incident) -> bool:
    esc = escalation_policy(ctx)
    if not esc.statuspage.enabled:
        return False
    return inc.severity in esc.statuspage.auto_severities or await runtime(ctx).store.is_public(inc.id)


def _state(inc: Incident) -> str:
    return f"{len(inc.updates)}:{inc.status}"


async def request(ctx: AppContext, inc: Incident) -> list[str]:
    """Queue a push of the incident's current state when it belongs on the status page."""
    if not await is_public(ctx, inc):
        return []
    rt = runtime(ctx)
    if rt.statuspage is None:
        await report(
            ctx,
            inc,
            "the status page was asked for, but STATUSPAGE_API_KEY / STATUSPAGE_PAGE_ID are not set",
            kind="statuspage_failed",
        )
        return ["the status page is not configured (STATUSPAGE_API_KEY, STATUSPAGE_PAGE_ID)"]
    if rt.queue is None:
        await push(ctx, inc.id)
        return []
    job_id = rt.queue.job_id("statuspage", inc.id, f"v{inc.version}")  # one push per incident change
    await rt.queue.enqueue_once("esc_statuspage", inc.id, job_id=job_id)
    return []


async def push(ctx: AppContext, incident_id: str) -> str:
    rt = runtime(ctx)
    client = rt.statuspage
    if client is None:
        return "not_configured"
    owner = uuid.uuid4().hex
    if not await rt.store.lock(incident_id, "statuspage", owner):
        raise RetryLater(defer=1)  # another worker is pushing this incident; runs again shortly
    try:
        inc = await ctx.store.find(incident_id)
        if inc is None:
            return "gone"
        sent_key = rt.store.key(incident_id, "statuspage-sent")
        if await ctx.redis.get(sent_key) == _state(inc):
            return "up_to_date"
        esc = escalation_policy(ctx).statuspage
        components = esc.components.get(inc.service or "", esc.default_components)
        # the status page is not Slack: the update's Slack text as plain words
        body = plain(inc.updates[-1].message) if inc.updates else f"We are investigating: {inc.title}"
        if inc.is_resolved and inc.summary:
            body = plain(inc.summary)
        sp_id = await rt.store.statuspage_id(incident_id)
        opened = sp_id is None
        if sp_id is None:
            result = await client.create_incident(
                name=inc.title,
                status=inc.status,
                body=body,
                severity=inc.severity,
                component_ids=components,
                notify=esc.notify_subscribers,
            )
        else:
            result = await client.update_incident(
                sp_id,
                status=inc.status,
                body=body,
                severity=inc.severity,
                component_ids=components,
                notify=esc.notify_subscribers,
            )
        if isinstance(result, Failed):
            await report(ctx, inc, f"status page not updated: {result.reason}", kind="statuspage_failed")
            return result.kind.value
        if sp_id is None:
            sp_id = str(result.data["id"])
            await rt.store.set_statuspage_id(incident_id, sp_id)
        await ctx.redis.set(sent_key, _state(inc), ex=60 * 60 * 24 * 90)
        text = f"Status page {'incident opened' if opened else 'updated'}: {statuspage_status(inc.status)}"
        await ctx.store.apply(
            incident_id, record(TimelineEntry(actor="bot", kind="statuspage", text=text, data={"id": sp_id}))
        )
        return "ok"
    finally:
        await rt.store.unlock(incident_id, "statuspage", owner)


async def statuspage_job(wctx: dict[str, Any], incident_id: str) -> str:
    outcome = await push(wctx["app"], incident_id)
    PAGES.labels("statuspage", "push", outcome).inc()
    return outcome
