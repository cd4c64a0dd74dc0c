"""A declaration that finishes after a crash, exactly once.

``/incident create`` writes the incident's state first, then records it as a pending declaration
(a sorted set) under a lease held by the declaring process, then builds the announcement and the
war room. Each step is recorded in a Redis hash (``{inc:<id>}:declare``) when done, and the two posts
carry a marker in their first block, recorded before the call: a process that picks up an interrupted
declaration (the same one after a restart, or any replica, once the lease lapsed) skips what is done,
looks a possibly-made post up before posting again, and adopts a war room its earlier attempt
created (``name_taken`` on a channel the bot created and no other incident owns), so the result is
one channel, one announcement and one pin.

``CHATOPS_TEST_CRASH_AT`` is a TEST-ONLY hook: the process kills itself (SIGKILL) at the named point
so a story test can prove the resume: ``after_state`` (a declaration's state is written, nothing is
in Slack), ``after_update_state`` (a status update's state is written, its posts are not queued yet),
``after_update_queued`` (its posts and re-renders are in the outbox, maybe not delivered yet). Never set
it anywhere else.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
import uuid

from bot import events
from bot.context import AppContext
from bot.core import state
from bot.core.models import Incident, MessageRef, TimelineEntry, WarRoom
from bot.directory import resolve_principals
from bot.incidents import posts, views
from bot.incidents.channels import war_room_name
from bot.incidents.outcome import Outcome
from bot.slack.errors import SlackCallError
from bot.tasks import raise_if_cancelling

log = logging.getLogger(__name__)

LEASE_SECONDS = 10.0
OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
CRASH_ENV = "CHATOPS_TEST_CRASH_AT"

# "type: ignore[misc]" below: redis-py types some asyncio commands as ``Awaitable[T] | T``.


def crash_point_for_tests(where: str) -> None:
    """TEST ONLY (see the module's doc): die here, as a SIGKILL would, when asked to."""
    if os.environ.get(CRASH_ENV) == where:
        log.warning("%s=%s: killing this process (test hook)", CRASH_ENV, where)
        os.kill(os.getpid(), signal.SIGKILL)


def _steps_key(ctx: AppContext, incident_id: str) -> str:
    return ctx.keys.custom(f"{{inc:{incident_id}}}", "declare")


def _lease_key(ctx: AppContext, incident_id: str) -> str:
    return ctx.keys.custom(f"{{inc:{incident_id}}}", "declare-lease")


def pending_key(ctx: AppContext) -> str:
    return ctx.keys.custom("{incidents}", "declaring")


async def begin(ctx: AppContext, incident_id: str) -> bool:
    """Record a declaration as pending and take its lease (right after the state write)."""
    await ctx.redis.zadd(pending_key(ctx), {incident_id: time.time()})
    return bool(
        await ctx.redis.set(_lease_key(ctx, incident_id), OWNER, nx=True, px=int(LEASE_SECONDS * 1000))
    )


async def claim(ctx: AppContext, incident_id: str) -> bool:
    return bool(
        await ctx.redis.set(_lease_key(ctx, incident_id), OWNER, nx=True, px=int(LEASE_SECONDS * 1000))
    )


async def _keep_lease(ctx: AppContext, incident_id: str) -> None:
    key = _lease_key(ctx, incident_id)
    while True:
        await asyncio.sleep(LEASE_SECONDS / 4)
        if await ctx.redis.get(key) != OWNER:
            return
        await ctx.redis.pexpire(key, int(LEASE_SECONDS * 1000))


async def finish(ctx: AppContext, incident_id: str, out: Outcome | None = None) -> Outcome | None:
    """Run the declaration's remaining steps (the caller holds the lease); None if it is gone."""
    inc = await ctx.store.find(incident_id)
    if inc is None:
        await ctx.redis.zrem(pending_key(ctx), incident_id)
        return None
    out = out or Outcome(inc)
    keeper = asyncio.create_task(_keep_lease(ctx, incident_id))
    try:
        inc = await _run(ctx, inc, out)
        out.incident = inc
        await ctx.redis.zrem(pending_key(ctx), incident_id)
    finally:
        keeper.cancel()
        if await ctx.redis.get(_lease_key(ctx, incident_id)) == OWNER:
            await ctx.redis.delete(_lease_key(ctx, incident_id))
    return out


async def _done(ctx: AppContext, inc: Incident, step: str) -> bool:
    return bool(await ctx.redis.hexists(_steps_key(ctx, inc.id), step))  # type: ignore[misc]


async def _mark(ctx: AppContext, inc: Incident, step: str, value: str = "1") -> None:
    key = _steps_key(ctx, inc.id)
    await ctx.redis.hset(key, step, value)  # type: ignore[misc]
    await ctx.redis.expire(key, 7 * 86400)


async def _post_once(ctx: AppContext, inc: Incident, step: str, channel: str) -> str:
    """The headline post in ``channel``, once: a recorded earlier attempt is looked up first."""
    marker = f"decl|{inc.id}|{step}"
    attempted = await ctx.redis.hget(_steps_key(ctx, inc.id), f"{step}_at")  # type: ignore[misc]
    if attempted:
        found = await ctx.slack.find_marked(channel, marker, since=float(attempted))
        if found:
            log.info("%s: %s was already posted (%s); not posting again", inc.id, step, found)
            return found
    if inc.private and step == "announce":  # a public channel: the stub, never the details
        blocks, text = views.private_stub(ctx.policy, inc), views.private_stub_text(ctx.policy, inc)
    else:
        blocks, text = views.announcement(ctx.policy, inc), views.announcement_text(ctx.policy, inc)
    blocks[0].block_id = marker
    await _mark(ctx, inc, f"{step}_at", f"{time.time():.3f}")
    return await ctx.slack.post(channel, blocks, text, unfurl=False)


def needs_war_room(ctx: AppContext, inc: Incident) -> bool:
    """A private incident always has its (private) war room; in triage, none is made yet."""
    sev = ctx.policy.severity(inc.severity)
    return not inc.triage and (inc.private or (sev is not None and sev.war_room))


async def _run(ctx: AppContext, inc: Incident, out: Outcome) -> Incident:
    policy = ctx.policy
    room = needs_war_room(ctx, inc)
    if room and inc.announcement is None:
        inc = await _open_room(ctx, inc, out)  # first: the announcement shows it from the start
    if inc.private and not policy.incidents.private_announcement:
        await _mark(ctx, inc, "announce")  # the policy wants no public trace at all
    if inc.announcement is None and not await _done(ctx, inc, "announce"):
        try:
            announce = await ctx.slack.find_channel(policy.channels.announcements)
            if announce is None:
                raise SlackCallError(
                    "conversations.list", f"channel #{policy.channels.announcements} not found"
                )
            ts = await _post_once(ctx, inc, "announce", announce)
            ref = MessageRef(channel=announce, ts=ts)
            inc = await ctx.store.patch(inc.id, lambda i: setattr(i, "announcement", ref))
        except SlackCallError as exc:
            out.problem("posting the announcement", exc)
        await _mark(ctx, inc, "announce")
    if inc.announcement is not None and out.announcement_link is None:
        try:
            out.announcement_link = await ctx.slack.permalink(inc.announcement.channel, inc.announcement.ts)
        except SlackCallError as exc:
            out.problem("linking the announcement", exc)
    if room:
        inc = await _war_room(ctx, inc, out)
    if inc.triage:
        return inc  # accepted later: /incident accept runs the rest (war room, pages)
    if not await _done(ctx, inc, "declared"):
        await _mark(ctx, inc, "declared")  # before the hooks: they run at most once
        out.problems += await events.emit(events.DECLARED, ctx, inc)
    return inc


async def _create_channel(ctx: AppContext, inc: Incident) -> tuple[str, str]:
    """conversations.create, or the channel an earlier attempt of this declaration made (a timeout
    retried, a crash): ``name_taken`` on a channel the bot created that no incident owns yet."""
    prefix = ctx.policy.channels.war_room_prefix
    started = await ctx.redis.hget(_steps_key(ctx, inc.id), "room_at")  # type: ignore[misc]
    if not started:
        started = f"{time.time():.3f}"
        await _mark(ctx, inc, "room_at", started)
    for attempt in range(1, 20):
        suffix = "" if attempt == 1 else f"-{attempt}"
        name = war_room_name(prefix, inc.number, inc.title, suffix)
        try:
            # direct: a create is not a post; a repeat is caught by name_taken and adopted below
            made = await ctx.slack.create_channel(name, private=inc.private)
            return str(made["id"]), str(made["name"])
        except SlackCallError as exc:
            if exc.error != "name_taken":
                raise
        mine = await _own_channel(ctx, inc, name, since=float(started))
        if mine is not None:
            log.info("%s: war room #%s was made by an earlier attempt; using it", inc.id, name)
            return mine, name
    raise SlackCallError("conversations.create", "name_taken (19 tries)")


async def _own_channel(ctx: AppContext, inc: Incident, name: str, since: float) -> str | None:
    """The channel ``name`` if this declaration made it: the bot created it, not before the first
    create attempt, and no other incident owns it. Slack's ``created`` is in whole seconds, so a
    channel made in the same second as that attempt is not adopted: the room gets a suffix instead
    (never someone else's channel)."""
    await ctx.slack.forget_channel(name)
    cid = await ctx.slack.find_channel(name)
    if cid is None:
        return None
    channel = await ctx.slack.channel_info(cid)  # a read
    owner = await ctx.store.incident_for_channel(cid)
    made_by_us = channel.get("creator") == ctx.bot_user_id and float(channel.get("created", 0)) >= since
    return cid if made_by_us and owner in (None, inc.id) else None


async def _open_room(ctx: AppContext, inc: Incident, out: Outcome) -> Incident:
    """The war room's channel, made (and recorded) before the announcement, so the announcement
    links it from its first render."""
    if inc.war_room is not None:
        return inc
    try:
        cid, name = await _create_channel(ctx, inc)
    except SlackCallError as exc:
        out.problem("creating the war room", exc)
        return inc
    inc = await ctx.store.patch(inc.id, lambda i: setattr(i, "war_room", WarRoom(channel_id=cid, name=name)))
    await ctx.store.bind_channel(cid, inc.id)
    entry = TimelineEntry(
        actor="bot", kind="war_room", text=f"War room #{name} opened", data={"channel": cid}
    )
    await ctx.store.apply(inc.id, state.record(entry))
    return inc


async def _war_room(ctx: AppContext, inc: Incident, out: Outcome) -> Incident:
    policy = ctx.policy
    inc = await _open_room(ctx, inc, out)
    if inc.war_room is None:
        return inc
    cid = inc.war_room.channel_id
    # direct, each step recorded when done: topic, purpose, pin and bookmark are idempotent settings
    # (a repeat after a crash posts nothing), and the headline post is looked up before a repost
    calls = [
        ("topic", "setting the topic", ctx.slack.set_topic, views.topic(policy, inc)),
        ("purpose", "setting the purpose", ctx.slack.set_purpose, f"War room for {inc.id}"),
    ]
    for step, what, setter, value in calls:
        if not await _done(ctx, inc, step):
            try:
                await setter(cid, value)
            except SlackCallError as exc:
                out.problem(what, exc)
            await _mark(ctx, inc, step)
    if not await _done(ctx, inc, "invite"):
        principals = [inc.created_by, *policy.responders.by_severity.get(inc.severity, [])]
        if inc.service:
            principals += policy.responders.by_service.get(inc.service, [])
        users, problems = await resolve_principals(ctx, principals)
        out.problems += [f"inviting responders: {p}" for p in problems]
        for user, err in await ctx.slack.invite(cid, [u for u in users if u != ctx.bot_user_id]):
            out.problem(f"inviting <@{user}>", err)
        await _mark(ctx, inc, "invite")
    if inc.war_room_message is None and not await _done(ctx, inc, "room_post"):
        try:
            ts = await _post_once(ctx, inc, "room_post", cid)
            ref = MessageRef(channel=cid, ts=ts)
            inc = await ctx.store.patch(inc.id, lambda i: setattr(i, "war_room_message", ref))
        except SlackCallError as exc:
            out.problem("posting in the war room", exc)
        await _mark(ctx, inc, "room_post")
    if inc.war_room_message is not None and not await _done(ctx, inc, "pin"):
        try:
            await ctx.slack.pin(cid, inc.war_room_message.ts)
        except SlackCallError as exc:
            if exc.error != "already_pinned":
                out.problem("pinning the announcement", exc)
        await _mark(ctx, inc, "pin")
    if out.announcement_link and not await _done(ctx, inc, "bookmark"):
        try:
            await ctx.slack.add_link_bookmark(cid, f"{inc.id} announcement", out.announcement_link)
        except SlackCallError as exc:
            out.problem("adding the bookmark", exc)
        await _mark(ctx, inc, "bookmark")
    return inc


async def resume_pending(ctx: AppContext, *, older_than: float = 0.0) -> int:
    """Finish every pending declaration whose lease is free; returns how many were finished."""
    finished = 0
    cutoff = time.time() - older_than
    for raw in await ctx.redis.zrangebyscore(pending_key(ctx), "-inf", cutoff, start=0, num=50):
        incident_id = str(raw)
        if not await claim(ctx, incident_id):
            continue
        log.info("%s: finishing an interrupted declaration", incident_id)
        out = await finish(ctx, incident_id)
        if out is not None and out.problems:
            log.warning("%s: declaration finished with problems: %s", incident_id, "; ".join(out.problems))
        finished += 1
    return finished


async def resume_loop(ctx: AppContext, every: float = 2.0) -> None:
    """At start-up and then every few seconds: pick up declarations, and status updates not yet
    queued for Slack, whose process died."""
    while True:
        try:
            await resume_pending(ctx)
            await posts.requeue_unqueued(ctx)
        except asyncio.CancelledError:
            raise
        except Exception:
            raise_if_cancelling()
            log.exception("declarations: resume failed; retrying")
        await asyncio.sleep(every)
