"""The bot's web process with the alert worker and outbox *not started*: the intake route alone.

Used by the intake bench beside the real process to show how much of one core the handler itself
needs and how much the worker, which shares the event loop in the production process, takes. Same
settings from the environment as ``python -m bot.cli serve``.

    python -m bench.intake_only --port 3000
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web

from bot.alerts import service
from bot.app import build_web_app
from bot.cli import _context
from bot.logs import setup_logging
from bot.settings import Settings


async def serve(port: int) -> None:
    settings = Settings()
    setup_logging(settings.log_format)
    # the runtime is built (routes, keys) but its worker and outbox tasks are never started
    service.AlertsRuntime.start = lambda self: None  # type: ignore[method-assign]
    runner = web.AppRunner(build_web_app(_context(settings)), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.intake_only", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    try:
        asyncio.run(serve(parser.parse_args().port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
