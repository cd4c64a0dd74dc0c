"""Asking for access to a private incident: the public stub's "Request access" button DMs the
commander (the declarer while there is none) with Approve / Deny; an approval invites the requester
to the private war room. Each request is kept in Redis under the incident's hash tag
(``{inc:<id>}:access``: requester -> pending / approved:<by> / denied:<by>), so a second click, or a
second approver, finds it answered."""

from __future__ import annotations

import logging

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from bot import blocks
from bot.context import AppContext
from bot.core.models import Incident, TimelineEntry
from bot.core.state import Refused, record
from bot.incidents import posts, views
from bot.incidents.outcome import Outcome
from bot.incidents.visibility import can_see, not_found
from bot.listeners import Click, Reply, action, with_problems
from bot.slack.outbox import ThreadRef

log = logging.getLogger(__name__)

APPROVE = "incident_access_approve"
DENY = "incident_access_deny"
KEEP_SECONDS = 90 * 86400


def _key(ctx: AppContext, incident_id: str) -> str:
    return ctx.keys.custom(f"{{inc:{incident_id}}}", "access")


def approver(inc: Incident) -> str:
    return inc.commander or inc.created_by


def request_dm(policy_label: str, inc: Incident, requester: str) -> list[Block]:
    value = f"{inc.id} {requester}"
    return [
        blocks.section(
            f":closed_lock_with_key: <@{requester}> asks to join private incident *{inc.id}* "
            f"({blocks.escape(policy_label)}): {blocks.escape(inc.title)}"
        ),
        ActionsBlock(
            block_id=f"access:{inc.id}:{requester}",
            elements=[
                ButtonElement(text="Approve", action_id=APPROVE, value=value, style="primary"),
                ButtonElement(text="Deny", action_id=DENY, value=value, style="danger"),
            ],
        ),
    ]


async def _incident(ctx: AppContext, incident_id: str) -> Incident:
    inc = await ctx.store.find(incident_id)
    if inc is None or not inc.private:
        raise not_found(incident_id)
    return inc


@action(views.REQUEST_ACCESS)
async def request_access(click: Click) -> Reply:
    ctx, user = click.ctx, click.user_id
    inc = await _incident(ctx, click.value)
    if await can_see(ctx, user, inc):
        where = f" <#{inc.war_room.channel_id}>" if inc.war_room else ""
        return Reply(blocks.message(f"You can already see {inc.id}:{where}."), text="already in")
    if inc.war_room is None:
        raise Refused("This private incident has no war room to let you into; ask its commander directly.")
    key = _key(ctx, inc.id)
    if not await ctx.redis.hsetnx(key, user, "pending"):  # type: ignore[misc]
        answer = str(await ctx.redis.hget(key, user) or "")  # type: ignore[misc]
        if answer == "pending":
            return Reply(
                blocks.message("You have asked already; the commander has not answered yet."), text="asked"
            )
        if not answer.startswith("denied"):  # approved, then left the room: ask again
            await ctx.redis.hset(key, user, "pending")  # type: ignore[misc]
        else:
            return Reply(blocks.message("Your request was denied."), text="denied")
    await ctx.redis.expire(key, KEEP_SECONDS)
    who = approver(inc)
    sev = ctx.policy.severity_by_name(inc.severity)
    await posts.post_to(
        ctx,
        ThreadRef("inc", inc.id, f"access-{who}"),
        who,
        f"access-{user}-{await ctx.redis.hincrby(key, '#asks', 1)}",  # type: ignore[misc]
        request_dm(sev.label, inc, user),
        f"{user} asks to join {inc.id}",
    )
    await ctx.store.apply(
        inc.id, record(TimelineEntry(actor=user, kind="access", text=f"<@{user}> asked for access"))
    )
    return Reply(
        blocks.message(
            f":envelope: Asked <@{who}>, the incident's commander, to let you in. You will get a DM."
        ),
        text="access requested",
    )


async def _answer(click: Click, approved: bool) -> Reply:
    ctx, user = click.ctx, click.user_id
    incident_id, _, requester = click.value.partition(" ")
    inc = await _incident(ctx, incident_id)
    if not await can_see(ctx, user, inc):
        raise not_found(incident_id)
    key = _key(ctx, inc.id)
    verdict = f"{'approved' if approved else 'denied'}:{user}"
    current = str(await ctx.redis.hget(key, requester) or "")  # type: ignore[misc]
    if current != "pending":
        done = current.partition(":")
        by = f" by <@{done[2]}>" if done[2] else ""
        state = done[0] or "not pending"
        return Reply(blocks.message(f"<@{requester}>'s request was already {state}{by}."), text="answered")
    await ctx.redis.hset(key, requester, verdict)  # type: ignore[misc]
    out = Outcome(inc)
    if approved and inc.war_room is not None:
        for who, exc in await ctx.slack.invite(inc.war_room.channel_id, [requester]):
            out.problem(f"inviting <@{who}>", exc)
    text = (
        f":white_check_mark: <@{user}> let <@{requester}> in"
        if approved
        else f":no_entry: <@{user}> denied <@{requester}>'s request for access"
    )
    await ctx.store.apply(inc.id, record(TimelineEntry(actor=user, kind="access", text=text)))
    room = f" <#{inc.war_room.channel_id}>" if inc.war_room and approved else ""
    told = (
        f":white_check_mark: <@{user}> approved your request: you are in {inc.id}'s war room{room}."
        if approved
        else f":no_entry: Your request to join a private incident was denied by <@{user}>."
    )
    n = await ctx.redis.hincrby(key, "#answers", 1)  # type: ignore[misc]
    thread = ThreadRef("inc", inc.id, f"access-to-{requester}")
    await posts.post_to(ctx, thread, requester, f"answer-{n}", blocks.message(told), told)
    reply = f"{'Approved' if approved else 'Denied'}: <@{requester}> {'is invited to' if approved else 'stays out of'} {inc.id}."
    return with_problems(Reply(blocks.message(reply), text=reply), out.problems)


@action(APPROVE)
async def approve(click: Click) -> Reply:
    return await _answer(click, True)


@action(DENY)
async def deny(click: Click) -> Reply:
    return await _answer(click, False)
