"""Shared state and the operations every entry point uses (Web API, response_url, acks, page)."""

from __future__ import annotations

import copy
import logging
import secrets
from collections import Counter
from pathlib import Path
from typing import Any

from sandbox.clock import Clock
from sandbox.config import SandboxConfig
from sandbox.events import EventHub
from sandbox.ids import IdFactory
from sandbox.ratelimit import RateLimiter
from sandbox.workspace import Channel, Ephemeral, Message, ResponseUrl, Trigger, Workspace, load_seed

log = logging.getLogger("sandbox")


def _short_id() -> str:
    return secrets.token_urlsafe(4)[:5]


def normalize_blocks(blocks: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Copy of ``blocks`` with Slack's generated block_id / action_id where they are missing."""
    if blocks is None:
        return None
    out = copy.deepcopy(blocks)
    for block in out:
        block.setdefault("block_id", _short_id())
        elements: list[dict[str, Any]] = []
        if block.get("type") == "actions":
            elements = block.get("elements") or []
        elif block.get("type") == "section" and isinstance(block.get("accessory"), dict):
            elements = [block["accessory"]]
        elif block.get("type") == "input" and isinstance(block.get("element"), dict):
            elements = [block["element"]]
        for el in elements:
            if el.get("type") not in ("image",):
                el.setdefault("action_id", _short_id())
    return out


class Core:
    def __init__(self, config: SandboxConfig | None = None, seed_path: str | Path | None = None) -> None:
        self.config = config or SandboxConfig()
        self.seed_path = seed_path
        self.clock = Clock()
        self.ids = IdFactory()
        self.hub = EventHub()
        self._base_url = ""
        self.stats: Counter[tuple[str, str]] = Counter()
        self.unknown_calls: list[dict[str, Any]] = []
        self.limiter = RateLimiter(self.clock.monotonic)
        self.rng = self.config.make_rng()
        self.workspace = Workspace(load_seed(seed_path), self.clock, self.ids)

    @property
    def base_url(self) -> str:
        return self._base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        self._base_url = value
        self.workspace.base_url = value

    def reset(self) -> None:
        """Fresh workspace from the seed; stats, limits and unknown calls cleared. Config is kept."""
        self.workspace = Workspace(load_seed(self.seed_path), self.clock, self.ids)
        self.workspace.base_url = self._base_url
        self.stats.clear()
        self.unknown_calls.clear()
        self.limiter.reset()
        self.rng = self.config.make_rng()
        self.publish({"type": "reset"})

    def reseed_rng(self) -> None:
        self.rng = self.config.make_rng()

    def publish(self, event: dict[str, Any]) -> None:
        self.hub.publish(event)

    def count(self, method: str, outcome: str) -> None:
        self.stats[(method, outcome)] += 1

    def stats_json(self) -> dict[str, Any]:
        by_method: dict[str, dict[str, int]] = {}
        for (method, outcome), n in sorted(self.stats.items()):
            by_method.setdefault(method, {})[outcome] = n
        totals: Counter[str] = Counter()
        for (_, outcome), n in self.stats.items():
            totals[outcome] += n
        return {"ok": True, "methods": by_method, "totals": dict(totals), "calls": sum(self.stats.values())}

    # ---- messages ------------------------------------------------------------------------------
    def post_message(
        self,
        channel: Channel,
        *,
        user: str,
        text: str = "",
        blocks: list[dict[str, Any]] | None = None,
        attachments: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        reply_broadcast: bool = False,
        as_bot: bool = True,
        files: list[str] | None = None,
        subtype: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Message:
        ws = self.workspace
        ts = self.clock.next_ts()
        msg = Message(
            ts=ts,
            channel=channel.id,
            user=user,
            text=text[: self.config.max_text_chars],
            blocks=normalize_blocks(blocks),
            attachments=copy.deepcopy(attachments) if attachments is not None else None,
            bot_id=ws.bot.bot_id if as_bot else None,
            app_id=ws.bot.app_id if as_bot else None,
            thread_ts=thread_ts,
            files=list(files or []),
            subtype=subtype or ("thread_broadcast" if reply_broadcast and thread_ts else None),
            metadata=copy.deepcopy(metadata) if metadata else None,
        )
        ws.add_message(msg)
        self.publish({"type": "message", "channel": channel.id, "ts": ts, "thread_ts": thread_ts})
        return msg

    def update_message(
        self,
        msg: Message,
        *,
        text: str | None,
        blocks: list[dict[str, Any]] | None,
        attachments: list[dict[str, Any]] | None = None,
        editor: str,
    ) -> Message:
        if text is not None:
            msg.text = text[: self.config.max_text_chars]
        if blocks is not None:
            msg.blocks = normalize_blocks(blocks)
        if attachments is not None:
            msg.attachments = copy.deepcopy(attachments)
        msg.edited = {"user": editor, "ts": self.clock.next_ts()}
        self.publish(
            {"type": "message_changed", "channel": msg.channel, "ts": msg.ts, "thread_ts": msg.thread_ts}
        )
        return msg

    def delete_message(self, channel: Channel, ts: str) -> None:
        msg = channel.messages.get(ts)
        thread_ts = msg.thread_ts if msg else None
        self.workspace.delete_message(channel, ts)
        self.publish({"type": "message_deleted", "channel": channel.id, "ts": ts, "thread_ts": thread_ts})

    def post_ephemeral(
        self,
        channel: Channel,
        user: str,
        *,
        text: str = "",
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        source: str = "chat.postEphemeral",
        is_error: bool = False,
        sender: str | None = None,
    ) -> Ephemeral:
        eph = Ephemeral(
            id=self.ids.new("E"),
            ts=self.clock.next_ts(),
            channel=channel.id,
            user=user,
            text=text[: self.config.max_text_chars],
            blocks=normalize_blocks(blocks),
            thread_ts=thread_ts,
            source=source,
            is_error=is_error,
            sender=sender,
        )
        self.workspace.ephemerals.append(eph)
        self.publish({"type": "ephemeral", "channel": channel.id, "user": user, "id": eph.id})
        return eph

    # ---- interactivity -------------------------------------------------------------------------
    def issue_trigger(self, user: str, channel: str | None) -> str:
        ts = self.clock.now()
        trigger_id = f"{int(ts)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        self.workspace.triggers[trigger_id] = Trigger(id=trigger_id, user=user, created=ts, channel=channel)
        return trigger_id

    def issue_response_url(
        self,
        user: str,
        channel: str,
        *,
        message_ts: str | None = None,
        ephemeral_id: str | None = None,
        thread_ts: str | None = None,
    ) -> str:
        rid = secrets.token_urlsafe(18)
        self.workspace.response_urls[rid] = ResponseUrl(
            id=rid,
            user=user,
            channel=channel,
            created=self.clock.now(),
            message_ts=message_ts,
            ephemeral_id=ephemeral_id,
            thread_ts=thread_ts,
        )
        return f"{self.base_url}/response/{rid}"
