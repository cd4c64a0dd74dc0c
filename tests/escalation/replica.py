"""A second bot process for the exactly-once test: the real web app and its escalation worker, with
settings from the environment like ``chatops serve``, and the gateway's pacing off (the sandbox's
rate limits are off in that test too) so a hundred incidents take seconds, not minutes.

    python -m tests.escalation.replica PORT
"""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web

from bot.config.policy import load_policy
from bot.context import build_context
from bot.settings import Settings
from bot.slack.gateway import GatewayConfig
from chatops.product import build_app


async def serve(port: int) -> None:
    settings = Settings()
    ctx = build_context(
        settings, load_policy(settings.chatops_config), gateway_config=GatewayConfig(pacing=False)
    )
    runner = web.AppRunner(build_app(ctx), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
