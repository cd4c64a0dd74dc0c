"""Running commands and clicks: ack at once, work after, every outcome answered in words.

Bolt acks within milliseconds (parse errors are answered in the ack itself); the handler then runs
and its reply goes to the response_url through the gateway. No stack trace ever reaches a user:
unexpected errors are logged with an error id that the user is given.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot import audit, blocks, idempotency
from bot.context import AppContext
from bot.core.state import Refused
from bot.core.store import NotFound
from bot.gateway import SlackCallError
from bot.listeners import ACTIONS, REGISTRY, VIEWS, Click, Reply, Request, SlashCommand, UsageError
from bot.metrics import ACTIONS as ACTION_METRIC
from bot.metrics import COMMANDS
from bot.permissions import Denied, require

log = logging.getLogger(__name__)
Ack = Callable[..., Awaitable[Any]]
STORE_DOWN = (
    ":warning: The state store (Redis) is unavailable right now, so nothing was changed. "
    "Try again in a minute; the on-call for the bot has been told in the logs."
)


def usage_reply(cmd: SlashCommand, lines: list[str], problem: str | None) -> Reply:
    return Reply(blocks.usage(cmd.name, lines, problem), text=problem or f"Usage of {cmd.name}")


async def _answer(ctx: AppContext, response_url: str | None, reply: Reply) -> None:
    if not response_url:
        log.warning("no response_url to answer on: %s", reply.text)
        return
    try:
        await ctx.gateway.respond(response_url, reply.payload())
    except SlackCallError as exc:
        log.error("answering the user failed: %s", exc)


def outcome_of(exc: Exception) -> str:
    if isinstance(exc, Denied):
        return "denied"
    return "refused" if isinstance(exc, Refused | NotFound) else "error"


def _detail(exc: Exception) -> str:
    if isinstance(exc, Denied):
        return f"missing permission: {exc.permission}"
    return str(exc)[:300]


def failure_reply(exc: Exception, what: str) -> Reply:
    if isinstance(exc, Refused):
        return Reply(blocks.message(f":no_entry: {exc}"), text=str(exc))
    if isinstance(exc, NotFound):
        return Reply(
            blocks.message(f":no_entry: {exc} — `/incident list` shows the open ones."), text=str(exc)
        )
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        log.error("redis unavailable during %s: %s", what, exc, exc_info=exc)
        return Reply(blocks.message(STORE_DOWN), text="state store unavailable")
    if isinstance(exc, SlackCallError):
        log.error("slack refused during %s: %s", what, exc)
        return Reply(
            blocks.message(f":warning: Slack refused `{exc.method}`: `{exc.error}`."), text=exc.error
        )
    error_id = uuid.uuid4().hex[:8]
    log.exception("unexpected error %s during %s", error_id, what)
    return Reply(
        blocks.message(f":boom: Something went wrong ({what}). Error id `{error_id}` is in the bot's logs."),
        text="error",
    )


async def run_command(ctx: AppContext, body: dict[str, Any], ack: Ack) -> None:
    name = body.get("command", "")
    cmd = REGISTRY.get(name)
    if cmd is None:
        await ack(text=f"{name} is not handled by this bot.")
        return
    text = body.get("text") or ""
    sub, rest = cmd.route(text)
    if sub is None:
        problem = f"`{text.split()[0]}` is not a {name} command." if text.strip() else None
        reply = usage_reply(cmd, cmd.usage_lines(), problem)
        await ack(**reply.payload())
        COMMANDS.labels(name, "usage").inc()
        return
    try:
        args = sub.parse(rest)
    except UsageError as exc:
        await ack(**usage_reply(cmd, sub.usage, exc.problem).payload())
        COMMANDS.labels(name, "usage").inc()
        return
    except Exception as exc:  # a parser bug must still answer
        await ack(**failure_reply(exc, f"parsing {name}").payload())
        COMMANDS.labels(name, "error").inc()
        return
    claim = idempotency.command_claim(body)
    try:
        first = await idempotency.claim(ctx, claim)
    except Exception as exc:  # Redis down: nothing was done, say so in the ack
        await ack(**failure_reply(exc, f"{name} {sub.name}").payload())
        COMMANDS.labels(name, "error").inc()
        return
    if not first:
        await ack()
        COMMANDS.labels(name, "duplicate").inc()
        await audit.record(
            ctx,
            actor=body.get("user_id", ""),
            action=f"{name} {sub.name}",
            outcome="duplicate",
            incident=audit.incident_of(getattr(args, "incident_id", None)),
            channel=body.get("channel_id"),
            detail="Slack retry or repeated request ignored",
        )
        return
    await ack()
    req = Request(
        ctx=ctx,
        command=name,
        user_id=body.get("user_id", ""),
        channel_id=body.get("channel_id", ""),
        text=text,
        response_url=body.get("response_url"),
        trigger_id=body.get("trigger_id"),
    )
    outcome, detail = "ok", ""
    try:
        if sub.permission:
            await require(ctx, req.user_id, sub.permission)
        reply = await sub.handle(req, args)
    except UsageError as exc:
        outcome, reply, detail = "usage", usage_reply(cmd, sub.usage, exc.problem), exc.problem or ""
    except Exception as exc:
        outcome, reply, detail = outcome_of(exc), failure_reply(exc, f"{name} {sub.name}"), _detail(exc)
    COMMANDS.labels(name, outcome).inc()
    await audit.record(
        ctx,
        actor=req.user_id,
        action=f"{name} {sub.name}",
        outcome=outcome,
        incident=audit.incident_of(getattr(args, "incident_id", None)),
        channel=req.channel_id,
        detail=detail,
        text=text[:500],
    )
    if reply is not None:
        await _answer(ctx, req.response_url, reply)


async def run_action(ctx: AppContext, body: dict[str, Any], ack: Ack) -> None:
    await ack()
    for act in body.get("actions", []):
        action_id = act.get("action_id", "")
        handler = ACTIONS.get(action_id)
        if handler is None:
            log.warning("no handler for action %s", action_id)
            await _answer(
                ctx,
                body.get("response_url"),
                Reply(
                    blocks.message(":warning: This button is not handled by this version of the bot."),
                    text="unknown action",
                ),
            )
            continue
        if not await _first_click(ctx, body, act):
            continue
        selected = (act.get("selected_option") or {}).get("value")
        click = Click(
            ctx=ctx,
            user_id=(body.get("user") or {}).get("id", ""),
            action_id=action_id,
            value=act.get("value") or selected or "",
            channel_id=(body.get("channel") or {}).get("id"),
            message_ts=(body.get("container") or {}).get("message_ts"),
            body=body,
            selected=selected,
        )
        outcome, detail = "ok", ""
        try:
            if handler.permission:
                await require(ctx, click.user_id, handler.permission)
            reply = await handler.handle(click)
        except Exception as exc:
            outcome, reply, detail = outcome_of(exc), failure_reply(exc, action_id), _detail(exc)
        ACTION_METRIC.labels(action_id, outcome).inc()
        await audit.record(
            ctx,
            actor=click.user_id,
            action=f"button {action_id}",
            outcome=outcome,
            incident=audit.incident_of(click.value),
            channel=click.channel_id,
            detail=detail,
            value=click.value[:200],
        )
        if reply is not None:
            await _answer(ctx, body.get("response_url"), reply)


ALREADY_DONE = ":ballot_box_with_check: You already clicked that a moment ago; it was done once."


async def _first_click(ctx: AppContext, body: dict[str, Any], act: dict[str, Any]) -> bool:
    """False for a Slack retry (ignored) or a double click (answered): the action is not run again."""
    user = (body.get("user") or {}).get("id", "")
    action_id = act.get("action_id", "")
    try:
        if not await idempotency.claim(ctx, idempotency.action_claim(body, act)):
            ACTION_METRIC.labels(action_id, "duplicate").inc()
            return False
        if not await idempotency.claim(ctx, idempotency.click_claim(body, act)):
            ACTION_METRIC.labels(action_id, "duplicate").inc()
            await audit.record(
                ctx,
                actor=user,
                action=f"button {action_id}",
                outcome="duplicate",
                incident=audit.incident_of(act.get("value")),
                channel=(body.get("channel") or {}).get("id"),
                detail="double click ignored",
            )
            await _answer(
                ctx, body.get("response_url"), Reply(blocks.message(ALREADY_DONE), text="already done")
            )
            return False
    except Exception as exc:  # Redis down: nothing was done
        await _answer(ctx, body.get("response_url"), failure_reply(exc, action_id))
        ACTION_METRIC.labels(action_id, "error").inc()
        return False
    return True


async def run_view(ctx: AppContext, body: dict[str, Any], ack: Ack) -> None:
    view = body.get("view") or {}
    callback = view.get("callback_id", "")
    handler = VIEWS.get(callback)
    if handler is None:
        log.warning("no handler for view %s", callback)
        await ack()
        return
    values = {
        block_id: {
            aid: (v.get("value") or (v.get("selected_option") or {}).get("value")) for aid, v in acts.items()
        }
        for block_id, acts in ((view.get("state") or {}).get("values") or {}).items()
    }
    try:
        first = await idempotency.claim(ctx, idempotency.view_claim(body))
    except Exception as exc:  # Redis down: nothing was done
        first_block = next(iter(values), None)
        reply = failure_reply(exc, callback)
        await (
            ack(response_action="errors", errors={first_block: reply.text[:150]}) if first_block else ack()
        )
        return
    if not first:
        await ack()
        return
    try:
        errors = await handler(ctx, (body.get("user") or {}).get("id", ""), values, body)
    except Exception as exc:
        reply = failure_reply(exc, callback)
        first_block = next(iter(values), None)
        if first_block:
            await ack(response_action="errors", errors={first_block: reply.text[:150]})
        else:
            await ack()
        return
    if errors:
        await ack(response_action="errors", errors=errors)
    else:
        await ack()
