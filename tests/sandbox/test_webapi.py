"""The Web API through slack_sdk's official AsyncWebClient: shapes, ordering, errors."""

from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, HeaderBlock, SectionBlock
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox


async def test_auth_test_identifies_the_bot(client: AsyncWebClient, sandbox: Sandbox) -> None:
    r = await client.auth_test()
    assert r["user_id"] == sandbox.bot_user_id
    assert r["team_id"] == sandbox.team_id
    assert r["bot_id"].startswith("B")


async def test_post_message_returns_slack_shape_and_history_keeps_blocks(client: AsyncWebClient) -> None:
    blocks = [
        HeaderBlock(text="INC-1 Database down"),
        SectionBlock(text="*Severity:* critical", block_id="summary"),
        ActionsBlock(
            block_id="acts", elements=[ButtonElement(text="Acknowledge", action_id="ack", style="primary")]
        ),
    ]
    r = await client.chat_postMessage(channel="C0INCIDENTS", text="INC-1", blocks=blocks)
    assert r["channel"] == "C0INCIDENTS"
    assert r["message"]["bot_id"] == "B0CHATOPS1"
    assert r["message"]["user"] == "U0CHATOPS1"
    history = await client.conversations_history(channel="C0INCIDENTS")
    stored = history["messages"][0]
    assert stored["ts"] == r["ts"]
    sent = [b.to_dict() for b in blocks]
    assert stored["blocks"][1] == sent[1]
    assert stored["blocks"][2] == sent[2]
    assert stored["blocks"][0]["text"] == sent[0]["text"]  # header got Slack's generated block_id
    assert stored["blocks"][0]["block_id"]


async def test_ts_strictly_increasing_and_history_newest_first(client: AsyncWebClient) -> None:
    tss = []
    for i in range(5):
        tss.append((await client.chat_postMessage(channel="#general", text=f"m{i}"))["ts"])
    assert tss == sorted(tss) and len(set(tss)) == 5
    assert all(len(t.split(".")[1]) == 6 for t in tss)
    history = await client.conversations_history(channel="C0GENERAL01")
    assert [m["ts"] for m in history["messages"]] == list(reversed(tss))


async def test_threads_replies_and_broadcast(client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel="C0ALERTS001", text="alert group")
    r1 = await client.chat_postMessage(channel="C0ALERTS001", text="first", thread_ts=parent["ts"])
    r2 = await client.chat_postMessage(
        channel="C0ALERTS001", text="second", thread_ts=r1["ts"], reply_broadcast=True
    )
    replies = await client.conversations_replies(channel="C0ALERTS001", ts=parent["ts"])
    assert [m["text"] for m in replies["messages"]] == ["alert group", "first", "second"]
    assert replies["messages"][0]["reply_count"] == 2
    assert replies["messages"][2]["thread_ts"] == parent["ts"]  # reply to a reply lands in the thread
    history = await client.conversations_history(channel="C0ALERTS001")
    assert [m["ts"] for m in history["messages"]] == [r2["ts"], parent["ts"]]  # broadcast shows in channel
    with pytest.raises(SlackApiError) as err:
        await client.conversations_replies(channel="C0ALERTS001", ts="1.000001")
    assert err.value.response["error"] == "thread_not_found"


async def test_update_delete_and_errors(client: AsyncWebClient) -> None:
    r = await client.chat_postMessage(channel="C0INCIDENTS", text="old")
    u = await client.chat_update(channel="C0INCIDENTS", ts=r["ts"], text="new")
    assert u["message"]["text"] == "new" and u["message"]["edited"]["user"] == "U0CHATOPS1"
    await client.chat_delete(channel="C0INCIDENTS", ts=r["ts"])
    history = await client.conversations_history(channel="C0INCIDENTS")
    assert history["messages"] == []
    for call, error in [
        (client.chat_update(channel="C0INCIDENTS", ts=r["ts"], text="x"), "message_not_found"),
        (client.chat_postMessage(channel="C0NOPE", text="x"), "channel_not_found"),
        (client.api_call("chat.postMessage", json={"channel": "C0INCIDENTS"}), "no_text"),
    ]:
        with pytest.raises(SlackApiError) as err:
            await call
        assert err.value.response["error"] == error


