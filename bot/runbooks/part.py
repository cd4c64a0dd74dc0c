"""Start-up wiring of the runbook part (listed in chatops/product.py): load the runbooks once to report
broken files in the log at start, and close the cluster and Prometheus clients at shutdown."""

from __future__ import annotations

import logging

from bot.context import AppContext
from bot.parts import BotApp
from bot.runbooks.service import service_for

log = logging.getLogger(__name__)


class RunbooksPart:
    name = "runbooks"

    def __init__(self) -> None:
        self._ctx: AppContext | None = None

    def routes(self, app: BotApp) -> None:
        """No routes: runbooks work through /runbook, buttons and alert enrichment."""

    async def start(self, ctx: AppContext) -> None:
        self._ctx = ctx
        library = service_for(ctx).library()
        log.info("runbooks: %d loaded from %s", len(library.runbooks), ", ".join(ctx.policy.runbooks.paths))
        for problem in library.errors:
            log.warning("runbooks: %s", problem)

    async def stop(self) -> None:
        if self._ctx is None:
            return
        service, self._ctx.runbooks = self._ctx.runbooks, None
        if service is not None:
            service.close()


def make_part() -> RunbooksPart:
    return RunbooksPart()
