"""The one lifecycle every feature follows: a :class:`Part` plugs its routes into the bot's apps,
starts its background work with the process and stops it before Redis and Slack close.

The composition root (``chatops.product``) names the parts that make up the product; ``bot.app``
calls ``routes`` while building the apps, ``start`` in order at start-up and ``stop`` in reverse
order at shut-down. A part never imports ``bot.app``: it gets the apps it plugs into.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.context import AppContext


@dataclass(frozen=True)
class BotApp:
    """What a part plugs into: the HTTP server, the Slack (Bolt) app and the context they serve."""

    web: web.Application
    bolt: AsyncApp
    ctx: AppContext


@runtime_checkable
class Part(Protocol):
    """One feature's wiring into the process."""

    name: str

    def routes(self, app: BotApp) -> None:
        """Add HTTP routes and Slack listeners (before the apps start serving)."""

    async def start(self, ctx: AppContext) -> None:
        """Start background work and set the feature's runtime on ``ctx``."""

    async def stop(self) -> None:
        """Stop what ``start`` started and close the part's clients; safe if ``start`` never ran."""
