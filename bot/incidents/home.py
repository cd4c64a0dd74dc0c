"""The App Home: published for a person when they open the bot's Home tab (``app_home_opened``) and
re-published when what it shows changes (incident events, bot/events.py), paced per person.

Pacing and coalescing: Slack's views.publish is Tier 4 for the workspace (the gateway paces it,
bot/slack/gateway.py) and one person's Home needs no more than one publish every
``MIN_INTERVAL`` seconds. A request for a person marks a publish as pending in Redis (``SET NX``,
shared by replicas); while one is pending, further requests join it. The pending publish waits until
the person's last publish is ``MIN_INTERVAL`` old, clears the mark, reads the state and publishes:
a change that lands after the mark is cleared schedules the next publish, so none is lost and a
burst of changes costs one or two publishes. Viewers (people who opened their Home in the last
``VIEWER_DAYS``) are the people whose Home an incident change re-publishes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from bot import events
from bot.config.escalation import EscalationPolicy
from bot.config.oncall import upcoming_shifts, who_is_on_call
from bot.context import AppContext
from bot.core.models import Incident
from bot.core.state import Refused
from bot.escalation.runtime import escalation_policy
from bot.incidents import declare_modal, views
from bot.incidents import home_views as hv
from bot.incidents.declare_views import Origin
from bot.incidents.visibility import visible
from bot.listeners import Click, Reply, SlackEvent, action, event
from bot.review.records import ReviewRecords
from bot.tasks import stop_tasks

log = logging.getLogger(__name__)

MIN_INTERVAL = 2.0  # seconds between two publishes of one person's Home
PENDING_TTL = 60.0  # a pending mark outlives a crashed publisher by at most this
VIEWER_DAYS = 14
FOLLOW_UP_INCIDENTS = 50  # the most recent incidents searched for a person's follow-ups

_TASKS: dict[int, set[asyncio.Task[None]]] = {}


def _key(ctx: AppContext, *parts: str) -> str:
    return ctx.keys.custom("{home}", *parts)


# ---- reading the state -----------------------------------------------------------------------


def on_call_now(esc: EscalationPolicy, now: datetime) -> tuple[list[hv.OnCall], list[str]]:
    """Who holds each rotation at ``now`` and until when (pure)."""
    out: list[hv.OnCall] = []
    problems: list[str] = []
    for rotation in esc.rotations:
        try:
            user = who_is_on_call(rotation, now)
            shift = upcoming_shifts(rotation, now, 1) if user else []
        except Exception as exc:  # a rotation the config check let through; say which
            log.exception("home: rotation %s could not be read", rotation.name)
            problems.append(f"rotation {rotation.name}: {exc}")
            continue
        out.append(hv.OnCall(rotation.name, user, shift[0].end if shift else None))
    return out, problems


async def follow_ups(ctx: AppContext, user: str) -> list[hv.FollowUp]:
    recent = await ctx.store.list(include_resolved=True, limit=FOLLOW_UP_INCIDENTS)
    records = ReviewRecords(ctx.redis, ctx.keys)
    found = await asyncio.gather(*(records.actions(inc.id) for inc in recent))
    return [
        hv.FollowUp(inc.id, item.number, item.text, item.due)
        for inc, items in zip(recent, found, strict=True)
        for item in items
        if item.owner == user
    ]


async def state_for(ctx: AppContext, user: str) -> hv.HomeState:
    now = datetime.now(UTC)
    open_incidents = await visible(ctx, user, await ctx.store.list(include_resolved=False, limit=500))
    on_call, problems = on_call_now(escalation_policy(ctx), now)
    return hv.HomeState(
        user=user,
        open_incidents=open_incidents,
        on_call=on_call,
        follow_ups=await follow_ups(ctx, user),
        problems=problems,
        updated=now,
    )


# ---- publishing, paced per person ------------------------------------------------------------


async def publish_now(ctx: AppContext, user: str) -> None:
    view = hv.home(ctx.policy, await state_for(ctx, user))
    await ctx.gateway.call("views.publish", user_id=user, view=view.to_dict())


async def request(ctx: AppContext, user: str) -> bool:
    """Ask for ``user``'s Home to be re-published; True when this call scheduled the publish, False
    when it joined one already pending."""
    if not user:
        return False
    if not await ctx.redis.set(_key(ctx, "pending", user), "1", nx=True, px=int(PENDING_TTL * 1000)):
        return False
    task = asyncio.create_task(_publish_paced(ctx, user), name=f"home-publish-{user}")
    tasks = _TASKS.setdefault(id(ctx), set())
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return True


async def _publish_paced(ctx: AppContext, user: str) -> None:
    pending = _key(ctx, "pending", user)
    try:
        last = await ctx.redis.get(_key(ctx, "last", user))
        wait = float(last) + MIN_INTERVAL - time.time() if last else 0.0
        if wait > 0:
            await asyncio.sleep(min(wait, MIN_INTERVAL))
        await ctx.redis.delete(pending)  # from here on, a change schedules the next publish
        await ctx.redis.set(_key(ctx, "last", user), f"{time.time():.3f}", ex=3600)
        await publish_now(ctx, user)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("home: publishing %s's Home failed", user)
        await ctx.redis.delete(pending)


async def viewers(ctx: AppContext) -> list[str]:
    since = time.time() - VIEWER_DAYS * 86400
    key = _key(ctx, "viewers")
    await ctx.redis.zremrangebyscore(key, "-inf", since)
    return [str(u) for u in await ctx.redis.zrangebyscore(key, since, "+inf")]


async def refresh_viewers(ctx: AppContext, *_: Any, **__: Any) -> None:
    """An incident changed: every recent viewer's Home shows it (paced and coalesced per person)."""
    for user in await viewers(ctx):
        await request(ctx, user)


for _name in (
    events.DECLARED,
    events.ACKNOWLEDGED,
    events.STATUS_UPDATED,
    events.RESOLVED,
    events.REOPENED,
    events.ROLE_ASSIGNED,
):
    events.on(_name)(refresh_viewers)


async def stop(ctx: AppContext) -> None:
    """Cancel this context's pending publishes (the part's stop)."""
    await stop_tasks(list(_TASKS.pop(id(ctx), set())), "home")


# ---- listeners -------------------------------------------------------------------------------


@event("app_home_opened")
async def home_opened(ev: SlackEvent) -> Reply | None:
    if ev.event.get("tab", "home") != "home" or not ev.user_id:
        return None  # the Messages tab: nothing to publish
    await ev.ctx.redis.zadd(_key(ev.ctx, "viewers"), {ev.user_id: time.time()})
    await request(ev.ctx, ev.user_id)
    return None


@action(hv.DECLARE, permission="declare")
async def declare_clicked(click: Click) -> Reply | None:
    await declare_modal.open_modal(click.ctx, click.body.get("trigger_id"), Origin())
    return None


@action(hv.LIST)
async def list_clicked(click: Click) -> Reply | None:
    trigger_id = click.body.get("trigger_id")
    if not trigger_id:
        raise Refused("Slack sent no trigger to open the list; try again.")
    found: list[Incident] = await visible(
        click.ctx, click.user_id, await click.ctx.store.list(include_resolved=False)
    )
    modal = hv.list_modal(views.incident_list(click.ctx.policy, found, "open"))
    await click.ctx.gateway.call("views.open", trigger_id=trigger_id, view=modal.to_dict())
    return None
