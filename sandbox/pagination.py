"""Slack-style cursor pagination (opaque base64 cursors, ``response_metadata.next_cursor``)."""

from __future__ import annotations

import base64
from typing import Any, TypeVar

from sandbox.webapi import SlackError

T = TypeVar("T")


def encode_cursor(offset: int) -> str:
    return base64.b64encode(f"next:{offset}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        kind, _, value = base64.b64decode(cursor.encode(), validate=True).decode().partition(":")
        if kind != "next":
            raise ValueError(kind)
        return max(0, int(value))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SlackError("invalid_cursor") from exc


def paginate(
    items: list[T], cursor: str | None, limit: int, max_limit: int = 1000
) -> tuple[list[T], dict[str, Any]]:
    if limit <= 0:
        limit = 100
    limit = min(limit, max_limit)
    start = decode_cursor(cursor)
    page = items[start : start + limit]
    next_cursor = encode_cursor(start + limit) if start + limit < len(items) else ""
    return page, {"next_cursor": next_cursor}
