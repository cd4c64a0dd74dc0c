"""Fixtures for the alert pipeline: the real sandbox, a real Redis, the worker and the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis.asyncio as aioredis
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.worker import AlertWorker
from bot.config.alerts import AlertsPolicy
from bot.keys import Keys
from bot.slack.gateway import SlackGateway
from bot.slack.outbox import Outbox, OutboxConfig
from tests.conftest import REDIS_URL


@dataclass
class Pipeline:
    redis: aioredis.Redis
    keys: Keys
    gateway: SlackGateway
    outbox: Outbox
    worker: AlertWorker
    client: AsyncWebClient  # the test's own reader (not the bot's)

    async def close(self) -> None:
        await self.outbox.close()
        await self.gateway.close()


async def make_pipeline(
    sandbox: Any, prefix: str, policy: AlertsPolicy, config: OutboxConfig | None = None
) -> Pipeline:
    redis = aioredis.from_url(REDIS_URL, decode_responses=True)
    keys = Keys(prefix)
    client = AsyncWebClient(token=sandbox.bot_token, base_url=sandbox.api_url)
    gateway = SlackGateway(AsyncWebClient(token=sandbox.bot_token, base_url=sandbox.api_url), redis, keys)
    outbox = Outbox(redis, keys, gateway, config)
    worker = AlertWorker(redis, keys, policy, outbox)
    await worker.ensure_group()
    return Pipeline(redis, keys, gateway, outbox, worker, client)


@pytest.fixture
def alerts_policy() -> AlertsPolicy:
    return AlertsPolicy(default_channel="#alerts")


@pytest.fixture
async def pipeline(sandbox: Any, redis_prefix: str, alerts_policy: AlertsPolicy) -> AsyncIterator[Pipeline]:
    p = await make_pipeline(sandbox, redis_prefix, alerts_policy)
    yield p
    await p.close()
    await p.redis.aclose()


# real Prometheus / Alertmanager harnesses (fixtures)
from tests.harness.alertmanager import alertmanager_factory  # noqa: E402, F401
from tests.harness.prometheus import metrics_endpoint, prometheus_factory  # noqa: E402, F401
