"""Slack call failures, classified once.

* ``TRANSIENT``: 429 (with ``retry_after`` from Retry-After), 5xx, timeouts, connection errors and
  the error codes Slack documents as temporary: worth retrying;
* ``TOO_LARGE``: the content broke one of Slack's size limits (``msg_too_long``,
  ``msg_blocks_too_long``, or ``invalid_blocks`` whose messages name a limit): split or shorten it;
* ``PERMANENT``: everything else (``channel_not_found``, ``invalid_auth``, ``name_taken``...): no
  retry will fix it, so it is raised at once. An error code we have never seen is permanent too:
  retrying blindly what we do not understand only delays the visible failure.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any


class ErrorKind(enum.Enum):
    TRANSIENT = "transient"
    TOO_LARGE = "too_large"
    PERMANENT = "permanent"


# error codes (HTTP 200, ok=false) that Slack documents as temporary
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
TOO_LARGE_ERRORS = frozenset({"msg_too_long", "msg_blocks_too_long"})
# phrases in invalid_blocks' response_metadata.messages that mean a size limit was hit
_LIMIT_PHRASES = ("must be less than", "must be no more than", "no more than", "too long", "too many")


def classify(error: str, status: int | None = None, response: Mapping[str, Any] | None = None) -> ErrorKind:
    """The kind of a failed call, from Slack's error code, the HTTP status and the response body."""
    if status is not None and (status == 429 or status >= 500):
        return ErrorKind.TRANSIENT
    if error in TRANSIENT_ERRORS:
        return ErrorKind.TRANSIENT
    if error in TOO_LARGE_ERRORS:
        return ErrorKind.TOO_LARGE
    if error == "invalid_blocks" and response is not None:
        metadata = response.get("response_metadata") or {}
        messages = " ".join(str(m) for m in metadata.get("messages") or ()).lower()
        if any(phrase in messages for phrase in _LIMIT_PHRASES):
            return ErrorKind.TOO_LARGE
    return ErrorKind.PERMANENT


class SlackCallError(Exception):
    """A Slack call that failed. ``error`` is Slack's error code (or ``http_<status>`` / the
    exception's name), ``kind`` what retrying can do about it, ``retry_after`` the seconds Slack asked
    us to wait (429) when it said."""

    def __init__(
        self,
        method: str,
        error: str,
        response: dict[str, Any] | None = None,
        *,
        kind: ErrorKind | None = None,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(f"{method}: {error}")
        self.method = method
        self.error = error
        self.response = response or {}
        self.status = status
        self.kind = kind if kind is not None else classify(error, status, self.response)
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        return self.kind is ErrorKind.TRANSIENT

    @property
    def permanent(self) -> bool:
        return self.kind is ErrorKind.PERMANENT

    @property
    def too_large(self) -> bool:
        return self.kind is ErrorKind.TOO_LARGE
