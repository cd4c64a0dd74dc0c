"""Identifiers shaped like Slack's (U…, C…, S…, B…, T…, F…, V…)."""

from __future__ import annotations

import itertools
import secrets
import string

_ALPHABET = string.ascii_uppercase + string.digits


class IdFactory:
    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def new(self, prefix: str, length: int = 10) -> str:
        """Prefix + a serial part + random tail, e.g. ``C0001K7Q2ZP``; unique within the process."""
        serial = f"{next(self._counter):04d}"
        tail = "".join(secrets.choice(_ALPHABET) for _ in range(max(0, length - len(serial))))
        return f"{prefix}{serial}{tail}"

    @staticmethod
    def token(nbytes: int = 12) -> str:
        return secrets.token_hex(nbytes)
