"""One pipeline for every listener: slash commands, buttons, shortcuts, modal submissions, events.

Every request takes the same steps, in this order:

1. route        the registry (bot/listeners.py) names the handler; an unknown one is acknowledged
                (HTTP 200, never a 404 that Slack would retry), logged and counted
2. idempotency  Slack's retries and double clicks are claimed in Redis before any work
                (bot/idempotency.py); a store outage is answered, nothing is done
3. ack          within Slack's 3 s; a command's usage error or a modal's field errors are the ack
4. permission   for the person who acted, as the listener declares it (bot/permissions.py)
5. handler
6. audit record and metrics, whatever the outcome (bot/audit.py, bot/metrics.py)
7. answer       where the user is (bot/answers.py), with an error id for anything unexpected

Commands, buttons, shortcuts and events ack first and work after; a command whose handler is done
within ``QUICK_ANSWER_SECONDS`` is answered in the ack's body itself (no second request to its
response_url), a slower one is acked empty and answered on the response_url when done. Steps 2, 4
and 6 cost at most two Redis round trips: the claim (one ``SET NX``), the permission check (none:
the policy is in memory, group membership cached in process and in Redis) and one pipelined write of
the request's audit records (its incident events included, bot/audit.py ``batch``). A modal is where its user is
looking, so its permission check and its fast validation run before the ack (bounded by
``bot.submissions.ACK_BUDGET``) and the slow rest of its work (a ``Finish``) after it. Slack's Events API is
acknowledged by Bolt itself as soon as an event matches: an event's retry claim therefore runs
in a Bolt middleware (:func:`admit_event`), so that a store outage answers 500 and Slack retries.
Modal submissions take the same steps in bot/submissions.py.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot import audit, blocks, idempotency, scheduling
from bot.answers import Failure, Where, failure, usage_reply
from bot.context import AppContext
from bot.idempotency import Claim
from bot.listeners import (
    ACTIONS,
    EVENTS,
    REGISTRY,
    SHORTCUTS,
    Click,
    Reply,
    Request,
    ShortcutUse,
    SlackEvent,
    UsageError,
)
from bot.metrics import ACTIONS as ACTION_METRIC
from bot.metrics import COMMANDS, LISTENER_REQUESTS, LISTENER_SECONDS
from bot.permissions import require
from bot.slack import lanes

log = logging.getLogger(__name__)
Ack = Callable[..., Awaitable[Any]]
T = TypeVar("T")

ALREADY_DONE = ":ballot_box_with_check: You already clicked that a moment ago; it was done once."
UNKNOWN_BUTTON = ":warning: This button is not handled by this version of the bot."
UNKNOWN_SHORTCUT = ":warning: This shortcut is not handled by this version of the bot."
# a Slack retry of a click or an event is only counted: the original is in the trail already
QUIET_DUPLICATES = ("act", "event")
# a command answered within this time is answered in its ack (Slack waits 3 s for the ack)
QUICK_ANSWER_SECONDS = 0.5


@dataclass
class Job:
    """One request on its way through the pipeline."""

    ctx: AppContext
    kind: str  # command / action / shortcut / view / event (a metric label)
    name: str  # the command, action_id, callback_id or event type (a metric label)
    label: str  # the audit record's action: "/incident create", "button incident_ack", ...
    where: Where
    permission: str | None = None
    incident: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    batch: audit.Batch | None = None  # the request's audit records, written with its own

    @property
    def actor(self) -> str:
        return self.where.user


async def _nothing(**_: Any) -> None:
    return None


def _count(job: Job, outcome: str) -> None:
    LISTENER_REQUESTS.labels(job.kind, job.name, outcome).inc()
    if job.kind == "command":
        COMMANDS.labels(job.name, outcome).inc()
    elif job.kind == "action":
        ACTION_METRIC.labels(job.name, outcome).inc()


async def settle(job: Job, outcome: str, detail: str = "") -> None:
    """Step 6: metrics and the audit record."""
    _count(job, outcome)
    if outcome != "duplicate":
        LISTENER_SECONDS.labels(job.kind).observe(time.monotonic() - job.started)
    rec = audit.make(
        actor=job.actor,
        action=job.label,
        outcome=outcome,
        incident=job.incident,
        channel=job.where.channel,
        detail=detail,
        **job.data,
    )
    if job.batch is not None:
        await audit.flush(job.ctx.redis, job.ctx.keys, job.batch, rec)  # one round trip for all
    else:
        await audit.append(job.ctx.redis, job.ctx.keys, rec)


async def first_time(job: Job, claims: list[Claim | None]) -> bool:
    """Step 2 (idempotency): False for a duplicate (counted, audited or answered as its kind needs). Redis errors
    propagate: nothing was done, the caller answers."""
    for claim in claims:
        if await idempotency.claim(job.ctx, claim):
            continue
        assert claim is not None  # claim() is True for "no key"
        if claim.scope in QUIET_DUPLICATES:
            _count(job, "duplicate")
        elif claim.scope == "click":
            await settle(job, "duplicate", "double click ignored")
            await job.where.send(job.ctx, Reply(blocks.message(ALREADY_DONE), text="already done"))
        else:
            await settle(job, "duplicate", "Slack retry or repeated request ignored")
        return False
    return True


async def attempt(job: Job, work: Callable[[], Awaitable[T]], *, check: bool = True) -> T | Failure:
    """Steps 4 and 5: the permission check, then the handler; a failure is put into words."""
    try:
        if check and job.permission:
            await require(job.ctx, job.actor, job.permission)
        return await work()
    except Exception as exc:
        return failure(exc, job.label)


@dataclass
class _Usage:
    """A command handler's UsageError: an answer (the usage), not a failure."""

    reply: Reply
    problem: str


