"""pins.*, bookmarks.add, reactions.add and views.* methods."""

from __future__ import annotations

import copy
import secrets
from typing import Any

from sandbox.blocks import validate_view
from sandbox.core import normalize_blocks
from sandbox.webapi import Call, SlackError, method
from sandbox.workspace import View


@method("pins.add", 2)
async def pins_add(call: Call) -> dict[str, Any]:
    channel = call.channel()
    ts = call.arg("timestamp")
    if ts is None:
        raise SlackError("no_item_specified")
    msg = channel.messages.get(ts)
    if msg is None:
        raise SlackError("message_not_found")
    if msg.pinned_by:
        raise SlackError("already_pinned")
    if call.ws.bot.user_id not in channel.members:
        raise SlackError("not_in_channel")
    if len(channel.pins()) >= 100:
        raise SlackError("too_many_pins")
    msg.pinned_by = call.ws.bot.user_id
    call.core.publish({"type": "pin", "channel": channel.id, "ts": msg.ts})
    return {}


@method("pins.list", 2)
async def pins_list(call: Call) -> dict[str, Any]:
    channel = call.channel(allow_archived=True)
    items = [
        {
            "type": "message",
            "channel": channel.id,
            "created": int(float(m.ts)),
            "created_by": m.pinned_by,
            "message": call.ws.message_to_slack(m),
        }
        for m in channel.pins()
    ]
    return {"items": items}


@method("bookmarks.add", 2)
async def bookmarks_add(call: Call) -> dict[str, Any]:
    channel = call.channel(key="channel_id")
    title = call.arg("title")
    kind = call.arg("type")
    if not title:
        raise SlackError(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: title"]}
        )
    if kind != "link":
        raise SlackError("invalid_bookmark_type")
    link = call.arg("link")
    if not link:
        raise SlackError("invalid_link")
    bookmark = {
        "id": call.core.ids.new("Bk"),
        "channel_id": channel.id,
        "title": title,
        "link": link,
        "emoji": call.arg("emoji"),
        "icon_url": None,
        "type": "link",
        "entity_id": call.arg("entity_id"),
        "date_created": int(call.core.clock.now()),
        "date_updated": 0,
        "rank": "U",
        "last_updated_by_user_id": call.ws.bot.user_id,
        "last_updated_by_team_id": call.ws.team_id,
        "shortcut_id": None,
        "app_id": call.ws.bot.app_id,
    }
    channel.bookmarks.append(bookmark)
    call.core.publish({"type": "channel_changed", "channel": channel.id})
    return {"bookmark": bookmark}


@method("reactions.add", 3)
async def reactions_add(call: Call) -> dict[str, Any]:
    channel = call.channel()
    name = (call.arg("name") or "").strip(":")
    if not name:
        raise SlackError("invalid_name")
    msg = channel.messages.get(call.arg("timestamp") or "")
    if msg is None:
        raise SlackError("message_not_found")
    users = msg.reactions.setdefault(name, [])
    bot = call.ws.bot.user_id
    if bot in users:
        raise SlackError("already_reacted")
    users.append(bot)
    call.core.publish(
        {"type": "message_changed", "channel": channel.id, "ts": msg.ts, "thread_ts": msg.thread_ts}
    )
    return {}


# ---- views --------------------------------------------------------------------------------------
def view_arg(call: Call) -> dict[str, Any]:
    view = call.json("view")
    if view is None:
        raise SlackError(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: view"]}
        )
    errors = validate_view(view)
    if errors:
        raise SlackError(
            "invalid_arguments", response_metadata={"messages": [f"[ERROR] {e}" for e in errors]}
        )
    view = copy.deepcopy(view)
    view["blocks"] = normalize_blocks(view.get("blocks", [])) or []
    return view


def take_trigger(call: Call) -> str:
    """The user of a valid trigger_id; Slack's trigger errors otherwise (valid 3 s, single use)."""
    trigger_id = call.arg("trigger_id") or call.arg("interactivity_pointer")
    if not trigger_id:
        raise SlackError(
            "invalid_arguments",
            response_metadata={"messages": ["[ERROR] missing required field: trigger_id"]},
        )
    trigger = call.ws.triggers.get(trigger_id)
    if trigger is None:
        raise SlackError("invalid_trigger_id")
    if call.core.clock.now() - trigger.created > call.core.config.trigger_ttl_seconds:
        raise SlackError("expired_trigger_id")
    if trigger.used:
        raise SlackError("exchanged_trigger_id")
    trigger.used = True
    return trigger.user


def new_view(call: Call, definition: dict[str, Any], user: str, root: str | None = None) -> View:
    vid = call.core.ids.new("V")
    view = View(
        id=vid,
        team_id=call.ws.team_id,
        type=definition.get("type", "modal"),
        user=user,
        app_id=call.ws.bot.app_id,
        bot_id=call.ws.bot.bot_id,
        definition=definition,
        hash=f"{int(call.core.clock.now())}.{secrets.token_hex(4)}",
        root_view_id=root or vid,
        external_id=definition.get("external_id"),
    )
    call.ws.views[vid] = view
    return view


@method("views.open", 4)
async def views_open(call: Call) -> dict[str, Any]:
    definition = view_arg(call)
    if definition.get("type") != "modal":
        raise SlackError(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] view type must be modal"]}
        )
    user = take_trigger(call)
    view = new_view(call, definition, user)
    call.core.publish({"type": "view_opened", "user": user, "view_id": view.id})
    return {"view": view.to_slack()}


@method("views.push", 4)
async def views_push(call: Call) -> dict[str, Any]:
    definition = view_arg(call)
    user = take_trigger(call)
    stack = [v for v in call.ws.views.values() if v.user == user and v.is_open and v.type == "modal"]
    if not stack:
        raise SlackError("not_found")
    if len(stack) >= 3:
        raise SlackError("push_limit_reached")
    top = stack[-1]
    view = new_view(call, definition, user, root=top.root_view_id)
    view.previous_view_id = top.id
    call.core.publish({"type": "view_opened", "user": user, "view_id": view.id})
    return {"view": view.to_slack()}


@method("views.update", 4)
async def views_update(call: Call) -> dict[str, Any]:
    definition = view_arg(call)
    view_id = call.arg("view_id")
    external_id = call.arg("external_id")
    view = None
    for v in call.ws.views.values():
        if (view_id and v.id == view_id) or (external_id and v.external_id == external_id):
            view = v
    if view is None:
        raise SlackError("not_found")
    expected = call.arg("hash")
    if expected and expected != view.hash:
        raise SlackError("hash_conflict")
    view.definition = definition
    view.errors = None
    view.hash = f"{int(call.core.clock.now())}.{secrets.token_hex(4)}"
    call.core.publish({"type": "view_updated", "user": view.user, "view_id": view.id})
    return {"view": view.to_slack()}


@method("views.publish", 4)
async def views_publish(call: Call) -> dict[str, Any]:
    user = call.user(key="user_id")
    definition = view_arg(call)
    if definition.get("type") != "home":
        raise SlackError(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] view type must be home"]}
        )
    existing = next((v for v in call.ws.views.values() if v.user == user.id and v.type == "home"), None)
    if existing is None:
        existing = new_view(call, definition, user.id)
    else:
        expected = call.arg("hash")
        if expected and expected != existing.hash:
            raise SlackError("hash_conflict")
        existing.definition = definition
        existing.hash = f"{int(call.core.clock.now())}.{secrets.token_hex(4)}"
    call.core.publish({"type": "home_published", "user": user.id, "view_id": existing.id})
    return {"view": existing.to_slack()}
