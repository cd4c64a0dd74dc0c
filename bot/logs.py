"""Logging: one event per line, JSON in production, secrets redacted wherever they appear."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

SECRET = re.compile(
    r"(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|(?i:bearer|basic)\s+[A-Za-z0-9._~+/=-]+"
    r"|(?i:(?:token|secret|password|routing_key|api_key)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+)"
)


def redact(text: str) -> str:
    return SECRET.sub(lambda m: m.group(0)[:4] + "…[redacted]", text)


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


def setup_logging(fmt: str = "console", level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
