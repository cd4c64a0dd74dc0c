"""What every slash command shares: text splitting, usage errors, replies and a sub-command registry.

A command module declares a pydantic model per sub-command (parsing), a handler (calls the core)
and uses a view (renders). The Bolt wiring in bot/app.py does the rest: ack at once, run the
handler after, answer every failure in words.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from slack_sdk.models.blocks import Block

from bot.blocks import context
from bot.context import AppContext
from bot.templates import escape

M = TypeVar("M", bound=BaseModel)
INCIDENT_ID = re.compile(r"^(?:#?inc-)?#?\d{1,9}$", re.IGNORECASE)
USER_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$|^([UW][A-Z0-9]{2,})$")
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’"}
MAX_TEXT = 3000


class UsageError(Exception):
    """Bad or missing arguments: answered with the problem and the command's usage."""

    def __init__(self, problem: str | None = None) -> None:
        super().__init__(problem or "")
        self.problem = problem


def unquote(text: str) -> str:
    t = text.strip()
    if len(t) >= 2 and t[0] in _QUOTES and t[-1] == _QUOTES[t[0]]:
        return t[1:-1].strip()
    return t


def split(text: str, words: int) -> list[str]:
    """The first ``words`` whitespace-separated words, then the rest of the text (quotes optional)."""
    parts = text.strip().split(maxsplit=words)
    if len(parts) > words:
        return [*parts[:words], unquote(parts[words])]
    return parts


def looks_like_incident(word: str) -> bool:
    return bool(INCIDENT_ID.match(word.strip()))


def user_id_of(word: str) -> str | None:
    m = USER_MENTION.match(word.strip())
    return (m.group(1) or m.group(2)) if m else None


def _usage_of(exc: ValidationError) -> UsageError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return UsageError(f"{where}: {first['msg'].removeprefix('Value error, ')}")


def validate(model: type[M], **data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _usage_of(exc) from exc


def usage_errors(parse: Parser) -> Parser:
    """Registered parsers answer bad text with a UsageError even when they build a model directly."""

    @functools.wraps(parse)
    def checked(text: str) -> BaseModel:
        try:
            return parse(text)
        except ValidationError as exc:
            raise _usage_of(exc) from exc

    return checked


@dataclass
class Request:
    ctx: AppContext
    command: str
    user_id: str
    channel_id: str
    text: str
    response_url: str | None = None
    trigger_id: str | None = None


@dataclass
class Reply:
    blocks: list[Block]
    text: str = ""
    in_channel: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "response_type": "in_channel" if self.in_channel else "ephemeral",
            "text": self.text or "ChatOps",
            "blocks": [b.to_dict() for b in self.blocks],
        }


Parser = Callable[[str], BaseModel]
Handler = Callable[[Request, Any], Awaitable[Reply | None]]


@dataclass
class Subcommand:
    name: str
    usage: list[str]
    summary: str
    parse: Parser
    handle: Handler
    permission: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass
class SlashCommand:
    """One slash command with verbs (``/incident create ...``); ``default`` runs when no verb matches."""

    name: str
    summary: str
    subcommands: dict[str, Subcommand] = field(default_factory=dict)
    default: str | None = None

    def sub(
        self,
        name: str,
        *,
        usage: list[str],
        summary: str,
        parse: Parser,
        permission: str | None = None,
        aliases: tuple[str, ...] = (),
    ) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            sub = Subcommand(name, usage, summary, usage_errors(parse), fn, permission, aliases)
            for word in (name, *aliases):
                self.subcommands[word] = sub
            return fn

        return register

    def usage_lines(self) -> list[str]:
        seen: list[Subcommand] = []
        for sub in self.subcommands.values():
            if sub not in seen:
                seen.append(sub)
        return [line for sub in seen for line in sub.usage]

    def route(self, text: str) -> tuple[Subcommand | None, str]:
        """The sub-command named by the first word and the rest of the text."""
        words = text.strip().split(maxsplit=1)
        verb = words[0].lower() if words else ""
        rest = words[1] if len(words) > 1 else ""
        if verb in self.subcommands:
            return self.subcommands[verb], rest
        if self.default and self.default in self.subcommands:
            return self.subcommands[self.default], text.strip()
        return None, text


REGISTRY: dict[str, SlashCommand] = {}


def slash_command(name: str, summary: str, default: str | None = None) -> SlashCommand:
    if name not in REGISTRY:
        REGISTRY[name] = SlashCommand(name, summary, default=default)
    return REGISTRY[name]


def with_problems(reply: Reply, problems: list[str]) -> Reply:
    if problems:
        text = ":warning: Done, but some Slack steps failed (state is saved):\n" + "\n".join(
            f"• {escape(p)}" for p in problems[:10]
        )
        reply.blocks.append(context(text))
    return reply


# --------------------------------------------------------------------------------------------
# buttons and modals: one registry each, the same checks as commands, the clicker is the actor


@dataclass
class Click:
    ctx: AppContext
    user_id: str
    action_id: str
    value: str
    channel_id: str | None
    message_ts: str | None
    body: dict[str, Any]
    selected: str | None = None


ActionHandler = Callable[[Click], Awaitable[Reply | None]]


@dataclass
class Action:
    action_id: str
    handle: ActionHandler
    permission: str | None


ACTIONS: dict[str, Action] = {}


def action(action_id: str, permission: str | None = None) -> Callable[[ActionHandler], ActionHandler]:
    def register(fn: ActionHandler) -> ActionHandler:
        ACTIONS[action_id] = Action(action_id, fn, permission)
        return fn

    return register


ViewHandler = Callable[[AppContext, str, dict[str, Any], dict[str, Any]], Awaitable[dict[str, Any] | None]]
VIEWS: dict[str, ViewHandler] = {}


def view_submission(callback_id: str) -> Callable[[ViewHandler], ViewHandler]:
    """Register a modal's submit handler: (ctx, user, values, body) -> errors dict or None."""

    def register(fn: ViewHandler) -> ViewHandler:
        VIEWS[callback_id] = fn
        return fn

    return register
