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
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from chatops.sandbox_cli import demo_policy_path
from tests.conftest import REDIS_URL, eventually, free_port

ROOT = Path(__file__).resolve().parents[2]
ACK = "incident_ack"
RESOLVE = "incident_resolve"


def dead_redis_url() -> str:
    """A loopback port where nothing listens (bound, then closed, never listened on)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    return f"redis://127.0.0.1:{port}/0"


class SandboxProcess:
    """``python -m chatops sandbox`` in a child process; :meth:`start` returns once it is ready."""

    def __init__(self, data_dir: Path, redis_url: str, config: Path | None = None) -> None:
        self.data_dir = data_dir
        self.redis_url = redis_url
        self.config = config
        self.port = free_port()
        self.bot_port = free_port()
        self.proc: asyncio.subprocess.Process | None = None
        self.output: list[str] = []
        self.url = f"http://127.0.0.1:{self.port}"

    async def start(self, *extra: str) -> list[str]:
        args = [
            sys.executable,
            "-m",
            "chatops",
            "sandbox",
            "--no-browser",
            "--port",
            str(self.port),
            "--bot-port",
            str(self.bot_port),
            "--data-dir",
            str(self.data_dir),
            *(["--config", str(self.config)] if self.config else []),
            *extra,
        ]
        env = {**os.environ, "REDIS_URL": self.redis_url, "CHATOPS_JOB_POLL_SECONDS": "0.1"}
        env.pop("CHATOPS_REDIS_PREFIX", None)
        self.proc = await asyncio.create_subprocess_exec(
            *args,
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert self.proc.stdout is not None
        banner: list[str] = []
        async with asyncio.timeout(60):
            while True:
                raw = await self.proc.stdout.readline()
                if not raw:
                    raise AssertionError("chatops sandbox exited:\n" + "\n".join(self.output))
                line = raw.decode(errors="replace").rstrip()
                self.output.append(line)
                if " INFO " not in line and " WARNING " not in line:
                    banner.append(line)
                if line.startswith("Open the page"):
                    break
        self._drain = asyncio.create_task(self._read_rest())
        return banner

    async def _read_rest(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for raw in self.proc.stdout:
            self.output.append(raw.decode(errors="replace").rstrip())

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                async with asyncio.timeout(30):
                    await self.proc.wait()
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        await self._drain
        pid_file = self.data_dir / "store" / "valkey.pid"
        if pid_file.exists():  # a store left behind by a killed sandbox: ours to stop
            try:
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
            except (ProcessLookupError, ValueError):
                pass
        return int(self.proc.returncode or 0)


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


def fast_demo_policy(tmp_path: Path) -> Path:
    """The demo policy with its 45 s timer at 2 s (the test watches it fire without waiting long)."""
    text = demo_policy_path().read_text()
    assert "after: 45s" in text
    path = tmp_path / "demo-policy.yml"
    path.write_text(text.replace("after: 45s", "after: 2s"))
    return path


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
