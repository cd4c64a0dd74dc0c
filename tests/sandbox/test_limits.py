"""Slack's limits that bots trip over, each answered the way Slack answers."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox


async def _raw(sandbox: Sandbox, method: str, **kw: Any) -> tuple[int, dict[str, str], dict[str, Any]]:
    async with aiohttp.ClientSession() as http:
        async with http.post(sandbox.api_url + method, **kw) as resp:
            return resp.status, dict(resp.headers), await resp.json()


# ---- token checks -------------------------------------------------------------------------------
async def test_not_authed_without_token(sandbox: Sandbox) -> None:
    status, _, data = await _raw(sandbox, "auth.test")
    assert status == 200 and data == {"ok": False, "error": "not_authed"}


async def test_invalid_auth_with_wrong_token(sandbox: Sandbox) -> None:
    bad = AsyncWebClient(base_url=sandbox.api_url, token="xoxb-wrong")
    with pytest.raises(SlackApiError) as err:
        await bad.auth_test()
    assert err.value.response["error"] == "invalid_auth"
    assert sandbox.stats()["methods"]["auth.test"] == {"invalid_auth": 1}


async def test_token_in_json_body_is_not_accepted(sandbox: Sandbox) -> None:
    _, _, data = await _raw(sandbox, "auth.test", json={"token": sandbox.bot_token})
    assert data["error"] == "not_authed"


# ---- unknown methods ----------------------------------------------------------------------------
async def test_unknown_method_is_answered_logged_and_listed(
    sandbox: Sandbox, client: AsyncWebClient, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(SlackApiError) as err:
        await client.api_call("chat.scheduleMessage", json={"channel": "C0INCIDENTS", "text": "x"})
    assert err.value.response["error"] == "unknown_method"
    assert any("chat.scheduleMessage" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)
    assert [c["method"] for c in sandbox.unknown_calls()] == ["chat.scheduleMessage"]
    async with aiohttp.ClientSession() as http:
        async with http.get(sandbox.url + "/sandbox/unknown") as resp:
            listed = await resp.json()
    assert [c["method"] for c in listed["calls"]] == ["chat.scheduleMessage"]


# ---- channel names ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "invalid_name_required"),
        ("Incident-Room", "invalid_name_specials"),
        ("inc 1", "invalid_name_specials"),
        ("inc.1", "invalid_name_specials"),
        ("inc#1", "invalid_name_specials"),
        ("x" * 81, "invalid_name_maxlength"),
        ("incidents", "name_taken"),
    ],
)
async def test_channel_name_rules(client: AsyncWebClient, name: str, error: str) -> None:
    with pytest.raises(SlackApiError) as err:
        await client.conversations_create(name=name)
    assert err.value.response["error"] == error


async def test_channel_name_at_the_limits_is_accepted(client: AsyncWebClient) -> None:
    for name in ("a" * 80, "inc-12_db-latency", "0"):
        r = await client.conversations_create(name=name)
        assert r["channel"]["name"] == name
    with pytest.raises(SlackApiError) as err:
        await client.conversations_create(name="a" * 80)
    assert err.value.response["error"] == "name_taken"


# ---- Block Kit ----------------------------------------------------------------------------------
def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(text: str = "Go", action_id: str = "go", **kw: Any) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id, **kw}


INVALID_BLOCKS: list[tuple[str, list[dict[str, Any]]]] = [
    ("51 blocks", [{"type": "divider"}] * 51),
    ("section text 3001", [_section("x" * 3001)]),
    ("header text 151", [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]),
    ("header mrkdwn", [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}]),
    ("button text 76", [{"type": "actions", "elements": [_button("b" * 76)]}]),
    ("action_id 256", [{"type": "actions", "elements": [_button(action_id="a" * 256)]}]),
    ("block_id 256", [{"type": "divider", "block_id": "b" * 256}]),
    ("26 elements", [{"type": "actions", "elements": [_button(action_id=f"a{i}") for i in range(26)]}]),
    ("11 fields", [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}]),
    ("field 2001", [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}]),
    ("11 context elements", [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}]),
    ("unknown block type", [{"type": "carousel"}]),
    ("duplicate block_id", [{"type": "divider", "block_id": "d"}, {"type": "divider", "block_id": "d"}]),
    ("bad button style", [{"type": "actions", "elements": [_button(style="blue")]}]),
    ("image without alt", [{"type": "image", "image_url": "http://127.0.0.1/x.png"}]),
]


@pytest.mark.parametrize(("case", "blocks"), INVALID_BLOCKS, ids=[c for c, _ in INVALID_BLOCKS])
async def test_invalid_blocks(client: AsyncWebClient, sandbox: Sandbox, case: str, blocks: list[Any]) -> None:
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C0INCIDENTS", text="fallback", blocks=blocks)
    assert err.value.response["error"] == "invalid_blocks", case
    assert err.value.response["response_metadata"]["messages"]
    assert sandbox.messages("incidents") == []


async def test_blocks_at_the_limits_are_accepted(client: AsyncWebClient) -> None:
    blocks: list[dict[str, Any]] = [
        _section("x" * 3000),
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
        {
            "type": "actions",
            "block_id": "b" * 255,
            "elements": [_button("b" * 75, f"{i:0>255}") for i in range(25)],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 10},
    ]
    blocks += [{"type": "divider"}] * (50 - len(blocks))
    r = await client.chat_postMessage(channel="C0INCIDENTS", text="fallback", blocks=blocks)
    assert len(r["message"]["blocks"]) == 50
    # 10 fields, and 2000 characters in a field, each at its limit; together they would pass the
    # 12,000 characters a message's blocks may carry (test_slack_rules.py), so one at a time
    ten = [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 1200}] * 10}]
    longest = [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2000}] * 6}]
    for fields in (ten, longest):
        r = await client.chat_postMessage(channel="C0INCIDENTS", text="fallback", blocks=fields)
        assert r["message"]["blocks"][0]["fields"] == fields[0]["fields"]


async def test_chat_update_validates_blocks_too(client: AsyncWebClient) -> None:
    r = await client.chat_postMessage(channel="C0INCIDENTS", text="x")
    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel="C0INCIDENTS", ts=r["ts"], text="y", blocks=[_section("y" * 3001)])
    assert err.value.response["error"] == "invalid_blocks"


async def test_modal_allows_100_blocks_not_101(
    sandbox: Sandbox, client: AsyncWebClient, receiver: Any
) -> None:
    def modal(n: int) -> dict[str, Any]:
        return {
            "type": "modal",
            "title": {"type": "plain_text", "text": "Big"},
            "blocks": [{"type": "divider"}] * n,
        }

    first = await sandbox.command("alice", "#incidents", "/incident", "new")
    ok = await client.views_open(trigger_id=first["trigger_id"], view=modal(100))
    assert len(ok["view"]["blocks"]) == 100
    second = await sandbox.command("alice", "#incidents", "/incident", "new")
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id=second["trigger_id"], view=modal(101))
    # Slack answers view validation failures of views.* with invalid_arguments and the pointer.
    assert err.value.response["error"] == "invalid_arguments"
    assert "/view/blocks" in err.value.response["response_metadata"]["messages"][0]


# ---- text length --------------------------------------------------------------------------------
async def test_text_truncated_past_40000_characters(client: AsyncWebClient) -> None:
    r = await client.chat_postMessage(channel="C0INCIDENTS", text="a" * 40_000 + "TAIL")
    assert len(r["message"]["text"]) == 40_000
    history = await client.conversations_history(channel="C0INCIDENTS")
    assert history["messages"][0]["text"] == "a" * 40_000


# ---- rate limits --------------------------------------------------------------------------------
async def _post(sandbox: Sandbox, channel: str) -> tuple[int, dict[str, str], dict[str, Any]]:
    return await _raw(
        sandbox,
        "chat.postMessage",
        json={"channel": channel, "text": "burst"},
        headers={"Authorization": f"Bearer {sandbox.bot_token}"},
    )


async def test_post_message_burst_in_one_channel_gets_429_with_retry_after(sandbox: Sandbox) -> None:
    results = [await _post(sandbox, "C0INCIDENTS") for _ in range(8)]
    statuses = [s for s, _, _ in results]
    assert statuses[:5] == [200] * 5  # burst of 5 allowed
    assert 429 in statuses[5:]
    _, headers, body = next(r for r in results if r[0] == 429)
    assert body == {"ok": False, "error": "ratelimited"}
    retry = headers["Retry-After"]
    assert retry.isdigit() and int(retry) >= 1
    # After waiting Retry-After (on the sandbox clock) the channel accepts a message again.
    sandbox.advance_time(int(retry))
    assert (await _post(sandbox, "C0INCIDENTS"))[0] == 200


async def test_post_message_limits_are_per_channel(sandbox: Sandbox) -> None:
    for _ in range(6):
        await _post(sandbox, "C0INCIDENTS")
    assert (await _post(sandbox, "C0INCIDENTS"))[0] == 429
    # Another channel has its own bucket, and a channel name maps to the same bucket as its ID.
    assert [(await _post(sandbox, "C0ALERTS001"))[0] for _ in range(5)] == [200] * 5
    assert (await _post(sandbox, "#alerts"))[0] == 429


async def test_slack_sdk_raises_ratelimited_with_retry_after(
    sandbox: Sandbox, client: AsyncWebClient
) -> None:
    for _ in range(5):
        await client.chat_postMessage(channel="C0GENERAL01", text="ok")
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C0GENERAL01", text="too many")
    assert err.value.response.status_code == 429
    assert int(err.value.response.headers["Retry-After"]) >= 1
    assert sandbox.stats()["methods"]["chat.postMessage"] == {"ok": 5, "ratelimited": 1}


async def test_tier_2_method_limited_per_minute(sandbox: Sandbox, client: AsyncWebClient) -> None:
    for _ in range(20):
        await client.conversations_list()
    with pytest.raises(SlackApiError) as err:
        await client.conversations_list()
    assert err.value.response.status_code == 429
    assert int(err.value.response.headers["Retry-After"]) >= 1
    # Other methods (tiers are per method) are unaffected.
    await client.conversations_info(channel="C0INCIDENTS")
    sandbox.advance_time(60)
    await client.conversations_list()


async def test_tier_limits_follow_config(sandbox: Sandbox, client: AsyncWebClient) -> None:
    sandbox.set_faults(tier_per_minute={1: 1, 2: 20, 3: 3, 4: 100})
    for _ in range(3):
        await client.conversations_info(channel="C0INCIDENTS")  # Tier 3
    with pytest.raises(SlackApiError) as err:
        await client.conversations_info(channel="C0INCIDENTS")
    assert err.value.response["error"] == "ratelimited"


async def test_rate_limits_can_be_switched_off(sandbox: Sandbox) -> None:
    sandbox.set_faults(rate_limits=False)
    assert [(await _post(sandbox, "C0INCIDENTS"))[0] for _ in range(12)] == [200] * 12
