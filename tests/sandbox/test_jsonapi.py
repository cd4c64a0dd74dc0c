"""The JSON API scripts and tests use to act as users, over plain HTTP."""

from __future__ import annotations

from typing import Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox
from tests.sandbox.receiver import Receiver, json_reply


async def _post(sandbox: Sandbox, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http:
        async with http.post(sandbox.url + path, json=body) as resp:
            return resp.status, await resp.json()


async def _get(sandbox: Sandbox, path: str, **params: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        async with http.get(sandbox.url + path, params=params) as resp:
            return await resp.json()


async def test_command_by_names_returns_ack(sandbox: Sandbox, receiver: Receiver) -> None:
    receiver.respond = json_reply({"text": "Declaring…"})
    status, body = await _post(
        sandbox,
        "/sandbox/command",
        {"user": "alice", "channel": "#incidents", "command": "/incident", "text": "x"},
    )
    assert status == 200
    assert body["ok"] and body["status"] == 200 and body["response"] == {"text": "Declaring…"}
    assert isinstance(body["ack_ms"], float) and body["error"] is None
    eph = await _get(sandbox, "/sandbox/ephemeral", user="alice", channel="incidents")
    assert [m["text"] for m in eph["messages"]] == ["Declaring…"]
    by_id = await _post(
        sandbox, "/sandbox/command", {"user": "U0ALICE001", "channel": "C0INCIDENTS", "command": "incident"}
    )
    assert by_id[1]["ok"] and receiver.requests[-1].form["command"] == "/incident"


async def test_bad_input_gets_clear_errors(sandbox: Sandbox, receiver: Receiver) -> None:
    assert await _post(sandbox, "/sandbox/command", {"user": "alice"}) == (
        400,
        {"ok": False, "error": "missing_field", "fields": ["channel", "command"]},
    )
    status, body = await _post(
        sandbox, "/sandbox/command", {"user": "zed", "channel": "#incidents", "command": "/x"}
    )
    assert status == 400 and body["error"] == "user_not_found"
    status, body = await _post(
        sandbox, "/sandbox/command", {"user": "alice", "channel": "#nope", "command": "/x"}
    )
    assert status == 400 and body["error"] == "channel_not_found"
    async with aiohttp.ClientSession() as http:
        async with http.post(sandbox.url + "/sandbox/click", data=b"{not json") as resp:
            assert resp.status == 400 and (await resp.json())["error"] == "invalid_json"


async def test_click_by_action_id(sandbox: Sandbox, receiver: Receiver, client: AsyncWebClient) -> None:
    blocks = [
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "ack",
                    "text": {"type": "plain_text", "text": "Ack"},
                    "value": "1",
                }
            ],
        }
    ]
    posted = await client.chat_postMessage(channel="C0INCIDENTS", text="x", blocks=blocks)
    status, body = await _post(
        sandbox,
        "/sandbox/click",
        {"user": "bob", "channel": "incidents", "message_ts": posted["ts"], "action_id": "ack", "value": "2"},
    )
    assert status == 200 and body["ok"]
    assert receiver.requests[-1].payload["actions"][0]["value"] == "2"
    status, body = await _post(
        sandbox,
        "/sandbox/click",
        {"user": "bob", "channel": "incidents", "message_ts": posted["ts"], "action_id": "nope"},
    )
    assert status == 400 and body["error"] == "action_not_found"


async def test_react_views_submit_and_reset(
    sandbox: Sandbox, receiver: Receiver, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C0INCIDENTS", text="x")
    status, body = await _post(
        sandbox,
        "/sandbox/react",
        {"user": "carol", "channel": "#incidents", "ts": posted["ts"], "name": "pushpin"},
    )
    assert status == 200 and body["event"]["reaction"] == "pushpin"
    trigger = (await sandbox.command("carol", "incidents", "/incident", "new"))["trigger_id"]
    modal = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Note"},
        "submit": {"type": "plain_text", "text": "Add"},
        "blocks": [
            {
                "type": "input",
                "block_id": "note",
                "label": {"type": "plain_text", "text": "Note"},
                "element": {"type": "plain_text_input", "action_id": "text"},
            }
        ],
    }
    view_id = (await client.views_open(trigger_id=trigger, view=modal))["view"]["id"]
    views = await _get(sandbox, "/sandbox/views", user="carol")
    assert [v["id"] for v in views["views"]] == [view_id]
    status, body = await _post(
        sandbox, "/sandbox/submit", {"user": "carol", "view_id": view_id, "values": {"note": {"text": "hi"}}}
    )
    assert status == 200 and body["ok"]
    assert receiver.requests[-1].payload["view"]["state"]["values"]["note"]["text"]["value"] == "hi"
    assert (await _post(sandbox, "/sandbox/reset", {}))[1] == {"ok": True}
    assert sandbox.messages("incidents") == []
    assert sandbox.stats()["calls"] == 0


async def test_say_posts_as_the_user_and_reports_deliveries(sandbox: Sandbox, receiver: Receiver) -> None:
    status, body = await _post(
        sandbox, "/sandbox/say", {"user": "dave", "channel": "#incidents", "text": "hello <@U0CHATOPS1>"}
    )
    assert status == 200 and body["ok"]
    assert [d["status"] for d in body["deliveries"]] == [200, 200]
    (msg,) = sandbox.messages("incidents")
    assert msg["ts"] == body["ts"] and msg["user"] == "U0DAVE0004" and "bot_id" not in msg
    status, body = await _post(
        sandbox,
        "/sandbox/say",
        {"user": "dave", "channel": "#incidents", "text": "reply", "thread_ts": msg["ts"]},
    )
    assert status == 200 and sandbox.replies("incidents", msg["ts"])[1]["text"] == "reply"
    status, body = await _post(
        sandbox,
        "/sandbox/say",
        {"user": "dave", "channel": "#incidents", "text": "x", "thread_ts": "1.000001"},
    )
    assert status == 400 and body["error"] == "thread_not_found"


async def test_workspace_and_channel_state_for_the_page(sandbox: Sandbox, client: AsyncWebClient) -> None:
    ws = await _get(sandbox, "/sandbox/workspace")
    assert {c["name"] for c in ws["channels"]} >= {"incidents", "alerts", "alerts-critical", "general"}
    assert {c["command"] for c in ws["slash_commands"]} == {"/incident", "/status", "/runbook", "/escalate"}
    posted = await client.chat_postMessage(channel="C0INCIDENTS", text="hello")
    await client.chat_postMessage(channel="C0INCIDENTS", text="reply", thread_ts=posted["ts"])
    state = await _get(sandbox, "/sandbox/channel", channel="incidents", user="alice")
    assert [m["text"] for m in state["messages"]] == ["hello"]
    assert state["messages"][0]["reply_count"] == 1
    thread = await _get(sandbox, "/sandbox/thread", channel="incidents", ts=posted["ts"], user="alice")
    assert [m["text"] for m in thread["messages"]] == ["hello", "reply"]


async def test_sse_stream_reports_new_messages(sandbox: Sandbox, client: AsyncWebClient) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(sandbox.url + "/sandbox/events") as resp:
            assert resp.content_type == "text/event-stream"
            assert (await resp.content.readline()).startswith(b"event: hello")
            await client.chat_postMessage(channel="C0GENERAL01", text="live")
            lines = []
            while not any(b"C0GENERAL01" in line for line in lines):
                lines.append(await resp.content.readline())
    assert any(b'"type": "message"' in line for line in lines)
