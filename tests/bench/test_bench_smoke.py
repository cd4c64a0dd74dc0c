"""Smoke test of the benchmarks: every scenario at a tiny size produces numbers and a report.

No timing is asserted (figures on a shared test machine mean nothing); only that each scenario ran
end to end against the sandbox and Redis and that what it counted adds up."""

from __future__ import annotations

import math

import pytest

from bench import __main__ as bench_main
from bench import harness, report

pytestmark = pytest.mark.slow


def finite_positive(x: float) -> bool:
    return math.isfinite(x) and x > 0


async def test_every_scenario_produces_numbers() -> None:
    only = ("ack", "intake", "storm", "incident", "roundtrips")
    results = await bench_main.run(only, bench_main.QUICK, log=lambda _m: None)

    ack = results["ack"]
    assert [lvl.concurrency for lvl in ack.levels] == list(bench_main.QUICK.ack_levels)
    for lvl in ack.levels:
        for side in (lvl.bot, lvl.floor):
            assert all(finite_positive(side[k].median) for k in ("p50", "p95", "p99", "rps", "cpu_ms"))
        assert lvl.ratio_p99 is not None and finite_positive(lvl.ratio_p99.median)
    assert ack.bot_acked > 0 and ack.responses_sent == ack.bot_acked
    assert ack.non_200 == {}

    for name, variant in results["intake"].variants.items():
        assert variant.answered_200 > 0, name
        assert variant.durable == variant.answered_200, name  # every 200 is in the Redis stream

    (storm,) = results["storm"].runs
    assert storm.notifications == 3 * bench_main.QUICK.storm_groups
    assert storm.wrong == 0 and storm.dead == 0
    assert storm.slack_calls > 0 and storm.posts > 0
    assert finite_positive(storm.final_seconds) and finite_positive(storm.lower_bound)
    assert finite_positive(storm.peak_rss_mb)

    incident = results["incident"]
    assert incident.problems == []
    assert finite_positive(incident.total_ms.median) and finite_positive(incident.slack_ms.median)
    assert incident.calls.median >= 5  # announcement, war room, topic, purpose, pin...
    assert incident.slack_ms.hi < incident.total_ms.hi  # Slack's share is a part of the whole

    rows = dict(results["roundtrips"].rows)
    assert rows["alert notification: intake (HTTP 200)"].commands["XADD"] == 1
    assert rows["/incident list"].round_trips > 0
    create = next(c for label, c in rows.items() if label.startswith("/incident create"))
    assert create.round_trips >= rows["/incident list"].round_trips

    text = report.render(results, harness.machine(), 1.0, quick=True)
    assert "| Scenario | Measured | Target | Met |" in text
    for heading in ("## 1.", "## 2.", "## 3.", "## 4.", "## 5."):
        assert heading in text
