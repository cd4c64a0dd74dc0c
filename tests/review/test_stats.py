"""Stats over incidents the test writes through the store with known times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.models import Incident, TimelineEntry, utcnow
from bot.durations import format_duration
from bot.review.stats import compute, parse_period
from tests.conftest import eventually

# (severity, days ago, seconds to acknowledge or None, seconds to resolve or None)
KNOWN = [
    ("critical", 1, 120, 3600),
    ("critical", 2, 240, 7200),
    ("critical", 20, 600, 10800),  # outside 7d, inside 30d
    ("high", 3, 300, None),  # acknowledged, still open
    ("high", 5, None, None),  # nobody acknowledged yet
    ("low", 100, 60, 60),  # outside 90d
]


async def write_known(store: Any, now: datetime) -> list[Incident]:
    out = []
    for severity, days_ago, tta, ttr in KNOWN:
        incident_id, n = await store.next_id()
        created = now - timedelta(days=days_ago)
        inc = Incident(
            id=incident_id,
            number=n,
            title=f"known {severity} {days_ago}d",
            severity=severity,
            status="resolved" if ttr else "investigating",
            created_by="U0ALICE001",
            created_at=created,
            acknowledged_by="U0BOB00002" if tta else None,
            acknowledged_at=created + timedelta(seconds=tta) if tta else None,
            resolved_by="U0BOB00002" if ttr else None,
            resolved_at=created + timedelta(seconds=ttr) if ttr else None,
        )
        await store.create(inc, TimelineEntry(at=created, actor="U0ALICE001", kind="created", text="known"))
        out.append(inc)
    return out


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def test_periods() -> None:
    assert [parse_period(p) for p in ("7d", "30D", " 90d ", "0d", "367d", "7", "week", "d")] == [
        7,
        30,
        90,
        None,
        None,
        None,
        None,
        None,
    ]


def test_compute_by_severity_with_known_times() -> None:
    now = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    incidents = []
    for i, (severity, days_ago, tta, ttr) in enumerate(KNOWN, start=1):
        created = now - timedelta(days=days_ago)
        incidents.append(
            Incident(
                id=f"INC-{i}",
                number=i,
                title="t",
                severity=severity,
                status="x",
                created_by="U0ALICE001",
                created_at=created,
                acknowledged_at=created + timedelta(seconds=tta) if tta else None,
                resolved_at=created + timedelta(seconds=ttr) if ttr else None,
            )
        )
    week = compute(incidents, ["critical", "high", "medium", "low"], days=7, now=now)
    rows = {s.severity: s for s in week.by_severity}
    assert [s.severity for s in week.by_severity] == ["critical", "high", "medium", "low"]
    assert (rows["critical"].count, rows["critical"].mean_tta, rows["critical"].mean_ttr) == (2, 180, 5400)
    assert (rows["high"].count, rows["high"].mean_tta, rows["high"].mean_ttr) == (2, 300, None)
    assert (rows["medium"].count, rows["low"].count) == (0, 0)
    assert week.total.count == 4 and week.total.mean_tta == mean([120, 240, 300])
    month = compute(incidents, ["critical", "high", "medium", "low"], days=30, now=now)
    assert {s.severity: s.count for s in month.by_severity}["critical"] == 3
    assert {s.severity: s.mean_ttr for s in month.by_severity}["critical"] == mean([3600, 7200, 10800])
    assert compute(incidents, ["critical"], days=366, now=now).total.count == 6


async def test_stats_command_reports_figures_and_uploads_a_chart(sandbox: Any, bot: Any) -> None:
    now = utcnow()
    await write_known(bot.ctx.store, now)

    await sandbox.command("carol", "general", "/incident", "stats 7d")

    async def answered() -> list[dict[str, Any]]:
        return [e for e in sandbox.ephemerals("carol", "general") if e["text"] == "incident stats, 7 days"]

    (reply,) = await eventually(answered)
    body = str(reply["blocks"])
    crit = f"2 incidents · TTA {format_duration(180)} · TTR {format_duration(5400)}"
    high = f"2 incidents · TTA {format_duration(300)} · TTR —"
    assert crit in body and high in body
    assert f"*4* declared · *2* resolved · mean time to acknowledge *{format_duration(220)}*" in body

    assert "direct messages" in body  # the answer says where the chart went
    carol = sandbox.user_by_name("carol")["id"]
    dm = next(c for c in sandbox.core.workspace.channels.values() if c.is_im and carol in c.members)

    async def chart() -> list[dict[str, Any]]:
        return [m for m in sandbox.messages(dm.id) if m.get("files")]

    (posted,) = await eventually(chart)  # in carol's DM with the bot: only she asked
    assert not [m for m in sandbox.messages("general") if m.get("files")]
    (png,) = posted["files"]
    assert png["mimetype"] == "image/png" and png["name"] == "incident-stats-7d.png"
    assert f"Critical: 2 (TTA {format_duration(180)}, TTR {format_duration(5400)})" in posted["text"]

    # the 90-day window includes the 20-day-old critical incident, not the 100-day-old low one
    await sandbox.command("carol", "general", "/incident", "stats 90d")
    (reply90,) = await eventually(
        lambda: _async(
            [e for e in sandbox.ephemerals("carol", "general") if e["text"] == "incident stats, 90 days"]
        )
    )
    assert f"3 incidents · TTA {format_duration(320)} · TTR {format_duration(7200)}" in str(reply90["blocks"])
    assert "*5* declared" in str(reply90["blocks"])

    # a bad period is answered with the usage, at once
    await sandbox.command("carol", "general", "/incident", "stats fortnight")
    bad = [e for e in sandbox.ephemerals("carol", "general") if "is not a period" in str(e["blocks"])]
    assert bad and "/incident stats [7d|30d|90d]" in str(bad[0]["blocks"])


async def _async(value: Any) -> Any:
    return value
