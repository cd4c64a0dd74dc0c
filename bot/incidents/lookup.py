"""Finding the incident a command is about."""

from __future__ import annotations

from bot.core.models import Incident
from bot.core.store import NotFound
from bot.incidents.visibility import not_found, require_visible
from bot.listeners import Request, UsageError


async def incident_for(req: Request, given: str | None) -> Incident:
    """The incident named, or the one whose war room the command was typed in; a private one the
    asker may not see is "not found", as one that does not exist."""
    incident_id = given or await req.ctx.store.incident_for_channel(req.channel_id)
    if incident_id is None:
        raise UsageError("Give an incident ID (e.g. INC-12), or run this inside the incident's war room.")
    try:
        inc = await req.ctx.store.get(incident_id)
    except NotFound as exc:
        raise not_found(incident_id) from exc
    return await require_visible(req.ctx, req.user_id, inc)
