"""POST /alerts/alertmanager over real HTTP, writing to a real Redis stream."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from bot.alerts.intake import ROUTE, make_handler
from bot.alerts.models import WebhookPayload
from bot.config.alerts import AlertsPolicy
from tests.alerts.payloads import host_alerts, payload
from tests.conftest import free_port

GOOD = payload({"alertname": "HighLatency"}, host_alerts("HighLatency", range(3)))


@asynccontextmanager
async def serve(redis: aioredis.Redis, stream: str, policy: AlertsPolicy) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post(ROUTE, make_handler(redis, stream, policy))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}{ROUTE}"
    finally:
        await runner.cleanup()


@pytest.fixture
def stream(redis_prefix: str) -> str:
    return f"{redis_prefix}:alerts:stream"


async def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers or {}) as resp:
        return resp.status, await resp.json()


async def test_valid_notification_is_in_the_stream_before_200(redis_client, stream: str) -> None:
    async with serve(redis_client, stream, AlertsPolicy()) as url:
        status, body = await post(url, json.dumps(GOOD).encode())
    assert status == 200 and body["ok"] and body["alerts"] == 3
    entries = await redis_client.xrange(stream)
    assert [e[0] for e in entries] == [body["id"]]
    assert WebhookPayload.model_validate_json(entries[0][1]["body"]).group_key == GOOD["groupKey"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty body"),
        (b"{not json", "Invalid JSON"),
        (json.dumps({**GOOD, "version": "2"}).encode(), "version"),
        (json.dumps({**GOOD, "alerts": [{"status": "firing"}]}).encode(), "alerts.0.labels"),
    ],
)
async def test_malformed_gets_400_with_reason(redis_client, stream: str, body: bytes, reason: str) -> None:
    async with serve(redis_client, stream, AlertsPolicy()) as url:
        status, answer = await post(url, body)
    assert status == 400 and reason in answer["error"]
    assert await redis_client.xlen(stream) == 0


async def test_body_over_limit_gets_413(redis_client, stream: str) -> None:
    big = payload({"alertname": "Big"}, host_alerts("Big", range(400)))
    async with serve(redis_client, stream, AlertsPolicy(max_body_bytes=4096)) as url:
        status, answer = await post(url, json.dumps(big).encode())
        assert status == 413 and "4096" in answer["error"]

        # chunked upload without Content-Length is cut off as well
        async def chunks():
            data = json.dumps(big).encode()
            for i in range(0, len(data), 1000):
                yield data[i : i + 1000]

        async with aiohttp.ClientSession() as http, http.post(url, data=chunks()) as resp:
            assert resp.status == 413
    assert await redis_client.xlen(stream) == 0


@pytest.mark.parametrize(
    ("auth", "header_for"),
    [
        ({"bearer_token_env": "TEST_ALERTS_TOKEN"}, lambda ok: f"Bearer {'s3cret' if ok else 'nope'}"),
        (
            {"basic_username": "am", "basic_password_env": "TEST_ALERTS_TOKEN"},
            lambda ok: "Basic " + base64.b64encode(f"am:{'s3cret' if ok else 'x'}".encode()).decode(),
        ),
    ],
)
async def test_auth_401_without_right_credentials(
    redis_client, stream: str, monkeypatch, auth: dict, header_for: Callable[[bool], str]
) -> None:
    monkeypatch.setenv("TEST_ALERTS_TOKEN", "s3cret")
    policy = AlertsPolicy.model_validate({"auth": auth})
    async with serve(redis_client, stream, policy) as url:
        assert (await post(url, json.dumps(GOOD).encode()))[0] == 401
        assert (await post(url, json.dumps(GOOD).encode(), {"Authorization": header_for(False)}))[0] == 401
        assert (await post(url, json.dumps(GOOD).encode(), {"Authorization": "Basic !!!"}))[0] == 401
        status, _ = await post(url, json.dumps(GOOD).encode(), {"Authorization": header_for(True)})
        assert status == 200
    assert await redis_client.xlen(stream) == 1


async def test_redis_unreachable_gets_503(stream: str) -> None:
    dead = aioredis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    try:
        async with serve(dead, stream, AlertsPolicy()) as url:
            status, answer = await post(url, json.dumps(GOOD).encode())
        assert status == 503 and "retry" in answer["error"]
    finally:
        await dead.aclose()


async def test_auth_config_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="basic_username"):
        AlertsPolicy.model_validate({"auth": {"basic_username": "x"}})
    policy = AlertsPolicy.model_validate({"auth": {"bearer_token_env": "SURELY_UNSET_VAR_123"}})
    with pytest.raises(ValueError, match="SURELY_UNSET_VAR_123"):
        policy.auth.bearer_token()


async def test_throughput_is_reported(redis_client, stream: str) -> None:
    """Not a timed assertion: prints notifications/s for bench/ and checks every one was stored."""
    import asyncio
    import time

    body = json.dumps(GOOD).encode()
    n = 2000
    async with serve(redis_client, stream, AlertsPolicy()) as url:
        conn = aiohttp.TCPConnector(limit=32)
        async with aiohttp.ClientSession(connector=conn) as http:

            async def one() -> int:
                async with http.post(url, data=body) as resp:
                    await resp.read()
                    return resp.status

            started = time.perf_counter()
            sem = asyncio.Semaphore(32)

            async def bounded() -> int:
                async with sem:
                    return await one()

            statuses = await asyncio.gather(*(bounded() for _ in range(n)))
            elapsed = time.perf_counter() - started
    assert statuses.count(200) == n
    assert await redis_client.xlen(stream) == n
    print(f"\nintake: {n} notifications in {elapsed:.2f}s = {n / elapsed:.0f}/s (client in the same process)")
