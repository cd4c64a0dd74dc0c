"""Response figures over a period: incidents by severity, mean time to acknowledge and to resolve."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.core.models import Incident
from bot.core.store import IncidentStore

PERIOD = re.compile(r"^(\d{1,3})d$")
MAX_INCIDENTS = 100_000


def parse_period(text: str) -> int | None:
    """``7d`` -> 7; None when it is not a number of days from 1 to 366."""
    m = PERIOD.match(text.strip().lower())
    if not m:
        return None
    days = int(m.group(1))
    return days if 1 <= days <= 366 else None


@dataclass
class SeverityStats:
    severity: str
    count: int = 0
    resolved: int = 0
    acknowledged: int = 0
    tta: list[float] = field(default_factory=list)
    ttr: list[float] = field(default_factory=list)

    @property
    def mean_tta(self) -> float | None:
        return sum(self.tta) / len(self.tta) if self.tta else None

    @property
    def mean_ttr(self) -> float | None:
        return sum(self.ttr) / len(self.ttr) if self.ttr else None


@dataclass
class Stats:
    since: datetime
    until: datetime
    days: int
    by_severity: list[SeverityStats]

    @property
    def total(self) -> SeverityStats:
        t = SeverityStats("all")
        for s in self.by_severity:
            t.count += s.count
            t.resolved += s.resolved
            t.acknowledged += s.acknowledged
            t.tta += s.tta
            t.ttr += s.ttr
        return t


def counted(inc: Incident, *, include_private: bool = False) -> bool:
    """In the figures: not a test, not declined, not merged away; private only when asked."""
    return inc.in_metrics and (include_private or not inc.private)


def compute(
    incidents: list[Incident],
    severities: list[str],
    *,
    days: int,
    now: datetime,
    include_private: bool = False,
) -> Stats:
    """Incidents declared in the last ``days`` days (up to ``now``), by severity in policy order.
    Test, declined and merged incidents are left out, and private ones unless ``include_private``
    (the policy's ``incidents.private_in_stats``)."""
    since = now - timedelta(days=days)
    rows = {name: SeverityStats(name) for name in severities}
    for inc in incidents:
        if not (since <= inc.created_at <= now) or not counted(inc, include_private=include_private):
            continue
        row = rows.setdefault(inc.severity, SeverityStats(inc.severity))
        row.count += 1
        if inc.time_to_acknowledge is not None:
            row.acknowledged += 1
            row.tta.append(inc.time_to_acknowledge)
        if inc.time_to_resolve is not None:
            row.resolved += 1
            row.ttr.append(inc.time_to_resolve)
    return Stats(since=since, until=now, days=days, by_severity=list(rows.values()))


async def gather(
    store: IncidentStore,
    severities: list[str],
    *,
    days: int,
    now: datetime,
    include_private: bool = False,
    where: Callable[[Incident], bool] | None = None,
) -> Stats:
    """``where`` keeps only the incidents it is true for (e.g. a type and custom field filter)."""
    incidents = await store.list(include_resolved=True, limit=MAX_INCIDENTS)
    if where is not None:
        incidents = [i for i in incidents if where(i)]
    return compute(incidents, severities, days=days, now=now, include_private=include_private)
