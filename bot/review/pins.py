"""Pinning war-room messages to the incident's timeline with a reaction (📌 by default).

The reacted-to message is fetched through the gateway (conversations.history, or
conversations.replies for a thread reply), recorded once per message (a Redis set guards against
Slack's retries and second reactions), and the person who reacted is told ephemerally.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.blocks import clip
from bot.context import AppContext
from bot.core import state
from bot.core.models import TimelineEntry
from bot.review.document import PINNED
from bot.review.workflow import records
from bot.slack.errors import SlackCallError

log = logging.getLogger(__name__)
PINNED_TEXT_MAX = 500


@dataclass
class PinResult:
    incident_id: str
    entry: TimelineEntry | None  # None when the message was already on the timeline


async def fetch_message(ctx: AppContext, channel: str, ts: str) -> dict[str, Any] | None:
    return await ctx.slack.message(channel, ts)  # a read


def _message_time(ts: str) -> datetime:
    return datetime.fromtimestamp(float(ts), UTC)


async def pin_message(ctx: AppContext, incident_id: str, channel: str, ts: str, pinned_by: str) -> PinResult:
    rec = records(ctx)
    if not await rec.claim_pin(incident_id, channel, ts):
        return PinResult(incident_id, None)
    try:
        msg = await fetch_message(ctx, channel, ts)
        if msg is None:
            raise state.Refused("That message could not be found (deleted?); nothing was added.")
        try:
            link = await ctx.slack.permalink(channel, ts)  # a read
        except SlackCallError as exc:
            log.warning("permalink for %s/%s failed: %s", channel, ts, exc.error)
            link = None
        author = str(msg.get("user") or msg.get("bot_id") or "someone")
        text = " ".join(str(msg.get("text") or "").split()) or "(no text)"
        entry = TimelineEntry(
            at=_message_time(ts),
            actor=author,
            kind=PINNED,
            text=clip(text, PINNED_TEXT_MAX),
            data={"channel": channel, "ts": ts, "permalink": link, "pinned_by": pinned_by},
        )
        await ctx.store.apply(incident_id, state.record(entry))
    except BaseException:
        await rec.release_pin(incident_id, channel, ts)  # so a later reaction can try again
        raise
    return PinResult(incident_id, entry)


async def on_reaction(ctx: AppContext, event: dict[str, Any]) -> PinResult | None:
    """A ``reaction_added`` event: pins when it is the policy's emoji on a war-room message."""
    if event.get("reaction") != ctx.policy.review.pin_emoji:
        return None
    item = event.get("item") or {}
    if item.get("type") != "message":
        return None
    channel, ts, user = (
        str(item.get("channel") or ""),
        str(item.get("ts") or ""),
        str(event.get("user") or ""),
    )
    if not channel or not ts:
        log.warning("reaction_added without a channel or ts: %s", event)
        return None
    incident_id = await ctx.store.incident_for_channel(channel)
    if incident_id is None:
        return None  # not a war room: a pushpin elsewhere means nothing to us
    try:
        result = await pin_message(ctx, incident_id, channel, ts, user)
    except (state.Refused, SlackCallError) as exc:
        reason = exc.error if isinstance(exc, SlackCallError) else str(exc)
        log.warning("%s: pinning %s/%s failed: %s", incident_id, channel, ts, reason)
        await _tell(
            ctx, channel, user, f":warning: Could not add that message to {incident_id}'s timeline: {reason}"
        )
        return None
    if result.entry is not None and ctx.policy.review.pin_confirm:
        await _tell(
            ctx,
            channel,
            user,
            f":{ctx.policy.review.pin_emoji}: Added to {incident_id}'s timeline. "
            f"`/incident timeline {incident_id}` shows it.",
        )
    return result


async def _tell(ctx: AppContext, channel: str, user: str, text: str) -> None:
    if not user:
        return
    try:
        # direct: an ephemeral answer to the person's own reaction (only they see it)
        await ctx.slack.post_ephemeral(channel, user, text)
    except SlackCallError as exc:
        log.warning("ephemeral to %s in %s failed: %s", user, channel, exc.error)
