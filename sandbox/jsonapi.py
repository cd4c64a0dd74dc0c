"""The JSON API for scripts, tests and the page (``/sandbox/...``). Reading Slack state goes through
Slack's own methods; these endpoints cover what Slack has no API for (acting as a user, ephemerals)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from sandbox.config import FAULT_FIELDS
from sandbox.core import Core
from sandbox.delivery import Delivery
from sandbox.interactions import InteractionError, Interactions
from sandbox.workspace import Channel, User

log = logging.getLogger("sandbox.jsonapi")


def _may_read(channel: Channel, user: User | None) -> bool:
    """The page, acting as ``user``, reads a private channel or a DM only as its member (without a
    user, as scripts and tests do, everything is readable)."""
    return user is None or not (channel.is_private or channel.is_im) or user.id in channel.members


def _bad(error: str, status: int = 400, **extra: Any) -> web.Response:
    return web.json_response({"ok": False, "error": error, **extra}, status=status)


class JsonApi:
    def __init__(self, core: Core, delivery: Delivery, actions: Interactions) -> None:
        self.core = core
        self.delivery = delivery
        self.actions = actions

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/sandbox/command", self.command),
            web.post("/sandbox/click", self.click),
            web.post("/sandbox/submit", self.submit),
            web.post("/sandbox/close_view", self.close_view),
            web.post("/sandbox/react", self.react),
            web.post("/sandbox/say", self.say),
            web.get("/sandbox/ephemeral", self.ephemeral),
            web.get("/sandbox/views", self.views),
            web.get("/sandbox/stats", self.stats),
            web.get("/sandbox/unknown", self.unknown),
            web.post("/sandbox/reset", self.reset),
            web.get("/sandbox/faults", self.get_faults),
            web.post("/sandbox/faults", self.set_faults),
            web.post("/sandbox/clock", self.clock),
            web.get("/sandbox/bot_url", self.get_bot_url),
            web.post("/sandbox/bot_url", self.set_bot_url),
            web.get("/sandbox/deliveries", self.deliveries),
            web.get("/sandbox/workspace", self.workspace),
            web.get("/sandbox/channel", self.channel_state),
            web.get("/sandbox/thread", self.thread_state),
            web.get("/sandbox/events", self.events),
        ]

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            data = await request.json() if request.can_read_body else {}
        except json.JSONDecodeError as exc:
            raise web.HTTPBadRequest(
                text=json.dumps({"ok": False, "error": "invalid_json"}), content_type="application/json"
            ) from exc
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(
                text=json.dumps({"ok": False, "error": "invalid_json"}), content_type="application/json"
            )
        return data

    @staticmethod
    def _require(data: dict[str, Any], *keys: str) -> None:
        missing = [k for k in keys if not data.get(k)]
        if missing:
            raise web.HTTPBadRequest(
                text=json.dumps({"ok": False, "error": "missing_field", "fields": missing}),
                content_type="application/json",
            )

    async def _run(self, coro: Any) -> web.Response:
        try:
            result = await coro
        except InteractionError as exc:
            return _bad(
                exc.error,
                400 if exc.error not in ("message_not_found", "view_not_found") else 404,
                **exc.extra,
            )
        return web.json_response(result)

    # ---- acting as users -----------------------------------------------------------------------
    async def command(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        self._require(data, "user", "channel", "command")
        return await self._run(
            self.actions.command(
                str(data["user"]), str(data["channel"]), str(data["command"]), str(data.get("text", ""))
            )
        )

    async def click(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        self._require(data, "user", "action_id")
        if not data.get("view_id"):
            self._require(data, "channel", "message_ts")
        return await self._run(
            self.actions.click(
                str(data["user"]),
                data.get("channel"),
                data.get("message_ts"),
                str(data["action_id"]),
                value=data.get("value"),
                selected_option=data.get("selected_option"),
                view_id=data.get("view_id"),
            )
        )

    async def submit(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        self._require(data, "user", "view_id")
        values = data.get("values") or {}
        if not isinstance(values, dict):
            return _bad("invalid_values")
        return await self._run(self.actions.submit(str(data["user"]), str(data["view_id"]), values))

    async def close_view(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        self._require(data, "user", "view_id")
        return await self._run(self.actions.close_view(str(data["user"]), str(data["view_id"])))

    async def react(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        self._require(data, "user", "channel", "ts", "name")
        return await self._run(
            self.actions.react(str(data["user"]), str(data["channel"]), str(data["ts"]), str(data["name"]))
        )

    async def say(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        self._require(data, "user", "channel", "text")
        return await self._run(
            self.actions.say(
                str(data["user"]), str(data["channel"]), str(data["text"]), data.get("thread_ts")
            )
        )

    # ---- what Slack has no API for -------------------------------------------------------------
    async def ephemeral(self, request: web.Request) -> web.Response:
        ws = self.core.workspace
        user = ws.find_user(request.query.get("user"))
        if user is None:
            return _bad("user_not_found", 404)
        channel_ref = request.query.get("channel")
        channel = ws.find_channel(channel_ref) if channel_ref else None
        if channel_ref and channel is None:
            return _bad("channel_not_found", 404)
        items = [
            ws.ephemeral_to_json(e)
            for e in ws.ephemerals
            if e.user == user.id and (channel is None or e.channel == channel.id)
        ]
        return web.json_response({"ok": True, "messages": items})

    async def views(self, request: web.Request) -> web.Response:
        ws = self.core.workspace
        ref = request.query.get("user")
        user = ws.find_user(ref) if ref else None
        if ref and user is None:
            return _bad("user_not_found", 404)
        items = []
        for v in ws.views.values():
            if v.is_open and v.type == "modal" and (user is None or v.user == user.id):
                data = v.to_slack()
                data["user"] = v.user
                data["errors"] = v.errors
                items.append(data)
        return web.json_response({"ok": True, "views": items})

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.core.stats_json())

    async def unknown(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "calls": list(self.core.unknown_calls)})

    async def reset(self, request: web.Request) -> web.Response:
        self.core.reset()
        return web.json_response({"ok": True})

    def _faults(self) -> dict[str, Any]:
        cfg = self.core.config.model_dump()
        return {k: cfg[k] for k in FAULT_FIELDS}

    async def get_faults(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "config": self._faults()})

    async def set_faults(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        unknown = sorted(set(data) - set(FAULT_FIELDS))
        if unknown:
            return _bad("unknown_field", fields=unknown)
        if "tier_per_minute" in data and isinstance(data["tier_per_minute"], dict):
            data["tier_per_minute"] = {int(k): int(v) for k, v in data["tier_per_minute"].items()}
        try:
            merged = self.core.config.model_validate({**self.core.config.model_dump(), **data})
        except ValidationError as exc:
            return _bad("invalid_value", detail=exc.errors(include_url=False, include_context=False))
        for key in data:
            setattr(self.core.config, key, getattr(merged, key))
        if "seed" in data:
            self.core.reseed_rng()
        if "ack_timeout_seconds" in data:
            self.delivery.ack_timeout = self.core.config.ack_timeout_seconds
        if "event_retry_delays" in data:
            self.delivery.event_retry_delays = list(self.core.config.event_retry_delays)
        return web.json_response({"ok": True, "config": self._faults()})

    async def clock(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        try:
            seconds = float(data.get("advance", 0))
            self.core.clock.advance(seconds)
        except (TypeError, ValueError) as exc:
            return _bad("invalid_value", detail=str(exc))
        return web.json_response({"ok": True, "now": self.core.clock.now()})

    async def get_bot_url(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "bot_url": self.delivery.bot_url})

    async def set_bot_url(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        url = data.get("bot_url")
        if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
            return _bad("invalid_url")
        self.delivery.bot_url = url
        return web.json_response({"ok": True, "bot_url": url})

    async def deliveries(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "deliveries": list(self.delivery.log)})

    # ---- state for the page --------------------------------------------------------------------
    async def workspace(self, request: web.Request) -> web.Response:
        ws = self.core.workspace
        viewer = ws.find_user(request.query.get("user")) if request.query.get("user") else None
        channels = []
        for c in ws.channels.values():
            if viewer is not None and (c.is_private or c.is_im) and viewer.id not in c.members:
                continue  # as Slack: a private channel exists only for its members
            data = ws.channel_to_slack(c)
            data["members"] = list(c.members)
            data["bookmarks"] = list(c.bookmarks)
            data["pins"] = [m.ts for m in c.pins()]
            channels.append(data)
        return web.json_response(
            {
                "ok": True,
                "team": {"id": ws.team_id, "name": ws.team_name, "domain": ws.team_domain},
                "bot": {"user_id": ws.bot.user_id, "bot_id": ws.bot.bot_id, "name": ws.bot.name},
                "users": [u.to_slack(ws.team_id) for u in ws.users.values()],
                "usergroups": [g.to_slack(ws.team_id, include_users=True) for g in ws.usergroups.values()],
                "channels": channels,
                "slash_commands": ws.slash_commands,
                "bot_url": self.delivery.bot_url,
            }
        )

    async def channel_state(self, request: web.Request) -> web.Response:
        ws = self.core.workspace
        channel = ws.find_channel(request.query.get("channel"))
        user = ws.find_user(request.query.get("user"))
        if channel is None or not _may_read(channel, user):
            return _bad("channel_not_found", 404)
        messages = [ws.message_to_slack(m) for m in channel.top_level()]
        ephemerals = [
            ws.ephemeral_to_json(e)
            for e in ws.ephemerals
            if user is not None and e.user == user.id and e.channel == channel.id and not e.thread_ts
        ]
        return web.json_response(
            {
                "ok": True,
                "channel": {
                    **ws.channel_to_slack(channel),
                    "members": channel.members,
                    "bookmarks": channel.bookmarks,
                },
                "messages": messages,
                "ephemerals": ephemerals,
                "pins": [ws.message_to_slack(m) for m in channel.pins()],
            }
        )

    async def thread_state(self, request: web.Request) -> web.Response:
        ws = self.core.workspace
        channel = ws.find_channel(request.query.get("channel"))
        user = ws.find_user(request.query.get("user"))
        if channel is None or not _may_read(channel, user):
            return _bad("channel_not_found", 404)
        ts = request.query.get("ts", "")
        if ts not in channel.messages:
            return _bad("thread_not_found", 404)
        messages = [ws.message_to_slack(m) for m in channel.thread(ts)]
        ephemerals = [
            ws.ephemeral_to_json(e)
            for e in ws.ephemerals
            if user is not None and e.user == user.id and e.channel == channel.id and e.thread_ts == ts
        ]
        return web.json_response({"ok": True, "messages": messages, "ephemerals": ephemerals})

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: one JSON line per change; the page refetches what changed."""
        resp = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await resp.prepare(request)
        queue = self.core.hub.subscribe()
        try:
            await resp.write(b"event: hello\ndata: {}\n\n")
            while self.core.hub.is_subscribed(queue):
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=15)
                except TimeoutError:
                    await resp.write(b": keep-alive\n\n")
                    continue
                if event.get("type") == "_close":
                    break
                await resp.write(f"data: {json.dumps(event)}\n\n".encode())
        except ConnectionResetError:
            log.debug("SSE client went away")
        finally:
            self.core.hub.unsubscribe(queue)
        return resp
