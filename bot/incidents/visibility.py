"""Who may see a private incident: the members of its war room and holders of the ``private``
permission. Everyone else is told it does not exist (never "forbidden"), so its existence leaks no
further than the public stub (bot/incidents/access.py)."""

from __future__ import annotations

import logging

from bot.context import AppContext
from bot.core.models import Incident
from bot.core.state import Refused
from bot.permissions import allowed
from bot.slack.errors import SlackCallError

log = logging.getLogger(__name__)


def not_found(incident_id: str) -> Refused:
    """The answer for an incident that does not exist, or that the asker may not see: the same."""
    return Refused(f"{incident_id} does not exist. `/incident list` shows the open ones.")


async def room_members(ctx: AppContext, channel: str) -> set[str]:
    """The war room's members (conversations.members, a read); empty when Slack refuses."""
    members: set[str] = set()
    cursor: str | None = None
    try:
        while True:
            data = await ctx.gateway.call("conversations.members", channel=channel, limit=1000, cursor=cursor)
            members.update(str(m) for m in data.get("members", []))
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return members
    except SlackCallError as exc:
        log.warning(
            "members of %s could not be read (%s): private incident shown to nobody new", channel, exc
        )
        return members


async def can_see(ctx: AppContext, user: str, inc: Incident, *, privileged: bool | None = None) -> bool:
    if not inc.private:
        return True
    if privileged if privileged is not None else await allowed(ctx, user, "private"):
        return True
    if inc.war_room is None:  # the room could not be made: those who run it still see it
        return user == inc.created_by or user in inc.roles.values()
    return user in await room_members(ctx, inc.war_room.channel_id)


async def visible(ctx: AppContext, user: str, incidents: list[Incident]) -> list[Incident]:
    """The incidents ``user`` may see, in the order given."""
    if not any(inc.private for inc in incidents):
        return incidents
    privileged = await allowed(ctx, user, "private")
    return [inc for inc in incidents if await can_see(ctx, user, inc, privileged=privileged)]


async def require_visible(ctx: AppContext, user: str, inc: Incident) -> Incident:
    if not await can_see(ctx, user, inc):
        log.info("%s: hidden from %s (private)", inc.id, user)
        raise not_found(inc.id)
    return inc
