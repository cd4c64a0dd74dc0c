"""Permissions on every command and button, for the person who acted; denials are audited."""

from __future__ import annotations

from typing import Any

import pytest

from bot.audit import read
from tests.conftest import BotProcess, eventually


@pytest.fixture
def bot_policy() -> str:
    # the sandbox seeds @sre-oncall = alice, bob; frank is an intern
    return "permissions:\n  resolve: ['@sre-oncall']\n  remediate: ['U0ALICE001']\n"


def _ephemeral_texts(sandbox: Any, user: str) -> list[str]:
    out = []
    for e in sandbox.ephemerals(user):
        parts = [e.get("text") or ""]
        parts += [str((b.get("text") or {}).get("text", "")) for b in e.get("blocks") or []]
        out.append("\n".join(parts))
    return out


async def _announcement(sandbox: Any) -> dict[str, Any]:
    async def found() -> list[dict[str, Any]]:
        return [m for m in sandbox.messages("incidents") if m.get("blocks")]

    return (await eventually(found))[-1]


async def _records(bot: BotProcess, outcome: str) -> list[Any]:
    return [r for r in await read(bot.ctx.redis, bot.ctx.keys) if r.outcome == outcome]


async def test_resolve_button_needs_the_group(bot: BotProcess, sandbox: Any) -> None:
    # frank may declare (default: anyone), but not resolve
    await sandbox.command("frank", "incidents", "/incident", 'create medium "Login page slow"')
    msg = await _announcement(sandbox)

    res = await sandbox.click("frank", "incidents", msg["ts"], "incident_resolve")
    assert res["ok"]
    denied = await eventually(
        lambda: _async([t for t in _ephemeral_texts(sandbox, "frank") if "permission" in t])
    )
    assert "`resolve`" in denied[0]
    assert not (await bot.ctx.store.get("INC-1")).is_resolved
    recs = await eventually(lambda: _records(bot, "denied"))
    assert recs[0].actor == sandbox.user_by_name("frank")["id"]
    assert recs[0].action == "button incident_resolve"
    assert recs[0].incident == "INC-1"
    assert "resolve" in recs[0].detail

    # bob posted nothing, but he is in @sre-oncall: his click counts, for him
    await sandbox.click("bob", "incidents", msg["ts"], "incident_resolve")

    async def resolved() -> bool:
        return (await bot.ctx.store.get("INC-1")).is_resolved

    await eventually(resolved)
    inc = await bot.ctx.store.get("INC-1")
    assert inc.resolved_by == sandbox.user_by_name("bob")["id"]


async def test_resolve_command_needs_the_group(bot: BotProcess, sandbox: Any) -> None:
    await sandbox.command("alice", "incidents", "/incident", 'create medium "Search down"')
    await _announcement(sandbox)
    await sandbox.command("frank", "incidents", "/incident", "resolve INC-1 fixed it")
    denied = await eventually(
        lambda: _async([t for t in _ephemeral_texts(sandbox, "frank") if "permission" in t])
    )
    assert "`resolve`" in denied[0]
    assert not (await bot.ctx.store.get("INC-1")).is_resolved
    recs = await eventually(lambda: _records(bot, "denied"))
    assert recs[0].action == "/incident resolve"
    assert recs[0].incident == "INC-1"

    await sandbox.command("alice", "incidents", "/incident", "resolve INC-1 fixed it")

    async def resolved() -> bool:
        return (await bot.ctx.store.get("INC-1")).is_resolved

    await eventually(resolved)


async def test_permission_checks_follow_the_policy(bot: BotProcess, sandbox: Any) -> None:
    from bot.permissions import allowed

    ids = {n: sandbox.user_by_name(n)["id"] for n in ("alice", "bob", "frank")}
    ctx = bot.ctx
    assert await allowed(ctx, ids["frank"], "declare")  # default: anyone
    assert await allowed(ctx, ids["frank"], "update")
    assert not await allowed(ctx, ids["frank"], "resolve")
    assert await allowed(ctx, ids["bob"], "resolve")
    assert await allowed(ctx, ids["alice"], "remediate")
    assert not await allowed(ctx, ids["bob"], "remediate")  # remediate: nobody unless named
    assert not await allowed(ctx, ids["alice"], "admin")


async def _async(value: Any) -> Any:
    return value
