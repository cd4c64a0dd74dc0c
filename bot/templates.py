"""Message templates: Jinja2 in a sandbox, every value escaped for Slack mrkdwn.

User text can never ping a channel (``<!channel>`` becomes ``&lt;!channel&gt;``) nor be run as a
template (it is data, never source). Filters that build Slack links mark their output safe.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot.blocks import escape as escape  # re-exported: templates escape with the one escape

log = logging.getLogger(__name__)


class SlackSafe(str):
    """Text already fit for mrkdwn: not escaped again."""


def _finalize(value: Any) -> Any:
    if isinstance(value, SlackSafe):
        return value
    return escape(value)


def user_link(user_id: Any) -> SlackSafe:
    uid = str(user_id or "")
    if uid and uid.replace("_", "").isalnum() and uid[0] in "UWB":
        return SlackSafe(f"<@{uid}>")
    return SlackSafe(escape(uid or "someone"))


def channel_link(channel: Any) -> SlackSafe:
    cid = getattr(channel, "channel_id", channel)
    cid = str(cid or "")
    if cid.isalnum() and cid[:1] in "CG":
        return SlackSafe(f"<#{cid}>")
    return SlackSafe(escape(cid))


def slack_date(value: datetime | None, fmt: str = "{date_short_pretty} {time}") -> SlackSafe:
    if value is None:
        return SlackSafe("—")
    ts = int(value.timestamp())
    fallback = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return SlackSafe(f"<!date^{ts}^{fmt}|{fallback}>")


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(finalize=_finalize, undefined=StrictUndefined, autoescape=False)
    env.filters["user"] = user_link
    env.filters["channel"] = channel_link
    env.filters["date"] = slack_date
    return env


class TemplateFailure(Exception):
    """A policy template that does not render; the message says which one and why."""


def render(name: str, source: str, context: dict[str, Any]) -> str:
    try:
        return environment().from_string(source).render(**context).strip()
    except TemplateError as exc:
        log.error("template %s failed: %s", name, exc)
        raise TemplateFailure(f"template `{name}` failed: {exc}") from exc


def check_template(name: str, source: str) -> str | None:
    """Syntax check for check-config; None when fine."""
    try:
        environment().parse(source)
    except TemplateError as exc:
        return f"template `{name}`: {exc}"
    return None
