"""The audit trail: commands, clicks and state changes in a Redis stream; `chatops audit` prints it."""

from __future__ import annotations

import asyncio
import io
import json
from argparse import Namespace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot import audit
from bot.audit_cli import run
from chatops.main import main
from tests.conftest import REDIS_URL, BotProcess, eventually


async def _announcement(sandbox: Any) -> dict[str, Any]:
    async def found() -> list[dict[str, Any]]:
        return [m for m in sandbox.messages("incidents") if m.get("blocks")]

    return (await eventually(found))[-1]


async def _flow(bot: BotProcess, sandbox: Any) -> None:
    await sandbox.command("alice", "incidents", "/incident", 'create critical "Payments failing"')
    msg = await _announcement(sandbox)
    await sandbox.click("bob", "incidents", msg["ts"], "incident_ack")
    await sandbox.command("bob", "incidents", "/status", "update INC-1 identified Bad deploy")

    async def updated() -> bool:  # the ack comes first, the work after: wait before resolving
        return len((await bot.ctx.store.get("INC-1")).updates) == 1

    await eventually(updated)
    await sandbox.command("alice", "incidents", "/incident", "resolve INC-1 rolled back")
    await sandbox.command("alice", "incidents", "/incident", "create nonsense x")  # a usage answer

    async def resolved_recorded() -> list[Any]:
        recs = await audit.read(bot.ctx.redis, bot.ctx.keys)
        return recs if any(r.action == "incident.resolved" for r in recs) else []

    await eventually(resolved_recorded)


async def test_every_change_is_in_the_trail(bot: BotProcess, sandbox: Any) -> None:
    await _flow(bot, sandbox)
    alice, bob = (sandbox.user_by_name(n)["id"] for n in ("alice", "bob"))
    recs = await audit.read(bot.ctx.redis, bot.ctx.keys)
    seen = {(r.actor, r.action, r.outcome) for r in recs}
    assert (alice, "/incident create", "ok") in seen
    assert (alice, "incident.declared", "ok") in seen
    assert (bob, "button incident_ack", "ok") in seen
    assert (bob, "incident.acknowledged", "ok") in seen
    assert (bob, "/status update", "ok") in seen
    assert (bob, "incident.status_updated", "ok") in seen
    assert (alice, "incident.resolved", "ok") in seen
    assert (alice, "/incident create", "usage") in seen
    for r in recs:
        assert r.at.tzinfo is not None and r.id
    about_inc1 = [r for r in recs if r.incident == "INC-1"]
    assert {r.action for r in about_inc1} >= {"incident.declared", "incident.resolved", "/status update"}
    ack = next(r for r in recs if r.action == "incident.acknowledged")
    assert ack.channel  # where: the war room
    assert ack.data["status"] == "investigating"


async def test_other_parts_record_and_filters_work(bot: BotProcess, sandbox: Any) -> None:
    await audit.record(
        bot.ctx, actor="U0ALICE001", action="page", incident="INC-7", detail="PagerDuty", level=1
    )
    await audit.record(bot.ctx, actor="U0BOB00002", action="remediate", incident="INC-8", outcome="error")
    only7 = await audit.read(bot.ctx.redis, bot.ctx.keys, incident="INC-7")
    assert [(r.action, r.data) for r in only7] == [("page", {"level": 1})]
    future = await audit.read(bot.ctx.redis, bot.ctx.keys, since=datetime.now(UTC) + timedelta(minutes=1))
    assert future == []


async def test_a_failed_write_does_not_break_the_caller(bot: BotProcess) -> None:
    import redis.asyncio as aioredis

    dead = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    rec = audit.AuditRecord(at=datetime.now(UTC), actor="U1", action="page")
    assert await audit.append(dead, bot.ctx.keys, rec) is None
    await dead.aclose()


async def test_cli_prints_table_and_json(bot: BotProcess, sandbox: Any) -> None:
    await _flow(bot, sandbox)
    settings = bot.ctx.settings
    out = io.StringIO()
    args = Namespace(since=datetime.now(UTC) - timedelta(hours=1), incident="INC-1", json=False)
    assert await asyncio.to_thread(run, args, out, settings) == 0
    table = out.getvalue().splitlines()
    assert table[0].split()[:4] == ["AT", "ACTOR", "ACTION", "OUTCOME"]
    assert any("incident.resolved" in line and "INC-1" in line for line in table)
    assert not any("usage" in line.split() for line in table[1:])  # the usage answer named no incident

    out = io.StringIO()
    args = Namespace(since=datetime.now(UTC) - timedelta(hours=1), incident=None, json=True)
    assert await asyncio.to_thread(run, args, out, settings) == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert {"at", "actor", "action", "outcome", "incident", "channel"} <= set(lines[0])
    assert any(line["outcome"] == "usage" for line in lines)


async def test_chatops_audit_command(
    bot: BotProcess, sandbox: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    await _flow(bot, sandbox)
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    monkeypatch.setenv("CHATOPS_REDIS_PREFIX", bot.prefix)
    # main() runs its own event loop: run it in a thread, as the console script would
    code = await asyncio.to_thread(main, ["audit", "--since", "1h", "--incident", "inc-1", "--json"])
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines and all(line["incident"] == "INC-1" for line in lines)
    code = await asyncio.to_thread(main, ["audit", "--since", "1h"])
    assert code == 0
    assert "incident.declared" in capsys.readouterr().out
