"""The typed Slack layer over the gateway: what the bot does in Slack, each written once.

* ``channel_id``: a channel name (``#alerts`` or ``alerts``) or ID to its ID, through ONE cache (a
  Redis hash shared by replicas, refreshed from ``conversations.list``, plus a short in-process memo);
* ``post`` / ``update``: chat.postMessage / chat.update; a post answered ``not_in_channel`` joins the
  channel and is sent again, here and nowhere else;
* ``invite``: a batch invite that falls back to one by one (one bad user fails a batch in Slack);
* ``find_marked``: the message whose first block carries a marker, for posts whose outcome is
  unknown (a timeout, a crash): look before posting again, so nothing is posted twice; a lookup
  answered ``not_in_channel`` joins the channel (reading needs membership) and looks again, once.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import Block

from bot.slack.errors import SlackCallError
from bot.slack.gateway import SlackGateway

log = logging.getLogger(__name__)

# "type: ignore[misc]" below: redis-py types some asyncio commands as ``Awaitable[T] | T``.

CHANNEL_CACHE_TTL = 300
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
# chat.postMessage to a user ID posts in the app's direct message with that user
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")

BlockLike = Block | dict[str, Any]


def first_block_id(message: dict[str, Any]) -> str | None:
    blocks = message.get("blocks") or []
    if blocks and isinstance(blocks[0], dict):
        value = blocks[0].get("block_id")
        return str(value) if value is not None else None
    return None


class Slack:
    """One per gateway; cheap to build (its cache lives in Redis)."""

    def __init__(self, gateway: SlackGateway) -> None:
        self.gateway = gateway
        self._memo: dict[str, tuple[str, float]] = {}

    @property
    def _cache_key(self) -> str:
        return self.gateway.keys.custom("cache", "channels")

    # -- channels --------------------------------------------------------------------------------
    async def find_channel(self, ref: str) -> str | None:
        """The channel's ID, or None when no channel has that name."""
        name = ref.strip().lstrip("#")
        if _CHANNEL_ID.match(name) or _USER_ID.match(name):
            return name
        memo = self._memo.get(name)
        if memo and memo[1] > time.monotonic():
            return memo[0]
        cached = await self.gateway.redis.hget(self._cache_key, name)  # type: ignore[misc]
        if cached:
            self._remember(name, str(cached))
            return str(cached)
        found = await self._list_channels()
        if name in found:
            self._remember(name, found[name])
        return found.get(name)

    async def channel_id(self, ref: str) -> str:
        """Like ``find_channel`` but a missing channel is ``SlackCallError(channel_not_found)``."""
        cid = await self.find_channel(ref)
        if cid is None:
            raise SlackCallError("conversations.list", "channel_not_found")
        return cid

    async def forget_channel(self, ref: str) -> None:
        name = ref.strip().lstrip("#")
        self._memo.pop(name, None)
        await self.gateway.redis.hdel(self._cache_key, name)  # type: ignore[misc]

    def _remember(self, name: str, cid: str) -> None:
        self._memo[name] = (cid, time.monotonic() + CHANNEL_CACHE_TTL / 5)

    async def _list_channels(self) -> dict[str, str]:
        found: dict[str, str] = {}
        cursor: str | None = None
        while True:
            data = await self.gateway.call(
                "conversations.list",
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=1000,
                cursor=cursor,
            )
            for channel in data.get("channels", []):
                found[str(channel["name"])] = str(channel["id"])
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        if found:
            await self.gateway.redis.hset(self._cache_key, mapping=found)  # type: ignore[misc]
            await self.gateway.redis.expire(self._cache_key, CHANNEL_CACHE_TTL)
        return found

    async def join(self, channel: str) -> None:
        await self.gateway.call("conversations.join", channel=channel)

    # -- messages --------------------------------------------------------------------------------
    async def post(
        self,
        channel: str,
        blocks: Sequence[BlockLike],
        text: str,
        *,
        thread_ts: str | None = None,
        unfurl: bool | None = None,
    ) -> str:
        """Post a message; returns its ts. Joins a public channel the bot is not in, once."""
        kwargs: dict[str, Any] = {
            "channel": channel,
            "blocks": list(blocks) or None,
            "text": text,
            "thread_ts": thread_ts,
        }
        if unfurl is not None:
            kwargs["unfurl_links"] = unfurl
        try:
            data = await self.gateway.call("chat.postMessage", **kwargs)
        except SlackCallError as exc:
            if exc.error != "not_in_channel":
                raise
            log.info("joining %s to post there", channel)
            await self.join(channel)
            data = await self.gateway.call("chat.postMessage", **kwargs)
        return str(data["ts"])

    async def update(self, channel: str, ts: str, blocks: Sequence[BlockLike], text: str) -> None:
        await self.gateway.call("chat.update", channel=channel, ts=ts, blocks=list(blocks), text=text)

    async def set_topic(self, channel: str, topic: str) -> None:
        await self.gateway.call("conversations.setTopic", channel=channel, topic=topic)

    async def permalink(self, channel: str, ts: str) -> str | None:
        data = await self.gateway.call("chat.getPermalink", channel=channel, message_ts=ts)
        link = data.get("permalink")
        return str(link) if link else None

    async def find_marked(
        self, channel: str, marker: str, *, since: float, root_ts: str | None = None
    ) -> str | None:
        """The ts of the message (top level, or a reply under ``root_ts``) whose first block's
        block_id is ``marker``, posted after about ``since`` (unix time); None when not there.
        Reading needs membership even where posting does not (chat:write.public): a lookup answered
        ``not_in_channel`` joins the channel and looks again, once."""
        try:
            return await self._find_marked(channel, marker, since=since, root_ts=root_ts)
        except SlackCallError as exc:
            if exc.error != "not_in_channel":
                raise
            log.info("joining %s to read it", channel)
            await self.join(channel)
            return await self._find_marked(channel, marker, since=since, root_ts=root_ts)

    async def _find_marked(
        self, channel: str, marker: str, *, since: float, root_ts: str | None
    ) -> str | None:
        oldest = f"{since - 120:.6f}"
        cursor: str | None = None
        for _ in range(50):
            if root_ts:
                data = await self.gateway.call(
                    "conversations.replies",
                    channel=channel,
                    ts=root_ts,
                    oldest=oldest,
                    limit=200,
                    cursor=cursor,
                )
            else:
                data = await self.gateway.call(
                    "conversations.history", channel=channel, oldest=oldest, limit=200, cursor=cursor
                )
            for message in data.get("messages", []):
                if first_block_id(message) == marker:
                    return str(message["ts"])
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None
        return None

    async def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """One message by its ts, top level or a reply in a thread; None when it is not there."""
        data = await self.gateway.call(
            "conversations.history", channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1
        )
        for msg in data.get("messages", []):
            if msg.get("ts") == ts:
                return dict(msg)
        try:
            data = await self.gateway.call("conversations.replies", channel=channel, ts=ts, limit=1000)
        except SlackCallError as exc:
            if exc.error in ("thread_not_found", "message_not_found"):
                return None
            raise
        return next((dict(m) for m in data.get("messages", []) if m.get("ts") == ts), None)

    async def open_dm(self, user: str) -> str:
        """The app's direct message with a person (conversations.open, im:write): its channel ID."""
        data = await self.gateway.call("conversations.open", users=user)
        return str(data["channel"]["id"])

    async def post_ephemeral(self, channel: str, user: str, text: str) -> None:
        await self.gateway.call("chat.postEphemeral", channel=channel, user=user, text=text)

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        await self.gateway.call("views.open", trigger_id=trigger_id, view=view)

    # -- channels, pins, bookmarks, files ---------------------------------------------------------
    async def create_channel(self, name: str, *, private: bool = False) -> dict[str, Any]:
        """conversations.create; returns Slack's channel object (``id``, ``name``...)."""
        data = await self.gateway.call("conversations.create", name=name, is_private=private)
        return dict(data["channel"])

    async def channel_info(self, channel: str) -> dict[str, Any]:
        return dict((await self.gateway.call("conversations.info", channel=channel)).get("channel") or {})

    async def set_purpose(self, channel: str, purpose: str) -> None:
        await self.gateway.call("conversations.setPurpose", channel=channel, purpose=purpose)

    async def archive(self, channel: str) -> None:
        await self.gateway.call("conversations.archive", channel=channel)

    async def pin(self, channel: str, ts: str) -> None:
        await self.gateway.call("pins.add", channel=channel, timestamp=ts)

    async def add_link_bookmark(self, channel: str, title: str, link: str) -> None:
        await self.gateway.call("bookmarks.add", channel_id=channel, title=title, type="link", link=link)

    async def upload_url(self, filename: str, length: int, *, alt_text: str | None = None) -> tuple[str, str]:
        """files.getUploadURLExternal: (the URL to send the bytes to, the new file's id)."""
        data = await self.gateway.call(
            "files.getUploadURLExternal", filename=filename, length=length, alt_txt=alt_text
        )
        upload_url, file_id = data.get("upload_url"), data.get("file_id")
        if not upload_url or not file_id:
            raise SlackCallError("files.getUploadURLExternal", "no upload_url in the answer")
        return str(upload_url), str(file_id)

    async def complete_upload(
        self,
        files: Sequence[dict[str, str]],
        channel: str,
        *,
        thread_ts: str | None = None,
        comment: str | None = None,
    ) -> None:
        """files.completeUploadExternal: share the uploaded files (``id``, ``title``) in one message."""
        await self.gateway.call(
            "files.completeUploadExternal",
            files=list(files),
            channel_id=channel,
            thread_ts=thread_ts,
            initial_comment=comment,
        )

    async def user_info(self, user: str) -> dict[str, Any]:
        return dict((await self.gateway.call("users.info", user=user)).get("user") or {})

    # -- people ----------------------------------------------------------------------------------
    async def invite(self, channel: str, users: Sequence[str]) -> list[tuple[str, SlackCallError]]:
        """Invite users; returns those that could not be invited, with why. Users already in the
        channel are fine. One bad user fails Slack's whole batch, so a failed batch goes one by one."""
        users = list(dict.fromkeys(u for u in users if u))
        if not users:
            return []
        try:
            await self.gateway.call("conversations.invite", channel=channel, users=",".join(users))
            return []
        except SlackCallError as exc:
            if len(users) == 1:
                if exc.error == "already_in_channel":
                    return []
                return [(users[0], exc)]
        failed: list[tuple[str, SlackCallError]] = []
        for user in users:
            try:
                await self.gateway.call("conversations.invite", channel=channel, users=user)
            except SlackCallError as one:
                if one.error != "already_in_channel":
                    failed.append((user, one))
        return failed
