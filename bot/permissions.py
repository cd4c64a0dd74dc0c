"""Who may do what: the policy maps permissions to principals; checked on every command and click,
for the person who acted."""

from __future__ import annotations

import logging

from bot.context import AppContext
from bot.core.state import Refused
from bot.directory import user_groups

log = logging.getLogger(__name__)
PERMISSIONS = ("declare", "update", "escalate", "resolve", "remediate", "silence", "private", "admin")


class Denied(Refused):
    def __init__(self, user: str, permission: str) -> None:
        super().__init__(
            f"You need the `{permission}` permission for this. Ask an admin to add you (or one of your "
            f"groups) under `permissions.{permission}` in the policy."
        )
        self.user = user
        self.permission = permission


async def allowed(ctx: AppContext, user: str, permission: str) -> bool:
    principals = list(getattr(ctx.policy.permissions, permission, []))
    if permission != "admin":
        principals += ctx.policy.permissions.admin
    if "*" in principals or user in principals:
        return True
    handles = {p.lstrip("@") for p in principals if p.startswith("@")}
    if handles and handles & await user_groups(ctx, user):
        return True
    emails = [p for p in principals if "@" in p and not p.startswith("@")]
    if emails:
        resp = await ctx.gateway.call("users.info", user=user)
        email = ((resp.get("user") or {}).get("profile") or {}).get("email")
        if email and email in emails:
            return True
    return False


async def require(ctx: AppContext, user: str, permission: str) -> None:
    if not await allowed(ctx, user, permission):
        log.info("permission denied", extra={"user": user, "permission": permission})
        raise Denied(user, permission)
