"""A response_url sink for the slash-command load: answers 200 to every POST and counts them, so the
bench can check that the bot finished the work behind every acknowledged command.

    python -m bench.sink --port 9000      (POST /r/<n>, GET /count)
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web


def build() -> web.Application:
    count = 0

    async def respond(request: web.Request) -> web.Response:
        nonlocal count
        await request.read()
        count += 1
        return web.json_response({"ok": True})

    async def get_count(request: web.Request) -> web.Response:
        return web.json_response({"count": count})

    app = web.Application()
    app.router.add_post("/r/{n}", respond)
    app.router.add_get("/count", get_count)
    return app


async def serve(port: int) -> None:
    runner = web.AppRunner(build(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sink", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    try:
        asyncio.run(serve(parser.parse_args().port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
