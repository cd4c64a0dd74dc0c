"""Raw, signed Slack requests for the trust tests: the exact bytes Slack would send."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp

from sandbox import signature


def command_body(sandbox: Any, user: str, channel: str, command: str, text: str) -> bytes:
    """A slash command's form body with a real trigger_id and response_url from the sandbox."""
    u = sandbox.user_by_name(user)["id"]
    c = sandbox.channel_by_name(channel)["id"]
    fields = {
        "token": "sandbox-verification-token",
        "team_id": sandbox.team_id,
        "channel_id": c,
        "channel_name": channel,
        "user_id": u,
        "user_name": user,
        "command": command,
        "text": text,
        "api_app_id": "A0CHATOPS1",
        "response_url": sandbox.core.issue_response_url(u, c),
        "trigger_id": sandbox.core.issue_trigger(u, c),
    }
    return urlencode(fields).encode()


def action_body(sandbox: Any, user: str, channel: str, message: dict[str, Any], action_id: str) -> bytes:
    """A block_actions payload for a button of a stored message (one click)."""
    u = sandbox.user_by_name(user)["id"]
    c = sandbox.channel_by_name(channel)["id"]
    button = next(
        (el, b["block_id"])
        for b in message["blocks"]
        if b["type"] == "actions"
        for el in b["elements"]
        if el.get("action_id") == action_id
    )
    payload = {
        "type": "block_actions",
        "user": {"id": u, "name": user, "team_id": sandbox.team_id},
        "api_app_id": "A0CHATOPS1",
        "token": "sandbox-verification-token",
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": c},
        "trigger_id": sandbox.core.issue_trigger(u, c),
        "team": {"id": sandbox.team_id},
        "channel": {"id": c, "name": channel},
        "response_url": sandbox.core.issue_response_url(u, c, message_ts=message["ts"]),
        "actions": [
            {
                "action_id": action_id,
                "block_id": button[1],
                "type": "button",
                "value": button[0].get("value"),
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


async def post_signed(
    url: str,
    body: bytes,
    secret: str | None,
    *,
    timestamp: int | None = None,
    retry: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
    signature_override: str | None = None,
) -> tuple[int, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts}
    if secret is not None:
        headers["X-Slack-Signature"] = signature_override or signature(secret, ts, body)
    if retry is not None:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=body, headers=headers) as resp:
            return resp.status, await resp.text()


async def post_large(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST over a plain socket, reading the answer while still sending: a server may refuse an
    oversized body before reading it (aiohttp's client can stall on that), we only want the status."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    head = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.hostname}:{parts.port}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    head.append(f"Content-Length: {len(body)}")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())

    async def send() -> None:
        try:
            for i in range(0, len(body), 65536):
                writer.write(body[i : i + 65536])
                await writer.drain()
        except (ConnectionError, OSError):
            pass  # the server answered and closed: fine

    sender = asyncio.create_task(send())
    try:
        status_line = await asyncio.wait_for(reader.readline(), timeout=30)
    finally:
        sender.cancel()
        writer.close()
    return int(status_line.split()[1])
