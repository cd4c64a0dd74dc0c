"""Buttons on alert posts (Acknowledge, Declare incident, Runbook) and automatic incident declaration.

Registered in bot/incidents/buttons.py's registry, so they get the same permission checks as every click
(the clicker is the actor)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from bot import blocks
from bot.alerts import views as alert_views
from bot.alerts.state import GroupState
from bot.alerts.worker import EPISODE_TTL, AlertWorker
from bot.context import AppContext
from bot.core.models import TimelineEntry
from bot.core.optimistic import Decision, Raw, update_atomically
from bot.core.state import Refused, record
from bot.incidents import workflow as flow
from bot.listeners import Click, Reply, action

log = logging.getLogger(__name__)


def _worker(ctx: AppContext) -> AlertWorker:
    runtime = ctx.alerts
    if runtime is None:
        raise Refused("Alert handling is not running in this bot process.")
    return runtime.worker


async def _update_group(
    worker: AlertWorker, gid: str, fn: Callable[[GroupState], bool]
) -> tuple[GroupState, bool]:
    """Atomically change a group's state; ``fn(state) -> bool`` says whether it changed anything."""
    key = worker.k.state(gid)

    def decide(raw: Raw) -> Decision[tuple[GroupState, bool]]:
        if raw is None:
            raise Refused("This alert group is no longer known to the bot.")
        state = GroupState.model_validate_json(raw)
        if not fn(state):
            return (state, False), None
        return (state, True), lambda pipe: pipe.set(key, state.model_dump_json())

    return await update_atomically(worker.redis, key, decide)


@action(alert_views.ACK_ACTION, permission="update")
async def acknowledge(click: Click) -> Reply:
    worker = _worker(click.ctx)
    now = datetime.now(UTC)

    def ack(state: GroupState) -> bool:
        if state.acked_by:
            return False
        state.acked_by, state.acked_at = click.user_id, now
        return True

    state, changed = await _update_group(worker, click.value, ack)
    if not changed:
        return Reply(
            blocks.message(f"Already acknowledged by <@{state.acked_by}>."), text="already acknowledged"
        )
    await worker.push_event(
        state, f":eyes: Acknowledged by <@{click.user_id}>.", f"ack:{state.gid}:{state.episode}"
    )
    return Reply(
        blocks.message(f":eyes: You acknowledged *{alert_views.group_title(state)}*."), text="acknowledged"
    )


def _severity_for(ctx: AppContext, state: GroupState) -> str:
    policy = ctx.policy
    auto = policy.alerts.auto_declare_severity(state.all_labels())
    if auto:
        return auto
    found = policy.severity(state.label(policy.alerts.severity_label))
    if found is not None:
        return found.name
    return policy.severities[min(1, len(policy.severities) - 1)].name


async def declare_for_group(
    ctx: AppContext, gid: str, user: str, severity: str | None = None
) -> tuple[str, bool]:
    """Declare an incident linked to the alert group (once per episode). Returns (incident id, created)."""
    worker = _worker(ctx)
    state = await worker.load(gid)
    if state is None:
        raise Refused("This alert group is no longer known to the bot.")
    if state.incident_id:
        return state.incident_id, False
    claim = worker.k.declared(gid, state.episode)
    if not await worker.redis.set(claim, "pending", nx=True, ex=EPISODE_TTL):
        existing = await worker.redis.get(claim)
        if existing and existing != "pending":
            return str(existing), False
        raise Refused("An incident for this alert group is being declared right now.")
    try:
        summary = state.annotation("summary")
        title = f"{state.alertname}: {summary}" if summary else alert_views.group_title(state)
        out = await flow.declare(
            ctx,
            user=user,
            severity=severity or _severity_for(ctx, state),
            title=title[:150],
            origin_channel=state.channel if not state.channel.startswith("#") else None,
            service=state.label("service") or None,
        )
    except Exception:
        await worker.redis.delete(claim)
        raise
    inc_id = out.incident.id
    await worker.redis.set(claim, inc_id, ex=EPISODE_TTL)
    entry = TimelineEntry(
        actor=user,
        kind="alert",
        text=f"Alert group {state.alertname}: {state.firing} firing, {state.resolved} resolved",
        data={
            "group_key": state.group_key,
            "gid": gid,
            "channel": state.channel,
            "labels": state.all_labels(),
        },
    )
    try:
        await ctx.store.apply(inc_id, record(entry))
    except Exception:
        log.exception("alerts: could not record the alert on %s's timeline", inc_id)

    def link(s: GroupState) -> bool:
        if s.incident_id:
            return False
        s.incident_id = inc_id
        return True

    state, _ = await _update_group(worker, gid, link)
    who = "automatically" if user == "alertmanager" else f"by <@{user}>"
    await worker.push_event(
        state, f":rotating_light: Incident *{inc_id}* declared {who}.", f"inc:{gid}:{inc_id}"
    )
    return inc_id, True


@action(alert_views.DECLARE_ACTION, permission="declare")
async def declare(click: Click) -> Reply:
    inc_id, created = await declare_for_group(click.ctx, click.value, click.user_id)
    if not created:
        return Reply(blocks.message(f"This alert group already has incident *{inc_id}*."), text=inc_id)
    return Reply(
        blocks.message(f":rotating_light: You declared *{inc_id}* for this alert group."), text=inc_id
    )


@action(alert_views.RUNBOOK_ACTION)
async def runbook(click: Click) -> Reply:
    name = click.value.replace("`", "")
    return Reply(blocks.message(f"Runbook for this alert: `/runbook {name}`"), text="runbook")


@action(alert_views.RUNBOOK_LINK_ACTION)
async def runbook_link(click: Click) -> None:
    return None  # a URL button: Slack opened the link; nothing to do


async def auto_declare(ctx: AppContext, state: GroupState) -> None:
    """New firing episode of a group the policy says is incident-worthy: declare one."""
    severity = ctx.policy.alerts.auto_declare_severity(state.all_labels())
    if severity is None:
        return
    try:
        inc_id, created = await declare_for_group(ctx, state.gid, "alertmanager", severity)
    except Refused as exc:
        log.info("alerts: auto-declare for %s skipped: %s", state.gid, exc)
        return
    if created:
        log.info("alerts: declared %s automatically for alert group %s", inc_id, state.gid)
