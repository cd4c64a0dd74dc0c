"""The composition root: the command modules and the parts that make up the bot.

A command module registers its listeners (slash commands, buttons, modals) when it is imported; a
part module has ``make_part()`` returning a :class:`bot.parts.Part`. Every name below must import:
a missing or mistyped module stops the start-up with :class:`StartupError`, it is never skipped.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType

from aiohttp import web

from bot.app import build_web_app
from bot.context import AppContext
from bot.parts import Part

# modules whose import registers listeners in bot.listeners
COMMAND_MODULES: tuple[str, ...] = (
    "bot.incidents.buttons",
    "commands.incident",
    "commands.status",
    "commands.runbook",
    "commands.escalate",
    "commands.incident_review",
)
# started in this order, stopped in the reverse order
PART_MODULES: tuple[str, ...] = (
    "bot.slack.part",
    "bot.incidents.part",
    "bot.incidents.home_part",
    "bot.alerts.part",
    "bot.review.part",
    "bot.escalation.part",
    "bot.escalation.handoff_part",
    "bot.runbooks.part",
)


class StartupError(SystemExit):
    """The product cannot be assembled (a module is missing or is not what it should be)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def _import(name: str, what: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == name or name.startswith(exc.name + ".")):
            raise StartupError(
                f"{what} module {name!r} (listed in chatops.product) does not exist: {exc}"
            ) from exc
        raise  # the module exists but imports something missing: its own traceback says what


def load_commands(modules: Sequence[str] = COMMAND_MODULES) -> None:
    """Import the command modules (their listeners register on import)."""
    for name in modules:
        _import(name, "command")


def load_parts(modules: Sequence[str] = PART_MODULES) -> list[Part]:
    """A new part from each module's ``make_part()``, in order."""
    parts: list[Part] = []
    for name in modules:
        module = _import(name, "part")
        factory = getattr(module, "make_part", None)
        if not callable(factory):
            raise StartupError(f"part module {name!r} has no make_part() function")
        part = factory()
        if not isinstance(part, Part):
            raise StartupError(
                f"part module {name!r}: make_part() returned {type(part).__name__}, "
                "which lacks name, routes(app), start(ctx) or stop()"
            )
        parts.append(part)
    names = [p.name for p in parts]
    if len(set(names)) != len(names):
        raise StartupError(f"two parts share a name: {', '.join(names)}")
    return parts


def assemble(commands: Sequence[str] | None = None, parts: Sequence[str] | None = None) -> list[Part]:
    """Import the command modules and make the parts (default: the product's lists above)."""
    load_commands(COMMAND_MODULES if commands is None else commands)
    return load_parts(PART_MODULES if parts is None else parts)


def build_app(
    ctx: AppContext, parts: Sequence[Part] | None = None, *, client_max_size: int = 1024 * 1024
) -> web.Application:
    """The bot's web app for ``ctx`` with ``parts`` (default: the whole product) plugged in."""
    return build_web_app(ctx, assemble() if parts is None else parts, client_max_size=client_max_size)
