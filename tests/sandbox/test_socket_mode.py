"""Socket Mode: apps.connections.open, the envelopes Slack sends over the WebSocket, acks (with
payloads), retries of unacknowledged events, disconnect/reconnect; and the bot run over Socket Mode
(slack_bolt's AsyncSocketModeHandler, real Redis) declaring and acknowledging an incident."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox
from sandbox.interactions import Interactions
from tests.conftest import REDIS_URL, BotProcess, eventually, free_port
from tests.incidents.story import Engineer, buttons, channel_named, message_with, texts


class RawApp:
    """A Socket Mode app written against the wire protocol: what it receives, it keeps."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.session = aiohttp.ClientSession()
        self.web = AsyncWebClient(base_url=sandbox.api_url)

    async def connect(self) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any]]:
        resp = await self.web.apps_connections_open(app_token=self.sandbox.app_token)
        ws = await self.session.ws_connect(resp["url"])
        hello = await ws.receive_json(timeout=5)
        return ws, hello

    @staticmethod
    async def ack(ws: aiohttp.ClientWebSocketResponse, envelope: dict[str, Any], payload: Any = None) -> None:
        body: dict[str, Any] = {"envelope_id": envelope["envelope_id"]}
        if payload is not None:
            body["payload"] = payload
        await ws.send_str(json.dumps(body))

    async def close(self) -> None:
        await self.session.close()


@pytest.fixture
async def app(sandbox: Sandbox) -> AsyncIterator[RawApp]:
    raw = RawApp(sandbox)
    try:
        yield raw
    finally:
        await raw.close()


# ---- apps.connections.open ----------------------------------------------------------------------
async def test_connections_open_answers_a_websocket_url_for_the_app_level_token(sandbox: Sandbox) -> None:
    web = AsyncWebClient(base_url=sandbox.api_url)
    resp = await web.apps_connections_open(app_token=sandbox.app_token)
    assert resp["ok"] is True
    host = sandbox.url.removeprefix("http://")
    assert resp["url"].startswith(f"ws://{host}/link/?ticket=")
    assert f"app_id={sandbox.core.workspace.bot.app_id}" in resp["url"]


async def test_connections_open_refuses_other_tokens(sandbox: Sandbox) -> None:
    web = AsyncWebClient(base_url=sandbox.api_url)
    for token, error in ((sandbox.bot_token, "not_allowed_token_type"), ("xapp-1-wrong", "invalid_auth")):
        with pytest.raises(SlackApiError) as exc:
            await web.apps_connections_open(app_token=token)
        assert exc.value.response["error"] == error
    # the token as a POST parameter is not accepted: this method reads the Authorization header only
    async with aiohttp.ClientSession() as http:
        async with http.post(
            sandbox.api_url + "apps.connections.open", data={"token": sandbox.app_token}
        ) as r:
            assert (await r.json()) == {"ok": False, "error": "not_authed"}


async def test_connections_open_is_tier_1_and_tickets_are_single_use(sandbox: Sandbox, app: RawApp) -> None:
    resp = await app.web.apps_connections_open(app_token=sandbox.app_token)
    with pytest.raises(SlackApiError) as exc:
        await app.web.apps_connections_open(app_token=sandbox.app_token)
    assert exc.value.response.status_code == 429 and exc.value.response["error"] == "ratelimited"
    assert int(exc.value.response.headers["Retry-After"]) >= 1
    ws = await app.session.ws_connect(resp["url"])
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await app.session.ws_connect(resp["url"])
    assert refused.value.status == 401
    await ws.close()


# ---- envelopes and acks -------------------------------------------------------------------------
async def test_hello_then_a_slash_command_envelope_whose_ack_payload_is_shown(
    sandbox: Sandbox, app: RawApp
) -> None:
    ws, hello = await app.connect()
    assert hello["type"] == "hello" and hello["num_connections"] == 1
    assert hello["connection_info"]["app_id"] == sandbox.core.workspace.bot.app_id
    assert sandbox.bot_url is None  # nothing goes over HTTP: the WebSocket is the only way in

    pending = asyncio.create_task(sandbox.command("alice", "#incidents", "/incident", "help"))
    env = await ws.receive_json(timeout=5)
    assert env["type"] == "slash_commands" and env["accepts_response_payload"] is True
    assert isinstance(env["envelope_id"], str) and env["envelope_id"]
    payload = env["payload"]
    assert payload["command"] == "/incident" and payload["text"] == "help"
    assert payload["user_id"] == sandbox.user_by_name("alice")["id"]
    assert payload["response_url"].startswith(sandbox.url + "/response/") and payload["trigger_id"]
    await app.ack(ws, env, {"text": "answered over the socket"})
    result = await pending
    assert result["ok"] is True and result["error"] is None
    assert [e["text"] for e in sandbox.ephemerals("alice", "#incidents")] == ["answered over the socket"]
    assert sandbox.deliveries()[-1]["kind"] == "socket slash_command"
    await ws.close()