async def test_ephemeral_and_permalink(client: AsyncWebClient, sandbox: Sandbox) -> None:
    r = await client.chat_postEphemeral(channel="C0INCIDENTS", user="U0BOB00002", text="only bob")
    assert r["message_ts"]
    assert [e["text"] for e in sandbox.ephemerals("bob", "#incidents")] == ["only bob"]
    assert sandbox.ephemerals("alice", "#incidents") == []
    with pytest.raises(SlackApiError) as err:
        await client.chat_postEphemeral(channel="C0ALERTSCRT", user="U0ERIN0005", text="x")
    assert err.value.response["error"] == "user_not_in_channel"
    posted = await client.chat_postMessage(channel="C0INCIDENTS", text="link me")
    link = await client.chat_getPermalink(channel="C0INCIDENTS", message_ts=posted["ts"])
    assert link["permalink"].startswith(sandbox.url)


async def test_conversations_lifecycle(client: AsyncWebClient, sandbox: Sandbox) -> None:
    created = await client.conversations_create(name="inc-7-payments-down")
    cid = created["channel"]["id"]
    assert cid.startswith("C") and created["channel"]["is_member"]
    inv = await client.conversations_invite(channel=cid, users="U0ALICE001,U0DAVE0004")
    assert set(inv["channel"] and sandbox.channel_by_name("inc-7-payments-down")["members"]) >= {
        "U0ALICE001",
        "U0DAVE0004",
    }
    for users, error in [("U0ALICE001", "already_in_channel"), ("U0NOBODY", "user_not_found")]:
        with pytest.raises(SlackApiError) as err:
            await client.conversations_invite(channel=cid, users=users)
        assert err.value.response["error"] == error
    with pytest.raises(SlackApiError) as err:
        await client.conversations_invite(channel=cid, users="U0CHATOPS1")
    assert err.value.response["error"] == "cant_invite_self"
    await client.conversations_setTopic(channel=cid, topic="INC-7 · critical")
    await client.conversations_setPurpose(channel=cid, purpose="War room for INC-7")
    info = await client.conversations_info(channel=cid)
    assert info["channel"]["topic"]["value"] == "INC-7 · critical"
    assert info["channel"]["purpose"]["value"] == "War room for INC-7"
    members = await client.conversations_members(channel=cid)
    assert set(members["members"]) == {"U0CHATOPS1", "U0ALICE001", "U0DAVE0004"}
    await client.conversations_archive(channel=cid)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel=cid, text="late")
    assert err.value.response["error"] == "is_archived"
    joined = await client.conversations_join(channel="C0PLATFORM1")
    assert joined["channel"]["is_member"]


