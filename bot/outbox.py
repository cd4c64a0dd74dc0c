"""Moved: the outbox lives in the ``bot.slack.outbox`` package.

Kept only so modules still being edited elsewhere in this round keep importing; new code imports
from ``bot.slack.outbox``. Remove once nothing imports ``bot.outbox``."""

from bot.slack.outbox import Op, Outbox, OutboxConfig, Rendered, lines_blocks

__all__ = ["Op", "Outbox", "OutboxConfig", "Rendered", "lines_blocks"]
