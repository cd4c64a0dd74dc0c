"""Global and message shortcuts delivered signed, in Slack's payload shapes (``shortcut`` and
``message_action``), to a real HTTP receiver."""

from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox
from sandbox.interactions import InteractionError
from tests.sandbox.receiver import Receiver


async def test_global_shortcut_has_no_channel_message_or_response_url(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    result = await sandbox.actions.shortcut("alice", "declare_incident")
    assert result["ok"] and result["status"] == 200
    req = receiver.requests[-1]
    assert req.verified and req.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    p = req.payload
    assert p["type"] == "shortcut" and p["callback_id"] == "declare_incident"
    assert p["user"]["id"] == "U0ALICE001" and p["team"]["id"] == sandbox.team_id
    assert p["trigger_id"] == result["trigger_id"] and p["action_ts"]
    assert not {"channel", "message", "response_url", "message_ts"} & set(p)


async def test_message_shortcut_carries_the_message_and_a_response_url(
    sandbox: Sandbox, receiver: Receiver, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C0INCIDENTS", text="db is down")
    result = await sandbox.actions.shortcut("bob", "add_to_timeline", "incidents", posted["ts"])
    assert result["ok"]
    p = receiver.requests[-1].payload
    assert receiver.requests[-1].verified
    assert p["type"] == "message_action" and p["callback_id"] == "add_to_timeline"
    assert p["channel"] == {"id": "C0INCIDENTS", "name": "incidents"}
    assert p["message_ts"] == posted["ts"] and p["message"]["ts"] == posted["ts"]
    assert p["message"]["type"] == "message" and p["message"]["text"] == "db is down"
    assert p["response_url"] == result["response_url"] and p["user"]["name"] == "bob"
    # the response_url answers in the channel, to that user only
    await client.chat_postMessage(channel="C0INCIDENTS", text="marker")  # unrelated traffic
    async with aiohttp.ClientSession() as http:
        async with http.post(p["response_url"], json={"text": "added to the timeline"}) as resp:
            assert resp.status == 200
    assert any(e["text"] == "added to the timeline" for e in sandbox.ephemerals("bob", "incidents"))


async def test_message_shortcut_needs_a_message_the_user_can_see(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    with pytest.raises(InteractionError) as err:
        await sandbox.actions.shortcut("alice", "add_to_timeline", "incidents", "1.000001")
    assert err.value.error == "message_not_found"
    with pytest.raises(InteractionError):
        await sandbox.actions.shortcut("nobody", "add_to_timeline")
    assert receiver.requests == []


async def test_a_failed_message_shortcut_is_shown_to_the_user(
    sandbox: Sandbox, client: AsyncWebClient
) -> None:
    sandbox.bot_url = "http://127.0.0.1:9/slack/events"  # nothing listens there
    posted = await client.chat_postMessage(channel="C0INCIDENTS", text="anything")
    result = await sandbox.actions.shortcut("carol", "add_to_timeline", "incidents", posted["ts"])
    assert result["error"] == "dispatch_failed"
    assert any(
        "did not respond to your shortcut" in e["text"] for e in sandbox.ephemerals("carol", "incidents")
    )
