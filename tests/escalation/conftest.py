"""arq keeps a few keys per job outside our prefix (``arq:retry:<job id>`` lives a day); job ids
start with the test's prefix, so they are removed with the rest of the test's keys."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from tests.conftest import REDIS_URL


@pytest.fixture(autouse=True)
async def arq_keys_cleaned(redis_prefix: str) -> AsyncIterator[None]:
    yield
    client = aioredis.from_url(REDIS_URL, decode_responses=True)
    try:
        keys = [k async for k in client.scan_iter(match=f"arq:*{redis_prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
