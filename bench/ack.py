"""1. Slash-command acknowledgement latency, the bot beside the framework's floor.

Separate processes: the sandbox (rate limits on), the bot (``python -m bot.cli serve``), the floor
(``python -m bench.floor``: a Bolt AsyncApp that only acks, served by aiohttp the same way), a
response_url sink, and the load generator (``python -m bench.loadgen``). Closed-loop users send
signed ``/incident list`` commands as fast as they are acknowledged; runs of the bot and the floor
alternate so that drift hits both alike.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from bench import harness
from bench.harness import Proc, Spread, percentile, spread


@dataclass
class AckLevel:
    concurrency: int
    bot: dict[str, Spread] = field(default_factory=dict)  # p50/p95/p99/rps/cpu_ms
    floor: dict[str, Spread] = field(default_factory=dict)
    ratio_p99: Spread | None = None
    ratio_p50: Spread | None = None


@dataclass
class AckResult:
    levels: list[AckLevel]
    command: str
    bot_acked: int
    responses_sent: int  # answers that reached the response_url sink
    non_200: dict[str, int]
    answered_in_ack: int = 0  # answers carried by the ack's body itself


def summarize(run: dict[str, Any], cpu: float) -> dict[str, float]:
    lat = run["latencies_ms"]
    return {
        "p50": percentile(lat, 50),
        "p95": percentile(lat, 95),
        "p99": percentile(lat, 99),
        "rps": run["per_second"],
        # the server process's CPU per acknowledged request (warm-up included on both sides)
        "cpu_ms": 1000 * cpu / max(1, run["ok_total"]),
    }


async def bench_ack(
    levels: tuple[int, ...] = (1, 10, 100),
    repeats: int = 3,
    duration: float = 3.0,
    warmup: float = 0.7,
    text: str = "list",
) -> AckResult:
    async with harness.redis_prefix() as prefix:
        bot_port, floor_port, sink_port = harness.free_port(), harness.free_port(), harness.free_port()
        sandbox = await harness.start_sandbox(bot_port)
        procs: list[Proc] = [sandbox.proc]
        try:
            bot = await harness.start_bot(sandbox, bot_port, prefix)
            procs.append(bot.proc)
            floor = Proc(
                "floor",
                [
                    "-m",
                    "bench.floor",
                    "--port",
                    str(floor_port),
                    "--api-url",
                    sandbox.api_url,
                    "--secret",
                    harness.SIGNING_SECRET,
                ],
            ).start()
            procs.append(floor)
            sink = Proc("sink", ["-m", "bench.sink", "--port", str(sink_port)]).start()
            procs.append(sink)
            await floor.wait_http(f"http://127.0.0.1:{floor_port}/healthz")
            await sink.wait_http(f"http://127.0.0.1:{sink_port}/count")

            targets = {
                "bot": bot.url + "/slack/events",
                "floor": f"http://127.0.0.1:{floor_port}/slack/events",
            }
            common = [
                "--secret",
                harness.SIGNING_SECRET,
                "--response-url",
                f"http://127.0.0.1:{sink_port}/r",
                "--text",
                text,
            ]
            pids = {"bot": bot.proc.pid, "floor": floor.pid}
            results: list[AckLevel] = []
            bot_acked = 0
            in_ack = 0
            non_200: dict[str, int] = {}
            for c in levels:
                runs: dict[str, list[dict[str, float]]] = {"bot": [], "floor": []}
                for r in range(repeats):
                    order = ("floor", "bot") if r % 2 == 0 else ("bot", "floor")
                    for name in order:
                        pid = pids[name]
                        cpu0 = harness.cpu_seconds(pid)
                        out = await harness.run_loadgen(
                            "slash",
                            "--url",
                            targets[name],
                            "--concurrency",
                            str(c),
                            "--duration",
                            str(duration),
                            "--warmup",
                            str(warmup),
                            *common,
                        )
                        for status, n in out["statuses"].items():
                            if status != "200":
                                non_200[f"{name} {status}"] = non_200.get(f"{name} {status}", 0) + n
                        if name == "bot":
                            bot_acked += out["ok_total"]
                            in_ack += out.get("answered_in_ack", 0)
                        runs[name].append(summarize(out, harness.cpu_seconds(pid) - cpu0))
                level = AckLevel(c)
                for name, target in (("bot", level.bot), ("floor", level.floor)):
                    for key in ("p50", "p95", "p99", "rps", "cpu_ms"):
                        target[key] = spread(run[key] for run in runs[name])
                level.ratio_p99 = spread(
                    b["p99"] / f["p99"] for b, f in zip(runs["bot"], runs["floor"], strict=True)
                )
                level.ratio_p50 = spread(
                    b["p50"] / f["p50"] for b, f in zip(runs["bot"], runs["floor"], strict=True)
                )
                results.append(level)
            # every acknowledged command was answered: in the ack's body, or on its response_url
            sent = 0
            for _ in range(100):
                sent = int((await harness.get_json(f"http://127.0.0.1:{sink_port}/count"))["count"])
                if sent + in_ack >= bot_acked:
                    break
                await asyncio.sleep(0.1)
            return AckResult(results, f"/incident {text}", bot_acked, sent, non_200, in_ack)
        finally:
            for proc in reversed(procs):
                proc.stop()
