"""4. ``/incident create`` until the war room is ready, the bot's own time apart from Slack's.

Real processes (sandbox with rate limits, ``python -m chatops serve``). Alice types the command in
#incidents through the sandbox (``POST /sandbox/command``: delivered signed, like Slack); the run
ends when the bot's answer (posted to the response_url after the announcement, the war room, its
topic, purpose, invitations, pinned post and bookmark) shows in Alice's view. The sandbox keeps no
per-call timings, so Slack's share is the bot's own ``chatops_slack_call_seconds`` histogram (its sum
over all methods: time inside Web API calls, HTTP client included, so an upper bound of the
sandbox's time); pacing waits (``chatops_slack_pacing_wait_seconds_total``) are shown apart. Runs
are spaced so that the bot's pacing does not hold them back.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from bench import harness
from bench.harness import Proc, Spread, spread


@dataclass
class IncidentResult:
    total_ms: Spread
    slack_ms: Spread
    pacing_ms: Spread
    own_ms: Spread
    ack_ms: Spread
    calls: Spread
    by_method: dict[str, float] = field(default_factory=dict)  # mean calls per create
    problems: list[str] = field(default_factory=list)


async def bench_incident(repeats: int = 5, gap: float = 1.2) -> IncidentResult:
    async with harness.redis_prefix() as prefix:
        bot_port = harness.free_port()
        sandbox = await harness.start_sandbox(bot_port)
        procs: list[Proc] = [sandbox.proc]
        try:
            bot = await harness.start_bot(sandbox, bot_port, prefix)
            procs.append(bot.proc)
            totals: list[float] = []
            slack: list[float] = []
            pacing: list[float] = []
            acks: list[float] = []
            calls: list[float] = []
            methods: dict[str, float] = {}
            problems: list[str] = []
            for n in range(repeats + 1):  # the first create warms the process up and is not counted
                before = await bot.metrics()
                seen = len(
                    (await harness.get_json(sandbox.url + "/sandbox/ephemeral", user="alice"))["messages"]
                )
                t0 = time.perf_counter()
                ack = await harness.post_json(
                    sandbox.url + "/sandbox/command",
                    {
                        "user": "alice",
                        "channel": "incidents",
                        "command": "/incident",
                        "text": f'create critical "Bench: checkout API down {n}"',
                    },
                )
                if not ack.get("ok") or ack.get("error"):
                    raise RuntimeError(f"/incident create was not acknowledged: {ack}")
                reply = None
                while reply is None:
                    shown = (await harness.get_json(sandbox.url + "/sandbox/ephemeral", user="alice"))[
                        "messages"
                    ]
                    if len(shown) > seen:
                        reply = shown[-1]
                        break
                    if time.perf_counter() - t0 > 30:
                        raise RuntimeError("no answer to /incident create within 30 s")
                    await asyncio.sleep(0.002)
                total = time.perf_counter() - t0
                after = await bot.metrics()
                if "declared" not in (reply.get("text") or "") or ":warning:" in str(reply.get("blocks")):
                    problems.append(str(reply.get("text"))[:200])
                await asyncio.sleep(gap)
                if n == 0:
                    continue
                s = harness.metric_delta(before, after, "chatops_slack_call_seconds_sum")
                p = harness.metric_delta(before, after, "chatops_slack_pacing_wait_seconds_total")
                totals.append(total * 1000)
                slack.append(s * 1000)
                pacing.append(p * 1000)
                acks.append(float(ack.get("ack_ms") or 0.0))
                calls.append(harness.metric_delta(before, after, "chatops_slack_call_seconds_count"))
                for key, value in after.items():
                    if key.startswith("chatops_slack_call_seconds_count{"):
                        method = key.split('method="', 1)[1].split('"', 1)[0]
                        delta = value - before.get(key, 0.0)
                        if delta:
                            methods[method] = methods.get(method, 0.0) + delta / repeats
            own = [t - s - p for t, s, p in zip(totals, slack, pacing, strict=True)]
            return IncidentResult(
                total_ms=spread(totals),
                slack_ms=spread(slack),
                pacing_ms=spread(pacing),
                own_ms=spread(own),
                ack_ms=spread(acks),
                calls=spread(calls),
                by_method=dict(sorted(methods.items())),
                problems=problems,
            )
        finally:
            for proc in reversed(procs):
                proc.stop()
