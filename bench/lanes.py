"""6. Lanes: people's work while an alert storm saturates the bulk lane, against an idle bot.

One all-in-one process (``python -m chatops serve``: intake, alert worker, outbox and commands on one
event loop), the sandbox with Slack's limits, the real Redis. Phases alternate idle, storm, idle,
storm (A B A B), each on a fresh sandbox, bot and key prefix:

* *storm*: the storm scenario's 10,000 alerts in 500 groups (1,500 notifications) are sent into
  #alerts as fast as the intake answers; a second after the sending starts, the people start;
* *people*: Alice declares incidents one after the other (``/incident create`` through the sandbox,
  ``declare_gap`` apart so #incidents' own posting limit never holds one back); the clock stops when
  her answer shows AND the war room it names holds the bot's first post (*war room ready*);
  meanwhile a probe sends ``/incident list`` every ``probe_gap`` and records each acknowledgement
  time as the sandbox measured it (the declares' own acks too): *ack p99*.

While the people work the storm's posts keep the bulk lane saturated (about 50 posts at Slack's one
per second in #alerts take ~45 s); how much was still queued is recorded as the bulk lane's depth.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field

from bench import harness
from bench.harness import Proc, Spread, percentile, spread
from bench.storm import POLICY, send_notifications

_ROOM = re.compile(r"<#(C[A-Z0-9]+)")


@dataclass
class LanePhase:
    storm: bool
    declare_ms: list[float]
    ack_ms: list[float]
    bulk_depth: float  # the bulk lane's depth (threads) at the end of the phase
    notifications: int = 0


@dataclass
class LanesResult:
    phases: list[LanePhase]
    problems: list[str] = field(default_factory=list)

    def _of(self, storm: bool) -> list[LanePhase]:
        return [p for p in self.phases if p.storm == storm]

    def declare(self, storm: bool, q: float) -> Spread:
        return spread(percentile(p.declare_ms, q) for p in self._of(storm))

    def ack_p99(self, storm: bool) -> Spread:
        return spread(percentile(p.ack_ms, 99) for p in self._of(storm))

    def ack_max(self, storm: bool) -> float:
        return max(max(p.ack_ms) for p in self._of(storm))

    @property
    def ratio_median(self) -> Spread:
        """Storm ÷ idle declare median, pairing each storm phase with the idle phase before it."""
        idle, storm = self._of(False), self._of(True)
        return spread(
            percentile(s.declare_ms, 50) / percentile(i.declare_ms, 50)
            for i, s in zip(idle, storm, strict=False)
        )


async def _declare(sandbox: harness.SandboxProc, n: int, ack_ms: list[float], problems: list[str]) -> float:
    seen = len((await harness.get_json(sandbox.url + "/sandbox/ephemeral", user="alice"))["messages"])
    t0 = time.perf_counter()
    ack = await harness.post_json(
        sandbox.url + "/sandbox/command",
        {
            "user": "alice",
            "channel": "incidents",
            "command": "/incident",
            "text": f'create critical "Lanes {n}"',
        },
    )
    if not ack.get("ok") or ack.get("error"):
        raise RuntimeError(f"/incident create was not acknowledged: {ack}")
    ack_ms.append(float(ack.get("ack_ms") or 0.0))
    room: str | None = None
    while True:
        if time.perf_counter() - t0 > 60:
            raise RuntimeError("no war room within 60 s")
        if room is None:
            shown = (await harness.get_json(sandbox.url + "/sandbox/ephemeral", user="alice"))["messages"]
            if len(shown) > seen:
                reply = shown[-1]
                if "declared" not in str(reply.get("text")):
                    problems.append(str(reply.get("text"))[:200])
                found = _ROOM.search(f"{reply.get('text')} {reply.get('blocks')}")
                if found is None:
                    return (time.perf_counter() - t0) * 1000
                room = found.group(1)
        if room is not None:
            state = await harness.get_json(sandbox.url + "/sandbox/channel", channel=room)
            if state.get("ok") and state.get("messages"):
                return (time.perf_counter() - t0) * 1000
        await asyncio.sleep(0.005)


async def _probe(sandbox: harness.SandboxProc, gap: float, ack_ms: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        ack = await harness.post_json(
            sandbox.url + "/sandbox/command",
            {"user": "bob", "channel": "incidents", "command": "/incident", "text": "list"},
        )
        if ack.get("ok") and not ack.get("error"):
            ack_ms.append(float(ack.get("ack_ms") or 0.0))
        await asyncio.sleep(gap)


async def lanes_phase(
    storm: bool, declares: int, declare_gap: float, probe_gap: float, groups: int
) -> LanePhase:
    async with harness.redis_prefix() as prefix:
        bot_port = harness.free_port()
        sandbox = await harness.start_sandbox(bot_port)
        procs: list[Proc] = [sandbox.proc]
        problems: list[str] = []
        try:
            bot = await harness.start_bot(sandbox, bot_port, prefix, POLICY)
            procs.append(bot.proc)
            await _declare(sandbox, 0, [], problems)  # warm-up, not counted
            await asyncio.sleep(declare_gap)
            sender: asyncio.Task[int] | None = None
            if storm:
                sender = asyncio.create_task(send_notifications(bot.url + "/alerts/alertmanager", groups))
                await asyncio.sleep(1.0)
            ack_ms: list[float] = []
            stop = asyncio.Event()
            probe = asyncio.create_task(_probe(sandbox, probe_gap, ack_ms, stop))
            declare_ms: list[float] = []
            for n in range(1, declares + 1):
                declare_ms.append(await _declare(sandbox, n, ack_ms, problems))
                await asyncio.sleep(declare_gap)
            stop.set()
            await probe
            depth = harness.metric_sum(await bot.metrics(), 'chatops_lane_depth{lane="bulk"}')
            sent = 0
            if sender is not None:
                sender.cancel()
                try:
                    sent = await sender
                except asyncio.CancelledError:
                    sent = -1  # still sending when the people were done
            if problems:
                raise RuntimeError(f"declarations answered with problems: {problems}")
            return LanePhase(storm, declare_ms, ack_ms, depth, sent)
        finally:
            for proc in reversed(procs):
                proc.stop()


async def bench_lanes(
    repeats: int = 2,
    declares: int = 8,
    declare_gap: float = 1.5,
    probe_gap: float = 0.1,
    groups: int = 500,
) -> LanesResult:
    phases: list[LanePhase] = []
    for _ in range(repeats):
        for storm in (False, True):  # A B A B
            phases.append(await lanes_phase(storm, declares, declare_gap, probe_gap, groups))
    return LanesResult(phases)
