"""Start-up wiring of the review part (listed in chatops/product.py): the ``reaction_added``
listener that pins war-room messages to the timeline, registered with the one listener pipeline
(bot/listeners.py ``event``: idempotency, audit and metrics like every other listener)."""

from __future__ import annotations

import logging

from bot.context import AppContext
from bot.listeners import Reply, SlackEvent, event
from bot.parts import BotApp
from bot.review.pins import on_reaction

log = logging.getLogger(__name__)


@event("reaction_added")
async def reaction_added(ev: SlackEvent) -> Reply | None:
    await on_reaction(ev.ctx, ev.event)  # it answers the reacting person itself (ephemeral)
    return None


class ReviewPart:
    name = "review"

    def routes(self, app: BotApp) -> None:
        """The listener registers on import (above)."""

    async def start(self, ctx: AppContext) -> None:
        """Nothing runs in the background: pins are handled as reactions arrive."""

    async def stop(self) -> None:
        """Nothing to stop."""


def make_part() -> ReviewPart:
    return ReviewPart()
