"""Jinja2 for Markdown documents: sandboxed, every value escaped for Markdown (not for Slack).

User text cannot open a link, a heading, emphasis, code or a table cell: the characters that carry
meaning in CommonMark/GFM are backslash-escaped and line breaks in values become spaces, so a value
always stays inside the table cell or line where the template put it.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

log = logging.getLogger(__name__)

NAMES_VAR = "_names"
_INLINE = re.compile(r"([\\`*_\[\]<>|~])")
_LINE_START = re.compile(r"^(\s*)([#>+=-])", re.MULTILINE)
_ORDERED = re.compile(r"^(\s*\d+)([.)])", re.MULTILINE)


class MarkdownSafe(str):
    """Text already fit for Markdown: not escaped again."""


def md_escape(value: Any) -> str:
    """One line of Markdown that shows ``value`` literally."""
    if isinstance(value, MarkdownSafe):
        return value
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    text = _INLINE.sub(r"\\\1", text)
    text = _ORDERED.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def md_datetime(value: datetime | None) -> MarkdownSafe:
    if value is None:
        return MarkdownSafe("—")
    return MarkdownSafe(value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"))


def md_link(label: str, url: str) -> MarkdownSafe:
    safe_url = url.replace(" ", "%20").replace(")", "%29").replace("(", "%28")
    return MarkdownSafe(f"[{md_escape(label)}]({safe_url})")


def _finalize(value: Any) -> Any:
    return md_escape(value)


class TemplateFailure(Exception):
    """A review template that does not render; the message says why."""


@pass_context
def _person(context: Context, user_id: Any) -> MarkdownSafe:
    """A user id as the person's name (from the names given to ``render_markdown``)."""
    if not user_id:
        return MarkdownSafe("—")
    names = context.get(NAMES_VAR) or {}
    return MarkdownSafe(md_escape(names.get(str(user_id), user_id)))


@lru_cache(maxsize=1)
def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        finalize=_finalize, undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )
    env.filters["datetime"] = md_datetime
    env.filters["link"] = md_link
    env.filters["person"] = _person
    return env


def render_markdown(source: str, context: dict[str, Any], names: dict[str, str]) -> str:
    try:
        return _environment().from_string(source).render(**context, **{NAMES_VAR: names})
    except TemplateError as exc:
        log.error("review template failed: %s", exc)
        raise TemplateFailure(f"the review template failed: {exc}") from exc


def check_template(source: str) -> str | None:
    try:
        _environment().parse(source)
    except TemplateError as exc:
        return f"template `review.template`: {exc}"
    return None
