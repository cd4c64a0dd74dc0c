"""The typed Slack layer against the sandbox: one channel cache, join-and-retry once, invites that
survive one bad user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import message
from bot.keys import Keys
from bot.slack.errors import SlackCallError
from bot.slack.gateway import GatewayConfig, SlackGateway
from bot.slack.layer import Slack


@pytest.fixture
async def slack(sandbox: Any, redis_client: aioredis.Redis, redis_prefix: str) -> AsyncIterator[Slack]:
    client = AsyncWebClient(token=sandbox.bot_token, base_url=sandbox.api_url)
    gateway = SlackGateway(client, redis_client, Keys(redis_prefix), GatewayConfig(base_backoff=0.01))
    yield Slack(gateway)
    await gateway.close()


async def test_channel_names_are_listed_once_and_shared(sandbox: Any, slack: Slack) -> None:
    assert await slack.channel_id("#alerts") == sandbox.channel_by_name("#alerts")["id"]
    listed = slack.gateway.calls
    # another layer (another replica) over the same Redis reads the cache, not Slack
    other = Slack(slack.gateway)
    assert await other.channel_id("incidents") == sandbox.channel_by_name("#incidents")["id"]
    assert await other.channel_id("C0ALREADYID") == "C0ALREADYID"
    assert slack.gateway.calls == listed
    assert await slack.find_channel("#no-such-channel") is None
    with pytest.raises(SlackCallError) as err:
        await slack.channel_id("#no-such-channel")
    assert err.value.error == "channel_not_found" and err.value.permanent


async def test_a_post_where_the_bot_is_not_a_member_lands_once(sandbox: Any, slack: Slack) -> None:
    platform = await slack.channel_id("#platform")
    assert "U0CHATOPS1" not in sandbox.channel_by_name("#platform")["members"]
    ts = await slack.post(platform, message("hello from the bot"), "hello")
    assert await slack.find_marked(platform, "no-such-marker", since=0) is None
    posted = [m for m in sandbox.messages("#platform") if m["ts"] == ts]
    assert len(posted) == 1 and "hello from the bot" in str(posted[0]["blocks"])
    await slack.update(platform, ts, message("edited"), "edited")
    assert "edited" in str(next(m for m in sandbox.messages("#platform") if m["ts"] == ts)["blocks"])


async def test_an_invite_with_one_bad_user_gets_the_others_in(sandbox: Any, slack: Slack) -> None:
    platform = await slack.channel_id("#platform")
    await slack.join(platform)
    failed = await slack.invite(platform, ["U0DAVE0004", "U0NOBODY99", "U0ALICE001"])
    assert [user for user, _ in failed] == ["U0NOBODY99"]
    assert failed[0][1].permanent
    members = sandbox.channel_by_name("#platform")["members"]
    assert "U0DAVE0004" in members and "U0ALICE001" in members
    assert await slack.invite(platform, ["U0DAVE0004"]) == []  # already in: fine
