"""Declare from anywhere, through the sandbox: a message's shortcut, the global shortcut and
``/incident create`` with no arguments open one modal; submitting it declares the incident; declared
from a message, the war room quotes the message with a link and the message's thread is told."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from bot.incidents import declare_views as dv
from bot.incidents.declare_modal import GLOBAL_SHORTCUT, MESSAGE_SHORTCUT
from tests.conftest import eventually
from tests.incidents.story import channel_named, message_with, texts

SOURCE = (
    "Checkout returns 500 for EU users & R&D\n\nSeen since 10:02 by <@U0BOB00002>; <!channel> is not pinged"
)


async def _modal(sandbox: Any, user: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        found = [v for v in sandbox.views(user) if v["callback_id"] == dv.MODAL]
        return found[-1] if found else None

    return dict(await eventually(check))


def _block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def _dm_texts(sandbox: Any, user: str) -> list[str]:
    ws = sandbox.core.workspace
    dm = ws.dm_channel(ws.find_user(user))
    return [texts(m) for m in sandbox.messages(dm.id)]


async def test_message_shortcut_declares_with_the_message_quoted_and_its_thread_told(
    sandbox: Any, bot: Any
) -> None:
    said = await sandbox.say("carol", "#general", SOURCE)
    result = await sandbox.actions.shortcut("alice", MESSAGE_SHORTCUT, "#general", said["ts"])
    assert result["ok"] and result["error"] is None, result

    view = await _modal(sandbox, "alice")
    # prefilled from the message: its first line as plain text, the whole message quoted
    assert _block(view, dv.TITLE)["element"]["initial_value"] == "Checkout returns 500 for EU users & R&D"
    quote = _block(view, dv.QUOTE)["text"]["text"]
    assert "<@U0CAROL003>" in quote and ">Seen since 10:02 by <@U0BOB00002>" in quote
    assert "<!channel>" not in quote  # a broadcast in the message stays inert in the quote
    assert {b["block_id"] for b in view["blocks"]} >= {dv.TITLE, dv.SEVERITY, dv.SERVICE, dv.PRIVATE}

    submitted = await sandbox.submit(
        "alice",
        view["id"],
        {dv.SEVERITY: {"choice": "high"}, dv.SERVICE: {"text": "checkout"}},
    )
    assert submitted["ok"] and submitted["response_action"] is None, submitted

    room = await channel_named(sandbox, "inc-1-")
    assert room["name"] == "inc-1-checkout-returns-500-for-eu-users-r-d"
    incident = await bot.ctx.store.get("INC-1")
    assert incident.created_by == "U0ALICE001" and incident.severity == "high"
    assert incident.service == "checkout" and incident.origin_channel == "C0GENERAL01"

    permalink = await bot.ctx.slack.permalink("C0GENERAL01", said["ts"])
    quoted = await message_with(sandbox, room["name"], "declared this incident from")
    quoted_text = texts(quoted)
    assert (
        "<@U0ALICE001>" in quoted_text and "<@U0CAROL003>" in quoted_text and "<#C0GENERAL01>" in quoted_text
    )
    assert ">Seen since 10:02 by <@U0BOB00002>" in quoted_text
    assert f"<{permalink}|view message>" in quoted_text

    async def thread_reply() -> str | None:
        replies = sandbox.replies("#general", said["ts"])[1:]
        return next((texts(r) for r in replies if "INC-1" in texts(r)), None)

    reply = await eventually(thread_reply)
    assert "<@U0ALICE001> declared *INC-1* from this message" in reply
    assert f"<#{room['id']}>" in reply and "|announcement>" in reply

    async def confirmed() -> str | None:
        return next((t for t in _dm_texts(sandbox, "alice") if "You declared *INC-1*" in t), None)

    assert f"<#{room['id']}>" in await eventually(confirmed)
    timeline = await bot.ctx.store.timeline("INC-1")
    source = next(e for e in timeline if e.kind == "source")
    assert source.data["channel"] == "C0GENERAL01" and source.data["ts"] == said["ts"]
    assert source.data["permalink"] == permalink
    assert sandbox.unknown_calls() == []


async def test_global_shortcut_opens_an_empty_form_and_declares(sandbox: Any, bot: Any) -> None:
    result = await sandbox.actions.shortcut("bob", GLOBAL_SHORTCUT)
    assert result["ok"], result
    view = await _modal(sandbox, "bob")
    assert not _block(view, dv.TITLE)["element"].get("initial_value")
    assert all(b.get("block_id") != dv.QUOTE for b in view["blocks"])

    submitted = await sandbox.submit(
        "bob", view["id"], {dv.TITLE: {"text": "  Login   page slow "}, dv.SEVERITY: {"choice": "medium"}}
    )
    assert submitted["ok"], submitted

    async def declared() -> Any:
        return await bot.ctx.store.find("INC-1")

    incident = await eventually(declared)
    assert incident.title == "Login page slow" and incident.severity == "medium"
    assert incident.origin_channel is None and incident.service is None
    await message_with(sandbox, "#incidents", "INC-1: Login page slow")
    await eventually(lambda: _true(any("You declared *INC-1*" in t for t in _dm_texts(sandbox, "bob"))))


async def test_create_without_arguments_opens_the_same_form(sandbox: Any, bot: Any) -> None:
    ack = await sandbox.command("dave", "#platform", "/incident", "create")
    assert ack["ok"] and ack["error"] is None, ack
    view = await _modal(sandbox, "dave")
    assert _block(view, dv.SEVERITY)["element"]["type"] == "static_select"
    await sandbox.submit(
        "dave", view["id"], {dv.TITLE: {"text": "Queue backlog"}, dv.SEVERITY: {"choice": "low"}}
    )
    incident = await eventually(lambda: bot.ctx.store.find("INC-1"))
    assert incident.title == "Queue backlog" and incident.origin_channel == "C0PLATFORM1"
    # the one-line form stays
    await sandbox.command("dave", "#incidents", "/incident", 'create critical "DB down"')
    assert (await eventually(lambda: bot.ctx.store.find("INC-2"))).title == "DB down"


async def test_bad_input_keeps_the_form_open_with_reasons(sandbox: Any, bot: Any) -> None:
    await sandbox.actions.shortcut("alice", GLOBAL_SHORTCUT)
    view = await _modal(sandbox, "alice")
    res = await sandbox.submit(
        "alice",
        view["id"],
        {dv.TITLE: {"text": "   "}, dv.SEVERITY: {"choice": "critical"}, dv.PRIVATE: {"choice": ["private"]}},
    )
    assert res["response_action"] == "errors", res
    assert set(res["errors"]) == {dv.TITLE}  # the private switch is fine; the title is missing
    assert "title" in res["errors"][dv.TITLE]
    assert sandbox.views("alice")  # the modal is still open
    assert await bot.ctx.store.find("INC-1") is None


@pytest.fixture
def manifest() -> dict[str, Any]:
    with open("manifest.yml") as f:
        return dict(yaml.safe_load(f))


def test_manifest_declares_both_shortcuts_and_the_home(manifest: dict[str, Any]) -> None:
    shortcuts = {(s["type"], s["callback_id"]) for s in manifest["features"]["shortcuts"]}
    assert shortcuts == {("global", GLOBAL_SHORTCUT), ("message", MESSAGE_SHORTCUT)}
    for s in manifest["features"]["shortcuts"]:
        assert len(s["name"]) <= 24 and len(s["description"]) <= 150  # Slack's manifest limits
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]


def test_title_from_a_message() -> None:
    assert (
        dv.title_from("\n\n&gt; *Checkout* &amp; <@U0CAROL003|carol> _down_\nmore")
        == "Checkout & @carol down"
    )
    assert dv.title_from("• `payments_api` ~flaky~") == "payments_api flaky"
    assert dv.title_from("") == ""
    assert len(dv.title_from("x" * 500)) == dv.TITLE_MAX


async def _true(value: bool) -> bool:
    return value
