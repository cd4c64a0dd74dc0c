"""The listener vocabulary and its registries: slash commands, buttons, modals, shortcuts, events.

A command module declares a pydantic model per sub-command (parsing), a handler (calls the core)
and uses a view (renders). Buttons (``@action``), modal submissions (``@view_submission``),
shortcuts (``@shortcut``) and Events API events (``@event``) register a handler and the permission
it needs. Every kind runs through the same pipeline (bot/pipeline.py): ack within Slack's 3 s,
idempotency, the permission check for the person who acted, the handler, an audit record, metrics
and an answer where the user is.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from slack_sdk.models.blocks import Block

from bot.blocks import context, escape
from bot.context import AppContext
from bot.text import split, unquote, user_id_of  # noqa: F401  (the parsers' vocabulary: Slack text)

M = TypeVar("M", bound=BaseModel)
INCIDENT_ID = re.compile(r"^(?:#?inc-)?#?\d{1,9}$", re.IGNORECASE)
MAX_TEXT = 3000


class UsageError(Exception):
    """Bad or missing arguments: answered with the problem and the command's usage."""

    def __init__(self, problem: str | None = None) -> None:
        super().__init__(problem or "")
        self.problem = problem


def looks_like_incident(word: str) -> bool:
    return bool(INCIDENT_ID.match(word.strip()))


def one_line(value: str, missing: str) -> str:
    """For a model's validator: white space folded to single spaces; ``missing`` as the error when
    nothing is left."""
    folded = " ".join(value.split())
    if not folded:
        raise ValueError(missing)
    return folded


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
# buttons, modals, shortcuts and events: one registry each, the same checks as commands, the person
# who acted is the actor


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


@dataclass
class Submission:
    """A modal's submission: ``values`` maps block_id -> action_id -> the submitted value."""

    ctx: AppContext
    user_id: str
    callback_id: str
    values: dict[str, dict[str, Any]]
    private_metadata: str
    body: dict[str, Any]

    def value(self, block_id: str, action_id: str | None = None) -> Any:
        """One field's value (the block's only element when ``action_id`` is not given)."""
        fields = self.values.get(block_id) or {}
        if action_id is not None:
            return fields.get(action_id)
        return next(iter(fields.values()), None)

    def text(self, block_id: str, action_id: str | None = None) -> str:
        value = self.value(block_id, action_id)
        return value.strip() if isinstance(value, str) else ""


FieldErrors = dict[str, str]  # block_id -> what is wrong; answered in the ack, the modal stays open
Finish = Callable[[], Awaitable[Reply | None]]  # the slow rest of the work, run after the ack
ViewHandler = Callable[[Submission], Awaitable[FieldErrors | Finish | None]]


@dataclass
class ViewListener:
    callback_id: str
    check: ViewHandler
    permission: str | None


VIEWS: dict[str, ViewListener] = {}


def view_submission(callback_id: str, permission: str | None = None) -> Callable[[ViewHandler], ViewHandler]:
    """Register a modal's submit handler, the permission it needs checked first.

    The handler is the fast validation step, run before the ack (Slack waits at most 3 s): it
    reads, never writes, and returns field errors (the modal stays open with them), or a ``Finish``
    coroutine function that does the work after the ack (the modal has closed; its reply reaches
    the user as a direct message), or None when there is nothing more to do. Raising ``Refused``
    (or a permission ``Denied``) shows the reason under the modal's first field.
    """

    def register(fn: ViewHandler) -> ViewHandler:
        VIEWS[callback_id] = ViewListener(callback_id, fn, permission)
        return fn

    return register


@dataclass
class ShortcutUse:
    """A global shortcut (``message`` is None) or a message shortcut (the message and its channel)."""

    ctx: AppContext
    user_id: str
    callback_id: str
    trigger_id: str | None
    channel_id: str | None
    message: dict[str, Any] | None
    body: dict[str, Any]


ShortcutHandler = Callable[[ShortcutUse], Awaitable[Reply | None]]


@dataclass
class ShortcutListener:
    callback_id: str
    handle: ShortcutHandler
    permission: str | None


SHORTCUTS: dict[str, ShortcutListener] = {}


def shortcut(callback_id: str, permission: str | None = None) -> Callable[[ShortcutHandler], ShortcutHandler]:
    """Register a global or message shortcut's handler (Slack's ``callback_id``)."""

    def register(fn: ShortcutHandler) -> ShortcutHandler:
        SHORTCUTS[callback_id] = ShortcutListener(callback_id, fn, permission)
        return fn

    return register


@dataclass
class SlackEvent:
    """An Events API event; ``user_id`` is the person who caused it (empty when none did)."""

    ctx: AppContext
    type: str
    user_id: str
    channel_id: str | None
    event: dict[str, Any]
    body: dict[str, Any]


EventHandler = Callable[[SlackEvent], Awaitable[Reply | None]]


@dataclass
class EventListener:
    type: str
    handle: EventHandler
    permission: str | None


EVENTS: dict[str, EventListener] = {}


def event(event_type: str, permission: str | None = None) -> Callable[[EventHandler], EventHandler]:
    """Register an Events API event's handler; a reply reaches the user as an ephemeral in the
    event's channel (or a DM). Events nobody registered are acknowledged and logged."""

    def register(fn: EventHandler) -> EventHandler:
        EVENTS[event_type] = EventListener(event_type, fn, permission)
        return fn

    return register
