"""Markdown → Slack mrkdwn parts, and chunking of parts under Slack's limits.

The output is a list of :class:`Part` (``text`` in mrkdwn, ``code`` blocks, ``divider``); views turn
them into Block Kit sections. :func:`paginate` packs parts into messages so that no section text
exceeds 3000 characters and no message exceeds the block limit: the first page goes to the channel,
the rest continue in its thread, nothing is cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.blocks import escape

SECTION_TEXT_LIMIT = 3000  # Slack: section text
MESSAGE_BLOCK_LIMIT = 50  # Slack: blocks per message

PartKind = Literal["text", "code", "divider"]


@dataclass(frozen=True)
class Part:
    kind: PartKind
    text: str = ""


# ------------------------------------------------------------------------------------------- inline

_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*([^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
_LINK = re.compile(r"\[([^\]]+)\]\(\s*([^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC_STAR = re.compile(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_BARE_URL = re.compile(r"(?<![<|\w])(https?://[^\s<>()]+[^\s<>().,;:!?'\"])")


def _safe_url(url: str) -> str:
    return url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")


def inline(text: str) -> str:
    """One line of Markdown → mrkdwn: **b** → *b*, *i* → _i_, ~~s~~ → ~s~, [t](u) → <u|t>, escaping."""
    slots: list[str] = []

    def keep(value: str) -> str:
        slots.append(value)
        return f"\x00{len(slots) - 1}\x00"

    text = _CODE_SPAN.sub(lambda m: keep(f"`{escape(m.group(2))}`"), text)
    text = _AUTOLINK.sub(lambda m: keep(f"<{_safe_url(m.group(1))}>"), text)
    text = _IMAGE.sub(lambda m: keep(f"<{_safe_url(m.group(2))}|{escape(m.group(1)) or 'image'}>"), text)
    text = _LINK.sub(lambda m: keep(f"<{_safe_url(m.group(2))}|{_inline_label(m.group(1))}>"), text)
    text = _BARE_URL.sub(lambda m: keep(f"<{_safe_url(m.group(1))}>"), text)
    text = escape(text)
    text = _BOLD.sub(lambda m: f"\x01{m.group(2)}\x01", text)
    text = _ITALIC_STAR.sub(lambda m: f"_{m.group(1)}_", text)
    text = _STRIKE.sub(lambda m: f"~{m.group(1)}~", text)
    text = text.replace("\x01", "*")
    return re.sub(r"\x00(\d+)\x00", lambda m: slots[int(m.group(1))], text)


def _inline_label(label: str) -> str:
    # Link labels may carry emphasis but no nested links; '|' and '>' would break the <u|t> token.
    return escape(re.sub(r"(\*\*|__|`)", "", label)).replace("|", "¦")


# -------------------------------------------------------------------------------------------- blocks

_FENCE = re.compile(r"^\s{0,3}(```+|~~~+)\s*([\w+-]*)\s*$")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+(?:\[( |x|X)\]\s+)?(.*)$")
_NUMBERED = re.compile(r"^(\s*)(\d+)[.)]\s+(.*)$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
_TABLE = re.compile(r"^\s*\|.*\|\s*$")


def markdown_to_parts(markdown: str, *, skip_title: str | None = None) -> list[Part]:
    """Convert a Markdown document to mrkdwn text parts, code parts and dividers.

    ``skip_title``: drop a leading heading with this text (the view shows the title already)."""
    parts: list[Part] = []
    text_lines: list[str] = []
    paragraph: list[str] = []

    def flush_paragraph() -> None:
        if paragraph:
            text_lines.append(inline(" ".join(s.strip() for s in paragraph)))
            paragraph.clear()

    def flush_text() -> None:
        flush_paragraph()
        while text_lines and not text_lines[-1].strip():
            text_lines.pop()
        while text_lines and not text_lines[0].strip():
            text_lines.pop(0)
        if text_lines:
            parts.append(Part("text", "\n".join(text_lines)))
            text_lines.clear()

    lines = markdown.replace("\r\n", "\n").split("\n")
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    first = _HEADING.match(lines[i]) if i < len(lines) else None
    if skip_title and first and first.group(2).strip().lower() == skip_title.strip().lower():
        i += 1
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            flush_text()
            marker = fence.group(1)
            code: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(marker[:3]):
                code.append(lines[i])
                i += 1
            parts.append(Part("code", "\n".join(code)))
            i += 1
            continue
        if _TABLE.match(line):
            flush_text()
            table: list[str] = []
            while i < len(lines) and _TABLE.match(lines[i]):
                if not re.fullmatch(r"\s*\|[\s:|-]+\|\s*", lines[i]):
                    table.append(lines[i].strip())
                i += 1
            parts.append(Part("code", "\n".join(table)))
            continue
        if _RULE.match(line):
            flush_text()
            parts.append(Part("divider"))
            i += 1
            continue
        heading = _HEADING.match(line)
        if heading:
            flush_paragraph()
            if text_lines and text_lines[-1] != "":
                text_lines.append("")
            label = re.sub(r"(\*\*|__)", "", heading.group(2))
            text_lines.append(f"*{inline(label)}*")
            i += 1
            continue
        bullet = _BULLET.match(line)
        numbered = _NUMBERED.match(line)
        quote = _QUOTE.match(line)
        if bullet:
            flush_paragraph()
            depth = len(bullet.group(1).expandtabs(4)) // 2
            box = {" ": "☐ ", "x": "☑ ", "X": "☑ "}.get(bullet.group(2) or "", "")
            marker = "•" if depth == 0 else "◦"
            text_lines.append(f"{'    ' * depth}{marker} {box}{inline(bullet.group(3))}")
        elif numbered:
            flush_paragraph()
            depth = len(numbered.group(1).expandtabs(4)) // 3
            text_lines.append(f"{'    ' * depth}{numbered.group(2)}. {inline(numbered.group(3))}")
        elif quote:
            flush_paragraph()
            text_lines.append(f"> {inline(quote.group(1))}")
        elif not line.strip():
            flush_paragraph()
            if text_lines and text_lines[-1] != "":
                text_lines.append("")
        elif text_lines and re.match(r"^\s{2,}\S", line) and not paragraph and text_lines[-1].strip():
            # continuation of a list item
            text_lines[-1] += " " + inline(line.strip())
        else:
            paragraph.append(line)
        i += 1
    flush_text()
    return parts


# ------------------------------------------------------------------------------------------ chunking


def _split_text(text: str, limit: int) -> list[str]:
    """Split on blank lines, then lines, then hard, so each piece is at most ``limit`` characters."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for para in re.split(r"(?<=\n)\n", text):
        for line in para.split("\n") if len(para) > limit else [para.rstrip("\n")]:
            while len(line) > limit:
                if current:
                    pieces.append(current)
                    current = ""
                pieces.append(line[:limit])
                line = line[limit:]
            candidate = f"{current}\n{line}" if current else line
            if len(candidate) > limit:
                pieces.append(current)
                current = line
            else:
                current = candidate
    if current:
        pieces.append(current)
    return [p for p in pieces if p.strip()]


