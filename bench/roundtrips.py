"""5. Redis round trips per command, counted (not timed), in-process.

In-process because the counting is done on the bot's own redis-py connections: every
``send_packed_command`` is one request written and its answer awaited (a pipeline or a MULTI/EXEC
block is one), every ``pack_command`` one Redis command; a Lua script (EVALSHA) is one command whose
inside runs in Redis. Counting on the client is exact and unaffected by anyone else using the same
Redis (``INFO commandstats`` and ``MONITOR`` are server-wide and the team's tests share the server).

The bot is built as in production (``chatops.product.build_app``), on a quiet key prefix, against an in-process
sandbox; the alert worker and outbox are driven step by step instead of polling in the background,
so their round trips are attributed exactly. Tasks that touch Redis while nothing happens (the
escalation worker's polling) are found in an idle window first and left out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import SecretStr
from redis.asyncio.connection import AbstractConnection

from bench import harness
from bench.storm import POLICY
from tests.alerts.storm import notification


@dataclass
class Count:
    round_trips: int = 0
    commands: Counter[str] = field(default_factory=Counter)
    sites: Counter[str] = field(default_factory=Counter)  # round trips by the bot's module that made them

    @property
    def total_commands(self) -> int:
        return sum(self.commands.values())

    def top(self, n: int = 6) -> str:
        return ", ".join(f"{name} {k}" for name, k in self.commands.most_common(n))


class RedisCounter:
    """Counts the bot's Redis requests by asyncio task while installed."""

    def __init__(self) -> None:
        self.by_task: dict[str, Count] = {}
        self.ignored: set[str] = set()
        self._orig_send = AbstractConnection.send_packed_command
        self._orig_pack = AbstractConnection.pack_command

    @staticmethod
    def _task() -> str:
        task = asyncio.current_task()
        return task.get_name() if task is not None else "-"

    def _count(self) -> Count:
        return self.by_task.setdefault(self._task(), Count())

    def install(self) -> None:
        counter = self
        orig_send, orig_pack = self._orig_send, self._orig_pack

        async def send_packed_command(
            conn: AbstractConnection, command: Any, check_health: bool = True
        ) -> None:
            count = counter._count()
            count.round_trips += 1
            count.sites[_site()] += 1
            await orig_send(conn, command, check_health)

        def pack_command(conn: AbstractConnection, *args: Any) -> Any:
            name = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
            counter._count().commands[name.split()[0].upper()] += 1
            return orig_pack(conn, *args)

        AbstractConnection.send_packed_command = send_packed_command  # type: ignore[method-assign,assignment]
        AbstractConnection.pack_command = pack_command  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        AbstractConnection.send_packed_command = self._orig_send  # type: ignore[method-assign,assignment]
        AbstractConnection.pack_command = self._orig_pack  # type: ignore[method-assign,assignment]

    def reset(self) -> None:
        self.by_task = {}

    def take(self) -> Count:
        """Everything counted since the last reset (tasks found idle-polling excluded)."""
        return self.take_split("\0")[1]

    def take_split(self, prefix: str) -> tuple[Count, Count]:
        """(tasks named ``prefix…``, the other tasks) since the last reset; then reset."""
        inside, outside = Count(), Count()
        for name, c in self.by_task.items():
            if name in self.ignored:
                continue
            out = inside if name.startswith(prefix) else outside
            out.round_trips += c.round_trips
            out.commands.update(c.commands)
            out.sites.update(c.sites)
        self.reset()
        return inside, outside


_ROOT = str(harness.ROOT) + "/"


