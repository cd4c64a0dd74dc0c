"""Read what the bot posted, back from the sandbox's Web API (as a person scrolling Slack would)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

IDENT = re.compile(r"`([^`]+)`")


@dataclass
class Thread:
    root: dict[str, Any]
    replies: list[dict[str, Any]] = field(default_factory=list)

    @property
    def root_text(self) -> str:
        return message_text(self.root)


def message_text(message: dict[str, Any]) -> str:
    """All the text a reader sees: section texts and fields, headers, context elements."""
    parts: list[str] = []
    for block in message.get("blocks") or []:
        text = block.get("text")
        if isinstance(text, dict):
            parts.append(text.get("text", ""))
        for f in block.get("fields") or []:
            parts.append(f.get("text", ""))
        for el in block.get("elements") or []:
            if isinstance(el, dict) and el.get("type") in ("mrkdwn", "plain_text"):
                parts.append(el.get("text", ""))
    return "\n".join(parts) if parts else message.get("text", "")


def marker(message: dict[str, Any]) -> str | None:
    blocks = message.get("blocks") or []
    return blocks[0].get("block_id") if blocks else None


async def channel_id(client: AsyncWebClient, name: str) -> str:
    resp = await client.conversations_list(limit=1000, types="public_channel,private_channel")
    return next(c["id"] for c in resp["channels"] if c["name"] == name.lstrip("#"))


async def read_channel(client: AsyncWebClient, channel: str) -> list[Thread]:
    """Every top-level message in the channel (oldest first) with its replies."""
    tops: list[dict[str, Any]] = []
    cursor = None
    while True:
        resp = await client.conversations_history(channel=channel, limit=999, cursor=cursor)
        tops += resp["messages"]
        cursor = (resp.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    threads = []
    for top in sorted(tops, key=lambda m: float(m["ts"])):
        thread = Thread(top)
        if top.get("reply_count") or top.get("thread_ts"):
            cursor = None
            while True:
                resp = await client.conversations_replies(
                    channel=channel, ts=top["ts"], limit=1000, cursor=cursor
                )
                thread.replies += [m for m in resp["messages"] if m["ts"] != top["ts"]]
                cursor = (resp.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
            thread.replies.sort(key=lambda m: float(m["ts"]))
        threads.append(thread)
    return threads


def reply_alerts(text: str, default_title: str = "") -> list[tuple[str, str, str]]:
    """(group title, alert ident, state) for each alert line of one reply, in order.

    Reply format (bot/alerts/views.change_replies): an optional ``*title*`` line (storm threads), then
    ``:red_circle: Firing (n):`` / ``:large_green_circle: Resolved (n):`` lines, each followed by one
    ``• [*AlertName* — ][summary ]`ident` · since/after …`` line per alert."""
    out: list[tuple[str, str, str]] = []
    title, state = default_title, None
    for line in text.split("\n"):
        if line.startswith("*") and line.endswith("*"):
            title = line.strip("*")
        elif "Firing (" in line and not line.startswith("•"):
            state = "firing"
        elif "Resolved (" in line and not line.startswith("•"):
            state = "resolved"
        elif line.startswith("• ") and state is not None:
            idents = IDENT.findall(line)
            if idents:
                out.append((title, idents[-1], state))
        else:
            state = None
    return out


def final_states(threads: list[Thread]) -> dict[tuple[str, str], str]:
    """(group title, alert ident) → last state shown in the thread replies, in posting order."""
    seen: dict[tuple[str, str], str] = {}
    for thread in threads:
        default_title = thread.root_text.split("\n", 1)[0]
        for reply in thread.replies:
            for title, ident, state in reply_alerts(message_text(reply), default_title):
                seen[(title, ident)] = state
    return seen


def transitions(threads: list[Thread]) -> list[tuple[str, str]]:
    """(alert ident, state) for every alert line in the replies, in posting order."""
    return [
        (ident, state)
        for thread in threads
        for reply in thread.replies
        for _title, ident, state in reply_alerts(message_text(reply))
    ]


def alert_lines(threads: list[Thread]) -> list[str]:
    """Every alert line of every reply (``• …``), in posting order."""
    return [
        line
        for thread in threads
        for reply in thread.replies
        for line in message_text(reply).split("\n")
        if line.startswith("• ")
    ]


def last_state(threads: list[Thread], needle: str) -> str | None:
    """The last state shown for the alert whose ident contains `needle` (e.g. ``queue=a``)."""
    found = [state for ident, state in transitions(threads) if needle in ident.split(", ")]
    return found[-1] if found else None


def final_by_ident(threads: list[Thread]) -> dict[str, str]:
    return {ident: state for (_title, ident), state in final_states(threads).items()}


def dump(threads: list[Thread]) -> str:
    return json.dumps(
        [{"root": message_text(t.root), "replies": [message_text(r) for r in t.replies]} for t in threads],
        indent=1,
    )[:4000]
