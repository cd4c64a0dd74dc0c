"""In-process hooks: other parts of the bot react to incident changes (escalation timers, pagers,
status page) without the incident workflow knowing about them. Each hook's failure is logged with
its traceback and reported back to the caller, never silently dropped."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.context import AppContext
    from bot.core.models import Incident

log = logging.getLogger(__name__)

Hook = Callable[..., Awaitable[None]]
_HOOKS: dict[str, list[Hook]] = defaultdict(list)

# event names
DECLARED = "incident.declared"
ACKNOWLEDGED = "incident.acknowledged"
STATUS_UPDATED = "incident.status_updated"
RESOLVED = "incident.resolved"
REOPENED = "incident.reopened"
ROLE_ASSIGNED = "incident.role_assigned"


def on(event: str) -> Callable[[Hook], Hook]:
    def register(fn: Hook) -> Hook:
        if fn not in _HOOKS[event]:
            _HOOKS[event].append(fn)
        return fn

    return register


async def emit(event: str, ctx: AppContext, incident: Incident, **data: Any) -> list[str]:
    """Run every hook; returns one line per hook that failed (for the user's reply)."""
    problems = []
    for hook in list(_HOOKS[event]):
        try:
            await hook(ctx, incident, **data)
        except Exception as exc:
            log.exception("hook %s for %s failed", getattr(hook, "__name__", hook), event)
            problems.append(f"{getattr(hook, '__name__', 'hook')}: {exc}")
    return problems
