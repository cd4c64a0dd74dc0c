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
    only = ("ack", "cost", "intake", "storm", "incident", "roundtrips", "lanes")
    results = await bench_main.run(only, bench_main.QUICK, log=lambda _m: None)

    ack = results["ack"]
    assert [lvl.concurrency for lvl in ack.levels] == list(bench_main.QUICK.ack_levels)
    for lvl in ack.levels:
        for side in (lvl.bot, lvl.floor):
            assert all(finite_positive(side[k].median) for k in ("p50", "p95", "p99", "rps", "cpu_ms"))
        assert lvl.ratio_p99 is not None and finite_positive(lvl.ratio_p99.median)
    # every command answered: in its ack's body (quick answers) or on its response_url
    assert ack.bot_acked > 0 and ack.responses_sent + ack.answered_in_ack == ack.bot_acked
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

    cost = results["cost"]
    assert finite_positive(cost.level.bot["rps"].median) and finite_positive(cost.level.floor["rps"].median)
    assert finite_positive(cost.ratio_rps.median)
    assert cost.acked > 0 and cost.answered == cost.acked

    # the request's own path and the posts it queued are counted apart; the pipeline costs 2 at most
    help_row = rows["/incident help"]
    assert help_row.sites["bot/idempotency.py"] == 1 and help_row.sites["bot/audit.py"] == 1
    assert all(c.sites["bot/audit.py"] <= 1 for label, c in rows.items() if label.startswith("/"))
    assert set(results["roundtrips"].delivery) == {label for label in rows if label.startswith("/")}

    lanes = results["lanes"]
    assert [p.storm for p in lanes.phases] == [False, True]
    for phase in lanes.phases:
        assert len(phase.declare_ms) == bench_main.QUICK.lanes_declares
        assert all(finite_positive(x) for x in phase.declare_ms) and phase.ack_ms
    assert finite_positive(lanes.ratio_median.median)

    text = report.render(results, harness.machine(), 1.0, quick=True)
    assert "| Scenario | Measured | Target | Met |" in text
    for heading in ("## 1.", "## 2.", "## 3.", "## 4.", "## 5.", "## 6.", "## 7."):
        assert heading in text
