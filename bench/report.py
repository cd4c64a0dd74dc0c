"""bench/results.md from the scenarios' results: a summary table against the targets, one section per
scenario, the profile, the machine and the date; then the written findings (bench/findings.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.ack import AckResult
from bench.cost import CostResult
from bench.harness import percentile
from bench.incident import IncidentResult
from bench.intake import IntakeResult
from bench.lanes import LanesResult
from bench.profile import Profile
from bench.roundtrips import RoundTripResult
from bench.storm import StormResult

FINDINGS = Path(__file__).with_name("findings.md")
# Redis round trips of a request's own path (its queued Slack posts apart), per bench/roundtrips.py
ROUND_TRIP_TARGETS = {"/incident create": 15, "/status update": 8}


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def summary_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    ack: AckResult | None = results.get("ack")
    if ack:
        for level in ack.levels:
            assert level.ratio_p99 is not None
            rows.append(
                (
                    f"1. ack p99, {level.concurrency} concurrent user{'s' if level.concurrency > 1 else ''}",
                    f"{level.bot['p99'].fmt(1, ' ms')} vs floor {level.floor['p99'].fmt(1, ' ms')}: "
                    f"{level.ratio_p99.fmt(2, 'x')}",
                    "≤ 1.5x floor, ≪ 3 s",
                    _met(level.ratio_p99.median <= 1.5 and level.bot["p99"].median < 3000),
                )
            )
    cost: CostResult | None = results.get("cost")
    if cost:
        lvl = cost.level
        rows.append(
            (
                f"7. command cost, distinct `{cost.command}`, {lvl.concurrency} users",
                f"{lvl.bot['rps'].fmt(0, '/s')} vs floor {lvl.floor['rps'].fmt(0, '/s')}: "
                f"{cost.ratio_rps.fmt(2, 'x')}; CPU {lvl.bot['cpu_ms'].fmt(2, ' ms')} vs "
                f"{lvl.floor['cpu_ms'].fmt(2, ' ms')} per command",
                "≥ 0.5x floor",
                _met(cost.ratio_rps.median >= 0.5),
            )
        )
    intake: IntakeResult | None = results.get("intake")
    if intake:
        for name, v in intake.variants.items():
            durable = f"{v.durable}/{v.answered_200} durable"
            rows.append(
                (
                    f"2. intake, {name}",
                    f"{v.per_second.fmt(0, '/s')} ({durable})",
                    "≥ 1,000/s, all durable",
                    _met(v.per_second.median >= 1000 and v.durable == v.answered_200),
                )
            )
    storm: StormResult | None = results.get("storm")
    if storm:
        ratio = storm.spread("call_ratio")
        bound = storm.spread("bound_ratio")
        rss = storm.spread("peak_rss_mb")
        calls = storm.spread("slack_calls")
        rows += [
            (
                "3. storm: fewer Slack calls than 1 post/alert",
                f"{ratio.fmt(0, 'x')} ({calls.fmt(0)} calls for {storm.runs[0].alerts:,} alerts)",
                "≥ 50x",
                _met(ratio.median >= 50),
            ),
            (
                "3. storm: final state vs lower bound",
                f"{storm.spread('final_seconds').fmt(1, ' s')} vs {storm.spread('lower_bound').fmt(1, ' s')}: "
                f"{bound.fmt(2, 'x')}",
                "≤ 1.2x",
                _met(bound.median <= 1.2),
            ),
            (
                "3. storm: 429s seen / alerts lost",
                f"{sum(r.sandbox_429 for r in storm.runs)} seen under the limits; "
                + "".join(
                    f"with {r.fault_429_rate:.0%} of calls answered 429: {r.sandbox_429} seen, "
                    f"final {r.final_seconds:.1f} s ({r.bound_ratio:.2f}x); "
                    for r in storm.faulty
                )
                + f"{sum(r.wrong + r.dead for r in storm.runs + storm.faulty)} alerts wrong or dead",
                "all handled",
                _met(all(r.wrong == 0 and r.dead == 0 for r in storm.runs + storm.faulty)),
            ),
            ("3. storm: bot peak RSS", rss.fmt(0, " MB"), "< 200 MB", _met(rss.hi < 200)),
        ]
    inc: IncidentResult | None = results.get("incident")
    if inc:
        rows.append(
            (
                "4. /incident create → war room ready",
                f"{inc.total_ms.fmt(1, ' ms')}: bot {inc.own_ms.fmt(1, ' ms')}, "
                f"Slack API {inc.slack_ms.fmt(1, ' ms')}, pacing {inc.pacing_ms.fmt(0, ' ms')}",
                "(reported)",
                "–",
            )
        )
    lanes: LanesResult | None = results.get("lanes")
    if lanes:
        rows += [
            (
                "6. lanes: declare → war room ready, storm vs idle (median)",
                f"storm {lanes.declare(True, 50).fmt(0, ' ms')} vs idle {lanes.declare(False, 50).fmt(0, ' ms')}: "
                f"{lanes.ratio_median.fmt(2, 'x')}; p99 storm {lanes.declare(True, 99).fmt(0, ' ms')}",
                "≤ 1.5x idle",
                _met(lanes.ratio_median.median <= 1.5),
            ),
            (
                "6. lanes: every ack under a storm",
                f"p99 {lanes.ack_p99(True).fmt(0, ' ms')} (idle {lanes.ack_p99(False).fmt(0, ' ms')}), "
                f"slowest {lanes.ack_max(True):.0f} ms",
                "< 1 s",
                _met(lanes.ack_max(True) < 1000),
            ),
        ]
    rt: RoundTripResult | None = results.get("roundtrips")
    if rt:
        for prefix, target in ROUND_TRIP_TARGETS.items():
            found = next((c for label, c in rt.rows if label.startswith(prefix)), None)
            if found is not None:
                rows.append(
                    (
                        f"5. Redis round trips, `{prefix}` (the request's own path)",
                        f"{found.round_trips} (the listener pipeline's share: "
                        f"{found.sites.get('bot/idempotency.py', 0) + found.sites.get('bot/audit.py', 0)})",
                        f"≤ {target}",
                        _met(found.round_trips <= target),
                    )
                )
        create = next((c for label, c in rt.rows if label.startswith("/incident create")), None)
        listing = next((c for label, c in rt.rows if label == "/incident list"), None)
        xadd = next((c for label, c in rt.rows if label.startswith("alert notification: intake")), None)
        if create and listing and xadd:
            rows.append(
                (
                    "5. Redis round trips per command",
                    f"create {create.round_trips}, list {listing.round_trips}, "
                    f"alert intake {xadd.round_trips} (all commands: section 5)",
                    "(counted)",
                    "–",
                )
            )
    return rows


def render(results: dict[str, Any], machine: dict[str, str], seconds: float, quick: bool) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out: list[str] = ["# Benchmark results", ""]
    out.append(
        f"Run {now} by `python -m bench`{' --quick (tiny sizes: not representative)' if quick else ''} "
        f"in {seconds / 60:.1f} min. Machine: {machine['nproc']} CPUs ({machine['cpu']}), "
        f"{machine['memory']} RAM, Python {machine['python']}, Redis {machine['redis']}, {machine['os']}; "
        f"load {machine.get('load', 'not recorded')}."
    )
    out += [
        "",
        "Figures are medians of repeated runs with (min–max). Slack is the sandbox with Slack's rate "
        "limits on; Redis is the real server on 127.0.0.1:6379 under a unique key prefix, deleted after.",
        "",
        "| Scenario | Measured | Target | Met |",
        "|---|---|---|---|",
    ]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in summary_rows(results)]
    out += ["", *ack_section(results.get("ack"))]
    out += intake_section(results.get("intake"))
    out += storm_section(results.get("storm"))
    out += incident_section(results.get("incident"))
    out += roundtrip_section(results.get("roundtrips"))
    out += lanes_section(results.get("lanes"))
    out += cost_section(results.get("cost"))
    out += profile_section(results.get("profile"))
    if FINDINGS.exists():
        out += ["", FINDINGS.read_text().strip(), ""]
    return "\n".join(out).rstrip() + "\n"


def ack_section(ack: AckResult | None) -> list[str]:
    if ack is None:
        return []
    out = [
        "## 1. Slash-command acknowledgement latency",
        "",
        f"Separate processes: load generator (aiohttp, signed `{ack.command}`, closed loop, no think time), "
        "the bot (`python -m chatops serve`), the floor (`python -m bench.floor`: a Bolt AsyncApp whose "
        "listener only calls `ack()`, served through the same aiohttp adapter), the sandbox, a "
        "response_url sink. Bot and floor runs alternate. CPU is the server process's CPU time per "
        "acknowledged command.",
        "",
        "| users | app | p50 ms | p95 ms | p99 ms | commands/s | CPU ms/command | p99 ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for level in ack.levels:
        for name, data in (("bot", level.bot), ("floor", level.floor)):
            ratio = level.ratio_p99.fmt(2, "x") if (name == "bot" and level.ratio_p99) else ""
            out.append(
                f"| {level.concurrency} | {name} | {data['p50'].fmt(1)} | {data['p95'].fmt(1)} | "
                f"{data['p99'].fmt(1)} | {data['rps'].fmt(0)} | {data['cpu_ms'].fmt(2)} | {ratio} |"
            )
    out += [
        "",
        f"Every acknowledged command was also answered: {ack.answered_in_ack} in the ack's body and "
        f"{ack.responses_sent} on the response_url, of {ack.bot_acked} acknowledged. Non-200 answers: "
        f"{ack.non_200 or 'none'}.",
        "",
    ]
    return out


def intake_section(intake: IntakeResult | None) -> list[str]:
    if intake is None:
        return []
    out = [
        "## 2. Alert intake",
        "",
        f"{intake.concurrency} concurrent senders post the storm's notifications (mean {intake.body_bytes:,} "
        "bytes, 10–20 alerts each) to one process; a fresh process and prefix per run. `role all` is "
        "one `chatops serve` doing everything (the alert worker and the outbox consume the stream on the "
        "same event loop while it is measured); `role web + worker process` is the split deployment: "
        "`CHATOPS_ROLE=web chatops serve` is measured while a `chatops worker` process beside it posts "
        "the alerts. Durable = the stream's `entries-added` counter after the run, against every 200 the "
        "senders got (warm-up included).",
        "",
        "| process | notifications/s answered 200 | p99 ms | CPU ms/notification | 200s | in Redis |",
        "|---|---|---|---|---|---|",
    ]
    for name, v in intake.variants.items():
        out.append(
            f"| {name} | {v.per_second.fmt(0)} | {v.p99_ms.fmt(1)} | {v.cpu_ms.fmt(2)} | "
            f"{v.answered_200} | {v.durable} |"
        )
    out += ["", f"Non-200 answers: {intake.non_200 or 'none'}.", ""]
    return out


def storm_section(storm: StormResult | None) -> list[str]:
    if storm is None or not storm.runs:
        return []
    r0 = storm.runs[0]
    out = [
        "## 3. Alert storm",
        "",
        f"{r0.alerts:,} alerts in {r0.alerts // 20} groups: {r0.notifications:,} notifications in three "
        "waves (fire 10 per group, fire all 20, resolve), sent as fast as the intake answers, 16 groups "
        "at a time, into #alerts (storm threshold 10 new groups/min). Fresh sandbox, bot and prefix "
        "per run. *Final state* = the sandbox's last change to #alerts (its event stream) after the "
        "outbox and the stream are empty; every alert's last shown state is then read back through the "
        "Web API and checked. *Lower bound* = max(time to send, (posts − 5 burst) ÷ 1/s per channel, "
        "(updates − 50 burst) ÷ 50/min for chat.update), with the posts and updates this run made.",
        "",
        "| run | send s | final s | bound s | ratio | Slack calls | posts | updates | 429s | peak RSS MB | wrong |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    numbered = [(str(i), r) for i, r in enumerate(storm.runs, 1)]
    numbered += [(f"429s {r.fault_429_rate:.0%}", r) for r in storm.faulty]
    for i, r in numbered:
        out.append(
            f"| {i} | {r.send_seconds:.1f} | {r.final_seconds:.1f} | {r.lower_bound:.1f} | "
            f"{r.bound_ratio:.2f} | {r.slack_calls} | {r.posts} | {r.updates} | {r.sandbox_429} | "
            f"{r.peak_rss_mb:.0f} | {r.wrong} |"
        )
    out += [
        "",
        f"Calls by method (run 1): {', '.join(f'{m} {sum(v.values())}' for m, v in r0.by_method.items())}. "
        "Per run (the 429 run last): 429s answered by the sandbox "
        f"{[r.sandbox_429 for r in storm.runs + storm.faulty]}; seen by the bot's gateway "
        f"{[r.bot_429 for r in storm.runs + storm.faulty]}; outbox deferrals after a 429 "
        f"{[r.outbox_deferrals for r in storm.runs + storm.faulty]}; dead letters "
        f"{[r.dead for r in storm.runs + storm.faulty]}. The `429s` run injects 429s (Retry-After 1 s) "
        "into that share of all Web API calls on top of the limits (`POST /sandbox/faults`); it is not "
        "in the medians.",
        "",
    ]
    return out


def incident_section(inc: IncidentResult | None) -> list[str]:
    if inc is None:
        return []
    calls = ", ".join(f"{m} {n:g}" for m, n in inc.by_method.items())
    return [
        "## 4. `/incident create` → war room ready",
        "",
        'Real processes. Alice types `/incident create critical "…"` in #incidents through the sandbox; '
        "the clock stops when the bot's answer (sent after the announcement, war room, topic, purpose, "
        "invitations, pinned post and bookmark) shows in her view (polled every 2 ms). The sandbox keeps "
        "no per-call timings, so Slack's share is the bot's `chatops_slack_call_seconds` histogram sum "
        "(time inside Web API calls, HTTP client included: an upper bound of the sandbox's share). One "
        "warm-up create first, not counted; runs 3 s apart so the bot's pacing never waits.",
        "",
        "| total ms | bot's own ms | Slack API ms | pacing wait ms | ack ms (sandbox) | Slack calls |",
        "|---|---|---|---|---|---|",
        f"| {inc.total_ms.fmt(1)} | {inc.own_ms.fmt(1)} | {inc.slack_ms.fmt(1)} | {inc.pacing_ms.fmt(1)} | "
        f"{inc.ack_ms.fmt(1)} | {inc.calls.fmt(0)} |",
        "",
        f"Calls per create: {calls}." + (f" Problems reported: {inc.problems}." if inc.problems else ""),
        "",
    ]


def roundtrip_section(rt: RoundTripResult | None) -> list[str]:
    if rt is None:
        return []
    out = [
        "## 5. Redis round trips per command",
        "",
        "Counted (not timed) on the bot's own redis-py connections, in-process: a round trip is one "
        "request written and answered (a pipeline or MULTI/EXEC block is one; EVALSHA runs its script "
        "inside Redis). *Request* = from the delivery of the command until 0.3 s after its answer, every "
        "task but the outbox's (the claim, the handler, hooks, audit, queuing its posts); *outbox* = "
        "delivering the Slack posts the request queued, counted apart (drained right after). *By module* "
        "names the bot's innermost module on the stack for each request round trip. The alert worker "
        "and outbox were stepped by hand; tasks that touch Redis while nothing happens are left out: "
        + ("; ".join(f"{name} ({what})" for name, what in rt.ignored_tasks.items()) or "none")
        + ".",
        "",
        "| command | request round trips | outbox round trips | Redis commands | by module (request) |",
        "|---|---|---|---|---|",
    ]
    for label, c in rt.rows:
        queued = rt.delivery.get(label)
        sites = ", ".join(f"{site.removesuffix('.py')} {n}" for site, n in c.sites.most_common(7))
        out.append(
            f"| {label} | {c.round_trips} | {queued.round_trips if queued else '–'} | "
            f"{c.total_commands} | {sites} |"
        )
    return [*out, ""]


def lanes_section(lanes: LanesResult | None) -> list[str]:
    if lanes is None:
        return []
    out = [
        "## 6. Lanes: people during an alert storm",
        "",
        "One all-in-one `chatops serve` (intake, alert worker, outbox and commands on one event loop). "
        "Phases alternate idle, storm, idle, storm, each on a fresh sandbox, bot and key prefix. "
        "*Storm*: the storm scenario's 10,000 alerts in 500 groups sent into #alerts as fast as the "
        "intake answers; the people start a second later. *Declare*: Alice's `/incident create` through "
        "the sandbox, one at a time, 1.5 s apart; the clock stops when her answer shows and the war room "
        "it names holds the bot's first post. *Ack*: the sandbox's acknowledgement time of every command "
        "(the declares and a `/incident list` probe every 0.1 s). *Bulk depth*: outbox threads still "
        "waiting in the bulk lane when the phase's people were done.",
        "",
        "| phase | declares | declare median ms | declare p99 ms | acks | ack p99 ms | slowest ack ms | bulk depth |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in lanes.phases:
        out.append(
            f"| {'storm' if p.storm else 'idle'} | {len(p.declare_ms)} | {percentile(p.declare_ms, 50):.0f} | "
            f"{percentile(p.declare_ms, 99):.0f} | {len(p.ack_ms)} | {percentile(p.ack_ms, 99):.0f} | "
            f"{max(p.ack_ms):.0f} | {p.bulk_depth:.0f} |"
        )
    out += [
        "",
        f"Storm ÷ idle declare median, each storm phase against the idle phase before it: "
        f"{lanes.ratio_median.fmt(2, 'x')}.",
        "",
    ]
    return out


def cost_section(cost: CostResult | None) -> list[str]:
    if cost is None:
        return []
    lvl = cost.level
    out = [
        "## 7. Command cost: distinct commands, the bot against the floor",
        "",
        f"{lvl.concurrency} closed-loop users send `{cost.command}`, every request a new command (its own "
        "trigger_id); the floor (`bench.floor`, a Bolt AsyncApp that only acks) gets the same load. Bot and "
        "floor alternate in one run (floor, bot, then bot, floor); CPU is the server process's CPU time "
        "per acknowledged command.",
        "",
        "| app | commands/s | CPU ms/command | p50 ms | p99 ms |",
        "|---|---|---|---|---|",
    ]
    for name, data in (("bot", lvl.bot), ("floor", lvl.floor)):
        out.append(
            f"| {name} | {data['rps'].fmt(0)} | {data['cpu_ms'].fmt(2)} | {data['p50'].fmt(1)} | "
            f"{data['p99'].fmt(1)} |"
        )
    out += [
        "",
        f"Ratio of commands/s, bot ÷ floor, run by run: {cost.ratio_rps.fmt(2, 'x')}. Answers: "
        f"{cost.answered_in_ack} in the ack's body, {cost.answered - cost.answered_in_ack} on the "
        f"response_url, of {cost.acked} acknowledged.",
        "",
    ]
    return out


def profile_section(profiles: dict[str, Profile] | None) -> list[str]:
    if not profiles:
        return []
    out = ["## Profile", ""]
    for kind, p in profiles.items():
        what = "100 closed-loop `/incident list` users" if kind == "slash" else "32 Alertmanager senders"
        out += [
            f"py-spy (sampling the bot process from outside, 200 Hz, {p.samples} busy samples) under {what}. "
            "Share of busy samples by the innermost recognisable frame:",
            "",
            "| area | % |",
            "|---|---|",
            *[f"| {a} | {pct:.1f} |" for a, pct in p.by_area if pct >= 0.5],
            "",
            "Hottest functions (self): "
            + "; ".join(f"`{f}` {pct:.1f}%" for f, pct in p.self_time[:6])
            + ". Inclusive: "
            + "; ".join(f"`{f}` {pct:.1f}%" for f, pct in p.inclusive[:6])
            + f". Full listing: `{p.path.name}` in artifacts/.",
            "",
        ]
    return out
