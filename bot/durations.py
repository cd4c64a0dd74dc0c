"""Durations: one parser for every form the policy and the commands accept, one human format.

Accepted: ``90s``, ``5m``, ``15 min``, ``1h30m``, ``2d``, ``1w``, ``2 weeks``, ``250ms`` or a number
of seconds. :func:`format_duration` is the only way a duration is shown to people or written back
to a policy file: the largest units first, no spaces, zero parts left out (``1h30m``, ``1m30s``,
``1w2d``), so whatever it writes parses back to the same value (to the second).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_PART = re.compile(
    r"(\d+(?:\.\d+)?)"
    r"(ms|weeks?|wks?|w|days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)"
)
_SECONDS = {"w": 604800.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_FORMAT_UNITS = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
FORMS = "use e.g. '90s', '5m', '12h', '1d', '1w' or '1h30m'"
NONE = "—"


def _unit_seconds(word: str) -> float:
    return 0.001 if word == "ms" else _SECONDS[word[0]]


def parse_duration(value: Any) -> timedelta:
    """A duration from the policy's forms or a number of seconds; ValueError naming the forms."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    if not isinstance(value, str):
        raise ValueError(f"bad duration {value!r}: {FORMS}")
    text = value.strip().lower().replace(" ", "")
    pos, total = 0, 0.0
    for m in _PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _unit_seconds(m.group(2))
        pos = m.end()
    if pos != len(text) or not text:
        raise ValueError(f"bad duration {value!r}: {FORMS}")
    return timedelta(seconds=total)


def format_duration(value: timedelta | float | None) -> str:
    """``1w2d3h4m5s`` style, whole seconds; ``0s`` for nothing or less, ``—`` for unknown (None)."""
    if value is None:
        return NONE
    seconds = int(value.total_seconds() if isinstance(value, timedelta) else value)
    if seconds <= 0:
        return "0s"
    parts: list[str] = []
    for unit, size in _FORMAT_UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]
