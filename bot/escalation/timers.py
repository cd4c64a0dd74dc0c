"""Automatic escalation timers: scheduled as jobs (bot/escalation/jobs.py) when an incident is declared (or reopened),
cancelled by acknowledgement, resolution or a manual escalation past their level, fired once.

Each timer is ``<generation>:<rule id>`` in the incident's ``timers`` hash. Its job id is built from
the same parts, so any number of replicas scheduling it yield one job; when it runs it claims the
pending → fired transition atomically, and checks the incident still meets the rule's condition.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot.config.escalation import TimerRule
from bot.context import AppContext
from bot.core.models import Incident
from bot.escalation.runtime import escalation_policy, runtime
from bot.escalation.store import TimerState

log = logging.getLogger(__name__)
ALL_KINDS = frozenset({"unacknowledged", "unresolved"})


def rules_for(ctx: AppContext, severity: str) -> list[TimerRule]:
    return [r for r in escalation_policy(ctx).timers if severity in r.severities]


def holds(rule: TimerRule, inc: Incident) -> bool:
    """Does the incident still meet the rule's condition?"""
    if inc.is_resolved:
        return False
    if rule.when == "unacknowledged":
        return inc.acknowledged_by is None
    return True


async def schedule(
    ctx: AppContext,
    inc: Incident,
    *,
    since: datetime,
    kinds: frozenset[str] = ALL_KINDS,
    new_generation: bool = True,
) -> list[str]:
    """Schedule this incident's timers counted from ``since``; returns the rule ids scheduled."""
    rt = runtime(ctx)
    if rt.queue is None:
        log.error("%s: no job queue in this process; escalation timers are not scheduled", inc.id)
        return []
    gen = await rt.store.next_generation(inc.id) if new_generation else await rt.store.generation(inc.id)
    scheduled: list[str] = []
    for rule in rules_for(ctx, inc.severity):
        if rule.when not in kinds or not holds(rule, inc):
            continue
        due = since + rule.after
        if not await rt.store.add_pending(inc.id, gen, rule.id, due.timestamp()):
            continue
        await rt.queue.enqueue_once(
            "esc_timer",
            inc.id,
            gen,
            rule.id,
            job_id=rt.queue.job_id("timer", inc.id, gen, rule.id),
            at=due,
        )
        scheduled.append(rule.id)
    log.info("%s: timers scheduled (generation %s): %s", inc.id, gen, ", ".join(scheduled) or "none")
    return scheduled


async def replan(ctx: AppContext, inc: Incident) -> int:
    """Queue the job of every pending timer of the incident's current generation that has none
    (start-up: jobs of an older scheduler, or lost with a store that failed over without them).
    A timer that already fired or was cancelled is not pending, so nothing fires twice."""
    rt = runtime(ctx)
    if rt.queue is None or inc.is_resolved:
        return 0
    gen = await rt.store.generation(inc.id)
    due = await rt.store.timer_due(inc.id)
    rules = {r.id: r for r in rules_for(ctx, inc.severity)}
    planned = 0
    for field_name, state in (await rt.store.timers(inc.id)).items():
        g, _, rule_id = field_name.partition(":")
        rule = rules.get(rule_id)
        if state != TimerState.PENDING or g != str(gen) or rule is None:
            continue
        at = due.get(field_name, (inc.created_at + rule.after).timestamp())
        job_id = rt.queue.job_id("timer", inc.id, gen, rule_id)
        if await rt.queue.ensure("esc_timer", inc.id, gen, rule_id, job_id=job_id, at=at):
            planned += 1
    return planned


async def cancel(
    ctx: AppContext, incident_id: str, which: Callable[[TimerRule], bool], *, why: str
) -> list[str]:
    """Cancel pending timers of the current generation whose rule matches ``which``."""
    rt = runtime(ctx)
    rules = {r.id: r for r in escalation_policy(ctx).timers}
    gen = await rt.store.generation(incident_id)
    cancelled: list[str] = []
    for field_name, state in (await rt.store.timers(incident_id)).items():
        g, _, rule_id = field_name.partition(":")
        if state != TimerState.PENDING or g != str(gen):
            continue
        rule = rules.get(rule_id)
        if rule is not None and not which(rule):
            continue
        if await rt.store.transition(incident_id, gen, rule_id, TimerState.PENDING, TimerState.CANCELLED):
            cancelled.append(rule_id)
            if rt.queue is not None:
                await rt.queue.cancel(rt.queue.job_id("timer", incident_id, gen, rule_id))
    if cancelled:
        log.info("%s: timers cancelled by %s: %s", incident_id, why, ", ".join(cancelled))
    return cancelled
