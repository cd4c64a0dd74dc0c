"""Redis key layout. Every key lives under one prefix; each incident or alert group gets its own
hash tag so that multi-key scripts touching one entity work on Redis Cluster."""

from __future__ import annotations


class Keys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def _k(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    # incidents ------------------------------------------------------------------------------
    def incident_seq(self) -> str:
        return self._k("{incidents}", "seq")

    def incident_index(self) -> str:
        """Sorted set of all incident ids by number (score = n)."""
        return self._k("{incidents}", "index")

    def incident(self, incident_id: str) -> str:
        return self._k(f"{{inc:{incident_id}}}", "doc")

    def timeline(self, incident_id: str) -> str:
        return self._k(f"{{inc:{incident_id}}}", "timeline")

    def seen(self, incident_id: str) -> str:
        """Hash: user id -> when that user last caught up on the incident (unix seconds)."""
        return self._k(f"{{inc:{incident_id}}}", "seen")

    def channel_incident(self, channel_id: str) -> str:
        """War-room channel id -> incident id."""
        return self._k("chan", channel_id, "incident")

    # generic --------------------------------------------------------------------------------
    def idempotency(self, scope: str, key: str) -> str:
        return self._k("idem", scope, key)

    def pacing(self, channel: str) -> str:
        return self._k("pace", channel)

    def audit(self) -> str:
        return self._k("audit")

    def custom(self, *parts: str) -> str:
        return self._k(*parts)