Work = Callable[[], Awaitable[Reply | _Usage | None]]


def _outcome(result: Reply | _Usage | Failure | None) -> tuple[str, str, Reply | None]:
    if isinstance(result, Failure):
        return result.outcome, result.detail, result.reply
    if isinstance(result, _Usage):
        return "usage", result.problem, result.reply
    return "ok", "", result


async def _ackfirst_time(job: Job, ack: Ack, claims: list[Claim | None], work: Work) -> None:
    """Commands, buttons, shortcuts and events: ack, then check, work, record and answer."""
    with audit.batch() as pending, scheduling.person():  # machine work defers to this request
        job.batch = pending
        await _ackfirst_batched(job, ack, claims, work)


async def _ackfirst_batched(job: Job, ack: Ack, claims: list[Claim | None], work: Work) -> None:
    try:
        first = await first_time(job, claims)
    except Exception as exc:  # the store is down: nothing was done, say so
        lost = failure(exc, job.label)
        await ack(**(lost.reply.payload() if job.kind == "command" else {}))
        await settle(job, lost.outcome, lost.detail)
        if job.kind != "command":
            await job.where.send(job.ctx, lost.reply)
        return
    if not first:
        await ack()
        return
    if job.kind == "command":
        # the work starts before the ack: a quick answer goes in the ack's body
        task = asyncio.create_task(attempt(job, work), name=f"command:{job.label}")
        done, _ = await asyncio.wait({task}, timeout=QUICK_ANSWER_SECONDS)
        if task in done:
            outcome, detail, reply = _outcome(task.result())
            await ack(**(reply.payload() if reply is not None else {}))
            lanes.LANE_VISIBLE.labels(lanes.INTERACTIVE).observe(time.monotonic() - job.started)
            await settle(job, outcome, detail)
            return
        await ack()
        result = await task
    else:
        await ack()
        result = await attempt(job, work)
    outcome, detail, reply = _outcome(result)
    await settle(job, outcome, detail)
    if isinstance(reply, Reply):
        await job.where.send(job.ctx, reply)
        lanes.LANE_VISIBLE.labels(lanes.INTERACTIVE).observe(time.monotonic() - job.started)


# --------------------------------------------------------------------------------------------
# slash commands


async def run_command(ctx: AppContext, body: dict[str, Any], ack: Ack) -> None:
    name = body.get("command", "")
    text = body.get("text") or ""
    where = Where(body.get("user_id", ""), body.get("channel_id"), body.get("response_url"))
    cmd = REGISTRY.get(name)
    if cmd is None:
        log.warning("no handler for command %s", name)
        await ack(text=f"{name} is not handled by this bot.")
        LISTENER_REQUESTS.labels("command", "unknown", "unhandled").inc()
        return
    sub, rest = cmd.route(text)
    job = Job(ctx, "command", name, name, where, data={"text": text[:500]})
    if sub is None:  # usage in the ack: nothing to claim, nothing done
        problem = f"`{text.split()[0]}` is not a {name} command." if text.strip() else None
        await ack(**usage_reply(cmd, cmd.usage_lines(), problem).payload())
        _count(job, "usage")
        return
    job.label, job.permission = f"{name} {sub.name}", sub.permission
    try:
        args = sub.parse(rest)
    except UsageError as exc:
        await ack(**usage_reply(cmd, sub.usage, exc.problem).payload())
        await settle(job, "usage", exc.problem or "")
        return
    except Exception as exc:  # a parser bug must still answer
        lost = failure(exc, f"parsing {name}")
        await ack(**lost.reply.payload())
        await settle(job, lost.outcome, lost.detail)
        return
    job.incident = audit.incident_of(getattr(args, "incident_id", None))
    req = Request(
        ctx=ctx,
        command=name,
        user_id=where.user,
        channel_id=body.get("channel_id", ""),
        text=text,
        response_url=where.response_url,
        trigger_id=body.get("trigger_id"),
    )

    async def handle() -> Reply | _Usage | None:
        try:
            return await sub.handle(req, args)
        except UsageError as exc:
            return _Usage(usage_reply(cmd, sub.usage, exc.problem), exc.problem or "")

    await _ackfirst_time(job, ack, [idempotency.command_claim(body)], handle)


