"""Every Slack request is verified (v0 signature, 5-minute window); bodies have a size limit;
HTTP mode refuses to start without a signing secret."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

import aiohttp
import pytest

from sandbox import signature
from tests.conftest import BotProcess, eventually, free_port
from tests.trust.slack import command_body, post_large, post_signed


async def _incidents(bot: BotProcess) -> list[Any]:
    return await bot.ctx.store.list(include_resolved=True)


async def test_valid_signature_is_served(bot: BotProcess, sandbox: Any) -> None:
    body = command_body(sandbox, "alice", "incidents", "/incident", "create high Checkout errors")
    status, _ = await post_signed(f"{bot.url}/slack/events", body, sandbox.signing_secret)
    assert status == 200
    found = await eventually(lambda: _incidents(bot))
    assert [i.title for i in found] == ["Checkout errors"]


@pytest.mark.parametrize(
    "case",
    ["missing", "wrong-secret", "garbage", "stale", "future", "tampered-body"],
)
async def test_bad_signatures_get_401_and_do_nothing(bot: BotProcess, sandbox: Any, case: str) -> None:
    body = command_body(sandbox, "alice", "incidents", "/incident", "create high Checkout errors")
    url = f"{bot.url}/slack/events"
    secret = sandbox.signing_secret
    if case == "missing":
        status, text = await post_signed(url, body, None)
    elif case == "wrong-secret":
        status, text = await post_signed(url, body, "not-the-signing-secret")
    elif case == "garbage":
        status, text = await post_signed(url, body, secret, signature_override="v0=deadbeef")
    elif case == "stale":  # signed correctly, but 5 minutes and 1 second old
        status, text = await post_signed(url, body, secret, timestamp=int(time.time()) - 301)
    elif case == "future":
        status, text = await post_signed(url, body, secret, timestamp=int(time.time()) + 301)
    else:  # signed, then a byte changed
        ts = int(time.time())
        sig = signature(secret, str(ts), body)
        status, text = await post_signed(
            url, body.replace(b"Checkout", b"Checkouts"), secret, timestamp=ts, signature_override=sig
        )
    assert status == 401, text
    # nothing was run: a valid request afterwards creates INC-1, not INC-2
    ok = command_body(sandbox, "alice", "incidents", "/incident", "create high After")
    assert (await post_signed(url, ok, secret))[0] == 200
    found = await eventually(lambda: _incidents(bot))
    assert [i.id for i in found] == ["INC-1"]


async def test_signature_inside_the_window_is_accepted(bot: BotProcess, sandbox: Any) -> None:
    body = command_body(sandbox, "alice", "incidents", "/incident", "create high Four minutes old")
    status, _ = await post_signed(
        f"{bot.url}/slack/events", body, sandbox.signing_secret, timestamp=int(time.time()) - 240
    )
    assert status == 200


async def test_non_utf8_body_is_answered_not_crashed(bot: BotProcess, sandbox: Any) -> None:
    body = b"command=%2Fincident&text=" + b"\xff\xfe\x00bad"
    status, text = await post_signed(f"{bot.url}/slack/events", body, sandbox.signing_secret)
    assert status in (400, 401), text  # never a 500


@pytest.mark.parametrize("path", ["/slack/events", "/alerts/alertmanager"])
async def test_body_size_limit(bot: BotProcess, sandbox: Any, path: str) -> None:
    limit = 1024 * 1024  # the web app's client_max_size
    alerts_policy = getattr(bot.ctx.policy, "alerts", None)
    if path.startswith("/alerts") and alerts_policy is not None:
        limit = alerts_policy.max_body_bytes  # Alertmanager storms are big: the alerts part's own limit
    body = b"x" * (limit + 1)
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature(sandbox.signing_secret, ts, body),
    }
    assert await post_large(f"{bot.url}{path}", body, headers) == 413


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CHATOPS_"))}
    env.update(extra)
    return env


async def test_serve_refuses_to_start_without_signing_secret(sandbox: Any, redis_prefix: str) -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chatops.main",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        env=_env(
            SLACK_API_URL=sandbox.api_url,
            SLACK_BOT_TOKEN=sandbox.bot_token,
            CHATOPS_REDIS_PREFIX=redis_prefix,
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode != 0
    assert b"SLACK_SIGNING_SECRET" in err
    assert b"CHATOPS_INSECURE_NO_SIGNATURE" in err


async def test_serve_starts_without_secret_only_when_told_it_is_insecure(
    sandbox: Any, redis_prefix: str
) -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chatops.main",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        env=_env(
            SLACK_API_URL=sandbox.api_url,
            SLACK_BOT_TOKEN=sandbox.bot_token,
            CHATOPS_REDIS_PREFIX=redis_prefix,
            CHATOPS_INSECURE_NO_SIGNATURE="1",
        ),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:

        async def healthy() -> bool:
            if proc.returncode is not None:
                raise AssertionError(f"chatops serve exited with {proc.returncode}")
            try:
                async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/healthz") as r:
                    return r.status == 200
            except aiohttp.ClientError:
                return False

        assert await eventually(healthy, timeout=30)
        # unsigned requests are taken (that is what the flag means)
        body = command_body(sandbox, "alice", "incidents", "/incident", "help")
        status, _ = await post_signed(f"http://127.0.0.1:{port}/slack/events", body, None)
        assert status == 200
    finally:
        proc.terminate()
        await proc.wait()
