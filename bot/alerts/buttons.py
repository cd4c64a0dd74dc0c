"""Buttons on alert posts: Acknowledge and Runbook (Declare incident is in bot/alerts/declare.py, Silence in
bot/alerts/silences.py). Registered in bot/listeners.py's registry, so they get the same permission checks
as every click (the clicker is the actor)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from bot import blocks
from bot.alerts import views as alert_views
from bot.alerts.state import GroupState
from bot.alerts.worker import AlertWorker
from bot.context import AppContext
from bot.core.optimistic import Decision, Raw, update_atomically
from bot.core.state import Refused
from bot.listeners import Click, Reply, action

log = logging.getLogger(__name__)
GONE = "This alert group is no longer known to the bot."


def _worker(ctx: AppContext) -> AlertWorker:
    runtime = ctx.alerts
    if runtime is None:
        raise Refused("Alert handling is not running in this bot process.")
    return runtime.worker


async def _load_group(ctx: AppContext, gid: str) -> tuple[AlertWorker, GroupState]:
    """The alerts worker and the group's state; refused when the bot no longer knows the group."""
    worker = _worker(ctx)
    state = await worker.load(gid)
    if state is None:
        raise Refused(GONE)
    return worker, state


def _trigger(click: Click) -> str:
    """The click's trigger for opening a modal; refused when Slack sent none."""
    trigger_id = click.body.get("trigger_id")
    if not trigger_id:
        raise Refused("Slack sent no trigger to open the form.")
    return str(trigger_id)


async def _update_group(
    worker: AlertWorker, gid: str, fn: Callable[[GroupState], bool]
) -> tuple[GroupState, bool]:
    """Atomically change a group's state; ``fn(state) -> bool`` says whether it changed anything."""
    key = worker.k.state(gid)

    def decide(raw: Raw) -> Decision[tuple[GroupState, bool]]:
        if raw is None:
            raise Refused(GONE)
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


@action(alert_views.RUNBOOK_ACTION)
async def runbook(click: Click) -> Reply:
    name = click.value.replace("`", "")
    return Reply(blocks.message(f"Runbook for this alert: `/runbook {name}`"), text="runbook")


@action(alert_views.RUNBOOK_LINK_ACTION)
async def runbook_link(click: Click) -> None:
    return None  # a URL button: Slack opened the link; nothing to do