# --------------------------------------------------------------------------------------------
# buttons and other block actions


async def run_action(ctx: AppContext, body: dict[str, Any], ack: Ack) -> None:
    await ack()  # nothing a block action's ack can say; answers go to the response_url
    user = (body.get("user") or {}).get("id", "")
    channel = (body.get("channel") or {}).get("id")
    where = Where(user, channel, body.get("response_url"))
    for act in body.get("actions", []):
        action_id = act.get("action_id", "")
        listener = ACTIONS.get(action_id)
        if listener is None:
            log.warning("no handler for action %s", action_id)
            LISTENER_REQUESTS.labels("action", "unknown", "unhandled").inc()
            await where.send(ctx, Reply(blocks.message(UNKNOWN_BUTTON), text="unknown action"))
            continue
        selected = (act.get("selected_option") or {}).get("value")
        click = Click(
            ctx=ctx,
            user_id=user,
            action_id=action_id,
            value=act.get("value") or selected or "",
            channel_id=channel,
            message_ts=(body.get("container") or {}).get("message_ts"),
            body=body,
            selected=selected,
        )
        job = Job(
            ctx,
            "action",
            action_id,
            f"button {action_id}",
            where,
            listener.permission,
            audit.incident_of(click.value),
            {"value": click.value[:200]},
        )
        claims = [idempotency.action_claim(body, act), idempotency.click_claim(body, act)]
        await _ackfirst_time(job, _nothing, claims, functools.partial(listener.handle, click))


# --------------------------------------------------------------------------------------------
# global and message shortcuts


async def run_shortcut(ctx: AppContext, body: dict[str, Any], ack: Ack) -> None:
    callback = body.get("callback_id", "")
    user = (body.get("user") or {}).get("id", "")
    channel = (body.get("channel") or {}).get("id")
    where = Where(user, channel, body.get("response_url"))
    listener = SHORTCUTS.get(callback)
    if listener is None:
        log.warning("no handler for shortcut %s", callback)
        await ack()
        LISTENER_REQUESTS.labels("shortcut", "unknown", "unhandled").inc()
        await where.send(ctx, Reply(blocks.message(UNKNOWN_SHORTCUT), text="unknown shortcut"))
        return
    use = ShortcutUse(
        ctx=ctx,
        user_id=user,
        callback_id=callback,
        trigger_id=body.get("trigger_id"),
        channel_id=channel,
        message=body.get("message") if body.get("type") == "message_action" else None,
        body=body,
    )
    data = {"message_ts": body.get("message_ts")} if use.message is not None else {}
    job = Job(ctx, "shortcut", callback, f"shortcut {callback}", where, listener.permission, data=data)
    await _ackfirst_time(
        job, ack, [idempotency.shortcut_claim(body)], functools.partial(listener.handle, use)
    )


# --------------------------------------------------------------------------------------------
# Events API


def _event_job(ctx: AppContext, body: dict[str, Any]) -> tuple[Job, SlackEvent] | None:
    ev = body.get("event") or {}
    kind = str(ev.get("type", ""))
    listener = EVENTS.get(kind)
    if listener is None:
        return None
    user = ev.get("user") if isinstance(ev.get("user"), str) else ""
    channel = ev.get("channel") or (ev.get("item") or {}).get("channel")
    event = SlackEvent(ctx, kind, user or "", channel, ev, body)
    where = Where(user or "", channel if isinstance(channel, str) else None)
    data = {"event_id": body.get("event_id")}
    return Job(ctx, "event", kind, f"event {kind}", where, listener.permission, data=data), event


async def admit_event(ctx: AppContext, body: dict[str, Any]) -> bool:
    """Route and claim an Events API request before Bolt acks it: False when there is nothing to
    run (no listener: logged; a Slack retry: counted). Redis errors propagate (HTTP 500, so Slack
    retries later: nothing was done)."""
    found = _event_job(ctx, body)
    if found is None:
        kind = str((body.get("event") or {}).get("type", ""))
        # channel messages come because of the history scopes: expected, so only at debug level
        log.log(logging.DEBUG if kind == "message" else logging.INFO, "no listener for event %s", kind)
        LISTENER_REQUESTS.labels("event", "unknown", "unhandled").inc()
        return False
    return await first_time(found[0], [idempotency.event_claim(body)])


async def run_event(ctx: AppContext, body: dict[str, Any]) -> None:
    """An admitted event (Bolt acked it already): check, handle, record, answer."""
    found = _event_job(ctx, body)
    if found is None:
        return
    job, event = found
    await _ackfirst_time(job, _nothing, [], functools.partial(EVENTS[event.type].handle, event))
