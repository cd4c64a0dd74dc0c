"""User actions delivered to a (real, tiny) HTTP receiver exactly as Slack delivers them, signed."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox
from tests.sandbox.receiver import Received, Receiver, json_reply

ACK_BUTTONS = [
    {"type": "section", "block_id": "summary", "text": {"type": "mrkdwn", "text": "*INC-1* db down"}},
    {
        "type": "actions",
        "block_id": "incident_actions",
        "elements": [
            {
                "type": "button",
                "action_id": "incident_ack",
                "text": {"type": "plain_text", "text": "Acknowledge"},
                "value": "INC-1",
                "style": "primary",
            },
            {
                "type": "static_select",
                "action_id": "incident_sev",
                "placeholder": {"type": "plain_text", "text": "Severity"},
                "options": [
                    {"text": {"type": "plain_text", "text": "Critical"}, "value": "critical"},
                    {"text": {"type": "plain_text", "text": "Minor"}, "value": "minor"},
                ],
            },
        ],
    },
]


async def test_slash_command_is_signed_and_has_slack_fields(sandbox: Sandbox, receiver: Receiver) -> None:
    result = await sandbox.command("alice", "#incidents", "/incident", 'create critical "DB down"')
    assert result["ok"] and result["status"] == 200 and result["error"] is None
    assert result["ack_ms"] >= 0
    req = receiver.requests[0]
    assert req.verified
    ts = req.headers["X-Slack-Request-Timestamp"]
    assert abs(int(ts) - time.time()) < 60
    assert req.headers["X-Slack-Signature"].startswith("v0=")
    assert req.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    form = req.form
    assert form["command"] == "/incident"
    assert form["text"] == 'create critical "DB down"'
    assert form["user_id"] == "U0ALICE001" and form["user_name"] == "alice"
    assert form["channel_id"] == "C0INCIDENTS" and form["channel_name"] == "incidents"
    assert form["team_id"] == sandbox.team_id and form["team_domain"] == "sandbox"
    assert form["api_app_id"] == "A0CHATOPS1"
    assert form["response_url"].startswith(sandbox.url + "/response/")
    assert form["trigger_id"] == result["trigger_id"]
    assert {"token", "trigger_id"} <= set(form)


async def test_tampered_signature_is_detected_by_slack_sdk(sandbox: Sandbox, receiver: Receiver) -> None:
    await sandbox.command("bob", "C0INCIDENTS", "/status", "")
    req = receiver.requests[0]
    verifier = SignatureVerifier(sandbox.signing_secret)
    assert verifier.is_valid_request(req.body, req.headers)
    assert not verifier.is_valid_request(req.body + b"x", req.headers)
    assert not SignatureVerifier("other-secret").is_valid_request(req.body, req.headers)


async def test_ack_body_is_shown_ephemeral_to_the_invoker(sandbox: Sandbox, receiver: Receiver) -> None:
    receiver.respond = json_reply({"text": 'Usage: /incident create <sev> "title"'})
    result = await sandbox.command("bob", "incidents", "/incident", "")
    assert result["response"] == {"text": 'Usage: /incident create <sev> "title"'}
    assert [e["text"] for e in sandbox.ephemerals("bob", "incidents")] == [
        'Usage: /incident create <sev> "title"'
    ]
    assert sandbox.ephemerals("alice", "incidents") == []
    assert sandbox.messages("incidents") == []


async def test_ack_in_channel_posts_a_message(sandbox: Sandbox, receiver: Receiver) -> None:
    receiver.respond = json_reply({"response_type": "in_channel", "text": "INC-1 declared"})
    await sandbox.command("bob", "incidents", "/incident", "create")
    assert [m["text"] for m in sandbox.messages("incidents")] == ["INC-1 declared"]


async def test_operation_timeout_when_bot_is_slow(sandbox: Sandbox, receiver: Receiver) -> None:
    sandbox.set_faults(ack_timeout_seconds=0.3)

    async def slow(req: Received) -> web.StreamResponse:
        await asyncio.sleep(2)
        return web.Response()

    receiver.respond = slow
    result = await sandbox.command("carol", "incidents", "/incident", "list")
    assert result["ok"] is False and result["error"] == "operation_timeout"
    errors = [e for e in sandbox.ephemerals("carol", "incidents") if e["is_error"]]
    assert errors and "operation_timeout" in errors[0]["text"]


async def test_bot_unreachable_is_dispatch_failed(sandbox: Sandbox) -> None:
    sandbox.bot_url = "http://127.0.0.1:9/slack/events"
    result = await sandbox.command("carol", "incidents", "/incident", "list")
    assert result["error"] == "dispatch_failed"


async def test_block_actions_payload_shape(
    sandbox: Sandbox, receiver: Receiver, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C0INCIDENTS", text="INC-1", blocks=ACK_BUTTONS)
    result = await sandbox.click("bob", "#incidents", posted["ts"], "incident_ack")
    assert result["ok"]
    req = receiver.requests[-1]
    assert req.verified
    p = req.payload
    assert p["type"] == "block_actions"
    assert p["user"] == {"id": "U0BOB00002", "username": "bob", "name": "bob", "team_id": sandbox.team_id}
    assert p["team"]["id"] == sandbox.team_id
    assert p["channel"] == {"id": "C0INCIDENTS", "name": "incidents"}
    assert p["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": "C0INCIDENTS",
        "is_ephemeral": False,
    }
    assert p["message"]["ts"] == posted["ts"] and p["message"]["blocks"][1]["block_id"] == "incident_actions"
    assert p["response_url"].startswith(sandbox.url) and p["trigger_id"]
    (action,) = p["actions"]
    assert action["action_id"] == "incident_ack" and action["block_id"] == "incident_actions"
    assert action["value"] == "INC-1" and action["type"] == "button" and action["action_ts"]

    await sandbox.click("bob", "C0INCIDENTS", posted["ts"], "incident_sev", selected_option="minor")
    sel = receiver.requests[-1].payload["actions"][0]
    assert sel["type"] == "static_select" and sel["selected_option"]["value"] == "minor"


async def test_click_on_ephemeral_message(
    sandbox: Sandbox, receiver: Receiver, client: AsyncWebClient
) -> None:
    r = await client.chat_postEphemeral(
        channel="C0INCIDENTS", user="U0DAVE0004", text="x", blocks=ACK_BUTTONS
    )
    eph = sandbox.ephemerals("dave", "incidents")[0]
    assert eph["ts"] == r["message_ts"]
    await sandbox.click("dave", "incidents", eph["id"], "incident_ack")
    p = receiver.requests[-1].payload
    assert p["container"]["is_ephemeral"] is True and "message" not in p
    with pytest.raises(Exception, match="message_not_found"):
        await sandbox.click("alice", "incidents", eph["id"], "incident_ack")  # not alice's to click


async def test_reaction_added_event(sandbox: Sandbox, receiver: Receiver, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C0ALERTS001", text="alert")
    result = await sandbox.react("alice", "alerts", posted["ts"], ":pushpin:")
    assert result["ok"]
    req = receiver.requests[-1]
    assert req.verified and req.json is not None
    assert req.json["type"] == "event_callback" and req.json["event_id"].startswith("Ev")
    event = req.json["event"]
    assert event["type"] == "reaction_added" and event["reaction"] == "pushpin"
    assert event["user"] == "U0ALICE001" and event["item_user"] == "U0CHATOPS1"
    assert event["item"] == {"type": "message", "channel": "C0ALERTS001", "ts": posted["ts"]}
    history = await client.conversations_history(channel="C0ALERTS001")
    assert history["messages"][0]["reactions"][0]["users"] == ["U0ALICE001"]


async def test_user_message_and_app_mention_events(sandbox: Sandbox, receiver: Receiver) -> None:
    result = await sandbox.say("erin", "incidents", "hey <@U0CHATOPS1> status?")
    kinds = [r.json["event"]["type"] for r in receiver.requests if r.json]
    assert kinds == ["message", "app_mention"]
    assert sandbox.messages("incidents")[-1]["ts"] == result["ts"]


# ---- response_url ---------------------------------------------------------------------------------
async def _respond(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json=body) as resp:
            return resp.status, await resp.json()


async def test_response_url_five_uses(sandbox: Sandbox, receiver: Receiver) -> None:
    url = (await sandbox.command("alice", "incidents", "/status", ""))["response_url"]
    for i in range(5):
        assert await _respond(url, {"text": f"update {i}"}) == (200, {"ok": True})
    status, body = await _respond(url, {"text": "sixth"})
    assert status == 404 and body["error"] == "used_url"
    assert len(sandbox.ephemerals("alice", "incidents")) == 5


async def test_response_url_expires_after_30_minutes(sandbox: Sandbox, receiver: Receiver) -> None:
    url = (await sandbox.command("alice", "incidents", "/status", ""))["response_url"]
    sandbox.advance_time(29 * 60)
    assert (await _respond(url, {"text": "still fine"}))[0] == 200
    sandbox.advance_time(61)
    status, body = await _respond(url, {"text": "too late"})
    assert status == 404 and body["error"] == "expired_url"


async def test_response_url_in_channel_replace_and_delete(
    sandbox: Sandbox, receiver: Receiver, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C0INCIDENTS", text="INC-1", blocks=ACK_BUTTONS)
    url = (await sandbox.click("bob", "incidents", posted["ts"], "incident_ack"))["response_url"]
    await _respond(url, {"replace_original": True, "text": "Acknowledged by <@U0BOB00002>"})
    (msg,) = sandbox.messages("incidents")
    assert (
        msg["ts"] == posted["ts"] and msg["text"] == "Acknowledged by <@U0BOB00002>" and "blocks" not in msg
    )
    await _respond(url, {"response_type": "in_channel", "text": "posted for all"})
    assert [m["text"] for m in sandbox.messages("incidents")][-1] == "posted for all"
    await _respond(url, {"text": "just for bob"})
    assert sandbox.ephemerals("bob", "incidents")[-1]["text"] == "just for bob"
    await _respond(url, {"delete_original": True})
    assert posted["ts"] not in [m["ts"] for m in sandbox.messages("incidents")]


async def test_response_url_rejects_invalid_blocks(sandbox: Sandbox, receiver: Receiver) -> None:
    url = (await sandbox.command("alice", "incidents", "/status", ""))["response_url"]
    status, body = await _respond(
        url, {"blocks": [{"type": "header", "text": {"type": "plain_text", "text": ""}}]}
    )
    assert status == 400 and body["error"] == "invalid_blocks"


# ---- trigger_id and views -------------------------------------------------------------------------
MODAL = {
    "type": "modal",
    "callback_id": "declare",
    "title": {"type": "plain_text", "text": "Declare incident"},
    "submit": {"type": "plain_text", "text": "Declare"},
    "blocks": [
        {
            "type": "input",
            "block_id": "title",
            "label": {"type": "plain_text", "text": "Title"},
            "element": {"type": "plain_text_input", "action_id": "title_input"},
        },
        {
            "type": "input",
            "block_id": "sev",
            "label": {"type": "plain_text", "text": "Severity"},
            "element": {
                "type": "static_select",
                "action_id": "sev_select",
                "options": [
                    {"text": {"type": "plain_text", "text": "Critical"}, "value": "critical"},
                    {"text": {"type": "plain_text", "text": "Minor"}, "value": "minor"},
                ],
            },
        },
    ],
}


async def test_trigger_id_valid_for_3_seconds_and_single_use(
    sandbox: Sandbox, receiver: Receiver, client: AsyncWebClient
) -> None:
    trigger = (await sandbox.command("alice", "incidents", "/incident", "new"))["trigger_id"]
    opened = await client.views_open(trigger_id=trigger, view=MODAL)
    assert opened["view"]["id"].startswith("V")
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id=trigger, view=MODAL)
    assert err.value.response["error"] == "exchanged_trigger_id"
    late = (await sandbox.command("alice", "incidents", "/incident", "new"))["trigger_id"]
    sandbox.advance_time(3.5)
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id=late, view=MODAL)
    assert err.value.response["error"] == "expired_trigger_id"
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id="123.456.abc", view=MODAL)
    assert err.value.response["error"] == "invalid_trigger_id"


async def test_view_submission_payload_and_close(
    sandbox: Sandbox, receiver: Receiver, client: AsyncWebClient
) -> None:
    trigger = (await sandbox.command("alice", "incidents", "/incident", "new"))["trigger_id"]
    view_id = (await client.views_open(trigger_id=trigger, view=MODAL))["view"]["id"]
    assert [v["id"] for v in sandbox.views("alice")] == [view_id]
    missing = await sandbox.submit("alice", view_id, {"title_input": "DB down"})
    assert missing["error"] == "missing_required" and "sev" in missing["errors"]
    result = await sandbox.submit("alice", view_id, {"title_input": "DB down", "sev_select": "critical"})
    assert result["ok"] and result["response_action"] is None
    p = receiver.requests[-1].payload
    assert receiver.requests[-1].verified
    assert p["type"] == "view_submission" and p["view"]["callback_id"] == "declare"
    values = p["view"]["state"]["values"]
    assert values["title"]["title_input"] == {"type": "plain_text_input", "value": "DB down"}
    assert values["sev"]["sev_select"]["selected_option"]["value"] == "critical"
    assert sandbox.views("alice") == []


async def test_view_submission_errors_keep_the_modal_open(
    sandbox: Sandbox, receiver: Receiver, client: AsyncWebClient
) -> None:
    trigger = (await sandbox.command("alice", "incidents", "/incident", "new"))["trigger_id"]
    view_id = (await client.views_open(trigger_id=trigger, view=MODAL))["view"]["id"]
    receiver.respond = json_reply({"response_action": "errors", "errors": {"title": "Too short"}})
    result = await sandbox.submit("alice", view_id, {"title_input": "x", "sev_select": "minor"})
    assert result["response_action"] == "errors"
    (view,) = sandbox.views("alice")
    assert view["errors"] == {"title": "Too short"}
    updated = await client.views_update(
        view_id=view_id, view={**MODAL, "title": {"type": "plain_text", "text": "Hi"}}
    )
    assert updated["view"]["title"]["text"] == "Hi"


async def test_views_publish_home(sandbox: Sandbox, client: AsyncWebClient) -> None:
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Open: 2"}}]}
    r = await client.views_publish(user_id="U0ALICE001", view=home)
    assert r["view"]["type"] == "home"
    r2 = await client.views_publish(user_id="U0ALICE001", view=home)
    assert r2["view"]["id"] == r["view"]["id"]


async def test_failed_event_is_retried_with_slack_retry_headers(
    sandbox: Sandbox, receiver: Receiver, client: AsyncWebClient
) -> None:
    sandbox.set_faults(event_retry_delays=[0.01, 0.01, 0.01])
    answered = asyncio.Event()

    async def fail_once(req: Received) -> web.StreamResponse:
        if len(receiver.requests) == 1:
            return web.Response(status=500)
        answered.set()
        return web.Response()

    receiver.respond = fail_once
    posted = await client.chat_postMessage(channel="C0ALERTS001", text="alert")
    first = await sandbox.react("bob", "alerts", posted["ts"], "eyes")
    assert first["error"] == "dispatch_failed" and first["status"] == 500
    await asyncio.wait_for(answered.wait(), timeout=10)
    original, retry = receiver.requests
    assert retry.verified
    assert "X-Slack-Retry-Num" not in original.headers
    assert retry.headers["X-Slack-Retry-Num"] == "1"
    assert retry.headers["X-Slack-Retry-Reason"] == "http_error"
    assert original.json is not None and retry.json is not None
    assert retry.json["event_id"] == original.json["event_id"]


async def test_no_retry_when_the_app_asks_for_none(
    sandbox: Sandbox, receiver: Receiver, client: AsyncWebClient
) -> None:
    sandbox.set_faults(event_retry_delays=[30.0])

    async def refuse(req: Received) -> web.StreamResponse:
        status = 503 if req.json and req.json["event"]["reaction"] == "eyes" else 500
        headers = {"X-Slack-No-Retry": "1"} if status == 503 else {}
        return web.Response(status=status, headers=headers)

    receiver.respond = refuse
    posted = await client.chat_postMessage(channel="C0ALERTS001", text="alert")
    refused = await sandbox.react("bob", "alerts", posted["ts"], "eyes")
    assert refused["status"] == 503 and sandbox.delivery.pending_retries == 0
    failed = await sandbox.react("bob", "alerts", posted["ts"], "fire")
    assert failed["status"] == 500 and sandbox.delivery.pending_retries == 1  # cancelled by stop()
