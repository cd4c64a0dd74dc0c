"""Buttons and modals: one registry, the same checks as commands, the clicker is the actor."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.context import AppContext
from bot.core.state import Refused
from bot.views import incident as views
from bot.workflows import incidents as flow
from commands.base import Reply
from commands.resolve import with_problems


@dataclass
class Click:
    ctx: AppContext
    user_id: str
    action_id: str
    value: str
    channel_id: str | None
    message_ts: str | None
    body: dict[str, Any]
    selected: str | None = None


ActionHandler = Callable[[Click], Awaitable[Reply | None]]


@dataclass
class Action:
    action_id: str
    handle: ActionHandler
    permission: str | None


ACTIONS: dict[str, Action] = {}


def action(action_id: str, permission: str | None = None) -> Callable[[ActionHandler], ActionHandler]:
    def register(fn: ActionHandler) -> ActionHandler:
        ACTIONS[action_id] = Action(action_id, fn, permission)
        return fn

    return register


ViewHandler = Callable[[AppContext, str, dict[str, Any], dict[str, Any]], Awaitable[dict[str, Any] | None]]
VIEWS: dict[str, ViewHandler] = {}


def view_submission(callback_id: str) -> Callable[[ViewHandler], ViewHandler]:
    """Register a modal's submit handler: (ctx, user, values, body) -> errors dict or None."""

    def register(fn: ViewHandler) -> ViewHandler:
        VIEWS[callback_id] = fn
        return fn

    return register


# --------------------------------------------------------------------------------------------
# incident buttons


@action(views.ACK, permission="update")
async def acknowledge(click: Click) -> Reply:
    out = await flow.acknowledge(click.ctx, click.value, click.user_id)
    return with_problems(
        Reply(views.message(f":white_check_mark: You acknowledged {out.incident.id}."), text="acknowledged"),
        out.problems,
    )


@action(views.RESOLVE, permission="resolve")
async def resolve(click: Click) -> Reply:
    out = await flow.resolve(click.ctx, click.value, click.user_id, None)
    return with_problems(
        Reply(views.message(f":white_check_mark: {out.incident.id} resolved."), text="resolved"), out.problems
    )


@action(views.REOPEN, permission="resolve")
async def reopen(click: Click) -> Reply:
    out = await flow.reopen(click.ctx, click.value, click.user_id)
    return with_problems(
        Reply(views.message(f":arrows_counterclockwise: {out.incident.id} reopened."), text="reopened"),
        out.problems,
    )


__all__ = ["ACTIONS", "VIEWS", "Click", "Refused", "action", "view_submission"]
