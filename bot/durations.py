"""Human durations in the policy file: ``90s``, ``5m``, ``1h30m``, ``2d`` or a number of seconds."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)")
_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def _unit(word: str) -> float:
    return _UNITS["ms"] if word == "ms" else _UNITS[word[0]]


def parse_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("a duration such as 5m, 1h30m or 90s")
    if isinstance(value, int | float):
        return timedelta(seconds=float(value))
    if not isinstance(value, str):
        raise ValueError("a duration such as 5m, 1h30m or 90s")
    text = value.strip().lower().replace(" ", "")
    pos, total = 0, 0.0
    for m in _PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _unit(m.group(2))
        pos = m.end()
    if pos != len(text) or not text:
        raise ValueError(f"{value!r} is not a duration; write e.g. 5m, 1h30m or 90s")
    return timedelta(seconds=total)


def format_duration(td: timedelta | float) -> str:
    seconds = int(td.total_seconds() if isinstance(td, timedelta) else td)
    if seconds < 60:
        return f"{seconds}s"
    days, rem = divmod(seconds, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    return "".join(p for p in parts if p) or "0m"


Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]
