"""2. Alert intake: Alertmanager notifications per second answered 200 by one bot process, each one
durable in Redis (the stream's ``entries-added`` counter equals the number of 200s).

The bot runs as a real process (``python -m chatops serve``) with its worker and outbox running as in
production (they consume the stream while the intake is measured); the load generator is another
process posting the storm's notifications (10–20 alerts each, ~5 KB) from concurrent senders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis.asyncio as aioredis

from bench import harness
from bench.harness import Proc, Spread, spread
from bench.storm import POLICY
from bot.alerts.worker import AlertKeys
from bot.keys import Keys
from tests.alerts.storm import GROUPS, notification

# name -> (extra environment of the measured process, whether a `chatops worker` process runs beside it)
VARIANTS: dict[str, tuple[dict[str, str], bool]] = {
    # one process does everything: intake, alert worker and outbox on one event loop
    "bot, role all": ({}, False),
    # the split deployment: CHATOPS_ROLE=web takes notifications in, `chatops worker` posts them
    "bot, role web + worker process": ({"CHATOPS_ROLE": "web"}, True),
}


@dataclass
class IntakeVariant:
    per_second: Spread
    p99_ms: Spread
    cpu_ms: Spread  # the process's CPU per accepted notification, worker included when it runs
    answered_200: int
    durable: int


@dataclass
class IntakeResult:
    variants: dict[str, IntakeVariant]
    non_200: dict[str, int]
    concurrency: int
    body_bytes: int


def write_bodies() -> tuple[str, int]:
    """The storm's 1,500 notifications, one JSON document a line; returns the path and mean size."""
    path = harness.LOG_DIR / "intake-bodies.jsonl"
    harness.LOG_DIR.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(notification(g, wave)) for wave in range(3) for g in range(GROUPS)]
    path.write_text("\n".join(lines) + "\n")
    return str(path), sum(len(x) for x in lines) // len(lines)


async def stream_entries_added(prefix: str) -> int:
    client = aioredis.from_url(harness.REDIS_URL, decode_responses=True)
    try:
        info = await client.xinfo_stream(AlertKeys(Keys(prefix)).stream)
        return int(info["entries-added"])
    finally:
        await client.aclose()


async def intake_once(
    variant: tuple[dict[str, str], bool], bodies: str, duration: float, warmup: float, concurrency: int
) -> tuple[dict, int, float]:
    extra_env, with_worker = variant
    async with harness.redis_prefix() as prefix:
        bot_port = harness.free_port()
        sandbox = await harness.start_sandbox(bot_port)
        procs: list[Proc] = [sandbox.proc]
        try:
            bot = await harness.start_bot(sandbox, bot_port, prefix, POLICY, extra_env=extra_env)
            procs.append(bot.proc)
            if with_worker:
                worker = await harness.start_bot(
                    sandbox, harness.free_port(), prefix, POLICY, ("chatops.main", "worker"), name="worker"
                )
                procs.append(worker.proc)
            cpu0 = harness.cpu_seconds(bot.proc.pid)
            out = await harness.run_loadgen(
                "alerts",
                "--url",
                bot.url + "/alerts/alertmanager",
                "--concurrency",
                str(concurrency),
                "--duration",
                str(duration),
                "--warmup",
                str(warmup),
                "--bodies",
                bodies,
            )
            cpu = harness.cpu_seconds(bot.proc.pid) - cpu0
            return out, await stream_entries_added(prefix), cpu
        finally:
            for proc in reversed(procs):
                proc.stop()


async def bench_intake(
    repeats: int = 3, duration: float = 4.0, warmup: float = 1.0, concurrency: int = 32
) -> IntakeResult:
    bodies, size = write_bodies()
    non_200: dict[str, int] = {}
    runs: dict[str, list[tuple[dict, int, float]]] = {name: [] for name in VARIANTS}
    for r in range(repeats):
        names = list(VARIANTS) if r % 2 == 0 else list(reversed(VARIANTS))
        for name in names:
            out, durable, cpu = await intake_once(VARIANTS[name], bodies, duration, warmup, concurrency)
            runs[name].append((out, durable, cpu))
            for status, n in out["statuses"].items():
                if status != "200":
                    non_200[f"{name} {status}"] = non_200.get(f"{name} {status}", 0) + n
    variants = {
        name: IntakeVariant(
            per_second=spread(out["per_second"] for out, _, _ in items),
            p99_ms=spread(harness.percentile(out["latencies_ms"], 99) for out, _, _ in items),
            cpu_ms=spread(1000 * cpu / max(1, out["ok_total"]) for out, _, cpu in items),
            answered_200=sum(out["ok_total"] for out, _, _ in items),
            durable=sum(d for _, d, _ in items),
        )
        for name, items in runs.items()
    }
    return IntakeResult(variants, non_200, concurrency, size)
