"""The sandbox server: one aiohttp app with the Web API, response URLs, uploads, JSON API and page."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox.config import SandboxConfig
from sandbox.core import Core
from sandbox.delivery import Delivery
from sandbox.home import HomeTab
from sandbox.interactions import Interactions
from sandbox.jsonapi import JsonApi
from sandbox.methods_files import FileRoutes
from sandbox.responses import ResponseUrls
from sandbox.socket_mode import SocketMode
from sandbox.webapi import WebApi
from sandbox.workspace import Channel

log = logging.getLogger("sandbox")

STATIC_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


class Page:
    """Serves the page from the package's static/ folder (package data, nothing from the internet)."""

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/", self.index), web.get("/static/{name}", self.static)]

    @staticmethod
    def _read(name: str) -> bytes | None:
        if "/" in name or "\\" in name or name.startswith("."):
            return None
        res = resources.files("sandbox").joinpath("static", name)
        return res.read_bytes() if res.is_file() else None

    async def index(self, request: web.Request) -> web.Response:
        body = self._read("index.html")
        if body is None:
            return web.Response(status=500, text="sandbox page missing from the package")
        return web.Response(body=body, content_type="text/html", headers={"Cache-Control": "no-cache"})

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = self._read(name)
        if body is None:
            return web.Response(status=404, text="not found")
        ctype = STATIC_TYPES.get(Path(name).suffix, "application/octet-stream")
        return web.Response(body=body, content_type=ctype, headers={"Cache-Control": "no-cache"})


