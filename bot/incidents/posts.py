"""An incident's posts and re-renders, through the durable outbox (``ctx.outbox``).

An incident has three outbox threads:

* ``inc:<id>:ann``: the announcement (adopted root, re-rendered from state) and its thread of
  updates;
* ``inc:<id>:head``: the headline copy pinned in the war room (adopted root, re-rendered);
* ``inc:<id>:room``: the war room's feed (no root: top-level posts, in order).

A re-render only marks the roots as stale: the sender draws the latest state when it gets to them,
so a burst of changes is one ``chat.update`` per message. A post carries an op id named for the change
that made it (``update-3``, ``resolved-v12``...), so pushing it again after a retry or a crash never
posts it twice, and each thread keeps its order.

A status update is recorded as *unqueued* (``begin_update``) before its state is written and cleared
once its posts are in the outbox (``end_update``): a process that dies in between leaves the record,
and any replica's resume loop (``requeue_unqueued``) pushes the incident's update posts again, a
while later; the outbox keeps only those it has not seen, so each is posted once.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import Block

from bot.context import AppContext
from bot.core.models import Incident
from bot.incidents import views
from bot.slack.outbox import Op, Rendered, RenderRef, ThreadRef

log = logging.getLogger(__name__)

RENDER_KIND = "inc"
# a request that writes a status update is recorded here until its posts are in the outbox
UNQUEUED_GRACE_SECONDS = 10.0
STUB_KIND = "inc-stub"  # a private incident's public announcement: the stub, never its details


def announcement_thread(incident_id: str) -> ThreadRef:
    return ThreadRef("inc", incident_id, "ann")


def headline_thread(incident_id: str) -> ThreadRef:
    return ThreadRef("inc", incident_id, "head")


def room_feed(incident_id: str) -> ThreadRef:
    return ThreadRef("inc", incident_id, "room")


def render_ref(incident_id: str) -> RenderRef:
    return RenderRef(RENDER_KIND, incident_id)


def announcement_ref(inc: Incident) -> RenderRef:
    """What the announcement renders: the stub for a private incident, the headline otherwise."""
    return RenderRef(STUB_KIND if inc.private else RENDER_KIND, inc.id)


def register(ctx: AppContext) -> None:
    """Let this process's outbox draw incident headlines (at start-up, before anything is due)."""

    async def render(incident_id: str) -> Rendered | None:
        inc = await ctx.store.find(incident_id)
        if inc is None:
            return None
        return views.announcement_text(ctx.policy, inc), views.announcement(ctx.policy, inc)

    async def render_stub(incident_id: str) -> Rendered | None:
        inc = await ctx.store.find(incident_id)
        if inc is None:
            return None
        return views.private_stub_text(ctx.policy, inc), views.private_stub(ctx.policy, inc)

    ctx.outbox.register_renderer(RENDER_KIND, render)
    ctx.outbox.register_renderer(STUB_KIND, render_stub)


async def rerender(ctx: AppContext, inc: Incident) -> None:
    """Mark the announcement and the war-room headline for a re-render from the latest state."""
    if inc.announcement is not None:
        await ctx.outbox.push(
            announcement_thread(inc.id),
            inc.announcement.channel,
            render=announcement_ref(inc),
            root_ts=inc.announcement.ts,
            touch=True,
        )
    if inc.war_room_message is not None:
        await ctx.outbox.push(
            headline_thread(inc.id),
            inc.war_room_message.channel,
            render=render_ref(inc.id),
            root_ts=inc.war_room_message.ts,
            touch=True,
        )


async def post(
    ctx: AppContext,
    inc: Incident,
    op_id: str,
    blocks: Sequence[Block | dict[str, Any]],
    text: str,
    *,
    room: bool = True,
    announcement: bool = True,
) -> bool:
    """A post in the war room (top level) and/or as a reply under the announcement; False when
    the incident has neither. A private incident's announcement is a public stub: nothing is
    posted under it."""
    announcement = announcement and not inc.private
    op = Op.of_blocks(op_id, blocks, text)
    queued = False
    if room and inc.war_room is not None:
        await ctx.outbox.push(room_feed(inc.id), inc.war_room.channel_id, ops=[op])
        queued = True
    if announcement and inc.announcement is not None:
        await ctx.outbox.push(
            announcement_thread(inc.id),
            inc.announcement.channel,
            render=announcement_ref(inc),
            root_ts=inc.announcement.ts,
            ops=[op],
        )
        queued = True
    return queued


async def post_in_room(
    ctx: AppContext, inc: Incident, op_id: str, blocks: Sequence[Block | dict[str, Any]], text: str
) -> bool:
    """One post where the responders are: the war room, else under the announcement."""
    if inc.war_room is not None:
        return await post(ctx, inc, op_id, blocks, text, announcement=False)
    return await post(ctx, inc, op_id, blocks, text, room=False)


async def post_to(
    ctx: AppContext,
    thread: ThreadRef,
    channel: str,
    op_id: str,
    blocks: Sequence[Block | dict[str, Any]],
    text: str,
) -> None:
    """A top-level post in any channel (or a user's DM: its user ID), in ``thread``'s order."""
    await ctx.outbox.push(thread, channel, ops=[Op.of_blocks(op_id, blocks, text)])


def _unqueued_key(ctx: AppContext) -> str:
    return ctx.keys.custom("{incidents}", "unqueued-updates")


async def begin_update(ctx: AppContext, incident_id: str) -> str:
    """Record a status update whose posts are not in the outbox yet (before its state write)."""
    token = f"{incident_id}|{uuid.uuid4().hex}"
    await ctx.redis.zadd(_unqueued_key(ctx), {token: time.time()})
    return token


async def end_update(ctx: AppContext, token: str) -> None:
    await ctx.redis.zrem(_unqueued_key(ctx), token)


async def queue_update_posts(ctx: AppContext, inc: Incident) -> None:
    """Every status update's post (op ``update-<n>``: the outbox skips those it has seen) and a
    re-render of the headlines."""
    for update in inc.updates:
        blocks = views.status_update(ctx.policy, inc, update)
        await post(ctx, inc, f"update-{update.number}", blocks, views.status_update_text(inc, update))
    await rerender(ctx, inc)


async def requeue_unqueued(ctx: AppContext, *, older_than: float = UNQUEUED_GRACE_SECONDS) -> int:
    """Queue the posts of status updates whose process died between the state write and the
    outbox (records older than ``older_than``: younger ones may still be on their way)."""
    done = 0
    key = _unqueued_key(ctx)
    for raw in await ctx.redis.zrangebyscore(key, "-inf", time.time() - older_than, start=0, num=50):
        token = str(raw)
        incident_id = token.partition("|")[0]
        inc = await ctx.store.find(incident_id)
        if inc is not None:
            log.info("%s: queueing status-update posts an interrupted request left out", incident_id)
            await queue_update_posts(ctx, inc)
            done += 1
        await ctx.redis.zrem(key, token)
    return done