async def test_conversations_list_cursor_pagination(client: AsyncWebClient) -> None:
    names: list[str] = []
    cursor = None
    pages = 0
    while True:
        r = await client.conversations_list(types="public_channel", limit=2, cursor=cursor)
        names += [c["name"] for c in r["channels"]]
        pages += 1
        cursor = r["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert pages == 3
    assert sorted(names) == sorted(
        ["incidents", "alerts", "alerts-critical", "payments-alerts", "general", "platform"]
    )
    with pytest.raises(SlackApiError) as err:
        await client.conversations_list(cursor="not-a-cursor")
    assert err.value.response["error"] == "invalid_cursor"


async def test_users_and_usergroups(client: AsyncWebClient) -> None:
    info = await client.users_info(user="U0ALICE001")
    assert info["user"]["profile"]["email"] == "alice@example.com"
    assert info["user"]["tz"] == "Europe/Berlin"
    found = await client.users_lookupByEmail(email="carol@example.com")
    assert found["user"]["name"] == "carol"
    with pytest.raises(SlackApiError) as err:
        await client.users_lookupByEmail(email="nobody@example.com")
    assert err.value.response["error"] == "users_not_found"
    with pytest.raises(SlackApiError) as err:
        await client.users_info(user="U0NOBODY")
    assert err.value.response["error"] == "user_not_found"
    listed = await client.users_list()
    assert {"alice", "bob", "carol", "dave", "erin", "frank", "chatops"} == {
        m["name"] for m in listed["members"]
    }
    groups = await client.usergroups_list()
    by_handle = {g["handle"]: g for g in groups["usergroups"]}
    assert {"sre-oncall", "platform-leads"} <= set(by_handle)
    members = await client.usergroups_users_list(usergroup=by_handle["sre-oncall"]["id"])
    assert members["users"] == ["U0ALICE001", "U0BOB00002"]


async def test_pins_bookmarks_reactions(client: AsyncWebClient) -> None:
    r = await client.chat_postMessage(channel="C0INCIDENTS", text="pin me")
    await client.pins_add(channel="C0INCIDENTS", timestamp=r["ts"])
    with pytest.raises(SlackApiError) as err:
        await client.pins_add(channel="C0INCIDENTS", timestamp=r["ts"])
    assert err.value.response["error"] == "already_pinned"
    pins = await client.pins_list(channel="C0INCIDENTS")
    assert [i["message"]["ts"] for i in pins["items"]] == [r["ts"]]
    b = await client.bookmarks_add(
        channel_id="C0INCIDENTS", title="Runbook", type="link", link="https://x.test/rb"
    )
    assert b["bookmark"]["title"] == "Runbook"
    await client.reactions_add(channel="C0INCIDENTS", timestamp=r["ts"], name="eyes")
    history = await client.conversations_history(channel="C0INCIDENTS")
    assert history["messages"][0]["reactions"] == [{"name": "eyes", "users": ["U0CHATOPS1"], "count": 1}]
    with pytest.raises(SlackApiError) as err:
        await client.reactions_add(channel="C0INCIDENTS", timestamp=r["ts"], name="eyes")
    assert err.value.response["error"] == "already_reacted"


@pytest.mark.parametrize("style", ["form", "json", "query"])
async def test_body_styles_and_token_places(sandbox: Sandbox, style: str) -> None:
    url = sandbox.api_url + "chat.postMessage"
    async with aiohttp.ClientSession() as http:
        if style == "form":
            kw = {"data": {"token": sandbox.bot_token, "channel": "C0GENERAL01", "text": "form"}}
        elif style == "json":
            kw = {
                "json": {"channel": "C0GENERAL01", "text": "json"},
                "headers": {"Authorization": f"Bearer {sandbox.bot_token}"},
            }
        else:
            kw = {"params": {"token": sandbox.bot_token, "channel": "C0GENERAL01", "text": "query"}}
        async with http.post(url, **kw) as resp:
            assert resp.status == 200
            data = await resp.json()
    assert data["ok"] is True
    assert sandbox.messages("general")[-1]["text"] == style


async def test_blocks_as_form_encoded_json_string(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            sandbox.api_url + "chat.postMessage",
            data={"channel": "C0GENERAL01", "blocks": '[{"type":"divider"}]', "text": "fallback"},
            headers={"Authorization": f"Bearer {sandbox.bot_token}"},
        ) as resp:
            data = await resp.json()
    assert data["ok"] and data["message"]["blocks"][0]["type"] == "divider"


async def test_private_channel_needs_membership(client: AsyncWebClient) -> None:
    created = await client.conversations_create(name="secret-room", is_private=True)
    cid = created["channel"]["id"]
    assert created["channel"]["is_private"]
    listed = await client.conversations_list(types="private_channel")
    assert [c["id"] for c in listed["channels"]] == [cid]


async def test_direct_messages(client: AsyncWebClient, sandbox: Sandbox) -> None:
    opened = await client.conversations_open(users="U0ERIN0005")
    dm = opened["channel"]["id"]
    assert dm.startswith("D") and "already_open" not in opened
    again = await client.conversations_open(users="U0ERIN0005", return_im=True)
    assert again["channel"]["id"] == dm and again["already_open"] and again["channel"]["is_im"]
    posted = await client.chat_postMessage(channel="U0ERIN0005", text="You are paged for INC-1")
    assert posted["channel"] == dm
    history = await client.conversations_history(channel=dm)
    assert [m["text"] for m in history["messages"]] == ["You are paged for INC-1"]
    with pytest.raises(SlackApiError) as err:
        await client.conversations_open(users="U0NOBODY")
    assert err.value.response["error"] == "user_not_found"
