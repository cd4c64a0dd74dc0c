"""conversations.* methods."""

from __future__ import annotations

from typing import Any

from sandbox.pagination import paginate
from sandbox.webapi import Call, SlackError, invalid_arguments, method
from sandbox.workspace import CHANNEL_NAME_RE, Channel, Message

MAX_NAME = 80


def check_channel_name(name: str | None) -> str:
    """Slack's rules: required, lowercase, a-z 0-9 - _, at most 80 characters."""
    if name is None or not name.strip():
        raise SlackError("invalid_name_required")
    if len(name) > MAX_NAME:
        raise SlackError("invalid_name_maxlength")
    if name != name.lower() and CHANNEL_NAME_RE.match(name.lower()):
        raise SlackError("invalid_name_specials", detail="Value passed for `name` must be lowercase.")
    if not CHANNEL_NAME_RE.match(name):
        raise SlackError(
            "invalid_name_specials",
            detail="Value passed for `name` contained unallowed special characters or upper case characters.",
        )
    if name.strip("-_") == "":
        raise SlackError("invalid_name_punctuation")
    return name


def require_member(call: Call, channel: Channel) -> None:
    if call.ws.bot.user_id not in channel.members:
        raise SlackError("not_in_channel")


@method("conversations.create", 2)
async def conversations_create(call: Call) -> dict[str, Any]:
    name = check_channel_name(call.arg("name"))
    for existing in call.ws.channels.values():
        if existing.name == name:
            raise SlackError("name_taken")
    now = int(call.core.clock.now())
    bot = call.ws.bot.user_id
    channel = Channel(
        id=call.core.ids.new("G" if call.flag("is_private") else "C"),
        name=name,
        created=now,
        creator=bot,
        is_private=call.flag("is_private"),
        members=[bot],
    )
    call.ws.channels[channel.id] = channel
    call.core.publish({"type": "channel_created", "channel": channel.id})
    return {"channel": call.ws.channel_to_slack(channel)}


@method("conversations.invite", 3)
async def conversations_invite(call: Call) -> dict[str, Any]:
    channel = call.channel()
    require_member(call, channel)
    raw = call.arg("users")
    if not raw:
        raise SlackError("no_user")
    ids = [u.strip() for u in raw.split(",") if u.strip()]
    if len(ids) > 1000:
        raise SlackError("too_many_users")
    errors: list[dict[str, Any]] = []
    added: list[str] = []
    for uid in ids:
        user = call.ws.users.get(uid)
        if user is None:
            errors.append({"user": uid, "ok": False, "error": "user_not_found"})
        elif uid == call.ws.bot.user_id:
            errors.append({"user": uid, "ok": False, "error": "cant_invite_self"})
        elif uid in channel.members:
            errors.append({"user": uid, "ok": False, "error": "already_in_channel"})
        else:
            added.append(uid)
    if errors and not (call.flag("force") and added):
        first = errors[0]["error"]
        raise SlackError(first, errors=errors)
    for uid in added:
        channel.members.append(uid)
        call.core.post_message(
            channel, user=uid, text=f"<@{uid}> has joined the channel", subtype="channel_join", as_bot=False
        )
    call.core.publish({"type": "channel_changed", "channel": channel.id})
    result: dict[str, Any] = {"channel": call.ws.channel_to_slack(channel)}
    if errors:
        result["errors"] = errors
    return result


def _set_text(call: Call, attr: str) -> dict[str, Any]:
    channel = call.channel()
    require_member(call, channel)
    value = call.arg(attr) or ""
    if len(value) > 250:
        raise SlackError("too_long")
    setattr(
        channel,
        attr,
        {"value": value, "creator": call.ws.bot.user_id, "last_set": int(call.core.clock.now())},
    )
    call.core.post_message(
        channel,
        user=call.ws.bot.user_id,
        text=f"<@{call.ws.bot.user_id}> set the channel {attr}: {value}",
        subtype=f"channel_{attr}",
    )
    call.core.publish({"type": "channel_changed", "channel": channel.id})
    return {"channel": call.ws.channel_to_slack(channel)}


@method("conversations.setTopic", 2)
async def conversations_set_topic(call: Call) -> dict[str, Any]:
    return _set_text(call, "topic")


@method("conversations.setPurpose", 2)
async def conversations_set_purpose(call: Call) -> dict[str, Any]:
    result = _set_text(call, "purpose")
    return {"purpose": result["channel"]["purpose"]["value"], **result}


@method("conversations.info", 3)
async def conversations_info(call: Call) -> dict[str, Any]:
    channel = call.visible_channel()
    data = call.ws.channel_to_slack(channel)
    if call.flag("include_num_members") is False:
        data.pop("num_members", None)
    return {"channel": data}


@method("conversations.list", 2)
async def conversations_list(call: Call) -> dict[str, Any]:
    types = {t.strip() for t in (call.arg("types") or "public_channel").split(",") if t.strip()}
    unknown = types - {"public_channel", "private_channel", "mpim", "im"}
    if unknown:
        raise SlackError("invalid_types")
    exclude_archived = call.flag("exclude_archived")
    bot = call.ws.bot.user_id
    chosen: list[Channel] = []
    for channel in call.ws.channels.values():
        if exclude_archived and channel.is_archived:
            continue
        if channel.is_im:
            ok = "im" in types and not channel.without_bot  # the app's own DMs only
        elif channel.is_private:
            ok = "private_channel" in types and bot in channel.members
        else:
            ok = "public_channel" in types
        if ok:
            chosen.append(channel)
    page, meta = paginate(chosen, call.arg("cursor"), call.number("limit", 100))
    return {"channels": [call.ws.channel_to_slack(c) for c in page], "response_metadata": meta}


