"""A failed call as a value: which source failed, what kind of failure, and one line saying why.

Integrations return data or a failure; they never raise into the caller for the expected failures
(unreachable, forbidden, timeout, not found, bad query, rejected, rate limited), so one failing check
never stops the others and every failure can be shown to a user as a single clear line.

:class:`FailureKind` is the one vocabulary of failures for every integration: Kubernetes and
Prometheus queries (:class:`Failure`) and the vendor HTTP clients (``integrations.vendor_http.Failed``,
which also carries the attempts and the HTTP status).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FailureKind(StrEnum):
    CONFIG = "config"  # not configured (a missing key) or configured wrongly (an unknown cluster)
    UNREACHABLE = "unreachable"  # no connection
    TIMEOUT = "timeout"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    BAD_QUERY = "bad_query"
    REJECTED = "rejected"  # any other 4xx (rate limiting aside): retrying would not help
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"  # the service (5xx) or the feature (e.g. metrics-server) is not available
    BAD_RESPONSE = "bad_response"  # a success whose body we could not use
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
