"""3. Alert storm: 10,000 alerts in 500 groups (1,500 notifications in three waves) into one channel,
Slack's rate limits on in the sandbox, the bot a real process.

Reported: Slack calls made against one post per alert; the time until Slack shows the final state
(the sandbox's last change to the channel, seen on its event stream) against the lower bound that
1 message per second per channel sets for the messages that had to be posted; 429s answered by the
sandbox and what the bot did with them; the bot's peak RSS (VmHWM). The final state is read back
through the Web API and checked alert by alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from slack_sdk.web.async_client import AsyncWebClient

from bench import harness
from bench.harness import Proc, Spread, spread
from bot.alerts.worker import AlertKeys
from bot.keys import Keys
from sandbox.config import SandboxConfig
from tests.alerts.slackview import channel_id, final_by_ident, read_channel
from tests.alerts.storm import GROUPS, PER_GROUP, expected_final, notification

POLICY = "alerts:\n  default_channel: '#alerts'\n  storm:\n    threshold: 10\n    window_seconds: 60\n"
SANDBOX = SandboxConfig()


@dataclass
class StormRun:
    alerts: int
    notifications: int
    send_seconds: float
    final_seconds: float
    slack_calls: int
    posts: int
    updates: int
    lower_bound: float
    sandbox_429: int
    bot_429: int
    outbox_deferrals: int
    dead: int
    peak_rss_mb: float
    wrong: int
    fault_429_rate: float = 0.0
    by_method: dict[str, Any] = field(default_factory=dict)

    @property
    def call_ratio(self) -> float:
        return self.alerts / self.slack_calls

    @property
    def bound_ratio(self) -> float:
        return self.final_seconds / self.lower_bound


@dataclass
class StormResult:
    runs: list[StormRun]  # Slack's rate limits only
    faulty: list[StormRun] = field(default_factory=list)  # plus injected 429s

    def spread(self, attr: str) -> Spread:
        return spread(getattr(r, attr) for r in self.runs)


class ChannelWatch:
    """Follows the sandbox's event stream; remembers when the channel last changed."""

    def __init__(self, url: str, channel: str) -> None:
        self.url = url
        self.channel = channel
        self.last_change: float | None = None
        self.changes = 0
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._follow())
        await asyncio.wait_for(self._ready.wait(), 10)

    async def _follow(self) -> None:
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        async with aiohttp.ClientSession(timeout=timeout) as http, http.get(self.url) as resp:
            async for raw in resp.content:
                line = raw.decode().strip()
                if line.startswith("event: hello"):
                    self._ready.set()
                if not line.startswith("data: "):
                    continue
                event = json.loads(line[6:])
                if event.get("channel") == self.channel and event.get("type", "").startswith("message"):
                    self.last_change = time.monotonic()
                    self.changes += 1

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def send_notifications(url: str, groups: int, concurrency: int = 16) -> int:
    """The storm's three waves, one after the other; within a wave the groups are sent concurrently
    (Alertmanager sends each group on its own). 5xx and connection errors are retried."""
    accepted = 0
    sem = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession() as http:

        async def one(body: bytes) -> None:
            nonlocal accepted
            async with sem:
                for _ in range(50):
                    try:
                        async with http.post(
                            url, data=body, headers={"Content-Type": "application/json"}
                        ) as r:
                            if r.status == 200:
                                accepted += 1
                                return
                            if r.status < 500:
                                raise RuntimeError(f"intake refused: {r.status} {await r.text()}")
                    except (aiohttp.ClientError, OSError):
                        pass
                    await asyncio.sleep(0.2)
                raise RuntimeError("intake kept failing")

        for wave in range(3):
            await asyncio.gather(*(one(json.dumps(notification(g, wave)).encode()) for g in range(groups)))
    return accepted


def expected_for(groups: int) -> dict[str, str]:
    pattern = re.compile(r"instance=g(\d+)-h\d+")
    out = {}
    for ident, state in expected_final().items():
        m = pattern.fullmatch(ident)
        if m and int(m.group(1)) < groups:
            out[ident] = state
    return out


async def settled(redis: aioredis.Redis, prefix: str) -> bool:
    keys = Keys(prefix)
    ready = await redis.zcard(keys.custom("outbox", "ready"))
    stream = await redis.xlen(AlertKeys(keys).stream)
    return ready == 0 and stream == 0


