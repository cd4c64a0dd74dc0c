"""What the escalation engine asks of a pager, independent of the vendor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from integrations.vendor_http import CallResult


@dataclass(frozen=True)
class PageRequest:
    """One page for one incident; ``incident_id`` is the de-duplication key on every vendor."""

    incident_id: str
    summary: str
    severity: str  # our severity name: critical, high, medium, low (others map to the lowest)
    source: str = "chatops-bot"
    service: str | None = None
    group: str | None = None
    event_class: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    links: Sequence[tuple[str, str]] = ()  # (href, text)
    responders: Sequence[str] = ()  # vendor-specific responder names, e.g. "team:sre" for Opsgenie
    tags: Sequence[str] = ()


class Pager(Protocol):
    name: str

    async def trigger(self, page: PageRequest) -> CallResult: ...

    async def acknowledge(self, incident_id: str, *, by: str | None = None) -> CallResult: ...

    async def resolve(
        self, incident_id: str, *, by: str | None = None, note: str | None = None
    ) -> CallResult: ...

    async def aclose(self) -> None: ...