def _site() -> str:
    """The innermost frame of the bot's own code on the stack, e.g. ``bot/escalation/store.py``."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(_ROOT) and name[len(_ROOT) :].startswith(("bot/", "commands/")):
            return name[len(_ROOT) :]
        frame = frame.f_back  # type: ignore[assignment]
    return "other"


@dataclass
class RoundTripResult:
    rows: list[tuple[str, Count]]  # the request itself (every task but the outbox's)
    ignored_tasks: dict[str, str]  # task name → what it sent while idle
    delivery: dict[str, Count] = field(default_factory=dict)  # label → the outbox's posts it queued


async def bench_roundtrips(idle_seconds: float = 2.0) -> RoundTripResult:
    from bot.alerts import part as service
    from bot.config.policy import load_policy
    from bot.context import build_context
    from bot.settings import Settings
    from chatops.product import build_app
    from sandbox import Sandbox

    counter = RedisCounter()
    rows: list[tuple[str, Count]] = []
    queued: dict[str, Count] = {}
    original_start = service.AlertsRuntime.start
    async with harness.redis_prefix() as prefix:
        sb = Sandbox()
        await sb.start()
        policy_path = harness.LOG_DIR / f"policy-{prefix}.yml"
        harness.LOG_DIR.mkdir(parents=True, exist_ok=True)
        policy_path.write_text(POLICY)
        settings = Settings(
            slack_api_url=sb.api_url,
            slack_bot_token=SecretStr(sb.bot_token),
            slack_signing_secret=SecretStr(sb.signing_secret),
            redis_url=harness.REDIS_URL,
            redis_prefix=prefix,
            chatops_config=str(policy_path),
        )
        ctx = build_context(settings, load_policy(settings.chatops_config))
        service.AlertsRuntime.start = lambda self: None  # type: ignore[method-assign,assignment]
        runner = web.AppRunner(build_app(ctx), access_log=None)
        try:
            await runner.setup()
            port = harness.free_port()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            sb.bot_url = f"http://127.0.0.1:{port}/slack/events"
            runtime = ctx.alerts
            assert runtime is not None, "the alerts part did not start"
            await runtime.worker.ensure_group()
            counter.install()
            # warm-up: scripts loaded, connections open, caches filled; then the idle window
            await sb.command("alice", "#incidents", "/incident", "list")
            await asyncio.sleep(0.5)
            counter.reset()
            await asyncio.sleep(idle_seconds)
            idle = {name: c for name, c in counter.by_task.items() if c.round_trips}
            counter.ignored = set(idle)
            counter.reset()

            async def command(label: str, text: str, cmd: str = "/incident") -> None:
                before = len(sb.ephemerals("alice", "#incidents"))
                await sb.command("alice", "#incidents", cmd, text)
                for _ in range(400):
                    if len(sb.ephemerals("alice", "#incidents")) > before:
                        break
                    await asyncio.sleep(0.025)
                await asyncio.sleep(0.3)  # audit and anything else after the answer
                # the posts it queued, counted apart (a task named like the outbox's own)
                await asyncio.create_task(ctx.outbox.drain(timeout=30), name="outbox-drain")
                outbox, request = counter.take_split("outbox")
                rows.append((label, request))
                queued[label] = outbox

            await command('/incident create critical "…"', 'create critical "Bench: payments down"')
            inc = (await ctx.store.list(include_resolved=True))[0].id
            await command("/incident list", "list")
            await command(f"/incident show {inc}", f"show {inc}")
            await command(f"/incident note {inc} …", f"note {inc} restarted the primary")
            await command(
                f"/status update {inc} monitoring …",
                f'update {inc} monitoring "error rate back down"',
                "/status",
            )
            await command(f"/incident resolve {inc} …", f"resolve {inc} failover done")
            await command("/incident help", "help")

            # one Alertmanager notification: intake, then the worker, then the outbox delivering it
            body = json.dumps(notification(0, 1)).encode()
            async with aiohttp.ClientSession() as http:
                async with http.post(f"http://127.0.0.1:{port}/alerts/alertmanager", data=body) as resp:
                    assert resp.status == 200, await resp.text()
            rows.append(("alert notification: intake (HTTP 200)", counter.take()))
            await runtime.worker.consume_once(block_ms=None)
            rows.append(("alert notification: worker (new group)", counter.take()))
            await runtime.outbox.drain(timeout=30)
            delivery, claim = counter.take_split("outbox:")
            rows.append(("alert notification: outbox delivery (root + reply)", delivery))
            rows.append(("alert notification: outbox claim + drain loop", claim))
            body = json.dumps(notification(0, 2)).encode()
            async with aiohttp.ClientSession() as http:
                async with http.post(f"http://127.0.0.1:{port}/alerts/alertmanager", data=body) as resp:
                    assert resp.status == 200, await resp.text()
            counter.take()
            await runtime.worker.consume_once(block_ms=None)
            rows.append(("alert notification: worker (known group)", counter.take()))
            await runtime.outbox.drain(timeout=30)
            delivery, claim = counter.take_split("outbox:")
            rows.append(("alert notification: outbox delivery (reply + root update)", delivery))
            return RoundTripResult(
                rows, {name: f"{c.top(4)} in {idle_seconds:g} s idle" for name, c in idle.items()}, queued
            )
        finally:
            counter.uninstall()
            service.AlertsRuntime.start = original_start  # type: ignore[method-assign,assignment]
            with contextlib.suppress(Exception):
                await ctx.alerts.stop()  # type: ignore[union-attr]
            await runner.cleanup()
            await sb.stop()
