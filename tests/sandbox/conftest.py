"""Fixtures for the sandbox's own tests: a started sandbox, the official Slack client pointed at it,
and a small real HTTP receiver standing in for the bot that checks every signature with slack_sdk."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox, SandboxConfig
from tests.sandbox.receiver import Receiver


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    sb = Sandbox(SandboxConfig(seed=1234))
    await sb.start()
    try:
        yield sb
    finally:
        await sb.stop()


@pytest.fixture
def client(sandbox: Sandbox) -> AsyncWebClient:
    return AsyncWebClient(base_url=sandbox.api_url, token=sandbox.bot_token)


@pytest.fixture
async def receiver(sandbox: Sandbox) -> AsyncIterator[Receiver]:
    rec = Receiver(sandbox.signing_secret)
    sandbox.bot_url = await rec.start()
    try:
        yield rec
    finally:
        await rec.stop()
