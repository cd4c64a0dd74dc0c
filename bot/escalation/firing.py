"""A due escalation timer, run as a job: escalate when the timer is still pending and its condition
holds (bot/escalation/timers.py plans and cancels them; the engine escalates)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.context import AppContext
from bot.core.state import Refused
from bot.durations import format_duration
from bot.escalation.engine import escalate
from bot.escalation.metrics import TIMERS
from bot.escalation.runtime import escalation_policy, runtime
from bot.escalation.store import TimerState
from bot.escalation.targets import Selection, level_selection
from bot.escalation.timers import holds, log


async def fire(ctx: AppContext, incident_id: str, gen: int, rule_id: str) -> str:
    """Run one timer: escalate when it is still pending and its condition holds. Returns what happened."""
    rt = runtime(ctx)
    inc = await ctx.store.find(incident_id)
    rule = next((r for r in escalation_policy(ctx).timers if r.id == rule_id), None)
    if inc is None or rule is None:
        log.warning("%s: timer %s has no incident or rule any more", incident_id, rule_id)
        await rt.store.transition(incident_id, gen, rule_id, TimerState.PENDING, TimerState.SKIPPED)
        return "skipped"
    if not holds(rule, inc):
        await rt.store.transition(incident_id, gen, rule_id, TimerState.PENDING, TimerState.SKIPPED)
        return "skipped"
    if not await rt.store.transition(incident_id, gen, rule_id, TimerState.PENDING, TimerState.FIRED):
        return "not_pending"  # cancelled, or fired by another worker
    selection: Selection | None = level_selection(escalation_policy(ctx), rule.level, rule.target)
    if selection is None:
        log.error("%s: timer %s names level %s which is gone", incident_id, rule.id, rule.level)
        return "no_level"
    reason = f"{inc.severity} incident {rule.when} after {format_duration(rule.after)}"
    try:
        out = await escalate_now(ctx, inc.id, selection, reason, rule.id)
    except Refused as exc:  # resolved between the check and the escalation
        log.info("%s: timer %s not needed: %s", incident_id, rule.id, exc)
        return "skipped"
    for problem in out:
        log.warning("%s: timer %s: %s", incident_id, rule.id, problem)
    return "fired"


async def escalate_now(
    ctx: AppContext, incident_id: str, selection: Selection, reason: str, rule_id: str
) -> list[str]:
    out = await escalate(
        ctx, incident_id, selection, actor="bot", reason=reason, rule_id=rule_id, at=datetime.now(UTC)
    )
    return out.problems


async def timer_job(wctx: dict[str, Any], incident_id: str, gen: int, rule_id: str) -> str:
    outcome = await fire(wctx["app"], incident_id, int(gen), rule_id)
    TIMERS.labels(outcome).inc()
    return outcome
