"""The bot on each store shape: a single Redis (127.0.0.1:6379), a real six-node Cluster (three
primaries, a replica each) and a primary + replica behind three sentinels, all started here
(tests/harness/redis_cluster.py), on loopback and the same 2 cores as the bot.

1. ``writes``: the intake's Redis write alone: N notification-sized XADDs (2,000 bytes, 50 in
   flight) with and without ``WAIT 1`` before the answer, through the bot's client factory.
2. ``intake``: the real bot (``CHATOPS_ROLE=web`` + a ``chatops worker`` process) taking the storm's
   notifications over HTTP from 32 senders (bench/intake.py's run), on the single server and on
   the Cluster with ``WAIT 1`` (the default there) and without it.
3. ``storm``: bench/storm.py's 10,000-alert storm (one bot process) on the single server and on
   the Cluster.

    python -m bench.cluster_intake [--only writes,intake,storm] [--writes N]

Prints Markdown tables (the figures in bench/results.md, "Redis Cluster and Sentinel").
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import redis.asyncio as aioredis

from bench import harness
from bench import intake as intake_bench
from bench import storm as storm_bench
from bot.core.redis_factory import connect, write_and_wait
from tests.harness.redis_cluster import RedisClusterProcs, RedisSentinelProcs

BODY = "x" * 2000  # about one Alertmanager notification with a few alerts
IN_FLIGHT = 50
SINGLE = "redis://127.0.0.1:6379/0"


async def writes_once(url: str, replicas: int, n: int) -> tuple[float, float, float]:
    client = connect(url)
    key = f"bench-{uuid.uuid4().hex[:8]}:{{alerts}}:stream"
    latencies: list[float] = []
    sem = asyncio.Semaphore(IN_FLIGHT)

    async def one() -> None:
        async with sem:
            t0 = time.perf_counter()
            _, acked = await write_and_wait(
                client, key, ("XADD", key, "*", "body", BODY), replicas=replicas, timeout_ms=500
            )
            if acked < replicas:
                raise RuntimeError(f"WAIT {replicas}: only {acked} replicas acknowledged")
            latencies.append(time.perf_counter() - t0)

    try:
        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        elapsed = time.perf_counter() - start
        await client.delete(key)
    finally:
        await client.aclose()
    q = statistics.quantiles(latencies, n=100)
    return n / elapsed, q[49] * 1000, q[98] * 1000


async def bench_writes(cluster: RedisClusterProcs, sentinel: RedisSentinelProcs, n: int) -> None:
    rows = [("single", SINGLE, 0)]
    rows += [("cluster", cluster.url, 0), ("cluster", cluster.url, 1)]
    rows += [("sentinel", sentinel.url, 0), ("sentinel", sentinel.url, 1)]
    print(f"\n{n} XADDs of {len(BODY)} bytes, {IN_FLIGHT} in flight, median of 3 runs (after a warm-up)")
    print("| shape | WAIT | writes/s | p50 ms | p99 ms |\n|---|---|---|---|---|", flush=True)
    for shape, url, replicas in rows:
        await writes_once(url, replicas, 500)  # warm-up
        runs = [await writes_once(url, replicas, n) for _ in range(3)]
        rate, p50, p99 = (statistics.median(r[i] for r in runs) for i in range(3))
        print(f"| {shape} | {'1' if replicas else '-'} | {rate:,.0f} | {p50:.2f} | {p99:.2f} |", flush=True)


@asynccontextmanager
async def store(url: str) -> AsyncIterator[None]:
    """Point the bench's bot processes and its own Redis reads at ``url`` (any shape): the bench
    modules read ``harness.REDIS_URL`` and open clients with ``aioredis.from_url``, which knows
    only single servers, so for the run they get the bot's factory instead."""
    factory = SimpleNamespace(from_url=lambda u, **_kw: connect(u), Redis=aioredis.Redis)
    saved: list[tuple[Any, str, Any]] = [(harness, "REDIS_URL", harness.REDIS_URL)]
    saved += [(m, "aioredis", m.aioredis) for m in (harness, intake_bench, storm_bench)]
    harness.REDIS_URL = url
    for module in (harness, intake_bench, storm_bench):
        setattr(module, "aioredis", factory)  # noqa: B010 (a module attribute mypy cannot see)
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


async def bench_intake(cluster: RedisClusterProcs, repeats: int) -> None:
    bodies, size = intake_bench.write_bodies()
    split = {"CHATOPS_ROLE": "web"}
    rows: list[tuple[str, str, dict[str, str]]] = [
        ("single", SINGLE, split),
        ("cluster, WAIT 1 (default)", cluster.url, split),
        ("cluster, no WAIT", cluster.url, {**split, "CHATOPS_INTAKE_WAIT_REPLICAS": "0"}),
    ]
    print(f"\nHTTP intake, 32 senders, {size:,} bytes mean, web + worker processes; median of {repeats} runs")
    print("| store | notifications/s answered 200 | p99 ms | 200s | in Redis | other answers |")
    print("|---|---|---|---|---|---|")
    for name, url, env in rows:
        async with store(url):
            runs = [
                await intake_bench.intake_once((env, True), bodies, duration=4.0, warmup=1.0, concurrency=32)
                for _ in range(repeats)
            ]
        rates = [float(out["per_second"]) for out, _, _ in runs]
        p99 = [harness.percentile(out["latencies_ms"], 99) for out, _, _ in runs]
        ok = sum(int(out["ok_total"]) for out, _, _ in runs)
        other = {k: v for out, _, _ in runs for k, v in out["statuses"].items() if str(k) != "200"}
        durable = sum(entries for _, entries, _ in runs)
        print(
            f"| {name} | {statistics.median(rates):,.0f} ({min(rates):,.0f}–{max(rates):,.0f}) "
            f"| {statistics.median(p99):.1f} | {ok} | {durable} | {other or 'none'} |",
            flush=True,
        )


async def bench_storm(cluster: RedisClusterProcs) -> None:
    print("\nStorm: 10,000 alerts in 500 groups (bench/storm.py), one bot process")
    print("| store | send s | final s | bound s | Slack calls | posts | updates | wrong |")
    print("|---|---|---|---|---|---|---|---|")
    for name, url in (("single", SINGLE), ("cluster", cluster.url)):
        async with store(url):
            run = await storm_bench.storm_once()
        print(
            f"| {name} | {run.send_seconds:.1f} | {run.final_seconds:.1f} | {run.lower_bound:.1f} "
            f"| {run.slack_calls} | {run.posts} | {run.updates} | {run.wrong} |",
            flush=True,
        )


async def main(only: set[str], writes: int, repeats: int) -> None:
    cluster = RedisClusterProcs().start()
    sentinel = RedisSentinelProcs().start()
    steps: dict[str, Callable[[], Any]] = {
        "writes": lambda: bench_writes(cluster, sentinel, writes),
        "intake": lambda: bench_intake(cluster, repeats),
        "storm": lambda: bench_storm(cluster),
    }
    try:
        for name, step in steps.items():
            if name in only:
                await step()
    finally:
        cluster.stop()
        sentinel.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.cluster_intake", description=__doc__)
    parser.add_argument("--only", default="writes,intake,storm")
    parser.add_argument("--writes", type=int, default=5000, help="XADDs per run")
    parser.add_argument("--repeats", type=int, default=3, help="HTTP intake runs per store")
    args = parser.parse_args()
    asyncio.run(main(set(args.only.split(",")), args.writes, args.repeats))
