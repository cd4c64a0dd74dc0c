"""Two bot processes share one Redis; 100 incidents each carry two escalation timers of a second or
two. Every escalation must fire exactly once: counted in Slack (the sandbox) and in the timelines."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.escalation.runtime import runtime
from tests.conftest import REDIS_URL, BotProcess, eventually, free_port
from tests.escalation.policies import ALICE, CAROL, ERIN, messages, policy

INCIDENTS = 100
REPO = Path(__file__).resolve().parents[2]
TIMERS = """
  timers:
    - {id: unacked-lead, severities: [critical], when: unacknowledged, after: 1s, level: 2}
    - {id: unresolved-support, severities: [critical], when: unresolved, after: 2s, level: 9}
"""
EXTRA = """
  reminders: {enabled: false}
severities:
  - {name: critical, war_room: false, update_cadence: null}
"""


@pytest.fixture
def bot_policy() -> str:
    levels_plus_support = policy(TIMERS).replace(
        "  roles:",
        f"    - {{level: 9, name: Support, targets: [{{name: support, users: [{ERIN}]}}]}}\n  roles:",
    )
    return levels_plus_support + EXTRA


@pytest.fixture
async def second_bot(sandbox: Any, bot: BotProcess, tmp_path: Path) -> AsyncIterator[subprocess.Popen[bytes]]:
    port = free_port()
    env = {
        **os.environ,
        "SLACK_API_URL": sandbox.api_url,
        "SLACK_BOT_TOKEN": sandbox.bot_token,
        "SLACK_SIGNING_SECRET": sandbox.signing_secret,
        "REDIS_URL": REDIS_URL,
        "CHATOPS_REDIS_PREFIX": bot.prefix,
        "CHATOPS_CONFIG": str(bot.policy_path),
    }
    log = (tmp_path / "replica.log").open("wb")
    proc = subprocess.Popen(  # noqa: ASYNC220  (started once, never waited on in the loop)
        [sys.executable, "-m", "tests.escalation.replica", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    async def healthy() -> bool:
        assert proc.poll() is None, (tmp_path / "replica.log").read_text()
        try:
            async with httpx.AsyncClient() as http:
                return (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
        except httpx.TransportError:
            return False

    try:
        await eventually(healthy, timeout=30)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


async def test_every_escalation_fires_exactly_once_across_two_processes(
    sandbox: Any, bot: BotProcess, second_bot: subprocess.Popen[bytes], redis_client: Any
) -> None:
    from bot.incidents import workflow as flow

    sandbox.set_faults(rate_limits=False)
    bot.ctx.gateway.config.pacing = False
    ids: list[str] = []
    for start in range(0, INCIDENTS, 20):  # declared by this process; the timers are run by both
        outs = await asyncio.gather(
            *(flow.declare(bot.ctx, user=ALICE, severity="critical", title=f"Load test {n}")
              for n in range(start, start + 20))
        )  # fmt: skip
        ids += [o.incident.id for o in outs]
    assert len(set(ids)) == INCIDENTS

    async def all_fired() -> bool:
        incidents = await asyncio.gather(*(bot.ctx.store.get(i) for i in ids))
        return all(inc.escalations >= 2 for inc in incidents)

    await eventually(all_fired, timeout=90, interval=0.25)

    async def queue_idle() -> bool:  # nothing queued or running any more in either worker
        return await runtime(bot.ctx).queue.pending() == 0

    await eventually(queue_idle, timeout=30)

    # Slack: one escalation post per timer under each announcement, one DM per timer per target (the
    # posts go through the durable outbox after the jobs: wait for them; a double never matches)
    incidents = await asyncio.gather(*(bot.ctx.store.get(i) for i in ids))

    def slack_counts() -> tuple[Counter[str], list[dict[str, Any]], list[dict[str, Any]]]:
        per_incident: Counter[str] = Counter()
        for inc in incidents:
            assert inc.announcement is not None
            thread = sandbox.replies(inc.announcement.channel, inc.announcement.ts)[1:]
            for m in thread:
                if "escalated to" in str(m.get("text", "")):
                    per_incident[inc.id] += 1
        carol = [m for m in messages(sandbox, "dm-carol") if "escalated to" in str(m.get("text", ""))]
        erin = [m for m in messages(sandbox, "dm-erin") if "escalated to" in str(m.get("text", ""))]
        return per_incident, carol, erin

    async def all_posted() -> bool:
        per_incident, carol, erin = slack_counts()
        return (
            sum(per_incident.values()) >= 2 * INCIDENTS and len(carol) >= INCIDENTS and len(erin) >= INCIDENTS
        )

    # Slack posts at about one message per second per channel: the 2 * INCIDENTS escalation posts all go
    # to #incidents (one thread per announcement), so the wait is bounded by that pace, not by the bot
    await eventually(all_posted, timeout=2 * INCIDENTS + 60, interval=0.25)
    per_incident, carol_dms, erin_dms = slack_counts()
    assert per_incident == Counter(dict.fromkeys(ids, 2))
    assert len(carol_dms) == INCIDENTS and len(erin_dms) == INCIDENTS
    assert Counter(m["text"].split()[0] for m in carol_dms) == Counter(dict.fromkeys(ids, 1))
    # Redis: each timer fired, and each timeline holds each rule once
    store = runtime(bot.ctx).store
    for inc_id in ids:
        assert await store.timers(inc_id) == {"1:unacked-lead": "fired", "1:unresolved-support": "fired"}
        entries = [e for e in await bot.ctx.store.timeline(inc_id) if e.kind == "escalated"]
        assert sorted(e.data["rule"] for e in entries) == ["unacked-lead", "unresolved-support"]
        # by rule, not position: under load a 1 s job may run after the 2 s one of the same incident
        by_rule = {e.data["rule"]: e.data["users"] for e in entries}
        assert by_rule == {"unacked-lead": [CAROL], "unresolved-support": [ERIN]}
    # both processes took part: this one ran some of the timer jobs, the other ran the rest
    here = runtime(bot.ctx).worker.jobs_complete
    assert 0 < here < 2 * INCIDENTS, f"this process ran {here} of {2 * INCIDENTS} timer jobs"
