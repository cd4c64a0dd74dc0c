"""auth.test, users.* and usergroups.* methods."""

from __future__ import annotations

from typing import Any

from sandbox.pagination import paginate
from sandbox.webapi import Call, SlackError, method


@method("auth.test", 4)
async def auth_test(call: Call) -> dict[str, Any]:
    ws = call.ws
    return {
        "url": f"{call.core.base_url}/",
        "team": ws.team_name,
        "user": ws.bot.name,
        "team_id": ws.team_id,
        "user_id": ws.bot.user_id,
        "bot_id": ws.bot.bot_id,
        "app_id": ws.bot.app_id,
        "is_enterprise_install": False,
    }


@method("users.info", 4)
async def users_info(call: Call) -> dict[str, Any]:
    user = call.user()
    return {"user": user.to_slack(call.ws.team_id)}


@method("users.list", 2)
async def users_list(call: Call) -> dict[str, Any]:
    users = list(call.ws.users.values())
    page, meta = paginate(users, call.arg("cursor"), call.number("limit", 100))
    return {
        "members": [u.to_slack(call.ws.team_id) for u in page],
        "cache_ts": int(call.core.clock.now()),
        "response_metadata": meta,
    }


@method("users.lookupByEmail", 3)
async def users_lookup_by_email(call: Call) -> dict[str, Any]:
    email = (call.arg("email") or "").strip().lower()
    if not email:
        raise SlackError(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: email"]}
        )
    for user in call.ws.users.values():
        if (user.email or "").lower() == email and not user.deleted:
            return {"user": user.to_slack(call.ws.team_id)}
    raise SlackError("users_not_found")


@method("usergroups.list", 2)
async def usergroups_list(call: Call) -> dict[str, Any]:
    include_users = call.flag("include_users")
    return {
        "usergroups": [
            g.to_slack(call.ws.team_id, include_users=include_users) for g in call.ws.usergroups.values()
        ]
    }


@method("usergroups.users.list", 2)
async def usergroups_users_list(call: Call) -> dict[str, Any]:
    group = call.ws.usergroups.get(call.arg("usergroup") or "")
    if group is None:
        raise SlackError("no_such_subteam")
    return {"users": list(group.users)}
