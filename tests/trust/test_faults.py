"""Faults: Redis restarted mid-flow (with AOF, as production runs it), and two bot processes sharing
Redis taking requests in turn."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from tests.conftest import REDIS_URL, BotProcess, eventually, free_port
from tests.trust.conftest import stop_bounded

REDIS_SERVER = "/usr/bin/redis-server"


class RedisServer:
    """A dedicated redis-server with AOF in a temp dir; stop() and start() keep port and data."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: ASYNC220 - returns at once; readiness awaited below
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                str(self.dir),
                "--protected-mode",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        async def pong() -> bool:
            client = aioredis.from_url(self.url, socket_connect_timeout=0.5)
            try:
                return bool(await client.ping())
            except OSError:
                return False
            except Exception:
                return False
            finally:
                await client.aclose()

        await eventually(pong, timeout=20)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()  # SIGTERM: Redis flushes the AOF and exits
            self.proc.wait(timeout=20)
            self.proc = None


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path)
    await server.start()
    yield server
    server.stop()


class BotOn(BotProcess):
    def __init__(self, *args: Any, redis_url: str = REDIS_URL) -> None:
        super().__init__(*args)
        self.redis_url = redis_url

    def settings(self) -> Any:
        return super().settings().model_copy(update={"redis_url": self.redis_url})

    async def start(self) -> None:
        await super().start()
        self.ctx.gateway.config.pacing = False  # many posts to one channel; pacing has its own tests


@pytest.fixture
async def bot_on_server(
    sandbox: Any, redis_server: RedisServer, redis_prefix: str, tmp_path: Path
) -> AsyncIterator[BotOn]:
    proc = BotOn(sandbox, redis_prefix, None, tmp_path, redis_url=redis_server.url)
    await proc.start()
    yield proc
    await stop_bounded(proc)


def _texts(sandbox: Any, user: str) -> list[str]:
    out = []
    for e in sandbox.ephemerals(user):
        parts = [e.get("text") or ""] + [
            str((b.get("text") or {}).get("text", "")) for b in e.get("blocks") or []
        ]
        out.append("\n".join(parts))
    return out


def _alert_payload() -> dict[str, Any]:
    labels = {"alertname": "HighErrorRate", "service": "api", "severity": "critical"}
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "chatops",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": labels,
        "commonAnnotations": {"summary": "5xx above 5%"},
        "externalURL": "http://alertmanager.local",
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": {"summary": "5xx above 5%"},
                "startsAt": "2026-11-22T20:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.local/graph",
                "fingerprint": "c0ffee0123456789",
            }
        ],
    }


async def test_redis_restart_mid_flow(bot_on_server: BotOn, redis_server: RedisServer, sandbox: Any) -> None:
    bot = bot_on_server
    await sandbox.command("alice", "incidents", "/incident", 'create medium "Cache node lost"')

    async def announced() -> list[dict[str, Any]]:
        return [m for m in sandbox.messages("incidents") if m.get("blocks")]

    msg = (await eventually(announced))[-1]
    await sandbox.click("bob", "incidents", msg["ts"], "incident_ack")
    await sandbox.command("bob", "incidents", "/status", "update INC-1 identified Node 3 is gone")

    async def updated() -> bool:
        inc = await bot.ctx.store.get("INC-1")
        return inc.acknowledged_by is not None and len(inc.updates) == 1

    await eventually(updated)

    redis_server.stop()

    # a command: the ack itself says the state store is unavailable
    before = len(sandbox.ephemerals("carol"))
    res = await sandbox.command("carol", "incidents", "/status", "update INC-1 monitoring Replaced")
    assert res["ok"], res
    reply = await eventually(lambda: _async(_texts(sandbox, "carol")[before:]))
    assert "state store (Redis) is unavailable" in reply[0]
    # a click: answered on its response_url the same way
    before = len(sandbox.ephemerals("alice"))
    res = await sandbox.click("alice", "incidents", msg["ts"], "incident_resolve")
    assert res["ok"], res
    reply = await eventually(lambda: _async(_texts(sandbox, "alice")[before:]))
    assert "state store (Redis) is unavailable" in reply[0]

    async with aiohttp.ClientSession() as s:
        async with s.get(f"{bot.url}/readyz") as r:
            assert r.status == 503
        async with s.post(f"{bot.url}/alerts/alertmanager", json=_alert_payload()) as r:
            # the alerts part landed: Alertmanager is told to retry (503), nothing is taken and lost
            assert r.status == 503, await r.text()

    await redis_server.start()  # same port, same AOF directory

    async with aiohttp.ClientSession() as s:

        async def ready() -> bool:
            async with s.get(f"{bot.url}/readyz") as r:
                return r.status == 200

        await eventually(ready)
        async with s.post(f"{bot.url}/alerts/alertmanager", json=_alert_payload()) as r:
            assert r.status == 200, await r.text()  # Alertmanager's retry is taken

    # everything acknowledged before the restart is still there
    inc = await bot.ctx.store.get("INC-1")
    assert inc.acknowledged_by == sandbox.user_by_name("bob")["id"]
    assert [u.message for u in inc.updates] == ["Node 3 is gone"]
    assert not inc.is_resolved
    kinds = [e.kind for e in await bot.ctx.store.timeline("INC-1")]
    assert "created" in kinds and "acknowledged" in kinds and "status" in kinds
    # and the bot works again
    await sandbox.command("carol", "incidents", "/status", "update INC-1 monitoring Replaced")

    async def second_update() -> bool:
        return len((await bot.ctx.store.get("INC-1")).updates) == 2

    await eventually(second_update)


