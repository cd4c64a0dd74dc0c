"""A small real HTTP server standing in for the bot: records what the sandbox delivers and checks
every signature with slack_sdk's SignatureVerifier."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from slack_sdk.signature import SignatureVerifier


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]
    verified: bool
    form: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] | None = None

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.form["payload"])


Responder = Callable[[Received], Awaitable[web.StreamResponse]]


class Receiver:
    """A real aiohttp server at /slack/events that records what the sandbox delivers."""

    def __init__(self, signing_secret: str) -> None:
        self.verifier = SignatureVerifier(signing_secret)
        self.requests: list[Received] = []
        self.respond: Responder = self._empty
        self._runner: web.AppRunner | None = None
        self.url = ""

    @staticmethod
    async def _empty(req: Received) -> web.StreamResponse:
        return web.Response(status=200)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items()}
        rec = Received(body=body, headers=headers, verified=self.verifier.is_valid_request(body, headers))
        if request.content_type == "application/json":
            rec.json = json.loads(body)
        else:
            rec.form = dict(parse_qsl(body.decode()))
        self.requests.append(rec)
        if not rec.verified:
            return web.Response(status=401, text="invalid signature")
        return await self.respond(rec)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/slack/events", self.handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/slack/events"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def json_reply(data: dict[str, Any]) -> Responder:
    async def respond(req: Received) -> web.StreamResponse:
        return web.json_response(data)

    return respond
