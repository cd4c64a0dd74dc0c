"""In-memory state of the fake Slack workspace, seeded from YAML, serialised in Slack's shapes."""

from __future__ import annotations

import copy
import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from sandbox.clock import Clock
from sandbox.ids import IdFactory

CHANNEL_NAME_RE = re.compile(r"^[a-z0-9_\-]+$")


@dataclass
class User:
    id: str
    name: str
    real_name: str
    email: str | None = None
    title: str = ""
    tz: str = "UTC"
    is_admin: bool = False
    is_bot: bool = False
    bot_id: str | None = None
    deleted: bool = False

    def tz_offset(self) -> int:
        try:
            offset = dt.datetime.now(zoneinfo.ZoneInfo(self.tz)).utcoffset()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            offset = None
        return int(offset.total_seconds()) if offset else 0

    def to_slack(self, team_id: str) -> dict[str, Any]:
        profile: dict[str, Any] = {
            "real_name": self.real_name,
            "display_name": self.name,
            "real_name_normalized": self.real_name,
            "display_name_normalized": self.name,
            "title": self.title,
            "team": team_id,
        }
        if self.email:
            profile["email"] = self.email
        if self.bot_id:
            profile["bot_id"] = self.bot_id
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": self.deleted,
            "tz": self.tz,
            "tz_label": self.tz,
            "tz_offset": self.tz_offset(),
            "is_admin": self.is_admin,
            "is_owner": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "profile": profile,
        }


@dataclass
class UserGroup:
    id: str
    handle: str
    name: str
    description: str
    users: list[str]
    date_create: int = 0

    def to_slack(self, team_id: str, include_users: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "team_id": team_id,
            "is_usergroup": True,
            "name": self.name,
            "description": self.description,
            "handle": self.handle,
            "is_external": False,
            "date_create": self.date_create,
            "date_delete": 0,
            "user_count": len(self.users),
        }
        if include_users:
            data["users"] = list(self.users)
        return data


@dataclass
class Message:
    ts: str
    channel: str
    user: str
    text: str = ""
    blocks: list[dict[str, Any]] | None = None
    attachments: list[dict[str, Any]] | None = None
    bot_id: str | None = None
    app_id: str | None = None
    thread_ts: str | None = None
    subtype: str | None = None
    files: list[str] = field(default_factory=list)
    reactions: dict[str, list[str]] = field(default_factory=dict)
    reply_users: list[str] = field(default_factory=list)
    reply_count: int = 0
    latest_reply: str | None = None
    edited: dict[str, str] | None = None
    metadata: dict[str, Any] | None = None
    pinned_by: str | None = None


@dataclass
class Channel:
    id: str
    name: str
    created: int
    creator: str
    is_private: bool = False
    is_im: bool = False
    # a conversation the app is not part of (a DM between people): the bot's token cannot see it
    without_bot: bool = False
    is_archived: bool = False
    topic: dict[str, Any] = field(default_factory=lambda: {"value": "", "creator": "", "last_set": 0})
    purpose: dict[str, Any] = field(default_factory=lambda: {"value": "", "creator": "", "last_set": 0})
    members: list[str] = field(default_factory=list)
    messages: dict[str, Message] = field(default_factory=dict)
    bookmarks: list[dict[str, Any]] = field(default_factory=list)

    def top_level(self) -> list[Message]:
        return sorted(
            (
                m
                for m in self.messages.values()
                if m.thread_ts in (None, m.ts) or m.subtype == "thread_broadcast"
            ),
            key=lambda m: m.ts,
        )

    def thread(self, ts: str) -> list[Message]:
        parent = self.messages.get(ts)
        if parent is None:
            return []
        replies = sorted(
            (m for m in self.messages.values() if m.thread_ts == ts and m.ts != ts),
            key=lambda m: m.ts,
        )
        return [parent, *replies]

    def pins(self) -> list[Message]:
        return sorted((m for m in self.messages.values() if m.pinned_by), key=lambda m: m.ts)


@dataclass
class Ephemeral:
    """A message only one user sees. Slack has no API to read these; the sandbox keeps them."""

    id: str
    ts: str
    channel: str
    user: str
    text: str = ""
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    source: str = "chat.postEphemeral"
    is_error: bool = False
    sender: str | None = None


