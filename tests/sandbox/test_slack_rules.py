"""Slack's rules the sandbox enforces on top of the per-block limits: the total text of a message's
blocks, membership for reading history, chat:write.public, booleans as Slack reads them, and the
3-second window of a modal submission. One test per rule (the pages are named in sandbox/README.md)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox
from sandbox.blocks import MAX_MESSAGE_BLOCK_TEXT, message_text_chars
from sandbox.scopes import manifest_bot_scopes
from tests.sandbox.receiver import Received, Receiver


def sections(total: int, per_block: int = 2_900) -> list[dict[str, Any]]:
    """Section blocks carrying exactly ``total`` characters of mrkdwn text."""
    blocks: list[dict[str, Any]] = []
    while total > 0:
        n = min(per_block, total)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "x" * n}})
        total -= n
    return blocks


async def slack_error(call: Any) -> str:
    with pytest.raises(SlackApiError) as err:
        await call
    return str(err.value.response["error"])


async def test_blocks_carrying_more_than_12000_characters_are_msg_blocks_too_long(
    sandbox: Sandbox, client: AsyncWebClient
) -> None:
    at_limit = sections(MAX_MESSAGE_BLOCK_TEXT)
    assert message_text_chars(at_limit) == 12_000
    posted = await client.chat_postMessage(channel="C0INCIDENTS", text="fits", blocks=at_limit)
    assert posted["ok"]
    over = sections(MAX_MESSAGE_BLOCK_TEXT + 1)
    assert await slack_error(client.chat_postMessage(channel="C0INCIDENTS", text="x", blocks=over)) == (
        "msg_blocks_too_long"
    )
    # every text counts: fields, context elements, headers and button labels too
    mixed: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2000} for _ in range(5)]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c" * 1000}]},
        *sections(850),
        {
            "type": "actions",
            "elements": [{"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "b"}}],
        },
    ]
    assert message_text_chars(mixed) == 12_001
    assert await slack_error(client.chat_postMessage(channel="C0INCIDENTS", text="x", blocks=mixed)) == (
        "msg_blocks_too_long"
    )
    # chat.update answers the same, and a per-block limit is still invalid_blocks first
    ts = posted["ts"]
    assert await slack_error(client.chat_update(channel="C0INCIDENTS", ts=ts, text="x", blocks=over)) == (
        "msg_blocks_too_long"
    )
    one_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3001}}]
    assert await slack_error(client.chat_postMessage(channel="C0INCIDENTS", text="x", blocks=one_long)) == (
        "invalid_blocks"
    )
    assert [m["ts"] for m in sandbox.messages("incidents")] == [ts]


async def test_history_and_replies_of_a_public_channel_need_membership(
    sandbox: Sandbox, client: AsyncWebClient
) -> None:
    platform = sandbox.channel_by_name("platform")
    assert not platform["is_private"] and "U0CHATOPS1" not in platform["members"]
    # chat:write.public lets the bot post there without joining...
    posted = await client.chat_postMessage(channel=platform["id"], text="heads up")
    # ...but not read it back
    assert await slack_error(client.conversations_history(channel=platform["id"])) == "not_in_channel"
    assert (
        await slack_error(client.conversations_replies(channel=platform["id"], ts=posted["ts"]))
        == "not_in_channel"
    )
    await client.conversations_join(channel=platform["id"])
    history = await client.conversations_history(channel=platform["id"])
    assert posted["ts"] in [m["ts"] for m in history["messages"]]
    replies = await client.conversations_replies(channel=platform["id"], ts=posted["ts"])
    assert [m["ts"] for m in replies["messages"]] == [posted["ts"]]


async def test_posting_where_the_bot_is_not_a_member_needs_chat_write_public(
    sandbox: Sandbox, client: AsyncWebClient
) -> None:
    assert "chat:write.public" in manifest_bot_scopes()
    platform = sandbox.channel_by_name("platform")["id"]
    assert (await client.chat_postMessage(channel=platform, text="allowed by the manifest"))["ok"]
    sandbox.set_faults(bot_scopes=sorted(manifest_bot_scopes() - {"chat:write.public"}))
    assert await slack_error(client.chat_postMessage(channel=platform, text="refused")) == "not_in_channel"
    # channels it is a member of are unaffected
    assert (await client.chat_postMessage(channel="C0INCIDENTS", text="member"))["ok"]
    assert [m["text"] for m in sandbox.messages("platform")] == ["allowed by the manifest"]


async def test_booleans_are_read_as_slack_reads_them(sandbox: Sandbox) -> None:
    url = f"{sandbox.api_url}conversations.create"
    headers = {"Authorization": f"Bearer {sandbox.bot_token}"}

    async def create(name: str, is_private: Any, as_json: bool = False) -> dict[str, Any]:
        async with aiohttp.ClientSession(headers=headers) as http:
            kwargs: dict[str, Any] = (
                {"json": {"name": name, "is_private": is_private}}
                if as_json
                else {"data": {"name": name, "is_private": is_private}}
            )
            async with http.post(url, **kwargs) as resp:
                data: dict[str, Any] = await resp.json()
                return data

    assert (await create("b-true", "true"))["channel"]["is_private"] is True
    assert (await create("b-one", "1"))["channel"]["is_private"] is True
    assert (await create("b-false", "false"))["channel"]["is_private"] is False
    assert (await create("b-zero", "0"))["channel"]["is_private"] is False
    assert (await create("b-json", True, as_json=True))["channel"]["is_private"] is True
    for i, bad in enumerate(("True", "False", "yes", "on")):
        answer = await create(f"bad-{i}", bad)
        assert answer["ok"] is False and answer["error"] == "invalid_arguments", bad
        assert "is_private" in answer["response_metadata"]["messages"][0]
    created = {c.name for c in sandbox.core.workspace.channels.values()}
    assert {"b-true", "b-one", "b-false", "b-zero", "b-json"} <= created
    assert not {"bad-0", "bad-1", "bad-2", "bad-3"} & created


async def test_a_view_submission_not_acked_within_3_seconds_shows_slacks_error_in_the_modal(
    sandbox: Sandbox, receiver: Receiver, client: AsyncWebClient
) -> None:
    modal = {
        "type": "modal",
        "callback_id": "slow",
        "title": {"type": "plain_text", "text": "Slow"},
        "submit": {"type": "plain_text", "text": "Go"},
        "blocks": [
            {
                "type": "input",
                "block_id": "note",
                "label": {"type": "plain_text", "text": "Note"},
                "element": {"type": "plain_text_input", "action_id": "note_input"},
            }
        ],
    }
    trigger = (await sandbox.command("alice", "incidents", "/incident", "new"))["trigger_id"]
    view_id = (await client.views_open(trigger_id=trigger, view=modal))["view"]["id"]
    sandbox.set_faults(ack_timeout_seconds=0.3)
    answered = asyncio.Event()

    async def too_late(req: Received) -> web.StreamResponse:
        try:
            await asyncio.wait_for(answered.wait(), timeout=5)
        except TimeoutError:
            pass
        return web.json_response({"response_action": "errors", "errors": {"note": "late answer"}})

    receiver.respond = too_late
    result = await sandbox.submit("alice", view_id, {"note_input": "hello"})
    answered.set()
    assert result["ok"] is False and result["error"] == "operation_timeout"
    (view,) = sandbox.views("alice")  # the modal stays open...
    assert view["id"] == view_id
    # ...with Slack's connection error on top of it, and the late answer is never applied
    assert view["errors"] is not None and set(view["errors"]) == {""}
    assert "trouble connecting" in view["errors"][""]
    assert "late answer" not in str(view["errors"])
    # the trigger_id window is as short: a modal opened 3 s after the click is refused
    late = (await sandbox.command("alice", "incidents", "/incident", "new"))["trigger_id"]
    sandbox.advance_time(3.01)
    assert await slack_error(client.views_open(trigger_id=late, view=modal)) == "expired_trigger_id"


def test_the_manifest_asks_for_what_the_code_uses_and_nothing_more() -> None:
    """Scopes and events in manifest.yml match the listeners and Slack methods in the code."""
    import re
    from pathlib import Path

    import yaml

    from bot.listeners import EVENTS
    from chatops.product import assemble

    assemble()
    root = Path(__file__).resolve().parents[2]
    manifest = yaml.safe_load((root / "manifest.yml").read_text())
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert set(EVENTS) <= events, f"listeners without a subscription: {set(EVENTS) - events}"
    assert events <= set(EVENTS), f"subscriptions no listener handles: {events - set(EVENTS)}"
    if "app_home_opened" in events:
        assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    code = "\n".join(  # the methods the code calls (the gateway's pacing table names, not calls)
        f.read_text()
        for d in ("bot", "commands", "integrations")
        for f in (root / d).rglob("*.py")
        if f != root / "bot" / "slack" / "gateway.py"
    )
    called = set(
        re.findall(
            r'"((?:chat|conversations|reactions|pins|bookmarks|files|users|usergroups|views)\.[A-Za-z.]+)"',
            code,
        )
    )
    needs = {
        "reactions:write": {"reactions.add", "reactions.remove"},
        "pins:write": {"pins.add"},
        "bookmarks:write": {"bookmarks.add"},
        "files:write": {"files.getUploadURLExternal"},
        "channels:join": {"conversations.join"},
        "channels:manage": {"conversations.create"},
        "users:read.email": {"users.lookupByEmail"},
        "usergroups:read": {"usergroups.list"},
        "channels:history": {"conversations.history", "conversations.replies"},
        "im:write": {"conversations.open"},  # the app's DM with a person
    }
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    for scope, methods in needs.items():
        used = bool(methods & called)
        assert (scope in scopes) == used, (
            f"{scope}: requested={scope in scopes}, used={sorted(methods & called)}"
        )
    assert "reactions:read" in scopes and "reaction_added" in events  # reading reactions needs it


async def test_a_confirmation_dialogs_text_must_be_plain_text(
    sandbox: Sandbox, client: AsyncWebClient
) -> None:
    """Slack documents title, text, confirm and deny of a confirmation dialog as plain_text objects
    (https://docs.slack.dev/reference/block-kit/composition-objects/confirmation-dialog-object)."""

    def with_confirm(text: dict[str, Any]) -> list[dict[str, Any]]:
        confirm = {
            "title": {"type": "plain_text", "text": "Restart?"},
            "text": text,
            "confirm": {"type": "plain_text", "text": "Yes"},
            "deny": {"type": "plain_text", "text": "No"},
        }
        button = {"type": "button", "action_id": "go", "text": {"type": "plain_text", "text": "Go"}}
        return [{"type": "actions", "elements": [{**button, "confirm": confirm}]}]

    plain = with_confirm({"type": "plain_text", "text": "This restarts checkout."})
    assert (await client.chat_postMessage(channel="C0INCIDENTS", text="plain", blocks=plain))["ok"]
    markdown = with_confirm({"type": "mrkdwn", "text": "This restarts *checkout*."})
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C0INCIDENTS", text="mrkdwn", blocks=markdown)
    assert err.value.response["error"] == "invalid_blocks"
    assert any(
        "/elements/0/confirm/text/type" in m for m in err.value.response["response_metadata"]["messages"]
    )
    too_long = with_confirm({"type": "plain_text", "text": "x" * 301})
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C0INCIDENTS", text="long", blocks=too_long)
    assert err.value.response["error"] == "invalid_blocks"
    assert [m["text"] for m in sandbox.messages("incidents")] == ["plain"]


async def test_a_dm_between_people_is_invisible_to_the_app_but_its_commands_answer_there(
    sandbox: Sandbox, receiver: Receiver, client: AsyncWebClient
) -> None:
    """A slash command can be typed in any conversation, a DM between two people included; the app
    is not part of that DM, so its token gets channel_not_found there (chat.postMessage errors) and
    only the command's response_url answers in it
    (https://docs.slack.dev/interactivity/implementing-slash-commands, "Responding to commands";
    https://docs.slack.dev/reference/methods/chat.postMessage, errors)."""
    dm = sandbox.people_dm("alice", "bob")
    assert dm.startswith("D") and dm != sandbox.people_dm("alice")  # one's own DM is another one
    assert sandbox.people_dm("bob", "alice") == dm
    assert await slack_error(client.chat_postMessage(channel=dm, text="hi")) == "channel_not_found"
    assert (
        await slack_error(client.chat_postEphemeral(channel=dm, user="U0ALICE001", text="hi"))
        == "channel_not_found"
    )
    assert await slack_error(client.conversations_info(channel=dm)) == "channel_not_found"
    assert await slack_error(client.conversations_history(channel=dm)) == "channel_not_found"
    listed = await client.conversations_list(types="im")
    assert dm not in [c["id"] for c in listed["channels"]]
    # the app's own DM with a person stays reachable
    own = (await client.conversations_open(users="U0ALICE001"))["channel"]["id"]
    assert own != dm and (await client.chat_postMessage(channel=own, text="hello"))["ok"]

    await sandbox.command("alice", dm, "/runbook", "list")
    (delivered,) = [r for r in receiver.requests if r.form.get("command") == "/runbook"]
    assert delivered.form["channel_id"] == dm and delivered.form["channel_name"] == "directmessage"
    async with aiohttp.ClientSession() as http:
        answer = {"response_type": "ephemeral", "text": "the runbooks"}
        async with http.post(delivered.form["response_url"], json=answer) as resp:
            assert resp.status == 200
    assert [e["text"] for e in sandbox.ephemerals("alice", dm)] == ["the runbooks"]
    assert sandbox.messages(dm) == []
    # bob (in the DM) cannot see alice's ephemeral, and carol is not in the DM at all
    assert sandbox.ephemerals("bob", dm) == []
    with pytest.raises(Exception, match="channel_not_found"):
        await sandbox.command("carol", dm, "/runbook", "list")
