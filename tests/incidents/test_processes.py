"""The real commands: `chatops serve` as its own process against a Slack-compatible server (the
sandbox), killed and started again; and `chatops sandbox`, the newcomer's first command."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.conftest import REDIS_URL, eventually, free_port
from tests.incidents.story import Engineer, buttons, channel_named, message_with, texts


class ServeProcess:
    def __init__(self, sandbox: Any, prefix: str) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "SLACK_API_URL": sandbox.api_url,
            "SLACK_BOT_TOKEN": sandbox.bot_token,
            "SLACK_SIGNING_SECRET": sandbox.signing_secret,
            "REDIS_URL": REDIS_URL,
            "CHATOPS_REDIS_PREFIX": prefix,
        }
        self.env.pop("CHATOPS_CONFIG", None)
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chatops.main",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{self.port}/readyz"

        async def ready() -> bool:
            try:
                async with aiohttp.ClientSession() as s, s.get(url) as resp:
                    return resp.status == 200
            except aiohttp.ClientError:
                return False

        await eventually(ready, timeout=30)

    async def kill(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()


@pytest.fixture
async def serve(sandbox: Any, redis_prefix: str) -> AsyncIterator[ServeProcess]:
    proc = ServeProcess(sandbox, redis_prefix)
    await proc.start()
    sandbox.bot_url = f"http://127.0.0.1:{proc.port}/slack/events"
    yield proc
    await proc.kill()


async def test_chatops_serve_carries_an_incident_through_and_survives_sigkill(
    sandbox: Any, serve: ServeProcess
) -> None:
    alice, bob = Engineer(sandbox, "alice"), Engineer(sandbox, "bob")
    await alice.types("#incidents", '/incident create critical "API gateway down"')
    announcement = await message_with(sandbox, "#incidents", "INC-1: API gateway down")
    room = await channel_named(sandbox, "inc-1-api-gateway-down")
    await bob.clicks("#incidents", announcement, "incident_ack")
    await bob.sees_reply("You acknowledged INC-1")

    updates = [
        ("investigating", "Checking database connectivity"),
        ("identified", "Bad route table"),
        ("monitoring", "Route restored"),
    ]
    for n, (status, note) in enumerate(updates, start=1):
        await alice.types(room["name"], f'/status update INC-1 {status} "{note}"')
        await message_with(sandbox, room["name"], f"Update #{n}")

    await serve.kill()  # no goodbye: state must already be in Redis
    await serve.start()

    await alice.types(room["name"], "/incident show")
    shown = await alice.sees_reply("Timeline", room["name"])
    assert all(note in shown for _, note in updates)
    await alice.types(room["name"], '/incident resolve "Route table fixed"')
    await message_with(sandbox, room["name"], "resolved* after")

    async def final() -> dict[str, Any] | None:
        msg = next(m for m in sandbox.messages("#incidents") if m["ts"] == announcement["ts"])
        return msg if "incident_reopen" in buttons(msg) else None

    assert "Resolved" in texts(await eventually(final))
    pinned = [m for m in sandbox.messages(room["name"]) if m.get("pinned_to")]
    assert len(pinned) == 1
    thread = sandbox.replies("#incidents", announcement["ts"])
    assert sum("Update #" in texts(m) for m in thread) == 3
    assert sandbox.unknown_calls() == []


async def test_chatops_sandbox_starts_the_workspace_and_the_bot(redis_prefix: str) -> None:
    port = free_port()
    env = {**os.environ, "REDIS_URL": REDIS_URL, "CHATOPS_REDIS_PREFIX": redis_prefix}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chatops.main",
        "sandbox",
        "--port",
        str(port),
        "--no-browser",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        assert proc.stdout is not None
        line = b""
        while b"Sandbox Slack workspace" not in line:
            line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
            assert line, "chatops sandbox exited early"
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as s:
            async with s.get(base + "/") as page:
                assert page.status == 200 and "<html" in (await page.text()).lower()
            async with s.post(
                base + "/sandbox/command",
                json={
                    "user": "alice",
                    "channel": "#incidents",
                    "command": "/incident",
                    "text": 'create high "Search is slow"',
                },
            ) as resp:
                result = await resp.json()
                assert result["ok"] and result["status"] == 200, result

            async def announced() -> bool:
                async with s.post(
                    base + "/api/conversations.history",
                    headers={"Authorization": "Bearer xoxb-sandbox-token"},
                    data={"channel": "C0INCIDENTS"},
                ) as r:
                    data = await r.json()
                return any("Search is slow" in str(m.get("blocks")) for m in data.get("messages", []))

            assert await eventually(announced, timeout=20)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), timeout=10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
