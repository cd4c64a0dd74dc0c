"""Logging: one event per line, JSON in production, secrets redacted wherever they appear."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import TextIO

SECRET = re.compile(
    r"(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|(?i:bearer|basic)\s+[A-Za-z0-9._~+/=-]+"
    r"|(?i:(?:token|secret|password|routing_key|api_key)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+)"
)


# user:password in URLs (redis://:pw@host, https://user:pw@host)
URL_CREDENTIALS = re.compile(r"(?<=://)([^/\s:@]*):([^/\s@]+)@")
_KNOWN: set[str] = set()  # exact secret values this process holds (signing secrets have no prefix)


def add_secrets(*values: str) -> None:
    """Redact these exact values wherever they appear (call with the settings' secrets)."""
    _KNOWN.update(v for v in values if v and len(v) >= 6)


def redact(text: str) -> str:
    for value in sorted(_KNOWN, key=len, reverse=True):
        if value in text:
            text = text.replace(value, "[redacted]")
    text = URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}:[redacted]@", text)
    return SECRET.sub(lambda m: m.group(0)[:4] + "…[redacted]", text)


class RedactingFormatter(logging.Formatter):
    """The whole line redacted, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


_STD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        data.update({k: v for k, v in record.__dict__.items() if k not in _STD})
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(data, default=str))


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of the record, not the one at start-up
    (a replaced or closed stream, as under test capture, never swallows a record)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def setup_logging(fmt: str = "console", level: int = logging.INFO, stream: TextIO | None = None) -> None:
    handler: logging.StreamHandler = logging.StreamHandler(stream) if stream else StderrHandler()  # type: ignore[type-arg]
    handler.addFilter(RedactingFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
