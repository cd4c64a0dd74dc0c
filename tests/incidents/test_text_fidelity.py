"""Slack's text taken for what it is: a title with ``&`` names its war room and shows escaped once;
mentions, channels and links in a status update stay live; broadcasts never go out."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import eventually
from tests.incidents.story import Engineer, channel_named, message_with, texts

BROADCAST = re.compile(r"<!(here|channel|everyone)[|>]")


def _mrkdwn(message: dict[str, Any]) -> list[str]:
    out = [message.get("text") or ""]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                out.append(str(node.get("text", "")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks") or [])
    return out


def _headers(message: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in message.get("blocks") or [] if b.get("type") == "header"]


async def test_a_title_with_an_ampersand_and_a_status_update_with_mentions(sandbox: Any, bot: Any) -> None:
    alice, bob = Engineer(sandbox, "alice"), Engineer(sandbox, "bob")
    await alice.types("#incidents", '/incident create critical "R&D portal down"')

    room = await channel_named(sandbox, "inc-1-")
    assert room["name"] == "inc-1-r-d-portal-down"  # never r-amp-d
    announcement = await message_with(sandbox, "#incidents", "INC-1: R&D portal down")
    assert _headers(announcement) == ["INC-1: R&D portal down"]  # plain_text: no entities
    mrkdwn = "\n".join(_mrkdwn(announcement))
    assert "R&amp;D portal down" in mrkdwn and "&amp;amp;" not in mrkdwn  # escaped exactly once
    inc = await bot.ctx.store.get("INC-1")
    assert inc.title == "R&D portal down"

    await bob.types(
        room["name"],
        '/status update identified "Paging @carol, see #incidents and https://status.example.com/p?x=1&y=2"',
    )
    update = await message_with(sandbox, room["name"], "Update #1")
    body = "\n".join(_mrkdwn(update))
    assert "Paging <@U0CAROL003>" in body  # a live mention, not &lt;@U…|carol&gt;
    assert "<#C0INCIDENTS>" in body  # a live channel link
    assert "<https://status.example.com/p?x=1&amp;y=2>" in body  # a live link, & escaped once
    assert "&lt;@" not in body and "&amp;amp;" not in body and "&amp;lt;" not in body

    # the same update under the announcement (its own outbox thread: it may land a moment later)
    async def under_announcement() -> bool:
        thread = sandbox.replies("#incidents", announcement["ts"])
        return any("Paging <@U0CAROL003>" in "\n".join(_mrkdwn(m)) for m in thread)

    assert await eventually(under_announcement)

    # a broadcast, typed as Slack encodes it (@channel) or as raw markup (<!channel>), never goes out
    await bob.types(room["name"], '/status update monitoring "@channel and <!here> watch the error rate"')
    second = await message_with(sandbox, room["name"], "Update #2")
    body = "\n".join(_mrkdwn(second))
    assert not BROADCAST.search(body), body
    assert "@channel and &lt;!here&gt; watch the error rate" in body


async def test_a_typed_name_nobody_has_is_named_in_the_answer(sandbox: Any, bot: Any) -> None:
    alice = Engineer(sandbox, "alice")
    await alice.types("#incidents", '/incident create critical "Queue backlog"')
    room = await channel_named(sandbox, "inc-1-")

    async def ready() -> bool:
        inc = await bot.ctx.store.find("INC-1")
        return bool(inc and inc.war_room)

    await eventually(ready)
    await alice.types(room["name"], "/incident note asked @nobody-here and @carol")
    reply = await alice.sees_reply("Note added")
    assert "@nobody-here" in reply and "Nobody in this workspace" in reply
    notes = [e for e in await bot.ctx.store.timeline("INC-1") if e.kind == "note"]
    assert notes and "<@U0CAROL003>" in notes[0].text and "@nobody-here" in notes[0].text
    assert texts({"text": notes[0].text})  # stored Slack text is readable as it is


async def test_a_resolution_summary_is_slack_text(sandbox: Any, bot: Any) -> None:
    alice = Engineer(sandbox, "alice")
    await alice.types("#incidents", '/incident create critical "Cache & queue down"')
    room = await channel_named(sandbox, "inc-1-")
    assert room["name"] == "inc-1-cache-queue-down"

    async def ready() -> bool:
        inc = await bot.ctx.store.find("INC-1")
        return bool(inc and inc.war_room_message)

    await eventually(ready)
    await alice.types(room["name"], '/incident resolve "R&D fixed it with @carol <!everyone>"')
    resolution = await message_with(sandbox, room["name"], "resolved* after")
    body = "\n".join(_mrkdwn(resolution))
    assert "R&amp;D fixed it with <@U0CAROL003> &lt;!everyone&gt;" in body
    assert not BROADCAST.search(body)
