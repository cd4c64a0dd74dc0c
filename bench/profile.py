"""Profile the slowest path with py-spy: the bot process under 100 concurrent slash-command users
or under Alertmanager senders, sampled from outside the process (no code changes).

    python -m bench.profile [slash|alerts] [--seconds 8]   (also artifacts/bench-profile-<kind>.txt)
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench import harness
from bench.harness import ROOT, Proc
from bench.intake import write_bodies
from bench.storm import POLICY

OUT = ROOT / "artifacts"
OWN_CODE = ("bot/", "commands/")


@dataclass
class Profile:
    samples: int
    inclusive: list[tuple[str, float]]  # (frame, % of samples with it on the stack)
    self_time: list[tuple[str, float]]  # (frame, % of samples with it on top)
    by_area: list[tuple[str, float]]  # (area, % of samples) by the innermost recognisable area
    path: Path


AREAS = (
    ("bot/slack/gateway.py", "Slack gateway (our code)"),
    ("bot/audit.py", "audit record (our code)"),
    ("bot/idempotency.py", "idempotency claim (our code)"),
    ("bot/dispatch.py", "dispatch (our code)"),
    ("bot/alerts/", "alert intake and worker (our code)"),
    ("bot/slack/outbox/", "outbox (our code)"),
    ("commands/", "command handlers (our code)"),
    ("bot/", "other bot code"),
    ("redis/", "redis-py client"),
    ("slack_bolt/", "Bolt (framework)"),
    ("slack_sdk/", "slack_sdk"),
    ("aiohttp/", "aiohttp"),
    ("pydantic", "pydantic"),
    ("prometheus_client/", "prometheus_client"),
    ("logging/", "logging"),
    ("structlog/", "structlog"),
    ("json/", "json"),
    ("tenacity/", "tenacity (retry wrapper)"),
)


def frame_name(frame: str) -> str:
    """py-spy's ``func (path/to/file.py:12)`` → ``func (file area/path.py)`` without the line."""
    func, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/", "python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{func} ({path})"


def area_of(stack: list[str]) -> str:
    """The innermost frame's area, walking out past the standard library's plumbing; frames that
    reach the process's main loop with nothing else on the way are the event loop's own work."""
    for frame in reversed(stack):
        if frame.startswith("main (bot/cli.py"):
            return "event loop (asyncio, selectors)"
        for marker, name in AREAS:
            if marker in frame:
                return name
    return "asyncio (task steps, timers, streams)"


def summarize(collapsed: str, top: int = 15) -> tuple[int, list, list, list]:
    incl: Counter[str] = Counter()
    selfc: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack_s, _, count_s = line.rpartition(" ")
        if not stack_s:
            continue
        n = int(count_s)
        stack = [frame_name(f) for f in stack_s.split(";")]
        total += n
        for f in set(stack):
            if not any(skip in f for skip in ("asyncio/", "runpy", "bot/cli.py", "events.py")):
                incl[f] += n
        selfc[stack[-1]] += n
        areas[area_of(stack)] += n
    pct = 100.0 / total if total else 0.0
    return (
        total,
        [(f, n * pct) for f, n in incl.most_common(top)],
        [(f, n * pct) for f, n in selfc.most_common(top)],
        [(a, n * pct) for a, n in areas.most_common()],
    )


async def profile_load(kind: str = "slash", seconds: float = 8.0, concurrency: int = 100) -> Profile:
    """Sample the bot while the load generator drives it: ``slash`` (/incident list users) or
    ``alerts`` (Alertmanager notifications, the worker consuming them meanwhile)."""
    beside = Path(sys.executable).with_name("py-spy")  # a virtualenv's bin/ need not be on PATH
    py_spy = str(beside) if beside.exists() else shutil.which("py-spy")
    if py_spy is None:
        raise RuntimeError("py-spy is not installed: pip install -e '.[dev]'")
    async with harness.redis_prefix() as prefix:
        bot_port, sink_port = harness.free_port(), harness.free_port()
        sandbox = await harness.start_sandbox(bot_port)
        procs: list[Proc] = [sandbox.proc]
        try:
            bot = await harness.start_bot(sandbox, bot_port, prefix, POLICY)
            procs.append(bot.proc)
            sink = Proc("sink", ["-m", "bench.sink", "--port", str(sink_port)]).start()
            procs.append(sink)
            await sink.wait_http(f"http://127.0.0.1:{sink_port}/count")
            raw = harness.LOG_DIR / f"profile-{prefix}.txt"
            load = asyncio.create_task(
                harness.run_loadgen(
                    kind,
                    "--url",
                    bot.url + ("/slack/events" if kind == "slash" else "/alerts/alertmanager"),
                    "--concurrency",
                    str(concurrency),
                    "--duration",
                    str(seconds + 1.5),
                    "--warmup",
                    "0.5",
                    "--secret",
                    harness.SIGNING_SECRET,
                    "--response-url",
                    f"http://127.0.0.1:{sink_port}/r",
                    "--bodies",
                    write_bodies()[0],
                )
            )
            await asyncio.sleep(1.0)
            spy = await asyncio.create_subprocess_exec(
                py_spy,
                "record",
                "--pid",
                str(bot.proc.pid),
                "--duration",
                str(int(seconds)),
                "--rate",
                "200",
                "--format",
                "raw",
                "--output",
                str(raw),
                "--nonblocking",
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            _, err = await spy.communicate()
            await load
            if spy.returncode != 0 or not raw.exists():
                raise RuntimeError(f"py-spy failed: {err.decode()[-2000:]}")
            total, incl, selfc, areas = summarize(raw.read_text())
            OUT.mkdir(exist_ok=True)
            path = OUT / f"bench-profile-{kind}.txt"
            what = "/incident list users" if kind == "slash" else "Alertmanager senders"
            lines = [f"py-spy, bot under {concurrency} closed-loop {what}, {total} samples"]
            lines += ["", "by area (innermost recognisable frame):"] + [f"  {p:5.1f}%  {a}" for a, p in areas]
            lines += ["", "inclusive:"] + [f"  {p:5.1f}%  {f}" for f, p in incl]
            lines += ["", "self:"] + [f"  {p:5.1f}%  {f}" for f, p in selfc]
            path.write_text("\n".join(lines) + "\n")
            return Profile(total, incl, selfc, areas, path)
        finally:
            for proc in reversed(procs):
                proc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("kind", choices=("slash", "alerts"), nargs="?", default="slash")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()
    result = asyncio.run(profile_load(args.kind, args.seconds, args.concurrency))
    print(result.path.read_text())


if __name__ == "__main__":
    main()
