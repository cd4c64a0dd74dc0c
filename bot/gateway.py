"""Moved: the gateway lives in ``bot.slack.gateway``, its errors in ``bot.slack.errors``.

Kept only so modules still being edited elsewhere in this round keep importing; new code imports
from ``bot.slack``. Remove once nothing imports ``bot.gateway`` (``grep -rn "bot.gateway"``)."""

from bot.slack.errors import ErrorKind, SlackCallError
from bot.slack.gateway import GatewayConfig, SlackGateway

__all__ = ["ErrorKind", "GatewayConfig", "SlackCallError", "SlackGateway"]
