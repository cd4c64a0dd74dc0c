"""Markdown → Slack mrkdwn parts, and chunking of parts under Slack's limits.

Markdown is parsed by markdown-it-py (CommonMark, plus GitHub's tables and strikethrough); the syntax
tree is rendered to a list of :class:`Part` (``text`` in mrkdwn, ``code`` blocks, ``divider``) that
views turn into Block Kit sections. Tables become aligned monospace blocks, nested lists keep their
depth, HTML comments vanish, links become Slack links. :func:`paginate` packs parts into messages so
that no section text exceeds 3000 characters and no message exceeds the block limit: the first page
goes to the channel, the rest continue in its thread, nothing is cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from bot.blocks import escape

SECTION_TEXT_LIMIT = 3000  # Slack: section text
MESSAGE_BLOCK_LIMIT = 50  # Slack: blocks per message

PartKind = Literal["text", "code", "divider"]

__all__ = ["Part", "chunk_parts", "escape", "inline", "markdown_to_parts", "paginate"]


@dataclass(frozen=True)
class Part:
    kind: PartKind
    text: str = ""


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


_BARE_URL = re.compile(r"(?<![<|\w])(https?://[^\s<>()]+[^\s<>().,;:!?'\"])")
_TAG = re.compile(r"<[^>]*>")
_BREAK_TAG = re.compile(r"^<br\s*/?>$", re.I)


def _safe_url(url: str) -> str:
    return url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C").replace(" ", "%20")


def _absolute(url: str) -> bool:
    return url.lower().startswith(("http://", "https://", "mailto:"))


def _text(content: str) -> str:
    """Plain text → mrkdwn: escaped, bare URLs made links."""
    out: list[str] = []
    last = 0
    for m in _BARE_URL.finditer(content):
        out.append(escape(content[last : m.start()]))
        out.append(f"<{_safe_url(m.group(1))}>")
        last = m.end()
    out.append(escape(content[last:]))
    return "".join(out)


def _plain(node: SyntaxTreeNode) -> str:
    """The text of an inline subtree without any formatting (link labels, table cells, headings)."""
    if node.type in ("text", "code_inline"):
        return node.content
    if node.type in ("softbreak", "hardbreak"):
        return " "
    if node.type == "html_inline":
        return ""
    if node.type == "image":
        return "".join(_plain(c) for c in node.children) or "image"
    return "".join(_plain(c) for c in node.children)


def _inline(node: SyntaxTreeNode) -> str:
    """An inline subtree → mrkdwn."""
    kind = node.type
    if kind == "text":
        return _text(node.content)
    if kind == "softbreak":
        return " "
    if kind == "hardbreak":
        return "\n"
    if kind == "code_inline":
        code = escape(node.content.replace("`", "'"))
        return f"`{code}`"
    if kind == "html_inline":
        return "\n" if _BREAK_TAG.match(node.content.strip()) else ""  # comments and tags vanish
    inner = "".join(_inline(c) for c in node.children)
    if kind == "strong":
        return f"*{inner}*" if inner.strip() else inner
    if kind == "em":
        return f"_{inner}_" if inner.strip() else inner
    if kind == "s":
        return f"~{inner}~" if inner.strip() else inner
    if kind == "link":
        href = str(node.attrs.get("href", ""))
        label = escape(_plain(node)).replace("|", "¦")
        if node.markup == "autolink" or not label:
            return f"<{_safe_url(href)}>" if _absolute(href) else escape(href)
        return f"<{_safe_url(href)}|{label}>" if _absolute(href) else f"{label} ({escape(href)})"
    if kind == "image":
        src = str(node.attrs.get("src", ""))
        alt = escape(_plain(node)).replace("|", "¦") or "image"
        return f"<{_safe_url(src)}|{alt}>" if _absolute(src) else alt
    return inner


def inline(text: str) -> str:
    """One line of Markdown → mrkdwn: **b** → *b*, *i* → _i_, ~~s~~ → ~s~, [t](u) → <u|t>, escaping."""
    tree = SyntaxTreeNode(_parser().parseInline(text))
    return "".join(_inline(c) for n in tree.children for c in n.children).strip()


# -------------------------------------------------------------------------------------------- blocks


class _Doc:
    """Collects parts: text lines are buffered and become one text part between code and dividers."""

    def __init__(self) -> None:
        self.parts: list[Part] = []
        self.lines: list[str] = []

    def line(self, text: str) -> None:
        self.lines.append(text)

    def gap(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def flush(self) -> None:
        while self.lines and not self.lines[-1].strip():
            self.lines.pop()
        while self.lines and not self.lines[0].strip():
            self.lines.pop(0)
        if self.lines:
            self.parts.append(Part("text", "\n".join(self.lines)))
        self.lines = []

    def block(self, part: Part) -> None:
        self.flush()
        self.parts.append(part)


def _inline_of(node: SyntaxTreeNode) -> str:
    return "".join(_inline(c) for inline_node in node.children for c in inline_node.children).strip()


def _table(node: SyntaxTreeNode) -> str:
    rows: list[list[str]] = []
    aligns: list[str] = []
    for section in node.children:
        for tr in section.children:
            cells = []
            for cell in tr.children:
                cells.append(" ".join(_plain(cell).split()))
                if section.type == "thead":
                    style = str(cell.attrs.get("style", ""))
                    aligns.append("right" if "right" in style else "center" if "center" in style else "left")
            rows.append(cells)
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    aligns += ["left"] * (width - len(aligns))
    sizes = [max(len(r[i]) for r in rows) for i in range(width)]

    def fmt(row: list[str]) -> str:
        cells = []
        for i, cell in enumerate(row):
            pad = {"right": cell.rjust, "center": cell.center}.get(aligns[i], cell.ljust)
            cells.append(pad(sizes[i]))
        return " | ".join(cells).rstrip()

    lines = [fmt(rows[0]), "-+-".join("-" * n for n in sizes)] + [fmt(r) for r in rows[1:]]
    has_head = any(s.type == "thead" for s in node.children)
    return "\n".join(lines if has_head else [fmt(r) for r in rows])


def _list(doc: _Doc, node: SyntaxTreeNode, depth: int, quote: str) -> None:
    ordered = node.type == "ordered_list"
    number = int(node.attrs.get("start", 1) or 1) if ordered else 0
    indent = "    " * depth
    for item in node.children:
        marker = f"{number}." if ordered else ("•" if depth == 0 else "◦")
        number += 1
        first = True
        for child in item.children:
            if child.type == "paragraph" and first:
                text = _inline_of(child)
                box = re.match(r"^\[([ xX])\]\s+", text)
                if box:
                    text = ("☑ " if box.group(1) in "xX" else "☐ ") + text[box.end() :]
                doc.line(f"{quote}{indent}{marker} {text}")
                first = False
            elif child.type in ("bullet_list", "ordered_list"):
                if first:
                    doc.line(f"{quote}{indent}{marker}")
                    first = False
                _list(doc, child, depth + 1, quote)
            elif child.type == "paragraph":
                doc.line(f"{quote}{indent}    {_inline_of(child)}")
            else:
                if first:
                    doc.line(f"{quote}{indent}{marker}")
                    first = False
                _block(doc, child, depth + 1, quote)


def _block(doc: _Doc, node: SyntaxTreeNode, depth: int = 0, quote: str = "") -> None:
    kind = node.type
    if kind == "heading":
        doc.gap()
        doc.line(f"{quote}*{escape(_plain(node).strip())}*")
    elif kind == "paragraph":
        if not quote:
            doc.gap()
        text = _inline_of(node)
        doc.line("\n".join(f"{quote}{line}" for line in text.split("\n")))
        if not quote:
            doc.gap()
    elif kind in ("bullet_list", "ordered_list"):
        if depth == 0 and not quote:
            doc.gap()
        _list(doc, node, depth, quote)
        if depth == 0 and not quote:
            doc.gap()
    elif kind == "blockquote":
        doc.gap()
        for child in node.children:
            _block(doc, child, depth, quote + "> ")
        doc.gap()
    elif kind in ("fence", "code_block"):
        doc.block(Part("code", node.content.rstrip("\n")))
    elif kind == "table":
        doc.block(Part("code", _table(node)))
    elif kind == "hr":
        doc.block(Part("divider"))
    elif kind == "html_block":
        text = " ".join(_TAG.sub(" ", re.sub(r"<!--.*?(-->|$)", "", node.content, flags=re.S)).split())
        if text:  # HTML comments vanish; other HTML keeps its text
            doc.gap()
            doc.line(quote + escape(text))
    else:
        for child in node.children:
            _block(doc, child, depth, quote)


def markdown_to_parts(markdown: str, *, skip_title: str | None = None) -> list[Part]:
    """Convert a Markdown document to mrkdwn text parts, code parts and dividers.

    ``skip_title``: drop a leading heading with this text (the view shows the title already)."""
    tree = SyntaxTreeNode(_parser().parse(markdown.replace("\r\n", "\n")))
    children = list(tree.children)
    if skip_title and children and children[0].type == "heading":
        if _plain(children[0]).strip().lower() == skip_title.strip().lower():
            children = children[1:]
    doc = _Doc()
    for child in children:
        _block(doc, child)
    doc.flush()
    return doc.parts


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
