"""The bot's stories on a real Redis Cluster and a real Sentinel setup, two bot replicas sharing
each: declare, acknowledge once (both replicas try), status updates, an escalation timer that fires
exactly once, 20 alert groups threaded; then the primary is SIGKILLed mid-flow (the primary serving
the alert stream on the Cluster, the one primary under Sentinel) and the flow goes on: the intake
answers 200 or 503 only, every notification answered 200 reaches Slack once, a new incident's timer
still fires once, and a status update lands.

The Cluster run is also the guard for hash slots: every Redis call the bot makes goes through a
Cluster client, so a multi-key script or transaction across slots fails, and any such error in the
bot's logs fails the test.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.alerts.worker import AlertKeys
from bot.core.state import Refused
from tests.alerts.payloads import alert, payload
from tests.alerts.slackview import Thread, channel_id, final_by_ident, read_channel
from tests.cluster.conftest import PASSWORD
from tests.conftest import BotProcess, eventually
from tests.escalation.policies import ALICE, BOB, CAROL, DAVE, messages, policy
from tests.harness.redis_cluster import RedisClusterProcs, RedisSentinelProcs

GROUPS = 20
TIMERS = """
  timers:
    - {id: unresolved-lead, severities: [critical], when: unresolved, after: 1s, level: 2}
"""
EXTRA = """
  reminders: {enabled: false}
alerts:
  default_channel: '#alerts'
  claim_idle_seconds: 3
  storm: {threshold: 1000}  # each group its own thread (no storm summary)
