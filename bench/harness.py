"""Shared bench harness: separate processes (sandbox, bot, floor app, sink, load generator), a Redis
key prefix that is cleaned up, Prometheus scrapes, peak memory, statistics and the machine."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
BOT_TOKEN = "xoxb-sandbox-token"  # sandbox.config.SandboxConfig defaults
SIGNING_SECRET = "sandbox-signing-secret"
LOG_DIR = Path(os.environ.get("BENCH_LOG_DIR", tempfile.gettempdir())) / "chatops-bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- statistics ----------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, int(-(-q * len(ordered) // 100)))  # ceil(q/100 * n)
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Spread:
    """The median of repeated runs with their min and max."""

    values: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def lo(self) -> float:
        return min(self.values)

    @property
    def hi(self) -> float:
        return max(self.values)

    def fmt(self, digits: int = 1, unit: str = "") -> str:
        if len(self.values) == 1:
            return f"{self.median:.{digits}f}{unit}"
        return f"{self.median:.{digits}f}{unit} ({self.lo:.{digits}f}–{self.hi:.{digits}f})"

    def to_json(self) -> dict[str, Any]:
        return {"median": self.median, "min": self.lo, "max": self.hi, "runs": self.values}


def spread(values: Iterable[float]) -> Spread:
    return Spread([float(v) for v in values])


# ---- processes -----------------------------------------------------------------------------------
@dataclass
class Proc:
    """A child process with its output in a log file; stopped with SIGTERM (then SIGKILL)."""

    name: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    popen: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def start(self) -> Proc:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{self.name}-{uuid.uuid4().hex[:6]}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        with self.log_path.open("wb") as log:
            self.popen = subprocess.Popen(
                [sys.executable, *self.args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_tail(self, n: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=5)

    async def wait_http(self, url: str, timeout: float = 30.0) -> None:
        """Wait until ``url`` answers 200 (the process is serving)."""
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while True:
                if not self.alive():
                    raise RuntimeError(f"{self.name} exited during start-up:\n{self.log_tail()}")
                try:
                    async with http.get(url) as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} not serving {url} within {timeout}s:\n{self.log_tail()}")
                await asyncio.sleep(0.05)


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size of a live process (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class SandboxProc:
    proc: Proc
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    async def stats(self) -> dict[str, Any]:
        return await get_json(self.url + "/sandbox/stats")


@dataclass
class BotProc:
    proc: Proc
    port: int
    prefix: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def metrics(self) -> dict[str, float]:
        return await scrape(self.url + "/metrics")


async def get_json(url: str, **params: str) -> Any:
    async with aiohttp.ClientSession() as http, http.get(url, params=params) as resp:
        return await resp.json()


async def post_json(url: str, data: dict[str, Any]) -> Any:
    async with aiohttp.ClientSession() as http, http.post(url, json=data) as resp:
        return await resp.json()


async def start_sandbox(bot_port: int, *, rate_limits: bool = True) -> SandboxProc:
    port = free_port()
    args = ["-m", "sandbox", "--port", str(port), "--bot-url", f"http://127.0.0.1:{bot_port}/slack/events"]
    if not rate_limits:
        args.append("--no-rate-limits")
    proc = Proc("sandbox", args).start()
    sb = SandboxProc(proc, port)
    await proc.wait_http(sb.url + "/sandbox/stats")
    return sb


async def start_bot(
    sandbox: SandboxProc,
    port: int,
    prefix: str,
    policy_yaml: str | None = None,
    module: tuple[str, ...] = ("chatops.main", "serve"),
    *,
    extra_env: dict[str, str] | None = None,
    name: str = "bot",
) -> BotProc:
    """``python -m chatops.main serve`` (or ``module``) pointed at the sandbox and Redis under ``prefix``."""
    env = {
        "SLACK_API_URL": sandbox.api_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "REDIS_URL": REDIS_URL,
        "CHATOPS_REDIS_PREFIX": prefix,
        "CHATOPS_LOG_FORMAT": "json",
        **(extra_env or {}),
    }
    if policy_yaml is not None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        path = LOG_DIR / f"policy-{prefix}.yml"
        path.write_text(policy_yaml)
        env["CHATOPS_CONFIG"] = str(path)
    host = ["--host", "127.0.0.1"] if module[0] == "chatops.main" else []
    proc = Proc(name, ["-m", *module, *host, "--port", str(port)], env).start()
    bot = BotProc(proc, port, prefix)
    await proc.wait_http(bot.url + "/readyz")
    return bot


# ---- Redis ---------------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def redis_prefix() -> AsyncIterator[str]:
    """A unique key prefix; every key under it (and arq's keys for its jobs) is deleted afterwards."""
    prefix = f"chatops-bench-{uuid.uuid4().hex[:10]}"
    try:
        yield prefix
    finally:
        client = aioredis.from_url(REDIS_URL, decode_responses=True)
        try:
            keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
            # the escalation worker's arq keys (arq:job:<id>, ...) carry job ids that start with the prefix
            keys += [k async for k in client.scan_iter(match=f"arq:*:{prefix}:*", count=1000)]
            for i in range(0, len(keys), 500):
                await client.delete(*keys[i : i + 500])
        finally:
            await client.aclose()


# ---- Prometheus ----------------------------------------------------------------------------------
async def scrape(url: str) -> dict[str, float]:
    """Every sample of a /metrics page as ``name{label="v",...}`` → value."""
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        text = await resp.text()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = float(sample.value)
    return out


def metric_sum(samples: dict[str, float], name: str) -> float:
    """Sum of a metric over all label sets (``name`` without labels)."""
    return sum(v for k, v in samples.items() if k == name or k.startswith(name + "{"))


def metric_delta(before: dict[str, float], after: dict[str, float], name: str) -> float:
    return metric_sum(after, name) - metric_sum(before, name)


# ---- load generator ------------------------------------------------------------------------------
async def run_loadgen(*args: str, timeout: float = 120.0) -> dict[str, Any]:
    """``python -m bench.loadgen ARGS`` in its own process; returns its JSON result."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.loadgen",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    return json.loads(out)


# ---- the machine ---------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    redis_version = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        info = subprocess.run(["redis-cli", "info", "server"], capture_output=True, text=True, timeout=5)
        for line in info.stdout.splitlines():
            if line.startswith("redis_version:"):
                redis_version = line.split(":", 1)[1].strip()
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": mem,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "redis": redis_version,
    }
