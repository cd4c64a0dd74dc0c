"""People's names for documents that leave Slack (the review file): users.info through the gateway,
cached in Redis for a day so replicas share the answers. Mentions in Slack text become names."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from bot import text as stext
from bot.context import AppContext
from bot.slack.errors import SlackCallError

log = logging.getLogger(__name__)
CACHE_TTL = 86_400
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def is_user_id(value: str | None) -> bool:
    return bool(value and USER_ID.match(value))


def _name_of(user: dict) -> str:
    profile = user.get("profile") or {}
    return str(
        profile.get("real_name")
        or user.get("real_name")
        or profile.get("display_name")
        or user.get("name")
        or ""
    )


async def display_names(ctx: AppContext, ids: Iterable[str]) -> dict[str, str]:
    """User id -> real name (or the id itself when Slack does not know the user)."""
    wanted = list(dict.fromkeys(i for i in ids if is_user_id(i)))
    if not wanted:
        return {}
    key = ctx.keys.custom("cache", "usernames")
    cached = await ctx.redis.hmget(key, wanted)  # type: ignore[misc]
    names = {uid: str(n) for uid, n in zip(wanted, cached, strict=True) if n}
    fresh: dict[str, str] = {}
    for uid in wanted:
        if uid in names:
            continue
        try:
            fresh[uid] = _name_of(await ctx.slack.user_info(uid)) or uid  # a read
        except SlackCallError as exc:
            log.warning("users.info %s failed: %s; using the id", uid, exc.error)
            names[uid] = uid
    if fresh:
        await ctx.redis.hset(key, mapping=fresh)  # type: ignore[misc]
        await ctx.redis.expire(key, CACHE_TTL)
        names.update(fresh)
    return names


def mentioned_users(text: str) -> list[str]:
    return [s.user_id for s in stext.decode(text, names=False).segments if isinstance(s, stext.UserMention)]


def _plain_named(seg: stext.Segment, names: dict[str, str]) -> str:
    match seg:
        case stext.UserMention(user_id, label):
            return "@" + names.get(user_id, label or user_id)
        case stext.Link(url, label) if label:
            return f"{label} ({url})"  # the document leaves Slack: the address stays readable
    return stext.SlackText((seg,)).plain()


def slack_to_plain(text: str, names: dict[str, str]) -> str:
    """Slack mrkdwn markup (mentions, channel links, dates, links) as plain words, people by name
    (Slack's one decoder, bot/text.py)."""
    return "".join(_plain_named(s, names) for s in stext.decode(text, names=False).segments)
