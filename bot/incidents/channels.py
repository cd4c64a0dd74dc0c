"""War-room channel names under Slack's rules: lowercase a-z 0-9 - _, at most 80 characters."""

from __future__ import annotations

import re
import unicodedata

MAX_NAME = 80


def slugify(title: str, limit: int) -> str:
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9_]+", "-", text).strip("-_")
    text = re.sub(r"-{2,}", "-", text)
    return text[:limit].rstrip("-_")


def war_room_name(prefix: str, number: int, title: str, suffix: str = "") -> str:
    head = f"{prefix}-{number}"
    room = MAX_NAME - len(head) - len(suffix) - 1
    slug = slugify(title, max(room, 0))
    name = f"{head}-{slug}" if slug else head
    return (name + suffix)[:MAX_NAME]


def is_valid_channel_name(name: str) -> bool:
    return bool(re.fullmatch(r"[a-z0-9_][a-z0-9_-]{0,79}", name)) and len(name) <= MAX_NAME