async def test_block_actions_and_view_submission_arrive_as_interactive_envelopes(
    sandbox: Sandbox, app: RawApp, client: AsyncWebClient
) -> None:
    ws, _ = await app.connect()
    button = {"type": "button", "action_id": "press", "text": {"type": "plain_text", "text": "Press"}}
    posted = await client.chat_postMessage(
        channel="#incidents", text="x", blocks=[{"type": "actions", "elements": [button]}]
    )
    click = asyncio.create_task(sandbox.click("bob", "#incidents", posted["ts"], "press"))
    env = await ws.receive_json(timeout=5)
    assert env["type"] == "interactive" and env["accepts_response_payload"] is False
    assert env["payload"]["type"] == "block_actions"
    assert env["payload"]["actions"][0]["action_id"] == "press"
    assert "retry_attempt" not in env  # only Events API envelopes are retried
    await app.ack(ws, env)
    assert (await click)["ok"] is True

    view = {
        "type": "modal",
        "callback_id": "ask",
        "title": {"type": "plain_text", "text": "Ask"},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [
            {
                "type": "input",
                "block_id": "q",
                "label": {"type": "plain_text", "text": "Question"},
                "element": {"type": "plain_text_input", "action_id": "text"},
            }
        ],
    }
    opened = await client.views_open(trigger_id=(await click)["trigger_id"], view=view)
    submit = asyncio.create_task(sandbox.submit("bob", opened["view"]["id"], {"q": {"text": "why?"}}))
    env = await ws.receive_json(timeout=5)
    assert env["type"] == "interactive" and env["accepts_response_payload"] is True
    assert env["payload"]["type"] == "view_submission"
    assert env["payload"]["view"]["state"]["values"]["q"]["text"]["value"] == "why?"
    await app.ack(ws, env, {"response_action": "errors", "errors": {"q": "Ask something else"}})
    result = await submit
    assert result["response_action"] == "errors" and result["errors"] == {"q": "Ask something else"}
    assert sandbox.views("bob")[0]["errors"] == {"q": "Ask something else"}  # the modal stays open
    await ws.close()


async def test_shortcut_arrives_as_an_interactive_envelope(sandbox: Sandbox, app: RawApp) -> None:
    if not hasattr(Interactions, "shortcut"):
        pytest.skip("the sandbox has no shortcuts yet")
    ws, _ = await app.connect()
    pending = asyncio.create_task(sandbox.actions.shortcut("carol", "open_incident"))
    env = await ws.receive_json(timeout=5)
    assert env["type"] == "interactive" and env["payload"]["type"] == "shortcut"
    assert env["payload"]["callback_id"] == "open_incident" and env["accepts_response_payload"] is False
    await app.ack(ws, env)
    assert (await pending)["ok"] is True
    await ws.close()


async def test_events_api_envelope_and_an_unacked_event_is_retried(
    sandbox: Sandbox, app: RawApp, client: AsyncWebClient
) -> None:
    sandbox.set_faults(ack_timeout_seconds=1.0, event_retry_delays=[0.05, 0.05])
    ws, _ = await app.connect()
    ts = (await client.chat_postMessage(channel="#incidents", text="react to me"))["ts"]
    result = await sandbox.react("bob", "#incidents", ts, "eyes")
    assert result["error"] == "operation_timeout"  # nobody acked the first delivery

    first = await ws.receive_json(timeout=5)
    assert first["type"] == "events_api" and first["accepts_response_payload"] is False
    assert first["retry_attempt"] == 0 and first["retry_reason"] == ""
    assert first["payload"]["type"] == "event_callback"
    assert first["payload"]["event"]["type"] == "reaction_added"
    retry = await ws.receive_json(timeout=5)
    assert retry["retry_attempt"] == 1 and retry["retry_reason"] == "timeout"
    assert retry["payload"]["event_id"] == first["payload"]["event_id"]
    assert retry["envelope_id"] != first["envelope_id"]
    await app.ack(ws, retry)

    async def retried_and_acked() -> bool:
        return any(d["kind"] == "socket event retry 1" and d["error"] is None for d in sandbox.deliveries())

    assert await eventually(retried_and_acked)
    assert sandbox.socket.open_connections()[0].envelopes == 2  # acked: no third attempt
    await ws.close()