def lower_bound(send_seconds: float, posts: int, updates: int) -> float:
    """No schedule shows the final state sooner: the notifications must have arrived, the posts go
    out at 1 per second per channel after a burst, chat.update at its tier's rate after its burst."""
    cfg = SANDBOX
    post_time = max(0, posts - cfg.post_burst) / cfg.post_refill_per_second
    tier3 = cfg.tier_per_minute[3]
    update_time = max(0, updates - tier3) * 60 / tier3
    return max(send_seconds, post_time, update_time)


async def storm_once(
    groups: int = GROUPS, fault_429_rate: float = 0.0, settle_timeout: float = 300.0
) -> StormRun:
    async with harness.redis_prefix() as prefix:
        bot_port = harness.free_port()
        sandbox = await harness.start_sandbox(bot_port)
        procs: list[Proc] = [sandbox.proc]
        redis = aioredis.from_url(harness.REDIS_URL, decode_responses=True)
        watch: ChannelWatch | None = None
        try:
            bot = await harness.start_bot(sandbox, bot_port, prefix, POLICY)
            procs.append(bot.proc)
            cid = (await harness.get_json(sandbox.url + "/sandbox/channel", channel="alerts"))["channel"][
                "id"
            ]
            if fault_429_rate:
                # on top of the real limits, a share of all calls answered 429 with Retry-After: 1
                await harness.post_json(
                    sandbox.url + "/sandbox/faults", {"fault_429_rate": fault_429_rate, "seed": 7}
                )
            watch = ChannelWatch(sandbox.url + "/sandbox/events", cid)
            await watch.start()
            before = await sandbox.stats()
            t0 = time.monotonic()
            accepted = await send_notifications(bot.url + "/alerts/alertmanager", groups)
            send_seconds = time.monotonic() - t0
            deadline = t0 + settle_timeout
            while not await settled(redis, prefix):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"storm not delivered within {settle_timeout}s")
                await asyncio.sleep(0.25)
            await asyncio.sleep(1.0)  # nothing more arrives after the outbox is empty
            if watch.last_change is None:
                raise RuntimeError("the channel never changed")
            final_seconds = watch.last_change - t0
            stats = await sandbox.stats()
            await harness.post_json(sandbox.url + "/sandbox/faults", {"fault_429_rate": 0.0})
            metrics = await bot.metrics()
            peak = harness.peak_rss_mb(bot.proc.pid)
            dead = int(await redis.llen(Keys(prefix).custom("outbox", "dead")))
            # read back what a person sees, and check every alert's last shown state
            client = AsyncWebClient(token=harness.BOT_TOKEN, base_url=sandbox.api_url)
            threads = await read_channel(client, await channel_id(client, "alerts"))
            final = final_by_ident(threads)
            wrong = sum(1 for k, v in expected_for(groups).items() if final.get(k) != v)
        finally:
            if watch is not None:
                await watch.stop()
            await redis.aclose()
            for proc in reversed(procs):
                proc.stop()
    methods = stats["methods"]
    posts = int(methods.get("chat.postMessage", {}).get("ok", 0))
    updates = int(methods.get("chat.update", {}).get("ok", 0))
    return StormRun(
        alerts=groups * PER_GROUP,
        notifications=accepted,
        send_seconds=send_seconds,
        final_seconds=final_seconds,
        slack_calls=int(stats["calls"]) - int(before["calls"]),
        posts=posts,
        updates=updates,
        lower_bound=lower_bound(send_seconds, posts, updates),
        sandbox_429=int(stats["totals"].get("ratelimited", 0)) + int(stats["totals"].get("fault_429", 0)),
        bot_429=int(harness.metric_sum(metrics, "chatops_slack_ratelimited_total")),
        outbox_deferrals=int(harness.metric_sum(metrics, "chatops_outbox_ratelimited_total")),
        dead=dead,
        peak_rss_mb=peak,
        wrong=wrong,
        fault_429_rate=fault_429_rate,
        by_method=methods,
    )


async def bench_storm(repeats: int = 3, groups: int = GROUPS, fault_429_rate: float = 0.1) -> StormResult:
    """``repeats`` runs under Slack's limits, then one more with injected 429s (if the rate is > 0)."""
    runs = [await storm_once(groups) for _ in range(repeats)]
    faulty = [await storm_once(groups, fault_429_rate)] if fault_429_rate else []
    return StormResult(runs, faulty)
