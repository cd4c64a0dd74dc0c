"""Catch-up: ``/incident catchup [INC]`` and the *Catch up* button on incident messages answer the
asker alone with where the incident stands and what changed since they last looked.

The "last looked" mark is per user per incident, in a Redis hash under the incident's hash tag
(``{inc:<id>}:seen``, bot/keys.py), so it lives and expires with the incident's other keys and
works on Redis Cluster. The mark is the time of the newest timeline entry the reader was shown, so
an entry written while the summary was being built is shown next time, never skipped; it only
moves forward (a Lua compare-and-set).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import ButtonElement

from bot.config.policy import Policy
from bot.context import AppContext
from bot.core.models import Incident
from bot.incidents import catchup_views
from bot.incidents.views import incident_button
from bot.listeners import Click, Reply, action

CATCHUP = "incident_catchup"

# KEYS[1] the seen hash; ARGV: user, mark (unix seconds), looked at (unix seconds)
_MOVE_FORWARD = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local ok, prev = pcall(cjson.decode, old)
  if ok and type(prev) == 'table' and tonumber(prev['mark'] or 0) > tonumber(ARGV[2]) then
    return 0
  end
end
-- kept as strings: cjson would print numbers with 14 digits, losing the microseconds of the mark
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({mark = ARGV[2], at = ARGV[3]}))
return 1
"""


async def last_look(ctx: AppContext, incident_id: str, user: str) -> tuple[datetime, datetime] | None:
    """(the mark: newest entry the user was shown, when they looked) or None for a first look."""
    raw = await ctx.redis.hget(ctx.keys.seen(incident_id), user)  # type: ignore[misc]
    if not raw:
        return None
    try:
        data: Any = json.loads(raw)
        mark, at = float(data["mark"]), float(data["at"])
    except (ValueError, KeyError, TypeError):
        return None  # an unreadable mark is a first look (and is overwritten below)
    return datetime.fromtimestamp(mark, UTC), datetime.fromtimestamp(at, UTC)


async def remember(ctx: AppContext, incident_id: str, user: str, mark: datetime) -> None:
    await ctx.redis.eval(  # type: ignore[misc]
        _MOVE_FORWARD, 1, ctx.keys.seen(incident_id), user, f"{mark.timestamp():.6f}", f"{time.time():.3f}"
    )


async def catch_up(ctx: AppContext, incident_id: str, user: str) -> Reply:
    """The summary for ``user``, and their mark moved to the newest entry it shows."""
    inc = await ctx.store.get(incident_id)
    timeline = await ctx.store.timeline(inc.id)
    seen = await last_look(ctx, inc.id, user)
    mark = seen[0] if seen else None
    new = [e for e in timeline if mark is None or e.at > mark]
    blocks = catchup_views.summary(ctx.policy, inc, new, seen[1] if seen else None, total=len(timeline))
    newest = max((e.at for e in timeline), default=inc.created_at)
    await remember(ctx, inc.id, user, newest)
    return Reply(blocks, text=catchup_views.summary_text(inc, new))


@incident_button
def catchup_button(policy: Policy, inc: Incident) -> list[Any]:
    return [ButtonElement(text="Catch up", action_id=CATCHUP, value=inc.id)]


@action(CATCHUP)
async def clicked(click: Click) -> Reply:
    return await catch_up(click.ctx, click.value, click.user_id)
