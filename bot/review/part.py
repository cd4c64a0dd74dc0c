"""Start-up wiring of the review part (listed in chatops/product.py): the Bolt ``reaction_added``
listener that pins war-room messages to the timeline."""

from __future__ import annotations

import logging
from typing import Any

from bot.context import AppContext
from bot.parts import BotApp
from bot.review.pins import on_reaction

log = logging.getLogger(__name__)


class ReviewPart:
    name = "review"

    def routes(self, app: BotApp) -> None:
        ctx = app.ctx

        async def reaction_added(event: dict[str, Any]) -> None:
            try:
                await on_reaction(ctx, event)
            except Exception:
                log.exception("handling reaction_added failed: %s", event)

        app.bolt.event("reaction_added")(reaction_added)

    async def start(self, ctx: AppContext) -> None:
        """Nothing runs in the background: pins are handled as reactions arrive."""

    async def stop(self) -> None:
        """Nothing to stop."""


def make_part() -> ReviewPart:
    return ReviewPart()