@dataclass
class File:
    id: str
    name: str
    title: str
    user: str
    created: int
    content: bytes = b""
    mimetype: str = "application/octet-stream"
    alt_txt: str | None = None
    uploaded: bool = False
    completed: bool = False
    channels: list[str] = field(default_factory=list)
    expected_length: int = 0

    @property
    def filetype(self) -> str:
        return self.name.rsplit(".", 1)[-1].lower() if "." in self.name else "binary"


@dataclass
class View:
    id: str
    team_id: str
    type: str
    user: str
    app_id: str
    bot_id: str
    definition: dict[str, Any]
    hash: str
    root_view_id: str
    previous_view_id: str | None = None
    external_id: str | None = None
    is_open: bool = True
    errors: dict[str, str] | None = None
    channel: str | None = None

    def to_slack(self) -> dict[str, Any]:
        d = self.definition
        return {
            "id": self.id,
            "team_id": self.team_id,
            "type": self.type,
            "title": d.get("title"),
            "submit": d.get("submit"),
            "close": d.get("close"),
            "blocks": copy.deepcopy(d.get("blocks", [])),
            "private_metadata": d.get("private_metadata", ""),
            "callback_id": d.get("callback_id", ""),
            "external_id": self.external_id or "",
            "state": {"values": {}},
            "hash": self.hash,
            "clear_on_close": bool(d.get("clear_on_close", False)),
            "notify_on_close": bool(d.get("notify_on_close", False)),
            "root_view_id": self.root_view_id,
            "previous_view_id": self.previous_view_id,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
        }


@dataclass
class Trigger:
    id: str
    user: str
    created: float
    channel: str | None = None
    used: bool = False


@dataclass
class ResponseUrl:
    id: str
    user: str
    channel: str
    created: float
    uses: int = 0
    message_ts: str | None = None
    ephemeral_id: str | None = None
    thread_ts: str | None = None


@dataclass
class Bot:
    user_id: str
    bot_id: str
    app_id: str
    name: str
    real_name: str


