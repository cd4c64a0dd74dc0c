"""Slack's message size limits, measured and met: split content into messages that fit, or shrink one.

Slack refuses a message whose blocks carry too much text in total (``msg_blocks_too_long``; no
documented figure, reported from about 12,000 characters), more than 50 blocks, or a block past its
own limits (section text 3,000, 10 fields of 2,000, header 150, context 10 elements). Everything
here works on block dicts (``Block.to_dict()``) so it applies to any block a feature built.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from slack_sdk.models.blocks import Block

MESSAGE_TEXT_LIMIT = 12_000  # what Slack is reported to refuse past (msg_blocks_too_long)
MESSAGE_TEXT_BUDGET = 11_000  # what we put in one message: a margin below the limit
MAX_BLOCKS = 50
SECTION_TEXT = 3_000
FIELD_TEXT = 2_000
MAX_FIELDS = 10
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
_TEXT_TYPES = {"plain_text", "mrkdwn", "markdown", "text"}


def as_dicts(blocks: Iterable[Block | dict[str, Any]]) -> list[dict[str, Any]]:
    return [b.to_dict() if isinstance(b, Block) else dict(b) for b in blocks]


def text_chars(blocks: Any) -> int:
    """Characters of text blocks carry (every text object, markdown and rich-text text), as Slack
    counts them for msg_blocks_too_long."""
    if isinstance(blocks, Block):
        return text_chars(blocks.to_dict())
    if isinstance(blocks, list | tuple):
        return sum(text_chars(b) for b in blocks)
    if not isinstance(blocks, dict):
        return 0
    total = (
        len(blocks["text"])
        if blocks.get("type") in _TEXT_TYPES and isinstance(blocks.get("text"), str)
        else 0
    )
    return total + sum(text_chars(v) for v in blocks.values() if isinstance(v, dict | list))


def fits(blocks: Sequence[Block | dict[str, Any]], budget: int = MESSAGE_TEXT_BUDGET) -> bool:
    return len(blocks) <= MAX_BLOCKS and text_chars(list(blocks)) <= budget


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def _clip_obj(obj: Any, limit: int) -> Any:
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        return {**obj, "text": clip(obj["text"], limit)}
    return obj


def fit_block(block: dict[str, Any], budget: int = MESSAGE_TEXT_BUDGET) -> dict[str, Any]:
    """The block within its own limits and within ``budget`` characters of text: long texts are
    clipped (with …), extra fields and context elements dropped."""
    block = dict(block)
    kind = block.get("type")
    if kind == "section":
        if "text" in block:
            block["text"] = _clip_obj(block["text"], min(SECTION_TEXT, budget))
        if isinstance(block.get("fields"), list):
            left = max(1, budget - text_chars(block.get("text")))
            fields = block["fields"][:MAX_FIELDS]
            each = max(1, min(FIELD_TEXT, left // max(1, len(fields))))
            block["fields"] = [_clip_obj(f, each) for f in fields]
    elif kind == "header":
        block["text"] = _clip_obj(block.get("text"), min(HEADER_TEXT, budget))
    elif kind == "context" and isinstance(block.get("elements"), list):
        elements = block["elements"][:CONTEXT_ELEMENTS]
        each = max(1, min(SECTION_TEXT, budget // max(1, len(elements))))
        block["elements"] = [_clip_obj(e, each) for e in elements]
    elif kind == "markdown" and isinstance(block.get("text"), str):
        block["text"] = clip(block["text"], budget)
    return block


def split_blocks(
    blocks: Sequence[Block | dict[str, Any]], budget: int = MESSAGE_TEXT_BUDGET
) -> list[list[dict[str, Any]]]:
    """Consecutive groups of the blocks, each group a message Slack takes (at most 50 blocks and
    ``budget`` characters of text); a block too large alone is fitted (clipped) first."""
    groups: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for raw in as_dicts(blocks):
        block = raw if text_chars(raw) <= budget else fit_block(raw, budget)
        chars = text_chars(block)
        if current and (size + chars > budget or len(current) >= MAX_BLOCKS):
            groups.append(current)
            current, size = [], 0
        current.append(block)
        size += chars
    if current:
        groups.append(current)
    return groups


def split_lines(
    lines: Sequence[str], budget: int = MESSAGE_TEXT_BUDGET, line_limit: int = 2_900
) -> list[list[str]]:
    """Consecutive groups of mrkdwn lines, each within ``budget`` characters (lines longer than a
    section are clipped to ``line_limit``)."""
    groups: list[list[str]] = []
    current: list[str] = []
    size = 0
    for line in lines:
        line = clip(line, line_limit)
        if current and size + len(line) + 1 > budget:
            groups.append(current)
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        groups.append(current)
    return groups


def shrink_to_fit(
    blocks: Sequence[Block | dict[str, Any]], budget: int = MESSAGE_TEXT_BUDGET, *, note: str | None = None
) -> list[dict[str, Any]]:
    """One message of the blocks: each block fitted, then as many blocks as fit, and a context line
    saying how many were left out (``note`` says where to find the rest)."""
    fitted = [fit_block(b, budget) for b in as_dicts(blocks)]
    if fits(fitted, budget):
        return fitted
    reserve = 300
    kept: list[dict[str, Any]] = []
    size = 0
    for block in fitted:
        chars = text_chars(block)
        if size + chars > budget - reserve or len(kept) >= MAX_BLOCKS - 1:
            break
        kept.append(block)
        size += chars
    left = len(fitted) - len(kept)
    line = f"…and {left} more not shown (too long for one Slack message)"
    if note:
        line = f"{line}; {note}"
    kept.append({"type": "context", "elements": [{"type": "mrkdwn", "text": clip(line, reserve - 20)}]})
    return kept
