"""Answers where the user is, and every failure put into words.

A listener's answer goes to the place the user is looking at: the ack itself (a slash command's
text, a modal's field errors), the request's ``response_url`` (an ephemeral reply to a command,
a button or a message shortcut), an ephemeral message in the channel (an event), or a direct
message when Slack gave us nowhere else (a global shortcut, a modal's work after its ack).

No stack trace ever reaches a user: an unexpected error is logged with an error id, and the user
is given that id, wherever the answer goes.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot import blocks
from bot.blocks import clip, to_dicts
from bot.context import AppContext
from bot.core.state import Refused
from bot.core.store import NotFound
from bot.listeners import Reply, SlashCommand
from bot.permissions import Denied
from bot.slack.errors import SlackCallError

log = logging.getLogger(__name__)

STORE_DOWN = (
    ":warning: The state store (Redis) is unavailable right now, so nothing was changed. "
    "Try again in a minute; the on-call for the bot has been told in the logs."
)
MODAL_ERROR_MAX = 150  # keep a field error short enough to read under the field


@dataclass(frozen=True)
class Failure:
    """What an exception means for the user (``reply``) and for the audit trail."""

    outcome: str  # denied / refused / error
    detail: str
    reply: Reply
    error_id: str | None = None


def failure(exc: Exception, what: str) -> Failure:
    """The answer to an exception raised while handling ``what`` (logged unless expected)."""
    if isinstance(exc, Denied):
        return Failure(
            "denied",
            f"missing permission: {exc.permission}",
            Reply(blocks.message(f":no_entry: {exc}"), text=str(exc)),
        )
    if isinstance(exc, Refused):
        return Failure("refused", str(exc)[:300], Reply(blocks.message(f":no_entry: {exc}"), text=str(exc)))
    if isinstance(exc, NotFound):
        text = f":no_entry: {exc} — `/incident list` shows the open ones."
        return Failure("refused", str(exc)[:300], Reply(blocks.message(text), text=str(exc)))
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        log.error("redis unavailable during %s: %s", what, exc, exc_info=exc)
        return Failure(
            "error",
            f"state store unavailable: {exc}"[:300],
            Reply(blocks.message(STORE_DOWN), text=STORE_DOWN),
        )
    if isinstance(exc, SlackCallError):
        log.error("slack refused during %s: %s", what, exc)
        text = f"Slack refused `{exc.method}`: `{exc.error}`."
        return Failure("error", text, Reply(blocks.message(f":warning: {text}"), text=text))
    error_id = uuid.uuid4().hex[:8]
    log.error("unexpected error %s during %s", error_id, what, exc_info=exc)
    text = f"Something went wrong ({what}). Error id {error_id} is in the bot's logs."
    return Failure(
        "error",
        f"error id {error_id}: {type(exc).__name__}: {exc}"[:300],
        Reply(
            blocks.message(
                f":boom: Something went wrong ({what}). Error id `{error_id}` is in the bot's logs."
            ),
            text=text,
        ),
        error_id,
    )


def usage_reply(cmd: SlashCommand, lines: list[str], problem: str | None) -> Reply:
    return Reply(blocks.usage(cmd.name, lines, problem), text=problem or f"Usage of {cmd.name}")


def modal_errors(block_id: str | None, reply: Reply) -> dict[str, Any]:
    """A failure shown under a modal's field (the modal stays open): the ack's payload."""
    if not block_id:
        return {}
    return {"response_action": "errors", "errors": {block_id: clip(reply.text, MODAL_ERROR_MAX)}}


@dataclass(frozen=True)
class Where:
    """Where the user who acted is, for answers after the ack."""

    user: str
    channel: str | None = None
    response_url: str | None = None

    async def send(self, ctx: AppContext, reply: Reply) -> None:
        """response_url when Slack gave one, else an ephemeral in the channel, else a DM. Never raises:
        an answer that cannot be delivered is logged with its text."""
        try:
            if self.response_url:
                await ctx.gateway.respond(self.response_url, reply.payload())
            elif self.channel and self.user and not reply.in_channel:
                await ctx.gateway.call(
                    "chat.postEphemeral",
                    channel=self.channel,
                    user=self.user,
                    text=reply.text or "ChatOps",
                    blocks=to_dicts(reply.blocks),
                )
            elif self.channel and reply.in_channel:
                await ctx.gateway.call(
                    "chat.postMessage",
                    channel=self.channel,
                    text=reply.text or "ChatOps",
                    blocks=to_dicts(reply.blocks),
                )
            elif self.user:
                await ctx.gateway.call(
                    "chat.postMessage",
                    channel=self.user,
                    text=reply.text or "ChatOps",
                    blocks=to_dicts(reply.blocks),
                )
            else:
                log.warning("nobody to answer: %s", reply.text)
        except SlackCallError as exc:
            log.error("answering the user failed: %s (answer was: %s)", exc, reply.text)
        except Exception as exc:  # the answer is the last step: log, never lose the reason silently
            log.error("answering the user failed: %r (answer was: %s)", exc, reply.text, exc_info=exc)
