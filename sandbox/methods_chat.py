"""chat.* methods."""

from __future__ import annotations

import logging
from typing import Any

from sandbox.blocks import MAX_MESSAGE_BLOCK_TEXT, message_text_chars, validate_blocks
from sandbox.ratelimit import SPECIAL
from sandbox.scopes import bot_scopes
from sandbox.webapi import Call, SlackError, method
from sandbox.workspace import Channel

log = logging.getLogger("sandbox.chat")


def blocks_arg(call: Call, key: str = "blocks") -> list[dict[str, Any]] | None:
    blocks = call.json(key)
    if blocks is None:
        return None
    errors = validate_blocks(blocks)
    if errors:
        log.warning("SANDBOX: %s rejected blocks: %s", call.name, "; ".join(errors))
        raise SlackError(
            "invalid_blocks",
            errors=errors,
            response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
        )
    chars = message_text_chars(blocks)
    if chars > MAX_MESSAGE_BLOCK_TEXT:
        log.warning(
            "SANDBOX: %s rejected blocks carrying %d characters of text (more than %d): msg_blocks_too_long",
            call.name,
            chars,
            MAX_MESSAGE_BLOCK_TEXT,
        )
        raise SlackError("msg_blocks_too_long")
    return blocks


def attachments_arg(call: Call) -> list[dict[str, Any]] | None:
    attachments = call.json("attachments")
    if attachments is None:
        return None
    if not isinstance(attachments, list):
        raise SlackError("invalid_attachments")
    if len(attachments) > 100:
        raise SlackError("too_many_attachments")
    return attachments


def check_can_post(call: Call, channel: Channel) -> None:
    bot = call.ws.bot.user_id
    if bot in channel.members or channel.is_im:
        return
    # A public channel takes the bot's posts without joining only with chat:write.public among the
    # app's scopes; a private one always needs membership.
    if channel.is_private or "chat:write.public" not in bot_scopes(call.core.config.bot_scopes):
        raise SlackError("not_in_channel")


def thread_arg(call: Call, channel: Channel) -> str | None:
    thread_ts = call.arg("thread_ts")
    if thread_ts is None:
        return None
    parent = channel.messages.get(thread_ts)
    if parent is None:
        log.warning(
            "SANDBOX: %s with thread_ts=%s that is not a message in %s", call.name, thread_ts, channel.id
        )
        raise SlackError("thread_not_found")
    # Replying to a reply threads under its parent, as Slack does.
    return parent.thread_ts or parent.ts


@method("chat.postMessage", SPECIAL)
async def chat_post_message(call: Call) -> dict[str, Any]:
    channel = call.channel()
    check_can_post(call, channel)
    text = call.arg("text")
    blocks = blocks_arg(call)
    attachments = attachments_arg(call)
    if not text and not blocks and not attachments:
        raise SlackError("no_text")
    thread_ts = thread_arg(call, channel)
    metadata = call.json("metadata")
    # unfurl_links / unfurl_media / mrkdwn / link_names are read as Slack reads booleans (a bad one
    # is invalid_arguments); the sandbox does not unfurl. parse is accepted.
    for key in ("unfurl_links", "unfurl_media", "mrkdwn", "link_names"):
        call.flag(key)
    msg = call.core.post_message(
        channel,
        user=call.ws.bot.user_id,
        text=text or "",
        blocks=blocks,
        attachments=attachments,
        thread_ts=thread_ts,
        reply_broadcast=call.flag("reply_broadcast"),
        metadata=metadata if isinstance(metadata, dict) else None,
    )
    return {"channel": channel.id, "ts": msg.ts, "message": call.ws.message_to_slack(msg)}


@method("chat.update", 3)
async def chat_update(call: Call) -> dict[str, Any]:
    channel = call.channel()
    msg = call.message(channel)
    if msg.user != call.ws.bot.user_id:
        raise SlackError("cant_update_message")
    text = call.arg("text")
    blocks = blocks_arg(call)
    attachments = attachments_arg(call)
    if text is None and blocks is None and attachments is None:
        raise SlackError("no_text")
    call.core.update_message(
        msg, text=text, blocks=blocks, attachments=attachments, editor=call.ws.bot.user_id
    )
    return {
        "channel": channel.id,
        "ts": msg.ts,
        "text": msg.text,
        "message": call.ws.message_to_slack(msg),
    }


@method("chat.delete", 3)
async def chat_delete(call: Call) -> dict[str, Any]:
    channel = call.channel()
    msg = call.message(channel)
    if msg.user != call.ws.bot.user_id:
        raise SlackError("cant_delete_message")
    call.core.delete_message(channel, msg.ts)
    return {"channel": channel.id, "ts": msg.ts}


@method("chat.postEphemeral", 4)
async def chat_post_ephemeral(call: Call) -> dict[str, Any]:
    channel = call.channel()
    user = call.user()
    if user.id not in channel.members:
        raise SlackError("user_not_in_channel")
    text = call.arg("text")
    blocks = blocks_arg(call)
    if not text and not blocks:
        raise SlackError("no_text")
    eph = call.core.post_ephemeral(
        channel,
        user.id,
        text=text or "",
        blocks=blocks,
        thread_ts=call.arg("thread_ts"),
        source="chat.postEphemeral",
        sender=call.ws.bot.user_id,
    )
    return {"message_ts": eph.ts}


@method("chat.getPermalink", 4)
async def chat_get_permalink(call: Call) -> dict[str, Any]:
    channel = call.channel(allow_archived=True)
    ts = call.arg("message_ts")
    msg = channel.messages.get(ts or "")
    if msg is None:
        raise SlackError("message_not_found")
    base = call.core.base_url
    link = f"{base}/#/{channel.id}/p{msg.ts.replace('.', '')}"
    if msg.thread_ts and msg.thread_ts != msg.ts:
        link += f"?thread_ts={msg.thread_ts}&cid={channel.id}"
    return {"channel": channel.id, "permalink": link}
