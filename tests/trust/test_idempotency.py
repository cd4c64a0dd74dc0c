"""Slack retries and double clicks never create a second incident, post or acknowledgement."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.audit import read
from tests.conftest import BotProcess, eventually
from tests.trust.conftest import stop_bounded
from tests.trust.slack import action_body, command_body, post_signed


async def _announcements(sandbox: Any) -> list[dict[str, Any]]:
    return [m for m in sandbox.messages("incidents") if m.get("blocks")]


async def test_retried_command_creates_one_incident(bot: BotProcess, sandbox: Any) -> None:
    body = command_body(sandbox, "alice", "incidents", "/incident", 'create medium "Disk almost full"')
    url = f"{bot.url}/slack/events"
    assert (await post_signed(url, body, sandbox.signing_secret))[0] == 200
    # Slack did not see the ack in time: the same bytes again, with its retry headers
    assert (await post_signed(url, body, sandbox.signing_secret, retry=1))[0] == 200
    assert (await post_signed(url, body, sandbox.signing_secret, retry=2))[0] == 200
    await eventually(lambda: _announcements(sandbox))
    incidents = await bot.ctx.store.list(include_resolved=True)
    assert [i.id for i in incidents] == ["INC-1"]
    # the duplicates are in the audit trail, the incident is announced once
    records = await eventually(lambda: _duplicates(bot))
    assert len(records) == 2
    assert len(await _announcements(sandbox)) == 1


async def _duplicates(bot: BotProcess) -> list[Any]:
    recs = await read(bot.ctx.redis, bot.ctx.keys)
    return [r for r in recs if r.outcome == "duplicate" and r.action == "/incident create"]


async def test_retry_to_another_replica_is_ignored_too(
    bot: BotProcess, sandbox: Any, redis_prefix: str, tmp_path: Any
) -> None:
    other = BotProcess(sandbox, redis_prefix, None, tmp_path)
    await other.start()
    try:
        body = command_body(sandbox, "alice", "incidents", "/incident", 'create medium "Queue backlog"')
        assert (await post_signed(f"{bot.url}/slack/events", body, sandbox.signing_secret))[0] == 200
        assert (await post_signed(f"{other.url}/slack/events", body, sandbox.signing_secret, retry=1))[
            0
        ] == 200
        await eventually(lambda: _announcements(sandbox))
        assert [i.id for i in await bot.ctx.store.list(include_resolved=True)] == ["INC-1"]
        assert len(await eventually(lambda: _duplicates(bot))) == 1
    finally:
        await stop_bounded(other)


async def _declared(bot: BotProcess, sandbox: Any) -> dict[str, Any]:
    await sandbox.command("alice", "incidents", "/incident", 'create medium "Slow search"')
    msgs = await eventually(lambda: _announcements(sandbox))
    return msgs[-1]


def _texts(sandbox: Any, user: str) -> list[str]:
    out = []
    for e in sandbox.ephemerals(user):
        out.append(e.get("text") or "")
        for b in e.get("blocks") or []:
            out.append(str((b.get("text") or {}).get("text", "")))
    return out


async def test_double_click_acknowledges_once(bot: BotProcess, sandbox: Any) -> None:
    msg = await _declared(bot, sandbox)
    before = len(sandbox.ephemerals("bob"))
    first, second = await asyncio.gather(
        sandbox.click("bob", "incidents", msg["ts"], "incident_ack"),
        sandbox.click("bob", "incidents", msg["ts"], "incident_ack"),
    )
    assert first["ok"] and second["ok"]

    async def two_replies() -> list[dict[str, Any]]:
        new = sandbox.ephemerals("bob")[before:]
        return new if len(new) >= 2 else []

    replies = await eventually(two_replies)
    texts = " ".join(_texts(sandbox, "bob"))
    assert sum("You acknowledged INC-1" in str(e) for e in replies) == 1
    assert "already" in texts
    assert len(replies) == 2
    inc = await bot.ctx.store.get("INC-1")
    assert inc.acknowledged_by == sandbox.user_by_name("bob")["id"]
    acks = [e for e in await bot.ctx.store.timeline("INC-1") if e.kind == "acknowledged"]
    assert len(acks) == 1


async def test_retried_click_is_run_once_and_answered_once(bot: BotProcess, sandbox: Any) -> None:
    msg = await _declared(bot, sandbox)
    body = action_body(sandbox, "carol", "incidents", msg, "incident_ack")
    url = f"{bot.url}/slack/events"
    assert (await post_signed(url, body, sandbox.signing_secret))[0] == 200
    assert (await post_signed(url, body, sandbox.signing_secret, retry=1))[0] == 200

    async def acked() -> bool:
        return any("You acknowledged INC-1" in t for t in _texts(sandbox, "carol"))

    await eventually(acked)
    # the retry produced no second reply and no second timeline entry
    recs = await eventually(lambda: _button_records(bot))
    assert [r.outcome for r in recs] == ["ok"]
    assert len(sandbox.ephemerals("carol")) == 1
    acks = [e for e in await bot.ctx.store.timeline("INC-1") if e.kind == "acknowledged"]
    assert len(acks) == 1


async def _button_records(bot: BotProcess) -> list[Any]:
    return [r for r in await read(bot.ctx.redis, bot.ctx.keys) if r.action == "button incident_ack"]


async def test_two_people_clicking_get_one_acknowledgement(bot: BotProcess, sandbox: Any) -> None:
    msg = await _declared(bot, sandbox)
    await asyncio.gather(
        sandbox.click("bob", "incidents", msg["ts"], "incident_ack"),
        sandbox.click("carol", "incidents", msg["ts"], "incident_ack"),
    )

    async def both_answered() -> bool:
        return bool(_texts(sandbox, "bob")) and bool(_texts(sandbox, "carol"))

    await eventually(both_answered)
    texts = _texts(sandbox, "bob") + _texts(sandbox, "carol")
    assert sum("You acknowledged INC-1" in t for t in texts) == 1
    assert any("already acknowledged" in t for t in texts)
