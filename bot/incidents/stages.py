"""The Accept button on an incident in triage (``/incident accept`` does the same)."""

from __future__ import annotations

from bot import blocks
from bot.incidents import views
from bot.incidents import workflow as flow
from bot.incidents.visibility import require_visible
from bot.listeners import Click, Reply, action, with_problems


@action(views.ACCEPT, permission="declare")
async def accept(click: Click) -> Reply:
    inc = await click.ctx.store.get(click.value)
    await require_visible(click.ctx, click.user_id, inc)
    out = await flow.accept(click.ctx, inc.id, click.user_id)
    room = f" War room: <#{out.incident.war_room.channel_id}>." if out.incident.war_room else ""
    return with_problems(
        Reply(blocks.message(f":white_check_mark: You accepted {inc.id}.{room}"), text="accepted"),
        out.problems,
    )
