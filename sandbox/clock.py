"""Time for the sandbox: wall clock plus an offset that tests can advance (expiry without sleeping)."""

from __future__ import annotations

import time


class Clock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._last_ts_micros = 0

    def now(self) -> float:
        """Seconds since the epoch, shifted by :meth:`advance`."""
        return time.time() + self._offset

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self._offset += seconds

    def next_ts(self) -> str:
        """A Slack message ts ("1700000000.000100"), strictly increasing across the workspace."""
        micros = max(int(self.now() * 1_000_000), self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"
