"""Small Block Kit helpers shared by the views; they keep every text within Slack's limits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

SECTION_TEXT_MAX = 3000
HEADER_TEXT_MAX = 150
BUTTON_TEXT_MAX = 75
FIELD_TEXT_MAX = 2000
MAX_BLOCKS = 50
MESSAGE_TEXT_MAX = 40_000


def escape(value: Any) -> str:
    """Escape Slack's control characters (``&``, ``<``, ``>``) so text can never form a broadcast
    (``<!channel>``), a link or a mention; None is the empty text. The one escape in the bot."""
    text = "" if value is None else str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """The inverse of :func:`escape` (and of Slack's own encoding of message text)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def defang(text: str) -> str:
    """Neutralise Slack broadcasts (<!channel>, <!here>, <!everyone>, <!subteam^…>) in text that
    otherwise keeps its mrkdwn and user links (refusals and usage answers quote user input)."""
    return text.replace("<!", "&lt;!")


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters; a cut text ends in an ellipsis."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=clip(text, HEADER_TEXT_MAX), emoji=True))


def section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text or " ", SECTION_TEXT_MAX)))


def sections(text: str) -> list[SectionBlock]:
    """Long mrkdwn split over several sections at line breaks rather than cut."""
    out: list[SectionBlock] = []
    chunk = ""
    for line in text.splitlines(keepends=True):
        while len(line) > SECTION_TEXT_MAX:
            if chunk:
                out.append(section(chunk))
                chunk = ""
            out.append(section(line[:SECTION_TEXT_MAX]))
            line = line[SECTION_TEXT_MAX:]
        if len(chunk) + len(line) > SECTION_TEXT_MAX:
            out.append(section(chunk))
            chunk = ""
        chunk += line
    if chunk.strip():
        out.append(section(chunk))
    return out or [section(" ")]


def fields(pairs: Sequence[tuple[str, str]]) -> SectionBlock:
    return SectionBlock(
        fields=[MarkdownTextObject(text=clip(f"*{k}*\n{v}", FIELD_TEXT_MAX)) for k, v in list(pairs)[:10]]
    )


def context(*texts: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(t, SECTION_TEXT_MAX)) for t in texts[:10]])


def limit_blocks(blocks: list[Block]) -> list[Block]:
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    return [*blocks[: MAX_BLOCKS - 1], context(f"… {len(blocks) - MAX_BLOCKS + 1} more not shown")]


def to_dicts(blocks: Sequence[Block]) -> list[dict]:
    return [b.to_dict() for b in blocks]


def message(text: str) -> list[Block]:
    return [section(defang(text))]


def usage(command: str, usage_lines: list[str], problem: str | None = None) -> list[Block]:
    body = "\n".join(f"`{u}`" for u in usage_lines)
    blocks: list[Block] = []
    if problem:
        blocks.append(section(f":warning: {defang(problem)}"))
    blocks.append(section(f"*Usage of {command}*\n{body}"))
    return blocks
