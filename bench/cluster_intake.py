"""What the intake's write costs on each store shape: N notification-sized XADDs (50 in flight),
with and without ``WAIT 1`` before the answer, on the single Redis at 127.0.0.1:6379, a real
six-node Cluster and a primary + replica behind Sentinel (tests/harness/redis_cluster.py).

    python -m bench.cluster_intake [N]

Prints writes per second and p50/p99 latency per shape and mode (figures in bench/results.md).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid

from bot.core.redis_factory import connect, write_and_wait
from tests.harness.redis_cluster import RedisClusterProcs, RedisSentinelProcs

BODY = "x" * 2000  # about one Alertmanager notification with a few alerts
IN_FLIGHT = 50


async def run(url: str, replicas: int, n: int) -> tuple[float, float, float]:
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
            assert acked >= replicas
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    elapsed = time.perf_counter() - start
    await client.delete(key)
    await client.aclose()
    q = statistics.quantiles(latencies, n=100)
    return n / elapsed, q[49] * 1000, q[98] * 1000


async def main(n: int) -> None:
    cluster = RedisClusterProcs().start()
    sentinel = RedisSentinelProcs().start()
    try:
        rows = [("single", "redis://127.0.0.1:6379/0", 0)]
        rows += [("cluster", cluster.url, 0), ("cluster", cluster.url, 1)]
        rows += [("sentinel", sentinel.url, 0), ("sentinel", sentinel.url, 1)]
        print(f"{n} XADDs of {len(BODY)} bytes, {IN_FLIGHT} in flight")
        print("| shape | WAIT | writes/s | p50 ms | p99 ms |\n|---|---|---|---|---|")
        for shape, url, replicas in rows:
            await run(url, replicas, 200)  # warm-up
            rate, p50, p99 = await run(url, replicas, n)
            print(
                f"| {shape} | {'1' if replicas else '-'} | {rate:,.0f} | {p50:.2f} | {p99:.2f} |", flush=True
            )
    finally:
        cluster.stop()
        sentinel.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000))
