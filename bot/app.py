"""The bot process: a Bolt AsyncApp for Slack plus the HTTP endpoints around it (aiohttp).

Routes: POST /slack/events (commands, interactivity, events), GET /healthz, GET /readyz,
GET /metrics, and whatever the parts add (POST /alerts/alertmanager from the alerts part).
Which commands and parts make up the product is decided above this module (``chatops.product``):
:func:`build_web_app` gets the parts it plugs in (:class:`bot.parts.Part`), calls their ``routes``
now, ``start`` at start-up and ``stop`` at shut-down, in reverse order, before Redis closes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot.context import AppContext, slack_client
from bot.logs import add_secrets
from bot.parts import BotApp, Part
from bot.pipeline import admit_event, run_action, run_command, run_event, run_shortcut
from bot.slack.errors import SlackCallError
from bot.submissions import run_view

log = logging.getLogger(__name__)

CTX_KEY: web.AppKey[AppContext] = web.AppKey("ctx", AppContext)
BOLT_KEY: web.AppKey[AsyncApp] = web.AppKey("bolt", AsyncApp)


def build_bolt(ctx: AppContext) -> AsyncApp:
    """Every kind of Slack request goes to the one listener pipeline (bot/pipeline.py); each kind
    has a catch-all listener, so a request nobody registered is acknowledged there (HTTP 200,
    logged) instead of Bolt's 404, which Slack would retry."""
    settings = ctx.settings
    bolt = AsyncApp(
        client=slack_client(settings),
        signing_secret=settings.slack_signing_secret.get_secret_value() or None,
        request_verification_enabled=bool(settings.slack_signing_secret.get_secret_value()),
        raise_error_for_unhandled_request=False,
    )
    anything = re.compile(".*")

    async def on_command(ack: Any, body: dict[str, Any]) -> None:
        await run_command(ctx, body, ack)

    async def on_action(ack: Any, body: dict[str, Any]) -> None:
        await run_action(ctx, body, ack)

    async def on_shortcut(ack: Any, body: dict[str, Any]) -> None:
        await run_shortcut(ctx, body, ack)

    async def on_view(ack: Any, body: dict[str, Any]) -> None:
        await run_view(ctx, body, ack)

    async def on_view_closed(ack: Any) -> None:
        await ack()

    async def on_options(ack: Any, body: dict[str, Any]) -> None:
        log.warning("no options for %s; answered with none", body.get("action_id") or body.get("name"))
        await ack(options=[])

    async def on_event(body: dict[str, Any]) -> None:
        await run_event(ctx, body)  # acked by Bolt; admitted by the middleware below

    bolt.command(anything)(on_command)
    bolt.action(anything)(on_action)
    bolt.shortcut(anything)(on_shortcut)
    bolt.view_submission(anything)(on_view)
    bolt.view_closed(anything)(on_view_closed)
    bolt.options(anything)(on_options)
    bolt.event(anything)(on_event)

    @bolt.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("unhandled error in a Slack listener: %r", error, exc_info=error)

    bolt.middleware(_dedupe_events(ctx))
    return bolt


class InsecureConfig(SystemExit):
    """Refusing to serve Slack over HTTP without request verification."""


def require_request_verification(settings: Any) -> bool:
    """Whether /slack/events is served; raises ``InsecureConfig`` for unsigned HTTP mode.

    HTTP mode needs SLACK_SIGNING_SECRET (Slack's v0 signatures are checked on every request).
    CHATOPS_INSECURE_NO_SIGNATURE=1 serves unsigned requests, for a local sandbox only. With only
    SLACK_APP_TOKEN (Socket Mode) Slack does not call us over HTTP: /slack/events is not served.
    """
    if settings.slack_signing_secret.get_secret_value():
        return True
    if settings.insecure_no_signature:
        log.warning("serving /slack/events WITHOUT signature checks (CHATOPS_INSECURE_NO_SIGNATURE)")
        return True
    if settings.slack_app_token.get_secret_value():
        log.info("no SLACK_SIGNING_SECRET: Socket Mode only, /slack/events is not served")
        return False
    raise InsecureConfig(
        "SLACK_SIGNING_SECRET is not set: refusing to accept unsigned Slack requests over HTTP. "
        "Set it (or a secret file in CHATOPS_SECRETS_DIR); for a local sandbox only, "
        "CHATOPS_INSECURE_NO_SIGNATURE=1 turns the check off."
    )


def _dedupe_events(ctx: AppContext) -> Any:
    """Events API requests pass the pipeline's routing and retry claim before Bolt acks them:
    an event nobody listens to, or one Slack retried (same event_id), is answered 200 here and
    not run; when Redis is down the claim raises, Bolt answers 500 and Slack retries later."""
    from slack_bolt.response import BoltResponse

    async def middleware(body: dict[str, Any], next: Any) -> Any:
        if body.get("type") == "event_callback" and not await admit_event(ctx, body):
            return BoltResponse(status=200, body="")
        return await next()

    return middleware


async def _slack_events(request: web.Request) -> web.Response:
    bolt = request.app[BOLT_KEY]
    try:
        bolt_req = await to_bolt_request(request)
    except UnicodeDecodeError:
        return web.json_response({"error": "the request body is not UTF-8"}, status=400)
    bolt_resp = await bolt.async_dispatch(bolt_req)
    return await to_aiohttp_response(bolt_resp)


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _readyz(request: web.Request) -> web.Response:
    ctx = request.app[CTX_KEY]
    try:
        await ctx.redis.execute_command("PING")  # typed for asyncio (ping() is typed for both clients)
    except Exception as exc:
        log.warning("not ready: redis: %s", exc)
        return web.json_response({"ok": False, "redis": "unavailable"}, status=503)
    return web.json_response({"ok": True, "redis": "ok"})


async def _metrics(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _learn_identity(ctx: AppContext) -> None:
    try:
        resp = await ctx.gateway.call("auth.test")
        ctx.bot_user_id = resp.get("user_id")
    except SlackCallError as exc:
        log.error("auth.test failed: %s (check SLACK_BOT_TOKEN and SLACK_API_URL)", exc)


def build_web_app(
    ctx: AppContext, parts: Sequence[Part], *, client_max_size: int = 1024 * 1024
) -> web.Application:
    """The web app serving ``ctx`` with ``parts`` plugged in. The command modules must be imported
    already (their listeners register on import): ``chatops.product`` does both."""
    serve_slack = require_request_verification(ctx.settings)
    add_secrets(*ctx.settings.secret_values())
    app = web.Application(client_max_size=client_max_size)
    app[CTX_KEY] = ctx
    app[BOLT_KEY] = build_bolt(ctx)
    if serve_slack:
        app.router.add_post("/slack/events", _slack_events)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)

    plugged = BotApp(web=app, bolt=app[BOLT_KEY], ctx=ctx)
    for part in parts:
        part.routes(plugged)
    started: list[Part] = []

    async def startup(app: web.Application) -> None:
        await _learn_identity(ctx)
        for part in parts:
            started.append(part)  # a part whose start failed half-way is stopped too
            try:
                await part.start(ctx)
            except BaseException:
                log.error("part %s failed to start; stopping the parts started so far", part.name)
                await shutdown(app)
                raise
            log.info("part %s started", part.name)

    async def shutdown(app: web.Application) -> None:
        while started:
            part = started.pop()
            try:
                await part.stop()
            except Exception:
                log.exception("part %s did not stop cleanly", part.name)

    async def cleanup(app: web.Application) -> None:
        await ctx.close()

    app.on_startup.append(startup)
    app.on_shutdown.append(shutdown)
    app.on_cleanup.append(cleanup)
    return app