async def test_an_unacked_command_times_out_for_the_user_and_is_not_retried(
    sandbox: Sandbox, app: RawApp
) -> None:
    sandbox.set_faults(ack_timeout_seconds=0.3)
    ws, _ = await app.connect()
    result = await sandbox.command("alice", "#incidents", "/incident", "list")
    assert result["error"] == "operation_timeout"
    assert any(
        e["text"] == '/incident failed with the error "operation_timeout"'
        for e in sandbox.ephemerals("alice")
    )
    assert (await ws.receive_json(timeout=5))["type"] == "slash_commands"
    assert sandbox.socket.open_connections()[0].envelopes == 1
    await ws.close()


# ---- disconnect / reconnect ---------------------------------------------------------------------
@pytest.mark.parametrize("reason", ["refresh_requested", "warning"])
async def test_disconnect_then_the_app_reconnects_and_deliveries_follow(
    sandbox: Sandbox, app: RawApp, reason: str
) -> None:
    sandbox.socket.disconnect_grace_seconds = 1.0
    old, _ = await app.connect()
    assert await sandbox.socket.disconnect(reason) == 1
    message = await old.receive_json(timeout=5)
    assert message["type"] == "disconnect" and message["reason"] == reason

    sandbox.advance_time(60)  # apps.connections.open is Tier 1: one call a minute
    new, hello = await app.connect()
    assert hello["num_connections"] == 2  # the old one is still open for a moment

    pending = asyncio.create_task(sandbox.command("alice", "#incidents", "/incident", "help"))
    env = await new.receive_json(timeout=5)  # the draining connection gets nothing new
    assert env["type"] == "slash_commands"
    await app.ack(new, env)
    assert (await pending)["ok"] is True

    closed = await old.receive(timeout=5)  # the sandbox closes the old one after the grace period
    assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)

    async def one_left() -> bool:
        return len(sandbox.socket.connections()) == 1

    assert await eventually(one_left)
    await new.close()


async def test_json_api_shows_connections_and_disconnects(sandbox: Sandbox, app: RawApp) -> None:
    ws, _ = await app.connect()
    async with aiohttp.ClientSession() as http:
        async with http.get(sandbox.url + "/sandbox/socket") as r:
            state = await r.json()
        assert [c["draining"] for c in state["connections"]] == [False]
        async with http.post(sandbox.url + "/sandbox/socket/disconnect", json={"reason": "nope"}) as r:
            assert r.status == 400 and (await r.json())["error"] == "invalid_reason"
        async with http.post(sandbox.url + "/sandbox/socket/disconnect", json={}) as r:
            assert (await r.json()) == {"ok": True, "disconnected": 1}
    assert (await ws.receive_json(timeout=5))["reason"] == "refresh_requested"
    await ws.close()


# ---- the bot over Socket Mode -------------------------------------------------------------------
@pytest.fixture
async def socket_bot(sandbox: Sandbox, redis_prefix: str, tmp_path: Any) -> AsyncIterator[BotProcess]:
    """The real bot (real Redis) whose Slack traffic comes over Socket Mode, built as
    ``chatops socket`` builds it; its HTTP endpoint is not given to the sandbox."""
    from chatops.socket_mode import socket_handler

    proc = BotProcess(sandbox, redis_prefix, None, tmp_path)
    await proc.start()
    sandbox.bot_url = None
    assert proc.runner is not None
    settings = proc.settings().model_copy(update={"slack_app_token": SecretStr(sandbox.app_token)})
    handler = socket_handler(proc.runner.app, settings)
    await handler.connect_async()
    try:
        yield proc
    finally:
        await handler.close_async()
        await proc.stop()


