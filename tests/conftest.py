"""Shared fixtures: a real Redis (unique key prefix per test), the Slack sandbox, and the bot
running over real HTTP against both."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout: float = 15.0, interval: float = 0.05
) -> Any:
    """Wait until ``check()`` returns something truthy (Slack work happens after the ack)."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while True:
        try:
            last = await check()
            if last:
                return last
        except AssertionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")
        await asyncio.sleep(interval)


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    prefix = f"chatops-test-{uuid.uuid4().hex[:10]}"
    yield prefix
    client = aioredis.from_url(REDIS_URL, decode_responses=True)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
        # arq's own keys (arq:job:<id>, arq:retry:<id>...) carry our job ids, which start with the prefix
        keys += [k async for k in client.scan_iter(match=f"arq:*:{prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(REDIS_URL, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def sandbox() -> AsyncIterator[Any]:
    from sandbox import Sandbox

    sb = Sandbox()
    await sb.start(host="127.0.0.1", port=0)
    yield sb
    await sb.stop()


class BotProcess:
    """The bot's web app on a real port, pointed at the sandbox and Redis; restartable."""

    def __init__(self, sandbox: Any, prefix: str, policy_yaml: str | None, tmp_path: Any) -> None:
        self.sandbox = sandbox
        self.prefix = prefix
        self.policy_path: str | None = None
        if policy_yaml is not None:
            path = tmp_path / f"policy-{uuid.uuid4().hex[:6]}.yml"
            path.write_text(policy_yaml)
            self.policy_path = str(path)
        self.runner: web.AppRunner | None = None
        self.port = free_port()
        self.ctx: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings(self) -> Any:
        from pydantic import SecretStr

        from bot.settings import Settings

        return Settings(
            slack_api_url=self.sandbox.api_url,
            slack_bot_token=SecretStr(self.sandbox.bot_token),
            slack_signing_secret=SecretStr(self.sandbox.signing_secret),
            redis_url=REDIS_URL,
            redis_prefix=self.prefix,
            chatops_config=self.policy_path,
        )

    async def start(self) -> None:
        from bot.config.policy import load_policy
        from bot.context import build_context
        from chatops.product import build_app

        settings = self.settings()
        self.ctx = build_context(settings, load_policy(settings.chatops_config))
        app = build_app(self.ctx)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        self.sandbox.bot_url = f"{self.url}/slack/events"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


@pytest.fixture
def bot_policy() -> str | None:
    """Override in a test module to run the bot with a policy file (YAML text)."""
    return None


@pytest.fixture
async def bot(
    sandbox: Any, redis_prefix: str, bot_policy: str | None, tmp_path: Any
) -> AsyncIterator[BotProcess]:
    proc = BotProcess(sandbox, redis_prefix, bot_policy, tmp_path)
    await proc.start()
    yield proc
    await proc.stop()
