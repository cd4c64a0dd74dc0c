"""A failed query as a value: which source failed, what kind of failure, and one line saying why.

Integrations return data or a :class:`Failure`; they never raise into the caller for the expected
failures (unreachable, forbidden, timeout, not found, bad query), so one failing check never stops
the others and every failure can be shown to a user as a single clear line.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FailureKind(StrEnum):
    UNREACHABLE = "unreachable"
    FORBIDDEN = "forbidden"
    UNAUTHORIZED = "unauthorized"
    TIMEOUT = "timeout"
    NOT_FOUND = "not_found"
    BAD_QUERY = "bad_query"
    UNAVAILABLE = "unavailable"  # the feature is not installed (e.g. metrics-server)
    CONFIG = "config"
    ERROR = "error"


@dataclass(frozen=True)
class Failure:
    source: str  # e.g. "kubernetes:prod" or "prometheus"
    kind: FailureKind
    reason: str  # one line, no stack trace

    @property
    def ok(self) -> bool:
        return False

    def line(self) -> str:
        return f"{self.source}: {self.reason}"


def one_line(text: object, limit: int = 300) -> str:
    """Collapse whitespace and cut, so a server message fits on one line."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
