"""Socket Mode: Slack's commands, clicks and events over a WebSocket instead of HTTP.

``chatops socket`` and ``chatops sandbox --socket`` use this. The app-level token (``xapp-``, scope
``connections:write``) opens the connection through ``apps.connections.open`` at SLACK_API_URL, so
the same code runs against Slack and against the sandbox. Every envelope goes to the same Bolt app
(and so the same listener pipeline) as ``POST /slack/events``; the health, metrics and alert
endpoints stay on HTTP.
"""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.app import BOLT_KEY
from bot.settings import Settings

log = logging.getLogger("chatops.socket_mode")


class SocketModeConfigError(SystemExit):
    """Socket Mode cannot start with these settings (no or wrong app-level token)."""


def app_token(settings: Settings) -> str:
    token = settings.slack_app_token.get_secret_value()
    if not token:
        raise SocketModeConfigError("SLACK_APP_TOKEN (xapp-...) is needed for Socket Mode.")
    if not token.startswith("xapp-"):
        raise SocketModeConfigError(
            "SLACK_APP_TOKEN must be an app-level token (xapp-..., scope connections:write), "
            "not a bot or user token."
        )
    return token


def socket_handler(app: web.Application, settings: Settings) -> AsyncSocketModeHandler:
    """A Socket Mode handler for the bot's Bolt app; ``await handler.connect_async()`` connects
    (and reconnects by itself on ``disconnect``), ``await handler.close_async()`` ends it."""
    bolt = app[BOLT_KEY]
    handler = AsyncSocketModeHandler(bolt, app_token(settings))
    # apps.connections.open goes where every other Web API call goes (SLACK_API_URL).
    handler.client.web_client.base_url = settings.api_base
    return handler