def _code_pieces(code: str, limit: int) -> list[str]:
    wrapper = len("```\n\n```")
    # Slack wants &, < and > escaped everywhere, code included; escape before measuring.
    return [f"```\n{piece}\n```" for piece in _split_text(escape(code) or " ", limit - wrapper)]


def chunk_parts(parts: list[Part], limit: int = SECTION_TEXT_LIMIT) -> list[Part]:
    """Merge consecutive text (and code) into as few sections as fit, each at most ``limit`` chars."""
    out: list[Part] = []
    buffer = ""

    def flush() -> None:
        nonlocal buffer
        if buffer.strip():
            out.append(Part("text", buffer.strip("\n")))
        buffer = ""

    for part in parts:
        if part.kind == "divider":
            flush()
            out.append(part)
            continue
        pieces = _code_pieces(part.text, limit) if part.kind == "code" else _split_text(part.text, limit)
        for piece in pieces:
            candidate = f"{buffer}\n\n{piece}" if buffer else piece
            if len(candidate) <= limit:
                buffer = candidate
            else:
                flush()
                buffer = piece
    flush()
    return out


def paginate(
    sections: list[Part],
    *,
    max_blocks: int = 40,
    max_chars: int = 12000,
    first_page_blocks: int | None = None,
) -> list[list[Part]]:
    """Pack sections into messages: at most ``max_blocks`` blocks and ``max_chars`` characters each.

    ``first_page_blocks`` leaves room on the first page for a header and buttons the view adds.
    """
    pages: list[list[Part]] = [[]]
    chars = 0
    for section in sections:
        budget = first_page_blocks if len(pages) == 1 and first_page_blocks is not None else max_blocks
        page = pages[-1]
        if page and (len(page) >= budget or chars + len(section.text) > max_chars):
            pages.append([])
            page = pages[-1]
            chars = 0
        page.append(section)
        chars += len(section.text)
    # A page never starts or ends with a lone divider.
    cleaned = [
        [p for j, p in enumerate(page) if not (p.kind == "divider" and j in (0, len(page) - 1))]
        for page in pages
    ]
    return [page for page in cleaned if page] or [[]]
