"""The framework's floor: a minimal Bolt AsyncApp that only acknowledges slash commands, served the
way the bot serves Bolt (aiohttp + slack_bolt's aiohttp adapter), pointed at the same sandbox.

    python -m bench.floor --port 3100 --api-url http://127.0.0.1:8080/api/ --secret S
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def build(api_url: str, token: str, secret: str) -> web.Application:
    bolt = AsyncApp(client=AsyncWebClient(token=token, base_url=api_url), signing_secret=secret)

    @bolt.command("/incident")
    async def ack_only(ack: Any) -> None:
        await ack()

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", health)
    return app


async def serve(args: argparse.Namespace) -> None:
    runner = web.AppRunner(build(args.api_url, args.token, args.secret), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    print(f"floor app on http://127.0.0.1:{args.port}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--token", default="xoxb-sandbox-token")
    parser.add_argument("--secret", required=True)
    try:
        asyncio.run(serve(parser.parse_args()))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