"""
SLOT_ERRORS = (
    "CROSSSLOT",
    "same slot",
    "same key slot",
    "MOVED",
    "ASK ",
    "WRONGTYPE",
    "NOSCRIPT",
    "NoScript",
)


class ShapeBot(BotProcess):
    """The bot's web app (every part, every worker) on a Cluster or Sentinel URL; the password
    comes from the settings (REDIS_PASSWORD), not the URL."""

    def __init__(self, sandbox: Any, prefix: str, policy_yaml: str, tmp_path: Path, url: str) -> None:
        super().__init__(sandbox, prefix, policy_yaml, tmp_path)
        self.redis_url = url

    def settings(self) -> Any:
        return (
            super()
            .settings()
            .model_copy(update={"redis_url": self.redis_url, "redis_password": SecretStr(PASSWORD)})
        )


class Shape:
    """What a test does to the store it runs on."""

    def __init__(
        self, name: str, url: str, kill: Callable[[str], int], recover: Callable[[str, int], int]
    ) -> None:
        self.name = name
        self.url = url
        self.kill = kill  # key → killed port
        self.recover = recover  # (key, dead port) → port of the primary serving the key now


@pytest.fixture(params=["cluster", "sentinel"])
def shape(request: pytest.FixtureRequest) -> Shape:
    if request.param == "cluster":
        cluster: RedisClusterProcs = request.getfixturevalue("redis_cluster")
        return Shape("cluster", cluster.url, cluster.kill_primary_of, cluster.wait_served)
    sentinel: RedisSentinelProcs = request.getfixturevalue("redis_sentinel")
    return Shape(
        "sentinel",
        sentinel.url,
        lambda _key: sentinel.kill_primary(),
        lambda _key, dead: sentinel.wait_promoted(dead),
    )


@pytest.fixture
async def replicas(
    sandbox: Any, redis_prefix: str, tmp_path: Path, shape: Shape
) -> AsyncIterator[tuple[ShapeBot, ShapeBot]]:
    text = policy(TIMERS) + EXTRA
    one = ShapeBot(sandbox, redis_prefix, text, tmp_path, shape.url)
    two = ShapeBot(sandbox, redis_prefix, text, tmp_path, shape.url)
    await one.start()
    await two.start()
    sandbox.set_faults(rate_limits=False)
    one.ctx.gateway.config.pacing = False
    two.ctx.gateway.config.pacing = False
    try:
        yield one, two
    finally:
        await two.stop()
        await one.stop()


def notification(g: int, status: str) -> dict[str, Any]:
    labels = {"alertname": "ClusterStory", "service": f"svc-{g:02d}", "instance": f"host-{g:02d}"}
    return payload({"alertname": "ClusterStory", "service": labels["service"]}, [alert(labels, status)])


async def deliver(
    http: httpx.AsyncClient, urls: list[str], body: dict[str, Any], codes: Counter[int]
) -> None:
    """As Alertmanager does: POST until a 200, to the replicas in turn; every answer is counted."""

    async def once() -> bool:
        url = urls[sum(codes.values()) % len(urls)]
        try:
            resp = await http.post(f"{url}/alerts/alertmanager", json=body)
        except httpx.TransportError:
            codes[0] += 1
            return False
        codes[resp.status_code] += 1
        return resp.status_code == 200

    await eventually(once, timeout=60, interval=0.2)


async def alert_threads(bot: ShapeBot, sandbox: Any) -> list[Thread]:
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token=sandbox.bot_token, base_url=sandbox.api_url)
    return await read_channel(client, await channel_id(client, "#alerts"))


def escalation_dms(sandbox: Any, incident_id: str) -> list[dict[str, Any]]:
    return [
        m
        for m in messages(sandbox, "dm-carol")
        if "escalated to" in str(m.get("text", "")) and str(m.get("text", "")).startswith(incident_id)
    ]


async def timer_fires_once(bot: ShapeBot, sandbox: Any, incident_id: str) -> None:
    async def escalated() -> bool:
        inc = await bot.ctx.store.get(incident_id)
        return inc.escalations >= 1 and len(escalation_dms(sandbox, incident_id)) >= 1

    await eventually(escalated, timeout=60, interval=0.2)
    from bot.escalation.runtime import runtime

    async def settled() -> bool:
        queue = runtime(bot.ctx).queue
        assert queue is not None
        return await queue.pending() == 0

    await eventually(settled, timeout=60, interval=0.2)
    assert (await bot.ctx.store.get(incident_id)).escalations == 1
    assert len(escalation_dms(sandbox, incident_id)) == 1
    entries = [e for e in await bot.ctx.store.timeline(incident_id) if e.kind == "escalated"]
    assert [e.data["users"] for e in entries] == [[CAROL]]


async def test_the_story_on_a_distributed_redis_survives_a_failover(
    sandbox: Any, replicas: tuple[ShapeBot, ShapeBot], shape: Shape, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.incidents import workflow as flow

    caplog.set_level(logging.WARNING)
    one, two = replicas
    # declare on one replica; both try to acknowledge at once: exactly one wins
    inc = (await flow.declare(one.ctx, user=ALICE, severity="critical", title="Checkout is down")).incident
    acks = await asyncio.gather(
        flow.acknowledge(one.ctx, inc.id, BOB),
        flow.acknowledge(two.ctx, inc.id, DAVE),
        return_exceptions=True,
    )
    assert sorted(type(a).__name__ for a in acks) == ["Outcome", "Refused"], acks
    assert isinstance(next(a for a in acks if isinstance(a, BaseException)), Refused)
    stored = await one.ctx.store.get(inc.id)
    assert stored.acknowledged_by in (BOB, DAVE)
    assert [e.kind for e in await one.ctx.store.timeline(inc.id)].count("acknowledged") == 1
    # status updates from both replicas, in order
    for n, (bot, status) in enumerate([(one, "identified"), (two, "monitoring"), (one, "identified")], 1):
        out = await flow.update_status(bot.ctx, inc.id, ALICE, status, f"update {n} from {shape.name}")
        assert out.update is not None and out.update.number == n
    assert [u.status for u in (await two.ctx.store.get(inc.id)).updates] == [
        "identified",
        "monitoring",
        "identified",
    ]
    # the unresolved timer fires once across both replicas' workers
    await timer_fires_once(one, sandbox, inc.id)

    # 20 alert groups: firing through one replica's intake, resolved through the other's
    codes: Counter[int] = Counter()
    async with httpx.AsyncClient(timeout=30) as http:
        for g in range(GROUPS):
            await deliver(http, [one.url], notification(g, "firing"), codes)
        for g in range(GROUPS):
            await deliver(http, [two.url], notification(g, "resolved"), codes)
        assert codes == Counter({200: 2 * GROUPS})

        async def threaded(count: int) -> list[Thread]:
            threads = await alert_threads(one, sandbox)
            done = (
                len(threads) >= count
                and all(state == "resolved" for state in final_by_ident(threads).values())
                and len(final_by_ident(threads)) >= count
            )
            return threads if done else []

        threads = await eventually(lambda: threaded(GROUPS), timeout=60, interval=0.25)
        assert len(threads) == GROUPS and all(t.replies for t in threads)
        assert sorted(final_by_ident(threads)) == sorted(f"instance=host-{g:02d}" for g in range(GROUPS))

        # failover: kill the primary serving the alert stream while notifications keep coming
        stream = AlertKeys(one.ctx.keys).stream
        sending = asyncio.ensure_future(
            asyncio.gather(
                *(
                    deliver(http, [one.url, two.url], notification(g, "firing"), codes)
                    for g in range(GROUPS, 2 * GROUPS)
                )
            )
        )
        dead = await asyncio.to_thread(shape.kill, stream)
        await asyncio.to_thread(shape.recover, stream, dead)
        await sending
    assert set(codes) <= {200, 503}, codes  # never a 500: 503 while no primary serves the slot
    assert codes[200] == 3 * GROUPS

    # every notification answered 200 is in Slack, once: one thread per group, no doubles
    async def all_groups() -> list[Thread]:
        threads = await alert_threads(one, sandbox)
        return threads if len(final_by_ident(threads)) >= 2 * GROUPS else []

    threads = await eventually(all_groups, timeout=90, interval=0.25)
    states = final_by_ident(threads)
    assert len(threads) == 2 * GROUPS, [t.root_text.split("\n", 1)[0] for t in threads]
    assert all(states[f"instance=host-{g:02d}"] == "firing" for g in range(GROUPS, 2 * GROUPS))

    # the incidents go on after the failover: an update lands, a new incident's timer fires once
    out = await flow.update_status(two.ctx, inc.id, ALICE, "monitoring", "after the failover")
    assert out.update is not None and out.update.number == 4
    after = (await flow.declare(two.ctx, user=ALICE, severity="critical", title="After failover")).incident
    await timer_fires_once(two, sandbox, after.id)

    slot_errors = [r.getMessage() for r in caplog.records if any(e in r.getMessage() for e in SLOT_ERRORS)]
    assert not slot_errors, slot_errors[:5]