async def test_story_declare_and_acknowledge_an_incident_over_socket_mode(
    sandbox: Sandbox, socket_bot: BotProcess
) -> None:
    assert sandbox.socket.is_open and sandbox.bot_url is None
    alice, bob = Engineer(sandbox, "alice"), Engineer(sandbox, "bob")

    ack = await alice.types("#incidents", '/incident create critical "Payments API down"')
    assert ack["ok"] is True

    announcement = await message_with(sandbox, "#incidents", "INC-1: Payments API down")
    assert "Critical" in texts(announcement)
    assert "incident_ack" in buttons(announcement)
    room = await channel_named(sandbox, "inc-1-")
    assert room["name"] == "inc-1-payments-api-down"
    await message_with(sandbox, room["name"], "INC-1: Payments API down")

    # Slack refreshes the connection; the bot reconnects by itself and the story goes on
    first = {c["id"] for c in sandbox.socket.connections()}
    sandbox.advance_time(60)  # apps.connections.open is Tier 1
    assert await sandbox.socket.disconnect("refresh_requested") == 1

    async def reconnected() -> bool:
        return any(c["id"] not in first and not c["draining"] for c in sandbox.socket.connections())

    assert await eventually(reconnected)

    await bob.clicks("#incidents", announcement, "incident_ack")

    async def acknowledged() -> bool:
        fresh = next(m for m in sandbox.messages("#incidents") if m["ts"] == announcement["ts"])
        return "acknowledged by" in texts(fresh) and "incident_ack" not in buttons(fresh)

    assert await eventually(acknowledged)
    await bob.sees_reply("You acknowledged INC-1")
    kinds = [d["kind"] for d in sandbox.deliveries()]
    assert kinds and all(k.startswith("socket ") for k in kinds), kinds
    assert "socket slash_command" in kinds and "socket block_actions" in kinds


async def test_chatops_sandbox_socket_runs_the_bot_over_socket_mode(redis_prefix: str, tmp_path: Any) -> None:
    """The CLI itself: ``chatops sandbox --socket`` serves a sandbox and connects the bot to it over
    Socket Mode; a command typed there is delivered as an envelope and the bot declares the incident."""
    env = {**os.environ, "CHATOPS_REDIS_PREFIX": redis_prefix, "REDIS_URL": REDIS_URL}
    for name in ("SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "CHATOPS_CONFIG"):
        env.pop(name, None)
    port, bot_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["sandbox", "--socket", "--no-browser", "--port", str(port), "--bot-port", str(bot_port)]
    log_path = tmp_path / "chatops.log"
    log_file = log_path.open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chatops",
        *args,
        env=env,
        cwd=tmp_path,  # whatever the sandbox saves stays in the test's directory
        stdout=log_file,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with aiohttp.ClientSession() as http:

            async def connected() -> bool:
                if proc.returncode is not None:
                    raise AssertionError(f"chatops sandbox --socket exited: {log_path.read_text()[-2000:]}")
                try:
                    async with http.get(url + "/sandbox/socket") as r:
                        return bool((await r.json())["connections"])
                except aiohttp.ClientConnectionError:
                    return False

            assert await eventually(connected, timeout=60)
            async with http.get(url + "/sandbox/bot_url") as r:
                assert (await r.json()).get("bot_url") is None  # nothing over HTTP
            command = {
                "user": "alice",
                "channel": "#incidents",
                "command": "/incident",
                "text": 'create high "Socket from the CLI"',
            }
            async with http.post(url + "/sandbox/command", json=command) as r:
                answer = await r.json()
            assert answer["ok"] is True and answer["error"] is None, answer

            async def announced() -> bool:
                async with http.get(
                    url + "/api/conversations.history?channel=incidents",
                    headers={"Authorization": "Bearer xoxb-sandbox-token"},
                ) as r:
                    body = await r.json()
                return any(
                    "Socket from the CLI" in m.get("text", "") + json.dumps(m.get("blocks"))
                    for m in body.get("messages", [])
                )

            assert await eventually(announced, timeout=30)
            async with http.get(url + "/sandbox/deliveries") as r:
                kinds = [d["kind"] for d in (await r.json())["deliveries"]]
            assert kinds and all(k.startswith("socket ") for k in kinds), kinds
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()
        log_file.close()
