"""The gateway against the sandbox: every failure is one public ``SlackCallError`` with its kind
(transient, too large, permanent) and, for 429s, Slack's Retry-After; transient ones are retried,
the others are not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from bot.keys import Keys
from bot.slack.errors import ErrorKind, SlackCallError, classify
from bot.slack.gateway import GatewayConfig, SlackGateway
from tests.conftest import free_port


def make_gateway(sandbox: Any, redis: aioredis.Redis, prefix: str, **config: Any) -> SlackGateway:
    client = AsyncWebClient(token=sandbox.bot_token, base_url=sandbox.api_url)
    return SlackGateway(client, redis, Keys(prefix), GatewayConfig(base_backoff=0.01, **config))


@pytest.fixture
async def gateway(
    sandbox: Any, redis_client: aioredis.Redis, redis_prefix: str
) -> AsyncIterator[SlackGateway]:
    gw = make_gateway(sandbox, redis_client, redis_prefix, attempts=3)
    yield gw
    await gw.close()


@pytest.mark.parametrize(
    ("error", "status", "response", "kind"),
    [
        ("ratelimited", 429, None, ErrorKind.TRANSIENT),
        ("http_503", 503, None, ErrorKind.TRANSIENT),
        ("internal_error", 200, None, ErrorKind.TRANSIENT),
        ("msg_too_long", 200, None, ErrorKind.TOO_LARGE),
        ("msg_blocks_too_long", 200, None, ErrorKind.TOO_LARGE),
        (
            "invalid_blocks",
            200,
            {
                "response_metadata": {
                    "messages": ["[ERROR] must be less than 3001 characters [json-pointer:/x]"]
                }
            },
            ErrorKind.TOO_LARGE,
        ),
        (
            "invalid_blocks",
            200,
            {"response_metadata": {"messages": ["[ERROR] must be a text object [json-pointer:/x]"]}},
            ErrorKind.PERMANENT,
        ),
        ("channel_not_found", 200, None, ErrorKind.PERMANENT),
        ("name_taken", 200, None, ErrorKind.PERMANENT),
        ("an_error_nobody_documented", 200, None, ErrorKind.PERMANENT),
    ],
)
def test_every_error_has_one_kind(
    error: str, status: int, response: dict[str, Any] | None, kind: ErrorKind
) -> None:
    assert classify(error, status, response) is kind


async def test_a_permanent_error_is_raised_at_once(sandbox: Any, gateway: SlackGateway) -> None:
    with pytest.raises(SlackCallError) as err:
        await gateway.call("chat.postMessage", channel="C0DOESNOTEXIST", text="hello")
    assert err.value.error == "channel_not_found"
    assert err.value.kind is ErrorKind.PERMANENT and err.value.retry_after is None
    assert gateway.calls == 1


async def test_blocks_over_a_limit_are_too_large(sandbox: Any, gateway: SlackGateway) -> None:
    channel = sandbox.channel_by_name("#alerts")["id"]
    # raw JSON on purpose: slack_sdk.models would refuse to build it, a template or a user may not
    with pytest.raises(SlackCallError) as err:
        await gateway.call(
            "chat.postMessage",
            channel=channel,
            text="big",
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3100}}],
        )
    assert err.value.error == "invalid_blocks"
    assert err.value.too_large
    assert gateway.calls == 1


async def test_a_429_is_retried_and_its_retry_after_is_public(sandbox: Any, gateway: SlackGateway) -> None:
    sandbox.config.fault_429_rate = 1.0
    sandbox.config.fault_retry_after = 1
    with pytest.raises(SlackCallError) as err:
        await gateway.call("auth.test")
    assert err.value.error == "ratelimited"
    assert err.value.transient and err.value.retry_after == 1.0
    assert gateway.calls == 3


async def test_server_errors_are_retried_until_one_succeeds(sandbox: Any, gateway: SlackGateway) -> None:
    sandbox.config.fault_5xx_rate = 1.0
    with pytest.raises(SlackCallError) as err:
        await gateway.call("auth.test")
    assert err.value.transient and err.value.error.startswith("http_5")
    assert gateway.calls == 3
    sandbox.config.fault_5xx_rate = 0.0
    assert (await gateway.call("auth.test"))["ok"] is True


async def test_respond_raises_only_the_public_error(
    sandbox: Any, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    """A response_url that keeps answering 429 ends in SlackCallError with its Retry-After, after the
    retries, and never in a private exception."""
    hits: list[int] = []

    async def busy(request: web.Request) -> web.Response:
        hits.append(1)
        return web.Response(status=429, headers={"Retry-After": "0"}, text="slow down")

    app = web.Application()
    app.router.add_post("/hook", busy)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    gw = make_gateway(sandbox, redis_client, redis_prefix)
    try:
        with pytest.raises(SlackCallError) as err:
            await gw.respond(f"http://127.0.0.1:{port}/hook", {"text": "hi"})
        assert err.value.error == "ratelimited" and err.value.retry_after == 0.0
        assert err.value.transient
        assert len(hits) == 4
    finally:
        await gw.close()
        await runner.cleanup()
