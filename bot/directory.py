"""Looking up Slack people: principals (user IDs, @group handles, e-mails) to user IDs, and a
user's groups. Answers are cached in Redis for a few minutes so replicas share them. (Channel names
to IDs: ``ctx.slack.channel_id`` in bot/slack/layer.py, the one channel cache.)"""

from __future__ import annotations

import logging
import re

from bot.context import AppContext
from bot.slack.errors import SlackCallError

log = logging.getLogger(__name__)
CACHE_TTL = 300
_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


async def _group_members(ctx: AppContext, handle: str) -> list[str]:
    resp = await ctx.gateway.call("usergroups.list")
    for group in resp.get("usergroups", []):
        if group.get("handle") == handle or group.get("id") == handle:
            users = await ctx.gateway.call("usergroups.users.list", usergroup=group["id"])
            return list(users.get("users", []))
    log.warning("user group @%s not found", handle)
    return []


async def resolve_principals(ctx: AppContext, principals: list[str]) -> tuple[list[str], list[str]]:
    """User IDs for principals, plus one line per principal that could not be resolved."""
    users: list[str] = []
    problems: list[str] = []
    for p in principals:
        p = p.strip()
        try:
            if _USER.match(p):
                users.append(p)
            elif p.startswith("@") or p.startswith("S"):
                members = await _group_members(ctx, p.lstrip("@"))
                if not members:
                    problems.append(f"user group `{p}` not found or empty")
                users.extend(members)
            elif "@" in p:
                resp = await ctx.gateway.call("users.lookupByEmail", email=p)
                users.append(resp["user"]["id"])
            else:
                problems.append(f"`{p}` is not a user ID, @group or e-mail")
        except SlackCallError as exc:
            problems.append(f"`{p}`: {exc.error}")
    return list(dict.fromkeys(users)), problems


async def user_groups(ctx: AppContext, user_id: str) -> set[str]:
    """Handles of the user groups a user belongs to (for permission checks), cached."""
    key = ctx.keys.custom("cache", "usergroups", user_id)
    cached = await ctx.redis.smembers(key)  # type: ignore[misc]
    if cached:
        return {c for c in cached if c != "-"}
    handles: set[str] = set()
    resp = await ctx.gateway.call("usergroups.list", include_users=True)
    for group in resp.get("usergroups", []):
        members = group.get("users")
        if members is None:
            members = (await ctx.gateway.call("usergroups.users.list", usergroup=group["id"])).get(
                "users", []
            )
        if user_id in members:
            handles.add(group.get("handle", group["id"]))
    await ctx.redis.sadd(key, *(handles or {"-"}))  # type: ignore[misc]
    await ctx.redis.expire(key, CACHE_TTL)
    return handles
