"""``python -m bench``: every scenario against the sandbox (rate limits on) and the real Redis, then a
py-spy profile of the slowest paths; writes bench/results.md (and artifacts/bench-results.json).

    python -m bench                      the full run (under 10 minutes on 2 cores)
    python -m bench --quick              tiny sizes, to check that everything produces numbers
    python -m bench --only ack,storm     some scenarios
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench import harness, report

SCENARIOS = ("ack", "cost", "intake", "storm", "incident", "roundtrips", "lanes", "profile")


@dataclasses.dataclass(frozen=True)
class Sizes:
    ack_levels: tuple[int, ...] = (1, 10, 100)
    ack_repeats: int = 3
    ack_seconds: float = 3.0
    intake_repeats: int = 3
    intake_seconds: float = 4.0
    storm_groups: int = 500
    storm_repeats: int = 3
    storm_fault_429: float = 0.1  # one more run with this share of calls answered 429
    incident_repeats: int = 5
    incident_gap: float = 3.0
    cost_repeats: int = 2  # bot and floor alternate: A B then B A
    cost_seconds: float = 3.0
    lanes_repeats: int = 2  # idle, storm, idle, storm
    lanes_declares: int = 8
    lanes_groups: int = 500
    profile_seconds: float = 8.0


QUICK = Sizes(
    ack_levels=(1, 4),
    ack_repeats=1,
    ack_seconds=0.5,
    intake_repeats=1,
    intake_seconds=0.8,
    storm_groups=3,
    storm_repeats=1,
    incident_repeats=1,
    incident_gap=0.0,
    cost_repeats=1,
    cost_seconds=0.5,
    lanes_repeats=1,
    lanes_declares=1,
    lanes_groups=3,
    profile_seconds=1.0,
)


async def run(only: tuple[str, ...], sizes: Sizes, log: Any = print) -> dict[str, Any]:
    from bench.ack import bench_ack
    from bench.cost import bench_cost
    from bench.incident import bench_incident
    from bench.intake import bench_intake
    from bench.lanes import bench_lanes
    from bench.profile import profile_load
    from bench.roundtrips import bench_roundtrips
    from bench.storm import bench_storm

    results: dict[str, Any] = {}
    for name in only:
        started = time.monotonic()
        log(f"bench: {name} …")
        if name == "ack":
            results[name] = await bench_ack(sizes.ack_levels, sizes.ack_repeats, sizes.ack_seconds)
        elif name == "cost":
            results[name] = await bench_cost(sizes.cost_repeats, sizes.cost_seconds)
        elif name == "lanes":
            results[name] = await bench_lanes(
                sizes.lanes_repeats, sizes.lanes_declares, groups=sizes.lanes_groups
            )
        elif name == "intake":
            results[name] = await bench_intake(sizes.intake_repeats, sizes.intake_seconds)
        elif name == "storm":
            results[name] = await bench_storm(sizes.storm_repeats, sizes.storm_groups, sizes.storm_fault_429)
        elif name == "incident":
            results[name] = await bench_incident(sizes.incident_repeats, sizes.incident_gap)
        elif name == "roundtrips":
            results[name] = await bench_roundtrips()
        elif name == "profile":
            results[name] = {
                "slash": await profile_load("slash", sizes.profile_seconds, 100),
                "alerts": await profile_load("alerts", sizes.profile_seconds, 32),
            }
        log(f"bench: {name} done in {time.monotonic() - started:.0f} s")
    return results


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"comma-separated: {','.join(SCENARIOS)}")
    parser.add_argument("--out", default=str(Path(__file__).with_name("results.md")))
    args = parser.parse_args(argv)
    only = tuple(s.strip() for s in args.only.split(",") if s.strip())
    unknown = [s for s in only if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; choose from {', '.join(SCENARIOS)}")
    sizes = QUICK if args.quick else Sizes()
    started = time.monotonic()
    load_before = os.getloadavg()
    results = asyncio.run(run(only, sizes, lambda m: print(m, file=sys.stderr, flush=True)))
    elapsed = time.monotonic() - started
    machine = harness.machine()
    load_after = os.getloadavg()
    # the machine may be shared (other test runs): its load before and after goes into the report
    machine["load"] = f"{load_before[0]:.2f} before, {load_after[0]:.2f} after (1-min load average)"
    Path(args.out).write_text(report.render(results, machine, elapsed, args.quick))
    raw = harness.ROOT / "artifacts" / "bench-results.json"
    raw.parent.mkdir(exist_ok=True)
    raw.write_text(json.dumps({"machine": machine, "seconds": elapsed, **_jsonable(results)}, indent=1))
    print(f"wrote {args.out} ({elapsed / 60:.1f} min)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
