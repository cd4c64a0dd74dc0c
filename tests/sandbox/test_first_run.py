"""A newcomer's first run: ``chatops sandbox`` as a real process.

With REDIS_URL at a port where nothing listens it starts the embedded Valkey server: the page loads,
an incident is declared, a timer escalates it, it is acknowledged and resolved; stopped and started
again on the same --data-dir, the bot still knows INC-1. Against the shared Redis, the sandbox keeps
its keys under its own prefix and writes none under production's ``chatops:``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from tests.conftest import REDIS_URL, eventually
from tests.sandbox.process import SandboxProcess, dead_redis_url, fast_demo_policy

ACK = "incident_ack"
RESOLVE = "incident_resolve"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


async def api(
    http: aiohttp.ClientSession, sb: SandboxProcess, path: str, post: bool = False, **body: Any
) -> dict[str, Any]:
    if body or post:
        async with http.post(sb.url + path, json=body) as resp:
            return dict(await resp.json())
    async with http.get(sb.url + path) as resp:
        return dict(await resp.json())


async def command(http: aiohttp.ClientSession, sb: SandboxProcess, user: str, cmd: str, text: str) -> None:
    answer = await api(http, sb, "/sandbox/command", user=user, channel="incidents", command=cmd, text=text)
    assert answer["ok"] and answer["status"] == 200, answer


def buttons(message: dict[str, Any]) -> dict[str, str]:
    return {
        el["action_id"]: str(el.get("value"))
        for block in message.get("blocks") or []
        for el in block.get("elements") or []
        if el.get("type") == "button"
    }


async def test_first_run_without_redis_persists_across_a_restart(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    data_dir = tmp_path / "data"
    sb = SandboxProcess(data_dir, dead_redis_url(), fast_demo_policy(tmp_path))
    try:
        banner = await sb.start()
        text = "\n".join(banner)
        assert "Store: embedded Valkey server" in text and str(data_dir / "store") in text
        assert f"Alertmanager webhook: http://127.0.0.1:{sb.bot_port}/alerts/alertmanager" in text
        assert "Traceback" not in "\n".join(sb.output)

        async with http.get(sb.url + "/") as resp:
            assert resp.status == 200
            assert "<html" in (await resp.text()).lower()
        info = await api(http, sb, "/sandbox/info")
        assert info["prefix"] == "chatops-sandbox" and info["webhook_url"].endswith("/alerts/alertmanager")
        assert any(h["command"] == "/incident" and h["usage"] for h in info["hints"])

        # Alice declares; the 2 s "unacknowledged" timer pages the platform leads (level 2).
        await command(http, sb, "alice", "/incident", 'create critical "Checkout API returns 502"')

        async def announcement() -> dict[str, Any] | None:
            state = await api(http, sb, "/sandbox/channel?channel=incidents")
            found = [m for m in state["messages"] if ACK in buttons(m)]
            return found[0] if found else None

        ann = await eventually(announcement)
        inc = buttons(ann)[ACK]
        assert inc == "INC-1"

        async def escalated() -> str | None:
            thread = await api(http, sb, f"/sandbox/thread?channel=incidents&ts={ann['ts']}")
            replies = json.dumps(thread["messages"][1:])
            return replies if "Team lead" in replies else None

        replies = await eventually(escalated, timeout=30)
        assert "U0CAROL003" in replies or "platform-leads" in replies

        # Bob acknowledges, Alice resolves.
        click = await api(
            http,
            sb,
            "/sandbox/click",
            user="bob",
            channel="incidents",
            message_ts=ann["ts"],
            action_id=ACK,
            value=inc,
        )
        assert click["ok"] and click["status"] == 200, click

        async def acknowledged() -> bool:
            state = await api(http, sb, "/sandbox/channel?channel=incidents")
            return any("acknowledged by <@U0BOB00002>" in json.dumps(m) for m in state["messages"])

        assert await eventually(acknowledged)
        await command(http, sb, "alice", "/incident", f'resolve {inc} "Rolled back the gateway"')

        async def resolved() -> bool:
            state = await api(http, sb, "/sandbox/channel?channel=incidents")
            ann_now = next(m for m in state["messages"] if m["ts"] == ann["ts"])
            return "incident_reopen" in buttons(ann_now)

        assert await eventually(resolved)
        assert await sb.stop() == 0
        assert (data_dir / "workspace.json").is_file()
        assert any(p.name.endswith(".aof") for p in (data_dir / "store").rglob("*"))

        # Started again on the same data: the workspace and the bot's state are both there.
        sb2 = SandboxProcess(data_dir, dead_redis_url(), fast_demo_policy(tmp_path))
        sb = sb2
        banner = await sb.start()
        assert "continued from the last run" in "\n".join(banner)
        state = await api(http, sb, "/sandbox/channel?channel=incidents")
        assert any(m["ts"] == ann["ts"] for m in state["messages"])
        await command(http, sb, "carol", "/incident", "show INC-1")

        async def shown() -> str | None:
            eph = await api(http, sb, "/sandbox/ephemeral?user=carol&channel=incidents")
            text = json.dumps(eph["messages"])
            return text if "Checkout API returns 502" in text else None

        assert "INC-1" in await eventually(shown)
    finally:
        if sb.proc is not None:
            assert await sb.stop() == 0, "\n".join(sb.output[-30:])


async def test_fresh_starts_both_clean(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    data_dir = tmp_path / "data"
    sb = SandboxProcess(data_dir, dead_redis_url())
    try:
        await sb.start()
        await command(http, sb, "alice", "/incident", 'create low "Old news"')

        async def declared() -> bool:
            state = await api(http, sb, "/sandbox/channel?channel=incidents")
            return any("Old news" in json.dumps(m) for m in state["messages"])

        assert await eventually(declared)
        assert await sb.stop() == 0
        sb = SandboxProcess(data_dir, dead_redis_url())
        banner = await sb.start("--fresh")
        assert "started clean (--fresh)" in "\n".join(banner)
        state = await api(http, sb, "/sandbox/channel?channel=incidents")
        assert not any("Old news" in json.dumps(m) for m in state["messages"])
        await command(http, sb, "alice", "/incident", 'create low "New start"')

        async def numbered_one() -> bool:
            state = await api(http, sb, "/sandbox/channel?channel=incidents")
            return any(buttons(m).get(ACK) == "INC-1" for m in state["messages"])

        assert await eventually(numbered_one)
    finally:
        if sb.proc is not None:
            assert await sb.stop() == 0


async def test_on_a_shared_redis_no_key_under_the_production_prefix(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    client = aioredis.from_url(REDIS_URL, decode_responses=True)
    before = {k async for k in client.scan_iter(match="chatops:*", count=1000)}
    sb = SandboxProcess(tmp_path / "data", REDIS_URL)
    try:
        banner = "\n".join(await sb.start())
        assert "Store: the Redis at redis://127.0.0.1:6379" in banner
        assert "keys under `chatops-sandbox:`" in banner
        await command(http, sb, "alice", "/incident", 'create critical "Shared Redis check"')

        async def stored() -> list[str]:
            return [k async for k in client.scan_iter(match="chatops-sandbox:*", count=1000)]

        keys = await eventually(stored)
        assert any(":incident" in k or "INC-1" in k for k in keys), keys
        fired = await api(http, sb, "/sandbox/demo/alerts", post=True)
        assert fired == {"ok": True, "status": "firing", "notifications": 2}

        async def alert_thread() -> bool:
            state = await api(http, sb, "/sandbox/channel?channel=alerts-critical")
            return any("HighErrorRate" in json.dumps(m) for m in state["messages"])

        assert await eventually(alert_thread)
        after = {k async for k in client.scan_iter(match="chatops:*", count=1000)}
        assert after - before == set()
    finally:
        try:
            if sb.proc is not None:
                assert await sb.stop() == 0
        finally:
            for pattern in ("chatops-sandbox:*", "arq:*:chatops-sandbox:*"):
                keys = [k async for k in client.scan_iter(match=pattern, count=1000)]
                if keys:
                    await client.delete(*keys)
            await client.aclose()


async def test_demo_plays_a_whole_incident(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    """``chatops sandbox --demo``: alerts thread, INC-1 is declared, acknowledged, updated, resolved."""
    sb = SandboxProcess(tmp_path / "data", dead_redis_url())
    try:
        await sb.start("--demo")

        async def resolved() -> dict[str, Any] | None:
            state = await api(http, sb, "/sandbox/channel?channel=incidents")
            done = [m for m in state["messages"] if "incident_reopen" in buttons(m)]
            return done[0] if done else None

        ann = await eventually(resolved, timeout=90)
        text = json.dumps(ann)
        assert "INC-1" in text and "acknowledged by <@U0BOB00002>" in text
        alerts = await api(http, sb, "/sandbox/channel?channel=alerts-critical")
        assert any("HighErrorRate" in json.dumps(m) for m in alerts["messages"])
        payments = await api(http, sb, "/sandbox/channel?channel=payments-alerts")
        assert any("SlowDatabase" in json.dumps(m) for m in payments["messages"])

        async def finished() -> bool:
            return any(line.startswith("demo: done (INC-1)") for line in sb.output)

        assert await eventually(finished)
    finally:
        if sb.proc is not None:
            assert await sb.stop() == 0


async def test_a_policy_naming_an_unset_secret_fails_early_and_clearly(tmp_path: Path) -> None:
    """check-config and start-up run the same validation: the unset variable is named with its key."""
    policy = tmp_path / "policy.yml"
    policy.write_text("alerts:\n  auth:\n    bearer_token_env: CHATOPS_TEST_UNSET_WEBHOOK_TOKEN\n")
    env = {k: v for k, v in os.environ.items() if k != "CHATOPS_TEST_UNSET_WEBHOOK_TOKEN"}
    check = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chatops", "check-config", str(policy),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    checked = (await check.communicate())[0].decode()
    assert check.returncode == 1
    assert (
        "alerts.auth.bearer_token_env names the environment variable CHATOPS_TEST_UNSET_WEBHOOK_TOKEN"
        in checked
    )
    start = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chatops", "sandbox", "--no-browser", "--config", str(policy),
        "--data-dir", str(tmp_path / "data"), "--port", "0", "--bot-port", "0",
        env={**env, "REDIS_URL": dead_redis_url()},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    started = (await start.communicate())[0].decode()
    assert start.returncode == 2
    assert "chatops cannot start: the policy has problems" in started
    assert "CHATOPS_TEST_UNSET_WEBHOOK_TOKEN" in started and "Traceback" not in started