class Workspace:
    """All state of one workspace. Methods here change state; the Web API modules check arguments."""

    def __init__(self, seed: dict[str, Any], clock: Clock, ids: IdFactory) -> None:
        self.clock = clock
        self.ids = ids
        self.base_url = ""
        team = seed.get("team", {})
        self.team_id: str = team.get("id", "T0SANDBOX1")
        self.team_name: str = team.get("name", "Sandbox")
        self.team_domain: str = team.get("domain", "sandbox")
        b = seed.get("bot", {})
        self.bot = Bot(
            user_id=b.get("user_id", "U0CHATOPS1"),
            bot_id=b.get("bot_id", "B0CHATOPS1"),
            app_id=b.get("app_id", "A0CHATOPS1"),
            name=b.get("name", "chatops"),
            real_name=b.get("real_name", "ChatOps"),
        )
        self.users: dict[str, User] = {}
        self.usergroups: dict[str, UserGroup] = {}
        self.channels: dict[str, Channel] = {}
        self.ephemerals: list[Ephemeral] = []
        self.files: dict[str, File] = {}
        self.views: dict[str, View] = {}
        self.triggers: dict[str, Trigger] = {}
        self.response_urls: dict[str, ResponseUrl] = {}
        self.slash_commands: list[dict[str, str]] = list(seed.get("slash_commands", []))
        created = int(clock.now()) - 86_400
        self.users[self.bot.user_id] = User(
            id=self.bot.user_id,
            name=self.bot.name,
            real_name=self.bot.real_name,
            is_bot=True,
            bot_id=self.bot.bot_id,
        )
        for u in seed.get("users", []):
            user = User(
                id=u["id"],
                name=u["name"],
                real_name=u.get("real_name", u["name"]),
                email=u.get("email"),
                title=u.get("title", ""),
                tz=u.get("tz", "UTC"),
                is_admin=bool(u.get("is_admin", False)),
            )
            self.users[user.id] = user
        for g in seed.get("usergroups", []):
            self.usergroups[g["id"]] = UserGroup(
                id=g["id"],
                handle=g["handle"],
                name=g.get("name", g["handle"]),
                description=g.get("description", ""),
                users=[self.require_user(x).id for x in g.get("users", [])],
                date_create=created,
            )
        for c in seed.get("channels", []):
            channel = Channel(
                id=c["id"],
                name=c["name"],
                created=created,
                creator=next(iter(self.users)),
                is_private=bool(c.get("is_private", False)),
                members=[self.require_user(x).id for x in c.get("members", [])],
            )
            if c.get("bot_member", True):
                channel.members.insert(0, self.bot.user_id)
            channel.topic = {"value": c.get("topic", ""), "creator": channel.creator, "last_set": created}
            channel.purpose = {"value": c.get("purpose", ""), "creator": channel.creator, "last_set": created}
            self.channels[channel.id] = channel

    # ---- lookups -------------------------------------------------------------------------------
    def find_user(self, ref: str | None) -> User | None:
        """By ID, name, ``@name`` or e-mail."""
        if not ref:
            return None
        ref = ref.strip()
        if ref in self.users:
            return self.users[ref]
        key = ref.lstrip("@").lower()
        for user in self.users.values():
            if user.name.lower() == key or (user.email or "").lower() == key:
                return user
        return None

    def require_user(self, ref: str) -> User:
        user = self.find_user(ref)
        if user is None:
            raise KeyError(f"unknown user {ref!r}")
        return user

    def find_channel(self, ref: str | None) -> Channel | None:
        """By ID, ``#name`` or name."""
        if not ref:
            return None
        ref = ref.strip()
        if ref in self.channels:
            return self.channels[ref]
        key = ref.lstrip("#").lower()
        for channel in self.channels.values():
            if channel.name == key:
                return channel
        return None

    def find_message(self, channel: Channel, ts: str | None) -> Message | None:
        return channel.messages.get(ts) if ts else None

    def find_ephemeral(self, ref: str | None) -> Ephemeral | None:
        if not ref:
            return None
        for eph in self.ephemerals:
            if ref in (eph.id, eph.ts):
                return eph
        return None

    def dm_channel(self, user: User) -> Channel:
        for channel in self.channels.values():
            if channel.is_im and not channel.without_bot and channel.members == [user.id]:
                return channel
        channel = Channel(
            id=self.ids.new("D"),
            name=f"dm-{user.name}",
            created=int(self.clock.now()),
            creator=self.bot.user_id,
            is_im=True,
            members=[user.id],
        )
        self.channels[channel.id] = channel
        return channel

    def people_dm(self, *users: User) -> Channel:
        """The direct message between people (one person alone: their own DM with themselves). The
        app is not part of it: Slack answers ``channel_not_found`` to its token there, while slash
        commands typed in it still reach the app with a ``response_url``."""
        members = sorted({u.id for u in users})
        for channel in self.channels.values():
            if channel.without_bot and channel.members == members:
                return channel
        channel = Channel(
            id=self.ids.new("D"),
            name="dm-" + "-".join(sorted(u.name for u in users)),
            created=int(self.clock.now()),
            creator=users[0].id,
            is_im=True,
            without_bot=True,
            members=members,
        )
        self.channels[channel.id] = channel
        return channel

    # ---- serialisation -------------------------------------------------------------------------
    def channel_to_slack(self, channel: Channel, viewer: str | None = None) -> dict[str, Any]:
        viewer = viewer or self.bot.user_id
        data: dict[str, Any] = {
            "id": channel.id,
            "name": channel.name,
            "name_normalized": channel.name,
            "is_channel": not channel.is_private and not channel.is_im,
            "is_group": channel.is_private,
            "is_im": channel.is_im,
            "is_mpim": False,
            "is_private": channel.is_private or channel.is_im,
            "is_archived": channel.is_archived,
            "is_general": channel.name == "general",
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_member": viewer in channel.members,
            "created": channel.created,
            "creator": channel.creator,
            "context_team_id": self.team_id,
            "topic": dict(channel.topic),
            "purpose": dict(channel.purpose),
            "num_members": len(channel.members),
            "unlinked": 0,
            "previous_names": [],
        }
        if channel.is_im:
            data["user"] = channel.members[0]
        return data

    def message_to_slack(self, msg: Message) -> dict[str, Any]:
        data: dict[str, Any] = {"type": "message", "ts": msg.ts, "user": msg.user, "text": msg.text}
        if msg.subtype:
            data["subtype"] = msg.subtype
        if msg.bot_id:
            data["bot_id"] = msg.bot_id
            data["app_id"] = msg.app_id or self.bot.app_id
            data["bot_profile"] = {
                "id": msg.bot_id,
                "app_id": self.bot.app_id,
                "name": self.bot.name,
                "team_id": self.team_id,
                "deleted": False,
            }
        data["team"] = self.team_id
        if msg.blocks is not None:
            data["blocks"] = copy.deepcopy(msg.blocks)
        if msg.attachments is not None:
            data["attachments"] = copy.deepcopy(msg.attachments)
        if msg.thread_ts:
            data["thread_ts"] = msg.thread_ts
        if msg.thread_ts == msg.ts and msg.reply_count:
            data["reply_count"] = msg.reply_count
            data["reply_users_count"] = len(msg.reply_users)
            data["reply_users"] = list(msg.reply_users)
            data["latest_reply"] = msg.latest_reply
        elif msg.thread_ts and msg.thread_ts != msg.ts:
            data["parent_user_id"] = self._parent_user(msg)
        if msg.files:
            data["files"] = [
                self.file_to_slack(self.files[f], self.base_url) for f in msg.files if f in self.files
            ]
            data["upload"] = True
        if msg.reactions:
            data["reactions"] = [
                {"name": name, "users": list(users), "count": len(users)}
                for name, users in msg.reactions.items()
                if users
            ]
        if msg.edited:
            data["edited"] = dict(msg.edited)
        if msg.metadata:
            data["metadata"] = copy.deepcopy(msg.metadata)
        if msg.pinned_by:
            data["pinned_to"] = [msg.channel]
        return data

    def _parent_user(self, msg: Message) -> str:
        channel = self.channels.get(msg.channel)
        parent = channel.messages.get(msg.thread_ts or "") if channel else None
        return parent.user if parent else ""

    def ephemeral_to_json(self, eph: Ephemeral) -> dict[str, Any]:
        return {
            "id": eph.id,
            "ts": eph.ts,
            "channel": eph.channel,
            "user": eph.user,
            "text": eph.text,
            "blocks": copy.deepcopy(eph.blocks) if eph.blocks is not None else None,
            "thread_ts": eph.thread_ts,
            "source": eph.source,
            "is_error": eph.is_error,
            "sender": eph.sender,
            "is_ephemeral": True,
        }

    def file_to_slack(self, f: File, base_url: str = "") -> dict[str, Any]:
        url = f"{base_url}/files/{f.id}/{f.name}"
        data: dict[str, Any] = {
            "id": f.id,
            "created": f.created,
            "timestamp": f.created,
            "name": f.name,
            "title": f.title,
            "mimetype": f.mimetype,
            "filetype": f.filetype,
            "pretty_type": f.filetype.upper(),
            "user": f.user,
            "size": len(f.content),
            "mode": "hosted",
            "is_external": False,
            "is_public": True,
            "url_private": url,
            "url_private_download": url + "?download=1",
            "permalink": f"https://{self.team_domain}.slack.com/files/{f.user}/{f.id}/{f.name}",
            "channels": list(f.channels),
        }
        if f.alt_txt:
            data["alt_txt"] = f.alt_txt
        if f.mimetype.startswith("image/"):
            data["thumb_360"] = url
            data["thumb_480"] = url
        return data

    # ---- mutations -----------------------------------------------------------------------------
    def add_message(self, msg: Message) -> Message:
        channel = self.channels[msg.channel]
        channel.messages[msg.ts] = msg
        if msg.thread_ts and msg.thread_ts != msg.ts:
            parent = channel.messages.get(msg.thread_ts)
            if parent is not None:
                parent.thread_ts = parent.ts
                parent.reply_count += 1
                parent.latest_reply = msg.ts
                if msg.user not in parent.reply_users:
                    parent.reply_users.append(msg.user)
        return msg

    def delete_message(self, channel: Channel, ts: str) -> None:
        msg = channel.messages.pop(ts)
        if msg.thread_ts and msg.thread_ts != msg.ts:
            parent = channel.messages.get(msg.thread_ts)
            if parent is not None:
                parent.reply_count = max(0, parent.reply_count - 1)
                remaining = [m for m in channel.thread(parent.ts)[1:]]
                parent.latest_reply = remaining[-1].ts if remaining else None
                parent.reply_users = list(dict.fromkeys(m.user for m in remaining))


def load_seed(path: str | Path | None = None) -> dict[str, Any]:
    """The YAML seed: ``path`` or the default that ships with the package."""
    if path is None:
        text = resources.files("sandbox").joinpath("seed.yml").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError("sandbox seed must be a YAML mapping")
    return data
