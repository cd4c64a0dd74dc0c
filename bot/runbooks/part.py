"""Start-up wiring of the runbook part (listed in ``bot.app.PARTS``): load the runbooks once to report
broken files in the log at start, and close the cluster and Prometheus clients at shutdown."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.context import AppContext
from bot.runbooks.service import EXTRAS_KEY, RunbookService, service_for

log = logging.getLogger(__name__)


async def setup(app: web.Application, ctx: AppContext) -> None:
    service = service_for(ctx)
    library = service.library()
    log.info("runbooks: %d loaded from %s", len(library.runbooks), ", ".join(ctx.policy.runbooks.paths))
    for problem in library.errors:
        log.warning("runbooks: %s", problem)

    async def close(app: web.Application) -> None:
        existing = ctx.extras.pop(EXTRAS_KEY, None)
        if isinstance(existing, RunbookService):
            existing.close()

    app.on_cleanup.append(close)
