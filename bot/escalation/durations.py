"""Durations in the escalation section: the policy's own forms (bot/durations.py: ``90s``, ``5m``,
``1h30m``, ``2d``, seconds) plus weeks (``1w``) for rotations, written back exactly (``1m30s``)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

from bot.durations import parse_duration as parse_base

_WEEKS = re.compile(r"(\d+(?:\.\d+)?)\s*(?:weeks|week|wks|wk|w)(?![a-z])")
_UNITS = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def parse_duration(value: Any) -> timedelta:
    """Parse a duration; ValueError (naming the accepted forms) on anything else."""
    if isinstance(value, str):
        text = value.strip().lower()
        value = _WEEKS.sub(lambda m: f"{float(m.group(1)) * 7:g}d", text)
    try:
        return parse_base(value)
    except ValueError as exc:
        raise ValueError(
            f"bad duration {value!r}: use e.g. '90s', '5m', '12h', '1d', '1w' or '1h30m'"
        ) from exc


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        return "0s"
    parts: list[str] = []
    for unit, size in _UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]
