"""One pipeline for every listener: a slash command, a button, a shortcut, a modal submission and an
event are each permission-checked for the person who acted and land in the audit trail; the answer
goes where that person is; a modal acks first and finishes after; anything unexpected carries an
error id; requests nobody listens to are acknowledged, never a 404 that Slack would retry.

The policy gives `resolve` to @sre-oncall (alice and bob in the sandbox's seed); frank, an intern,
may declare and update (the defaults) but not resolve.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from bot import listeners
from bot.audit import AuditRecord, read
from bot.blocks import message
from bot.escalation import reminders
from bot.escalation.runtime import runtime
from bot.listeners import Reply, ShortcutUse, SlackEvent, Submission
from bot.permissions import Denied
from tests.conftest import BotProcess, eventually
from tests.escalation.policies import policy
from tests.trust.slack import post_signed

REMINDERS = """
  reminders:
    cadence: {high: 30m}
    snooze: 30m
    repeat: false
"""
PERMISSIONS = "permissions:\n  resolve: ['@sre-oncall']\n"
BROKEN_MODAL = "test_listeners_broken"
SLOW_MODAL = "test_listeners_slow"


@pytest.fixture
def bot_policy() -> str:
    return policy("  timers: []" + REMINDERS, PERMISSIONS)


# --------------------------------------------------------------------------------------------
# listeners registered for these tests only (the bot ships no shortcut or event listener yet)


@pytest.fixture
def test_listeners() -> Iterator[asyncio.Event]:
    """A message and a global shortcut and an app_mention event that need `resolve`, a modal whose
    check fails unexpectedly, and a modal whose work waits for the returned event."""
    release = asyncio.Event()

    @listeners.shortcut("test_listeners_note", permission="resolve")
    async def note(use: ShortcutUse) -> Reply:
        where = f"message {use.message['ts']}" if use.message else "no message"
        return Reply(message(f"shortcut ran for <@{use.user_id}> ({where})"), text="shortcut ran")

    @listeners.shortcut("test_listeners_global", permission="resolve")
    async def global_note(use: ShortcutUse) -> Reply:
        return Reply(message(f"global shortcut ran, trigger {bool(use.trigger_id)}"), text="global ran")

    @listeners.event("app_mention", permission="resolve")
    async def mentioned(event: SlackEvent) -> Reply:
        return Reply(message(f"heard you in <#{event.channel_id}>"), text="heard you")

    @listeners.view_submission(BROKEN_MODAL, permission="update")
    async def broken(sub: Submission) -> listeners.FieldErrors:
        raise RuntimeError("a bug in the check")

    @listeners.view_submission(SLOW_MODAL, permission="update")
    async def slow(sub: Submission) -> listeners.Finish:
        async def finish() -> Reply:
            await release.wait()
            return Reply(message(f"slow work done: {sub.text('what')}"), text="slow work done")

        return finish

    yield release
    for registry, key in (
        (listeners.SHORTCUTS, "test_listeners_note"),
        (listeners.SHORTCUTS, "test_listeners_global"),
        (listeners.EVENTS, "app_mention"),
        (listeners.VIEWS, BROKEN_MODAL),
        (listeners.VIEWS, SLOW_MODAL),
    ):
        registry.pop(key, None)


# --------------------------------------------------------------------------------------------
# helpers


def uid(sandbox: Any, name: str) -> str:
    return str(sandbox.user_by_name(name)["id"])


def texts(items: list[dict[str, Any]]) -> list[str]:
    out = []
    for item in items:
        parts = [item.get("text") or ""]
        parts += [str((b.get("text") or {}).get("text", "")) for b in item.get("blocks") or []]
        out.append("\n".join(parts))
    return out


def dms(sandbox: Any, name: str) -> list[str]:
    ws = sandbox.core.workspace
    channel = ws.dm_channel(ws.find_user(name))
    return texts(sandbox.messages(channel.id))


async def records(bot: BotProcess, action: str) -> list[AuditRecord]:
    return [r for r in await read(bot.ctx.redis, bot.ctx.keys) if r.action == action]


async def audited(bot: BotProcess, action: str, actor: str, outcome: str) -> AuditRecord:
    async def found() -> list[AuditRecord]:
        return [r for r in await records(bot, action) if r.actor == actor and r.outcome == outcome]

    return (await eventually(found))[0]


async def wait_for(values: Any, pattern: str) -> str:
    async def found() -> list[str]:
        return [t for t in values() if re.search(pattern, t)]

    return (await eventually(found))[-1]


async def declare(bot: BotProcess, sandbox: Any, title: str = "Checkout errors") -> dict[str, Any]:
    await sandbox.command("alice", "incidents", "/incident", f'create high "{title}"')

    async def announced() -> list[dict[str, Any]]:
        return [m for m in sandbox.messages("incidents") if m.get("blocks") and title in str(m)]

    return (await eventually(announced))[-1]


async def open_modal(bot: BotProcess, sandbox: Any, user: str, callback_id: str) -> str:
    """Open a modal for ``user`` the way a click would: a fresh trigger, then views.open."""
    trigger = sandbox.core.issue_trigger(uid(sandbox, user), None)
    view = {
        "type": "modal",
        "callback_id": callback_id,
        "title": {"type": "plain_text", "text": "Test"},
        "submit": {"type": "plain_text", "text": "Go"},
        "blocks": [
            {
                "type": "input",
                "block_id": "what",
                "label": {"type": "plain_text", "text": "What"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
    }
    resp = await bot.ctx.gateway.call("views.open", trigger_id=trigger, view=view)
    return str(resp["view"]["id"])


async def is_resolved(bot: BotProcess, incident_id: str) -> bool:
    return bool((await bot.ctx.store.get(incident_id)).is_resolved)


# --------------------------------------------------------------------------------------------
# each listener kind: checked for the person who acted, audited either way


async def test_a_command_is_checked_and_audited(bot: BotProcess, sandbox: Any) -> None:
    await declare(bot, sandbox)
    # /status update needs `update` (frank has it) and resolving through it needs `resolve`
    await sandbox.command("frank", "incidents", "/status", "update INC-1 resolved all good now")
    denied = await wait_for(lambda: texts(sandbox.ephemerals("frank")), "permission")
    assert "`resolve`" in denied
    rec = await audited(bot, "/status update", uid(sandbox, "frank"), "denied")
    assert rec.incident == "INC-1" and "resolve" in rec.detail
    assert not await is_resolved(bot, "INC-1")

    await sandbox.command("frank", "incidents", "/status", "update INC-1 identified bad deploy found")
    await audited(bot, "/status update", uid(sandbox, "frank"), "ok")
    await sandbox.command("bob", "incidents", "/status", "update INC-1 resolved rolled back")
    await audited(bot, "/status update", uid(sandbox, "bob"), "ok")
    await eventually(lambda: is_resolved(bot, "INC-1"))


async def test_a_button_is_checked_and_audited(bot: BotProcess, sandbox: Any) -> None:
    msg = await declare(bot, sandbox)
    await sandbox.click("frank", "incidents", msg["ts"], "incident_resolve")
    assert "`resolve`" in await wait_for(lambda: texts(sandbox.ephemerals("frank")), "permission")
    rec = await audited(bot, "button incident_resolve", uid(sandbox, "frank"), "denied")
    assert rec.incident == "INC-1" and rec.channel == sandbox.channel_by_name("incidents")["id"]
    assert not await is_resolved(bot, "INC-1")

    await sandbox.click("bob", "incidents", msg["ts"], "incident_resolve")
    await audited(bot, "button incident_resolve", uid(sandbox, "bob"), "ok")
    await eventually(lambda: is_resolved(bot, "INC-1"))


async def test_message_and_global_shortcuts_are_checked_and_audited(
    bot: BotProcess, sandbox: Any, test_listeners: asyncio.Event
) -> None:
    msg = await declare(bot, sandbox)
    # a message shortcut answers on its response_url (an ephemeral where the message is)
    res = await sandbox.actions.shortcut("frank", "test_listeners_note", "incidents", msg["ts"])
    assert res["ok"] and res["status"] == 200
    assert "`resolve`" in await wait_for(
        lambda: texts(sandbox.ephemerals("frank", "incidents")), "permission"
    )
    rec = await audited(bot, "shortcut test_listeners_note", uid(sandbox, "frank"), "denied")
    assert rec.channel == sandbox.channel_by_name("incidents")["id"] and rec.data["message_ts"] == msg["ts"]

    await sandbox.actions.shortcut("bob", "test_listeners_note", "incidents", msg["ts"])
    ran = await wait_for(lambda: texts(sandbox.ephemerals("bob", "incidents")), "shortcut ran")
    assert f"message {msg['ts']}" in ran
    await audited(bot, "shortcut test_listeners_note", uid(sandbox, "bob"), "ok")

    # a global shortcut has no channel and no response_url: the answer is a direct message
    await sandbox.actions.shortcut("frank", "test_listeners_global")
    assert "`resolve`" in await wait_for(lambda: dms(sandbox, "frank"), "permission")
    await audited(bot, "shortcut test_listeners_global", uid(sandbox, "frank"), "denied")
    await sandbox.actions.shortcut("alice", "test_listeners_global")
    assert "trigger True" in await wait_for(lambda: dms(sandbox, "alice"), "global shortcut ran")
    await audited(bot, "shortcut test_listeners_global", uid(sandbox, "alice"), "ok")


async def test_an_event_is_checked_and_audited(
    bot: BotProcess, sandbox: Any, test_listeners: asyncio.Event
) -> None:
    mention = f"<@{sandbox.bot_user_id}> are you there?"
    said = await sandbox.say("frank", "general", mention)
    assert [d["status"] for d in said["deliveries"]] == [200, 200]  # the message and the mention
    general = sandbox.channel_by_name("general")["id"]
    # no response_url for an event: an ephemeral in the event's channel
    assert "`resolve`" in await wait_for(lambda: texts(sandbox.ephemerals("frank", "general")), "permission")
    rec = await audited(bot, "event app_mention", uid(sandbox, "frank"), "denied")
    assert rec.channel == general and rec.data["event_id"].startswith("Ev")

    await sandbox.say("bob", "general", mention)
    assert general in await wait_for(lambda: texts(sandbox.ephemerals("bob", "general")), "heard you")
    await audited(bot, "event app_mention", uid(sandbox, "bob"), "ok")


async def test_the_reminder_modal_needs_resolve_to_resolve(bot: BotProcess, sandbox: Any) -> None:
    await declare(bot, sandbox)
    key = runtime(bot.ctx).store.key("INC-1", "remind")
    token = await eventually(lambda: bot.ctx.redis.get(key))  # declared, war room open, reminder set
    inc = await bot.ctx.store.get("INC-1")
    room = inc.war_room.channel_id
    assert await reminders.fire(bot.ctx, inc.id, token) == "nudged"  # the reminder, now

    async def nudged() -> dict[str, Any] | None:  # the reminder's post goes through the outbox
        return next((m for m in sandbox.messages(room) if "no status update" in str(m.get("text"))), None)

    nudge = await eventually(nudged)

    # frank may update, so the reminder's button opens the modal for him ...
    await sandbox.click("frank", room, nudge["ts"], "escalation_reminder_update")
    modal = (await eventually(lambda: _now(sandbox.views("frank"))))[0]
    result = await sandbox.submit(
        "frank", modal["id"], {"status": {"value": "resolved"}, "message": {"value": "looks fine"}}
    )
    # ... but resolving needs `resolve`: said under the status field, the modal stays open
    assert result["response_action"] == "errors"
    assert "`resolve`" in result["errors"]["status"]
    assert sandbox.views("frank")[0]["id"] == modal["id"]
    rec = await audited(bot, "modal escalation_status_modal", uid(sandbox, "frank"), "denied")
    assert rec.incident == "INC-1" and "resolve" in rec.detail
    assert not await is_resolved(bot, "INC-1")
    assert (await bot.ctx.store.get("INC-1")).updates == []

    # a status that does not resolve is his to post
    result = await sandbox.submit(
        "frank", modal["id"], {"status": {"value": "monitoring"}, "message": {"value": "fix deployed"}}
    )
    assert result["ok"] and result["response_action"] is None and sandbox.views("frank") == []
    await audited(bot, "modal escalation_status_modal", uid(sandbox, "frank"), "ok")

    async def posted() -> bool:
        return [u.status for u in (await bot.ctx.store.get("INC-1")).updates] == ["monitoring"]

    await eventually(posted)

    # the rule lives in the workflow, so no road around the modal's check resolves either
    from bot.incidents import workflow as flow

    with pytest.raises(Denied):
        await flow.update_status(bot.ctx, "INC-1", uid(sandbox, "frank"), "resolved", "sneaky")
    assert not await is_resolved(bot, "INC-1")

    # bob is in @sre-oncall: the same modal resolves for him
    await sandbox.click("bob", room, nudge["ts"], "escalation_reminder_update")
    modal = (await eventually(lambda: _now(sandbox.views("bob"))))[0]
    result = await sandbox.submit(
        "bob", modal["id"], {"status": {"value": "resolved"}, "message": {"value": "error rate normal"}}
    )
    assert result["ok"] and result["response_action"] is None
    await eventually(lambda: is_resolved(bot, "INC-1"))
    await audited(bot, "modal escalation_status_modal", uid(sandbox, "bob"), "ok")


async def test_a_modal_acks_first_and_finishes_after(
    bot: BotProcess, sandbox: Any, test_listeners: asyncio.Event
) -> None:
    view_id = await open_modal(bot, sandbox, "carol", SLOW_MODAL)
    result = await sandbox.submit("carol", view_id, {"what": {"value": "rebuild the index"}})
    # acknowledged and closed while its work is still waiting
    assert result["ok"] and result["response_action"] is None and sandbox.views("carol") == []
    assert not [t for t in dms(sandbox, "carol") if "slow work done" in t]
    test_listeners.set()
    # no response_url for a modal: the answer is a direct message
    assert "rebuild the index" in await wait_for(lambda: dms(sandbox, "carol"), "slow work done")
    await audited(bot, f"modal {SLOW_MODAL}", uid(sandbox, "carol"), "ok")


async def test_a_modals_unexpected_error_shows_the_error_id(
    bot: BotProcess, sandbox: Any, test_listeners: asyncio.Event, caplog: pytest.LogCaptureFixture
) -> None:
    view_id = await open_modal(bot, sandbox, "dave", BROKEN_MODAL)
    with caplog.at_level(logging.ERROR, logger="bot.answers"):
        result = await sandbox.submit("dave", view_id, {"what": {"value": "anything"}})
    assert result["response_action"] == "errors"
    shown = result["errors"]["what"]
    error_id = re.search(r"Error id ([0-9a-f]{8})", shown)
    assert error_id, shown
    assert "Traceback" not in shown and "a bug in the check" not in shown
    logged = [r for r in caplog.records if error_id.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info is not None  # the stack trace is in the logs, with the id
    rec = await audited(bot, f"modal {BROKEN_MODAL}", uid(sandbox, "dave"), "error")
    assert error_id.group(1) in rec.detail


# --------------------------------------------------------------------------------------------
# nobody listening: acknowledged, logged, never retried


async def test_unhandled_events_and_unknown_actions_are_acknowledged(
    bot: BotProcess, sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"{bot.url}/slack/events"
    envelope = {
        "type": "event_callback",
        "team_id": sandbox.team_id,
        "api_app_id": "A0CHATOPS1",
        "event_id": "Ev0UNHANDLED1",
        "event_time": int(time.time()),
        "event": {"type": "pin_added", "user": uid(sandbox, "bob"), "channel_id": "C0INCIDENTS"},
    }
    with caplog.at_level(logging.INFO, logger="bot.pipeline"):
        status, _ = await post_signed(
            url, json.dumps(envelope).encode(), sandbox.signing_secret, content_type="application/json"
        )
    assert status == 200
    assert any("no listener for event pin_added" in r.getMessage() for r in caplog.records)

    # a button nobody registered (an older or newer bot's message): 200, and the clicker is told
    posted = await bot.ctx.gateway.call(
        "chat.postMessage",
        channel=sandbox.channel_by_name("incidents")["id"],
        text="old message",
        blocks=[
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "nobody_handles_this",
                        "text": {"type": "plain_text", "text": "Old"},
                    }
                ],
            }
        ],
    )
    res = await sandbox.click("erin", "incidents", posted["ts"], "nobody_handles_this")
    assert res["ok"] and res["status"] == 200
    await wait_for(lambda: texts(sandbox.ephemerals("erin")), "not handled by this version")

    # a shortcut and a modal nobody registered: 200 too
    res = await sandbox.actions.shortcut("erin", "nobody_handles_this_shortcut")
    assert res["ok"] and res["status"] == 200
    await wait_for(lambda: dms(sandbox, "erin"), "not handled by this version")
    view_id = await open_modal(bot, sandbox, "erin", "nobody_handles_this_modal")
    res = await sandbox.submit("erin", view_id, {"what": {"value": "x"}})
    assert res["ok"] and res["status"] == 200 and sandbox.views("erin") == []

    # a slash command this bot does not serve: 200 with a clear answer
    body = urlencode(
        {
            "command": "/nothing-here",
            "text": "",
            "user_id": uid(sandbox, "erin"),
            "channel_id": "C0INCIDENTS",
            "team_id": sandbox.team_id,
        }
    ).encode()
    status, text = await post_signed(url, body, sandbox.signing_secret)
    assert status == 200 and "/nothing-here is not handled by this bot" in text


async def _now(value: Any) -> Any:
    return value
