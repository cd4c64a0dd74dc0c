"""Exactly-once handling of Slack requests across retries, double clicks and replicas.

Slack re-sends a request it did not see acknowledged in 3 s (``X-Slack-Retry-Num``), with the same
body: the same ``trigger_id`` for a slash command, the same ``action_ts`` for a click, the same
``event_id`` for an event. Each request claims its key in Redis with ``SET NX EX`` before any work;
a request whose key is taken is a duplicate: acknowledged, logged, not run again. Keys live in
Redis, so two replicas behind a load balancer never both run one request.

A double click is two distinct requests (two ``action_ts``). The second click by the same person
on the same button of the same message within ``DOUBLE_CLICK_SECONDS`` is answered "already done"
instead of running the action twice (escalations, pages and remediations are not undoable).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.context import AppContext

log = logging.getLogger(__name__)

REQUEST_TTL = 24 * 3600  # Slack retries within minutes; a day is plenty
DOUBLE_CLICK_SECONDS = 5


@dataclass(frozen=True)
class Claim:
    scope: str
    key: str
    ttl: int


def command_claim(body: dict[str, Any]) -> Claim | None:
    trigger = body.get("trigger_id")
    if trigger:
        return Claim("cmd", str(trigger), REQUEST_TTL)
    return None


def action_claim(body: dict[str, Any], act: dict[str, Any]) -> Claim | None:
    """The retry key of one action of a block_actions payload."""
    user = (body.get("user") or {}).get("id", "")
    ts = act.get("action_ts")
    if not ts:
        return None
    return Claim("act", f"{user}:{act.get('action_id', '')}:{act.get('block_id', '')}:{ts}", REQUEST_TTL)


def click_claim(body: dict[str, Any], act: dict[str, Any]) -> Claim | None:
    """The double-click key: same person, same button, same value, same message."""
    user = (body.get("user") or {}).get("id", "")
    container = body.get("container") or {}
    where = container.get("message_ts") or container.get("view_id") or ""
    value = act.get("value") or (act.get("selected_option") or {}).get("value") or ""
    if not user or not where:
        return None
    return Claim("click", f"{user}:{act.get('action_id', '')}:{value}:{where}", DOUBLE_CLICK_SECONDS)


def shortcut_claim(body: dict[str, Any]) -> Claim | None:
    """A shortcut's retry key: its trigger_id is unique to the one use."""
    trigger = body.get("trigger_id")
    return Claim("shortcut", str(trigger), REQUEST_TTL) if trigger else None


def event_claim(body: dict[str, Any]) -> Claim | None:
    event_id = body.get("event_id")
    return Claim("event", str(event_id), REQUEST_TTL) if event_id else None


def view_claim(body: dict[str, Any]) -> Claim | None:
    view = body.get("view") or {}
    user = (body.get("user") or {}).get("id", "")
    vid, vhash = view.get("id"), view.get("hash")
    if not vid:
        return None
    return Claim("view", f"{user}:{vid}:{vhash or ''}", REQUEST_TTL)


async def claim(ctx: AppContext, c: Claim | None) -> bool:
    """True when this request is the first with its key (run it); False for a duplicate.

    Redis errors propagate: the caller answers "state store unavailable" (nothing was done).
    """
    if c is None:
        return True
    first = await ctx.redis.set(ctx.keys.idempotency(c.scope, c.key), "1", nx=True, ex=c.ttl)
    if not first:
        log.info("duplicate Slack request ignored", extra={"scope": c.scope, "key": c.key})
    return bool(first)


async def release(ctx: AppContext, c: Claim | None) -> None:
    """Give a key back (the work could not start), so Slack's retry may run it."""
    if c is None:
        return
    try:
        await ctx.redis.delete(ctx.keys.idempotency(c.scope, c.key))
    except Exception as exc:
        log.error("could not release idempotency key %s:%s: %s", c.scope, c.key, exc)
