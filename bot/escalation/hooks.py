"""How escalation follows the incident's life (bot/events.py hooks): timers, reminders, pages and
the status page start at declaration and move with acknowledgement, updates, resolution, reopening."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from bot import events
from bot.config.escalation import PagerRoute
from bot.context import AppContext
from bot.core.models import Incident
from bot.escalation import paging, reminders, statuspage_sync, timers
from bot.escalation.runtime import escalation_policy
from bot.escalation.targets import level_selection, targets_of

log = logging.getLogger(__name__)


@events.on(events.DECLARED)
async def escalation_on_declared(ctx: AppContext, inc: Incident, **_: Any) -> None:
    if inc.test:  # a test incident pages nobody and stays off the status page
        return
    await timers.schedule(ctx, inc, since=inc.created_at)
    await reminders.after_update(ctx, inc)
    problems: list[str] = []
    esc = escalation_policy(ctx)
    sev = ctx.policy.severity_by_name(inc.severity)
    if sev.page and esc.pagers.enabled and esc.pagers.page_on_declare:
        first = esc.levels[0] if esc.levels else None
        selection = level_selection(esc, first.level, None) if first else None
        if selection is not None:
            for target in targets_of(esc, selection):
                route = target.pager
                if route is None and esc.pagers.default_service:
                    route = PagerRoute(service=esc.pagers.default_service)
                if route is not None:
                    problems += await paging.request(
                        ctx, inc, "trigger", route, label=selection.label, escalation=0
                    )
    problems += await statuspage_sync.request(ctx, inc)
    for problem in problems:
        log.warning("%s: %s", inc.id, problem)


@events.on(events.ACKNOWLEDGED)
async def escalation_on_acknowledged(
    ctx: AppContext, inc: Incident, user: str | None = None, **_: Any
) -> None:
    if inc.test:  # a test incident pages nobody and stays off the status page
        return
    await timers.cancel(ctx, inc.id, lambda rule: rule.when == "unacknowledged", why="acknowledgement")
    for problem in await paging.follow(ctx, inc, "acknowledge", user):
        log.warning("%s: %s", inc.id, problem)


@events.on(events.STATUS_UPDATED)
async def escalation_on_status(ctx: AppContext, inc: Incident, **_: Any) -> None:
    if inc.test:  # a test incident pages nobody and stays off the status page
        return
    if not inc.is_resolved:
        await reminders.after_update(ctx, inc)
    for problem in await statuspage_sync.request(ctx, inc):
        log.warning("%s: %s", inc.id, problem)


@events.on(events.RESOLVED)
async def escalation_on_resolved(ctx: AppContext, inc: Incident, user: str | None = None, **_: Any) -> None:
    if inc.test:  # a test incident pages nobody and stays off the status page
        return
    await timers.cancel(ctx, inc.id, lambda rule: True, why="resolution")
    await reminders.schedule(ctx, inc, datetime.now(UTC))  # resolved: drops the pending reminder
    problems = await paging.follow(ctx, inc, "resolve", user)
    problems += await statuspage_sync.request(ctx, inc)
    for problem in problems:
        log.warning("%s: %s", inc.id, problem)


@events.on(events.REOPENED)
async def escalation_on_reopened(ctx: AppContext, inc: Incident, user: str | None = None, **_: Any) -> None:
    if inc.test:  # a test incident pages nobody and stays off the status page
        return
    kinds = frozenset({"unresolved"} if inc.acknowledged_by else {"unresolved", "unacknowledged"})
    await timers.schedule(ctx, inc, since=datetime.now(UTC), kinds=kinds)
    cadence = reminders.cadence_for(ctx, inc)
    if cadence is not None:
        await reminders.schedule(ctx, inc, datetime.now(UTC) + cadence)
    problems = await paging.follow(ctx, inc, "trigger", user)  # the problem is back: page again
    problems += await statuspage_sync.request(ctx, inc)
    for problem in problems:
        log.warning("%s: %s", inc.id, problem)
