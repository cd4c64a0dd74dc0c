"""Start-up wiring of the review part: the Bolt ``reaction_added`` listener that pins war-room
messages to the timeline (listed in ``bot.app.PARTS``)."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from bot.context import AppContext
from bot.review.pins import on_reaction

log = logging.getLogger(__name__)


async def setup(app: web.Application, ctx: AppContext) -> None:
    from bot.app import BOLT_KEY

    bolt = app[BOLT_KEY]

    async def reaction_added(event: dict[str, Any]) -> None:
        try:
            await on_reaction(ctx, event)
        except Exception:
            log.exception("handling reaction_added failed: %s", event)

    bolt.event("reaction_added")(reaction_added)
