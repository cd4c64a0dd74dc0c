"""The Web API at ``/api/<method>``: argument parsing, token checks, faults, rate limits, dispatch."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sandbox.core import Core
from sandbox.ratelimit import SPECIAL
from sandbox.workspace import Channel, Message, User

log = logging.getLogger("sandbox.webapi")

Handler = Callable[["Call"], Awaitable[dict[str, Any]]]


@dataclass
class MethodSpec:
    name: str
    tier: int
    handler: Handler


REGISTRY: dict[str, MethodSpec] = {}


def method(name: str, tier: int) -> Callable[[Handler], Handler]:
    """Register a Web API method with its Slack rate-limit tier (1-4, or SPECIAL)."""

    def deco(fn: Handler) -> Handler:
        REGISTRY[name] = MethodSpec(name, tier, fn)
        return fn

    return deco


class SlackError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def invalid_arguments(*messages: str) -> SlackError:
    return SlackError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {m}" for m in messages]})


BOOLEANS = {"true": True, "false": False, "1": True, "0": False}

JSON_ARGS = {"blocks", "attachments", "view", "files", "metadata", "options"}


class Call:
    """One Web API call: its arguments and helpers to read them the way Slack does."""

    def __init__(self, core: Core, name: str, args: dict[str, Any], request: web.Request | None) -> None:
        self.core = core
        self.ws = core.workspace
        self.name = name
        self.args = args
        self.request = request

    def get(self, key: str, default: Any = None) -> Any:
        value = self.args.get(key, default)
        return default if value is None else value

    def arg(self, key: str, default: str | None = None) -> str | None:
        value = self.args.get(key)
        if value is None or value == "":
            return default
        return (
            value
            if isinstance(value, str)
            else json.dumps(value)
            if isinstance(value, dict | list)
            else str(value)
        )

    def require(self, key: str) -> str:
        value = self.arg(key)
        if value is None:
            raise invalid_arguments(f"missing required field: {key}")
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        """A boolean argument as Slack reads one: ``true``/``false``/``1``/``0`` (JSON booleans and
        0/1 in a JSON body too); anything else (``True``, ``yes``...) is ``invalid_arguments``."""
        value = self.args.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value in BOOLEANS:
            return BOOLEANS[value]
        log.warning("SANDBOX: %s got %s=%r, which is not a boolean Slack reads", self.name, key, value)
        raise invalid_arguments(f"{key} must be a boolean (true, false, 1 or 0), not {value!r}")

    def number(self, key: str, default: int) -> int:
        value = self.args.get(key)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise invalid_arguments(f"{key} must be an integer") from exc

    def json(self, key: str) -> Any:
        """A JSON-valued argument: decoded when it came as a string (form-encoded bodies)."""
        value = self.args.get(key)
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise SlackError(
                    f"invalid_{key}" if key in ("blocks", "attachments") else "invalid_arguments",
                    response_metadata={"messages": [f"[ERROR] {key} is not valid JSON"]},
                ) from exc
        return value

    def channel(self, key: str = "channel", *, allow_archived: bool = False) -> Channel:
        ref = self.arg(key)
        if ref is None:
            raise SlackError("channel_not_found")
        channel = self.ws.find_channel(ref)
        if channel is None and ref.startswith("U"):
            user = self.ws.find_user(ref)
            if user is not None:
                channel = self.ws.dm_channel(user)
        if channel is None or channel.without_bot:  # a DM between people is invisible to the app
            raise SlackError("channel_not_found")
        if channel.is_archived and not allow_archived:
            raise SlackError("is_archived")
        return channel

    def visible_channel(self, key: str = "channel", *, allow_archived: bool = True) -> Channel:
        """A channel the bot may read: public ones, or private ones it is a member of."""
        channel = self.channel(key, allow_archived=allow_archived)
        if (channel.is_private or channel.is_im) and self.ws.bot.user_id not in channel.members:
            if not channel.is_im:
                raise SlackError("channel_not_found")
        return channel

    def user(self, key: str = "user") -> User:
        ref = self.arg(key)
        user = self.ws.users.get(ref or "")
        if user is None:
            raise SlackError("user_not_found")
        return user

    def message(self, channel: Channel, key: str = "ts") -> Message:
        ts = self.arg(key)
        msg = channel.messages.get(ts or "")
        if msg is None:
            raise SlackError("message_not_found")
        return msg


async def read_args(request: web.Request) -> tuple[dict[str, Any], str | None]:
    """Query string + body (form-encoded, multipart or JSON); token from Authorization or ``token``."""
    args: dict[str, Any] = dict(request.query)
    ctype = request.content_type
    if request.method == "POST" and request.can_read_body:
        if ctype == "application/json":
            raw = await request.read()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise SlackError("invalid_json") from exc
                if not isinstance(body, dict):
                    raise SlackError("invalid_json")
                args.update(body)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    args[key] = value
        else:
            raw = await request.read()
            if raw.strip():
                from urllib.parse import parse_qsl

                args.update(dict(parse_qsl(raw.decode("utf-8", "replace"))))
    token: str | None = None
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
    if not token:
        token = args.get("token") or None
    args.pop("token", None)
    if ctype == "application/json" and not auth and token:
        # Slack ignores a token in a JSON body: JSON requests authenticate with the header only.
        token = None
    return args, token


def slack_json(
    data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(data, status=status, headers=headers)


class WebApi:
    def __init__(self, core: Core) -> None:
        self.core = core
        # Method modules register themselves on import.
        from sandbox import methods_chat, methods_conversations, methods_files, methods_misc, methods_users

        del methods_chat, methods_conversations, methods_files, methods_misc, methods_users

    def routes(self) -> list[web.RouteDef]:
        return [web.route("*", "/api/{method}", self.handle)]

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        core = self.core
        cfg = core.config
        spec = REGISTRY.get(name)
        if spec is None:
            core.count(name, "unknown_method")
            core.unknown_calls.append({"method": name, "at": core.clock.now(), "http_method": request.method})
            log.warning(
                "SANDBOX: unknown Slack Web API method called: %s (not implemented by the sandbox)", name
            )
            return slack_json({"ok": False, "error": "unknown_method", "req_method": name})
        try:
            args, token = await read_args(request)
        except SlackError as exc:
            core.count(name, exc.error)
            return slack_json({"ok": False, "error": exc.error})
        # Faults first: they model Slack or the network misbehaving, whoever calls.
        if cfg.fault_slow_rate and core.rng.random() < cfg.fault_slow_rate:
            core.count(name, "fault_slow")
            await asyncio.sleep(cfg.slow_seconds)
        if cfg.fault_5xx_rate and core.rng.random() < cfg.fault_5xx_rate:
            core.count(name, "fault_5xx")
            status = core.rng.choice((500, 502, 503))
            return web.Response(status=status, text=f"{status} sandbox injected server error")
        if token is None:
            core.count(name, "not_authed")
            return slack_json({"ok": False, "error": "not_authed"})
        if token != cfg.bot_token:
            core.count(name, "invalid_auth")
            return slack_json({"ok": False, "error": "invalid_auth"})
        if cfg.fault_429_rate and core.rng.random() < cfg.fault_429_rate:
            core.count(name, "fault_429")
            return self._ratelimited(cfg.fault_retry_after)
        call = Call(core, name, args, request)
        if cfg.rate_limits:
            retry = self._rate_check(spec, call)
            if retry:
                core.count(name, "ratelimited")
                log.info("sandbox rate limit: %s answered 429, Retry-After %s", name, retry)
                return self._ratelimited(retry)
        try:
            result = await spec.handler(call)
        except SlackError as exc:
            core.count(name, exc.error)
            return slack_json({"ok": False, "error": exc.error, **exc.extra})
        core.count(name, "ok")
        return slack_json({"ok": True, **result})

    def _rate_check(self, spec: MethodSpec, call: Call) -> int:
        cfg = self.core.config
        if spec.tier == SPECIAL:
            ref = call.arg("channel") or ""
            channel = call.ws.find_channel(ref)
            key = channel.id if channel else ref
            return self.core.limiter.check_post(key, cfg.post_burst, cfg.post_refill_per_second)
        per_minute = cfg.tier_per_minute.get(spec.tier)
        if not per_minute:
            return 0
        return self.core.limiter.check_tier(spec.name, per_minute)

    @staticmethod
    def _ratelimited(retry_after: int) -> web.Response:
        return slack_json(
            {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(retry_after)}
        )