async def _async(value: Any) -> Any:
    return value


@pytest.fixture
def two_bots(sandbox: Any, redis_prefix: str, tmp_path: Path) -> Iterator[tuple[BotOn, BotOn]]:
    yield BotOn(sandbox, redis_prefix, None, tmp_path), BotOn(sandbox, redis_prefix, None, tmp_path)


async def test_two_processes_take_turns(two_bots: tuple[BotOn, BotOn], sandbox: Any) -> None:
    a, b = two_bots
    # pacing is off in both (see BotOn) and the sandbox's rate limits too, so that this test is
    # about the two replicas sharing state, not about rate limits (the gateway's tests cover those)
    sandbox.set_faults(rate_limits=False)
    await a.start()
    await b.start()
    try:
        sandbox.bot_url = f"{a.url}/slack/events"
        await sandbox.command("alice", "incidents", "/incident", 'create high "Replica test"')

        async def war_room() -> str | None:
            inc = await a.ctx.store.find("INC-1")
            return inc.war_room.channel_id if inc and inc.war_room else None

        room = await eventually(war_room)
        # 20 updates, alternating between the two processes, sent without waiting for each other
        for n in range(1, 21):
            sandbox.bot_url = f"{(a if n % 2 else b).url}/slack/events"
            res = await sandbox.command("bob", room, "/status", f"update identified step {n}")
            assert res["ok"], res

        async def all_posted() -> list[dict[str, Any]]:
            posts = [m for m in sandbox.messages(room) if (m.get("text") or "").startswith("INC-1 update #")]
            return posts if len(posts) >= 20 else []

        posts = await eventually(all_posted, timeout=60)
        inc = await b.ctx.store.get("INC-1")
        assert [u.number for u in inc.updates] == list(range(1, 21))  # no update lost, none twice
        assert sorted(u.message for u in inc.updates) == sorted(f"step {n}" for n in range(1, 21))
        numbers = [int(p["text"].split("#")[1].split()[0]) for p in posts]
        assert sorted(numbers) == list(range(1, 21))  # each posted once
        # and threaded once under the announcement
        ann = inc.announcement
        assert ann is not None

        async def threaded() -> list[int]:
            thread = sandbox.replies(ann.channel, ann.ts)[1:]
            found = [int(m["text"].split("#")[1].split()[0]) for m in thread if "update #" in m["text"]]
            return found if len(found) >= 20 else []

        assert sorted(await eventually(threaded)) == list(range(1, 21))

        # both processes click Acknowledge at once for two people: one acknowledgement
        msg = next(m for m in sandbox.messages("incidents") if m.get("blocks"))
        sandbox.bot_url = f"{a.url}/slack/events"
        first = sandbox.click("carol", "incidents", msg["ts"], "incident_ack")
        sandbox.bot_url = f"{b.url}/slack/events"
        second = sandbox.click("dave", "incidents", msg["ts"], "incident_ack")
        await asyncio.gather(first, second)

        async def answered() -> bool:
            return bool(_texts(sandbox, "carol")) and bool(_texts(sandbox, "dave"))

        await eventually(answered)
        acks = [e for e in await a.ctx.store.timeline("INC-1") if e.kind == "acknowledged"]
        assert len(acks) == 1
    finally:
        await stop_bounded(a)
        await stop_bounded(b)