class Sandbox:
    """A local Slack workspace. ``await start()``, point the bot at :attr:`api_url`, set :attr:`bot_url`."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        seed_path: str | Path | None = None,
        bot_url: str | None = None,
    ) -> None:
        self.core = Core(config, seed_path)
        self.delivery = Delivery(self.core.config.signing_secret, self.core.config.ack_timeout_seconds)
        self.delivery.bot_url = bot_url
        self.delivery.event_retry_delays = list(self.core.config.event_retry_delays)
        self.actions = Interactions(self.core, self.delivery)
        self.home = HomeTab(self.core, self.delivery, self.actions)  # the App Home tab
        self.socket = SocketMode(self.core, self.delivery)
        self.delivery.socket = self.socket
        self.app = self.build_app()
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.add_routes(self.socket.routes())  # apps.connections.open before the generic /api route
        app.add_routes(WebApi(self.core).routes())
        app.add_routes(ResponseUrls(self.core).routes())
        app.add_routes(FileRoutes(self.core).routes())
        app.add_routes(JsonApi(self.core, self.delivery, self.actions).routes())
        app.add_routes(self.home.routes())
        app.add_routes(Page().routes())
        return app

    # ---- lifecycle -----------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Sandbox:
        if self._runner is not None:
            raise RuntimeError("sandbox already started")
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        addresses = runner.addresses
        bound_port = int(addresses[0][1]) if addresses else port
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self._url = f"http://{shown}:{bound_port}"
        self.core.base_url = self._url
        await self.delivery.start()
        log.info("Slack sandbox listening on %s (Web API at %s)", self._url, self.api_url)
        return self

    async def stop(self) -> None:
        self.core.hub.close_all()
        await self.socket.close()
        await self.delivery.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Sandbox:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- properties ----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("sandbox not started")
        return self._url

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    @property
    def config(self) -> SandboxConfig:
        return self.core.config

    @property
    def bot_token(self) -> str:
        return self.core.config.bot_token

    @property
    def signing_secret(self) -> str:
        return self.core.config.signing_secret

    @property
    def app_token(self) -> str:
        """The app-level token (``xapp-``) that ``apps.connections.open`` accepts (Socket Mode)."""
        return self.socket.app_token

    @property
    def bot_url(self) -> str | None:
        return self.delivery.bot_url

    @bot_url.setter
    def bot_url(self, value: str | None) -> None:
        self.delivery.bot_url = value

    @property
    def team_id(self) -> str:
        return self.core.workspace.team_id

    @property
    def bot_user_id(self) -> str:
        return self.core.workspace.bot.user_id

    # ---- acting as users -----------------------------------------------------------------------
    async def command(self, user: str, channel: str, command: str, text: str = "") -> dict[str, Any]:
        return await self.actions.command(user, channel, command, text)

    async def click(
        self,
        user: str,
        channel: str | None,
        message_ts: str | None,
        action_id: str,
        value: Any = None,
        selected_option: Any = None,
        view_id: str | None = None,
    ) -> dict[str, Any]:
        return await self.actions.click(user, channel, message_ts, action_id, value, selected_option, view_id)

    async def submit(self, user: str, view_id: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.actions.submit(user, view_id, values)

    async def close_view(self, user: str, view_id: str) -> dict[str, Any]:
        return await self.actions.close_view(user, view_id)

    async def react(self, user: str, channel: str, ts: str, name: str) -> dict[str, Any]:
        return await self.actions.react(user, channel, ts, name)

    async def say(self, user: str, channel: str, text: str, thread_ts: str | None = None) -> dict[str, Any]:
        return await self.actions.say(user, channel, text, thread_ts)

    # ---- reading state -------------------------------------------------------------------------
    def _channel(self, ref: str) -> Channel:
        channel = self.core.workspace.find_channel(ref)
        if channel is None:
            raise KeyError(f"no channel {ref!r}")
        return channel

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages of a channel, oldest first, in Slack's shape."""
        ws = self.core.workspace
        return [ws.message_to_slack(m) for m in self._channel(channel).top_level()]

    def replies(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """A thread: the parent first, then the replies, in Slack's shape."""
        ws = self.core.workspace
        return [ws.message_to_slack(m) for m in self._channel(channel).thread(ts)]

    def ephemerals(self, user: str, channel: str | None = None) -> list[dict[str, Any]]:
        ws = self.core.workspace
        u = ws.find_user(user)
        if u is None:
            raise KeyError(f"no user {user!r}")
        cid = self._channel(channel).id if channel else None
        return [
            ws.ephemeral_to_json(e)
            for e in ws.ephemerals
            if e.user == u.id and (cid is None or e.channel == cid)
        ]

    def views(self, user: str | None = None) -> list[dict[str, Any]]:
        ws = self.core.workspace
        found = ws.find_user(user) if user else None
        uid = found.id if found else None
        out = []
        for v in ws.views.values():
            if v.is_open and v.type == "modal" and (uid is None or v.user == uid):
                data = v.to_slack()
                data["user"] = v.user
                data["errors"] = v.errors
                out.append(data)
        return out

    def people_dm(self, *names: str) -> str:
        """The ID of the direct message between these people (the app is not part of it)."""
        ws = self.core.workspace
        users = [ws.find_user(n) for n in names]
        if not users or any(u is None or u.is_bot for u in users):
            raise KeyError(f"no people {names!r}")
        return ws.people_dm(*[u for u in users if u is not None]).id

    def channel_by_name(self, name: str) -> dict[str, Any]:
        channel = self._channel(name)
        data = self.core.workspace.channel_to_slack(channel)
        data["members"] = list(channel.members)
        return data

    def user_by_name(self, name: str) -> dict[str, Any]:
        ws = self.core.workspace
        user = ws.find_user(name)
        if user is None:
            raise KeyError(f"no user {name!r}")
        return user.to_slack(ws.team_id)

    def stats(self) -> dict[str, Any]:
        return self.core.stats_json()

    def unknown_calls(self) -> list[dict[str, Any]]:
        return list(self.core.unknown_calls)

    def deliveries(self) -> list[dict[str, Any]]:
        return list(self.delivery.log)

    # ---- control -------------------------------------------------------------------------------
    def reset(self) -> None:
        self.core.reset()

    def advance_time(self, seconds: float) -> None:
        """Move the sandbox clock forward (expiry of response_url, trigger_id; rate-limit refill)."""
        self.core.clock.advance(seconds)

    def set_faults(self, **changes: Any) -> SandboxConfig:
        """Change limits/faults at runtime, e.g. ``set_faults(fault_429_rate=0.2, seed=7)``."""
        merged = self.core.config.model_validate({**self.core.config.model_dump(), **changes})
        for key in changes:
            setattr(self.core.config, key, getattr(merged, key))
        if "seed" in changes:
            self.core.reseed_rng()
        if "ack_timeout_seconds" in changes:
            self.delivery.ack_timeout = self.core.config.ack_timeout_seconds
        if "event_retry_delays" in changes:
            self.delivery.event_retry_delays = list(self.core.config.event_retry_delays)
        return self.core.config


async def run_sandbox(
    host: str = "127.0.0.1",
    port: int = 8080,
    bot_url: str | None = None,
    *,
    config: SandboxConfig | None = None,
    seed_path: str | Path | None = None,
) -> Sandbox:
    """Start a sandbox in the running event loop and return it (it serves until ``await sb.stop()``)."""
    sandbox = Sandbox(config, seed_path=seed_path, bot_url=bot_url)
    await sandbox.start(host, port)
    return sandbox