def _window(call: Call, messages: list[Message]) -> list[Message]:
    oldest = call.arg("oldest")
    latest = call.arg("latest")
    inclusive = call.flag("inclusive")
    out = []
    for m in messages:
        t = float(m.ts)
        if oldest is not None and (t < float(oldest) or (t == float(oldest) and not inclusive)):
            continue
        if latest is not None and (t > float(latest) or (t == float(latest) and not inclusive)):
            continue
        out.append(m)
    return out


def _check_readable(call: Call, channel: Channel) -> None:
    """A bot reads a channel's messages only as a member, public channels included (Slack answers
    ``not_in_channel``; joining with conversations.join fixes it). Its DMs are its own."""
    if not channel.is_im and call.ws.bot.user_id not in channel.members:
        raise SlackError("not_in_channel")


@method("conversations.history", 3)
async def conversations_history(call: Call) -> dict[str, Any]:
    channel = call.visible_channel()
    _check_readable(call, channel)
    try:
        messages = list(reversed(_window(call, channel.top_level())))
    except ValueError as exc:
        raise invalid_arguments("oldest and latest must be timestamps") from exc
    page, meta = paginate(messages, call.arg("cursor"), call.number("limit", 100), max_limit=999)
    return {
        "messages": [call.ws.message_to_slack(m) for m in page],
        "has_more": bool(meta["next_cursor"]),
        "pin_count": len(channel.pins()),
        "channel_actions_ts": None,
        "channel_actions_count": 0,
        "response_metadata": meta,
    }


@method("conversations.replies", 3)
async def conversations_replies(call: Call) -> dict[str, Any]:
    channel = call.visible_channel()
    _check_readable(call, channel)
    ts = call.arg("ts")
    if ts is None:
        raise invalid_arguments("missing required field: ts")
    msg = channel.messages.get(ts)
    if msg is None:
        raise SlackError("thread_not_found")
    root = msg.thread_ts or msg.ts
    thread = channel.thread(root) if root in channel.messages else [msg]
    parent, replies = thread[0], thread[1:]
    try:
        replies = _window(call, replies)
    except ValueError as exc:
        raise invalid_arguments("oldest and latest must be timestamps") from exc
    page, meta = paginate([parent, *replies], call.arg("cursor"), call.number("limit", 1000))
    return {
        "messages": [call.ws.message_to_slack(m) for m in page],
        "has_more": bool(meta["next_cursor"]),
        "response_metadata": meta,
    }


@method("conversations.join", 3)
async def conversations_join(call: Call) -> dict[str, Any]:
    channel = call.channel()
    if channel.is_private or channel.is_im:
        raise SlackError("method_not_supported_for_channel_type")
    bot = call.ws.bot.user_id
    result: dict[str, Any] = {}
    if bot in channel.members:
        result["warning"] = "already_in_channel"
        result["response_metadata"] = {"warnings": ["already_in_channel"]}
    else:
        channel.members.append(bot)
        call.core.post_message(
            channel, user=bot, text=f"<@{bot}> has joined the channel", subtype="channel_join"
        )
    return {"channel": call.ws.channel_to_slack(channel), **result}


@method("conversations.members", 4)
async def conversations_members(call: Call) -> dict[str, Any]:
    channel = call.visible_channel()
    page, meta = paginate(list(channel.members), call.arg("cursor"), call.number("limit", 100))
    return {"members": page, "response_metadata": meta}


@method("conversations.archive", 2)
async def conversations_archive(call: Call) -> dict[str, Any]:
    channel = call.channel(allow_archived=True)
    if channel.is_archived:
        raise SlackError("already_archived")
    if channel.name == "general":
        raise SlackError("cant_archive_general")
    require_member(call, channel)
    channel.is_archived = True
    call.core.publish({"type": "channel_changed", "channel": channel.id})
    return {}


@method("conversations.open", 3)
async def conversations_open(call: Call) -> dict[str, Any]:
    """A direct message between the bot and one person (multi-person DMs are not modelled)."""
    if call.arg("channel"):
        channel = call.channel()
        if not channel.is_im:
            raise SlackError("channel_not_found")
        return {"channel": {"id": channel.id}}
    users = [u.strip() for u in (call.arg("users") or "").split(",") if u.strip()]
    if not users:
        raise SlackError("users_list_not_supplied")
    if len(users) > 1:
        raise SlackError("method_not_supported_for_channel_type")
    user = call.ws.users.get(users[0])
    if user is None:
        raise SlackError("user_not_found")
    existing = any(
        c.is_im and not c.without_bot and c.members == [user.id] for c in call.ws.channels.values()
    )
    channel = call.ws.dm_channel(user)
    if not existing:
        call.core.publish({"type": "channel_created", "channel": channel.id})
    data = call.ws.channel_to_slack(channel) if call.flag("return_im") else {"id": channel.id}
    result: dict[str, Any] = {"channel": data}
    if existing:
        result["already_open"] = True
    return result
