"""The incident buttons on announcements: acknowledge, resolve, reopen."""

from __future__ import annotations

from bot import blocks
from bot.incidents import views
from bot.incidents import workflow as flow
from bot.listeners import Click, Reply, action, with_problems


@action(views.ACK, permission="update")
async def acknowledge(click: Click) -> Reply:
    out = await flow.acknowledge(click.ctx, click.value, click.user_id)
    return with_problems(
        Reply(blocks.message(f":white_check_mark: You acknowledged {out.incident.id}."), text="acknowledged"),
        out.problems,
    )


@action(views.RESOLVE, permission="resolve")
async def resolve(click: Click) -> Reply:
    out = await flow.resolve(click.ctx, click.value, click.user_id, None)
    return with_problems(
        Reply(blocks.message(f":white_check_mark: {out.incident.id} resolved."), text="resolved"),
        out.problems,
    )


@action(views.REOPEN, permission="resolve")
async def reopen(click: Click) -> Reply:
    out = await flow.reopen(click.ctx, click.value, click.user_id)
    return with_problems(
        Reply(blocks.message(f":arrows_counterclockwise: {out.incident.id} reopened."), text="reopened"),
        out.problems,
    )
