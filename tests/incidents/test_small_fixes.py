"""The smaller things a newcomer tripped over: who is invited to the war room, the announcement
linking it at once, help without repeats, clear answers for bad titles and late notes, "Closed"
shown, stats only for whoever asked, one topic message per change, counted words, and usage
lines that the parsers accept."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.listeners import REGISTRY, UsageError
from chatops.product import load_commands
from tests.conftest import eventually
from tests.incidents.story import Engineer, channel_named, message_with, texts

BOB, CAROL = "U0BOB00002", "U0CAROL003"


async def declared(sandbox: Any, bot: Any, title: str = "Checkout down") -> tuple[dict[str, Any], dict]:
    alice = Engineer(sandbox, "alice")
    await alice.types("#incidents", f'/incident create critical "{title}"')
    room = await channel_named(sandbox, "inc-1-")

    async def ready() -> bool:
        inc = await bot.ctx.store.find("INC-1")
        return bool(inc and inc.war_room and inc.war_room_message)

    await eventually(ready)
    announcement = await message_with(sandbox, "#incidents", "INC-1: ")
    return room, announcement


def fresh(sandbox: Any, channel: str, message: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in sandbox.messages(channel) if m["ts"] == message["ts"])


async def test_the_announcement_links_the_war_room_from_its_first_render(sandbox: Any, bot: Any) -> None:
    room, announcement = await declared(sandbox, bot)
    first = fresh(sandbox, "#incidents", announcement)
    assert "edited" not in first  # the render Slack got first, never re-rendered since
    assert f"<#{room['id']}>" in texts(first)


async def test_the_acknowledger_is_invited_to_the_war_room(sandbox: Any, bot: Any) -> None:
    room, announcement = await declared(sandbox, bot)
    assert BOB not in sandbox.channel_by_name(room["name"])["members"]
    await Engineer(sandbox, "bob").clicks("#incidents", announcement, "incident_ack")

    async def joined() -> bool:
        return BOB in sandbox.channel_by_name(room["name"])["members"]

    assert await eventually(joined)
    inc = await bot.ctx.store.get("INC-1")
    assert inc.commander == BOB


async def test_help_lists_each_line_once(sandbox: Any, bot: Any) -> None:
    alice = Engineer(sandbox, "alice")
    await alice.types("#incidents", "/incident help")
    reply = await alice.sees_reply("/escalate who")
    lines = [line for line in reply.splitlines() if line.startswith("`/")]
    assert lines and len(lines) == len(set(lines))
    assert "/runbook" in reply and "/status update" in reply


@pytest.mark.parametrize(
    ("typed", "sentence"),
    [
        ("critical " + "x" * 200, "The title is 200 characters long; keep it to 150 or fewer"),
        ('critical "API gateway down', "The title's quotes do not match"),
        ('critical ""', "Give a title after the severity"),
    ],
)
async def test_bad_titles_get_a_sentence(sandbox: Any, bot: Any, typed: str, sentence: str) -> None:
    alice = Engineer(sandbox, "alice")
    await alice.types("#incidents", f"/incident create {typed}")
    reply = await alice.sees_reply(sentence)
    assert "String should" not in reply and "title:" not in reply
    assert await bot.ctx.store.find("INC-1") is None


async def test_closed_incidents_say_closed_and_take_no_notes(sandbox: Any, bot: Any) -> None:
    _room, announcement = await declared(sandbox, bot)
    alice = Engineer(sandbox, "alice")
    await alice.types("#incidents", '/incident resolve INC-1 "pool size raised"')
    await alice.sees_reply("INC-1 resolved")
    await alice.types("#incidents", "/incident review INC-1")
    await alice.sees_reply("review")
    await alice.types("#incidents", "/incident close INC-1")
    await alice.sees_reply("INC-1 closed")

    async def shows_closed() -> bool:
        return "Closed" in texts(fresh(sandbox, "#incidents", announcement))

    assert await eventually(shows_closed)
    await alice.types("#incidents", "/incident show INC-1")
    assert "Closed" in await alice.sees_reply("*Status*")

    notes_before = [e for e in await bot.ctx.store.timeline("INC-1") if e.kind == "note"]
    await alice.types("#incidents", "/incident note INC-1 one more thing")
    refused = await alice.sees_reply("takes no more notes")
    assert "INC-1 is closed" in refused
    notes_after = [e for e in await bot.ctx.store.timeline("INC-1") if e.kind == "note"]
    assert notes_after == notes_before


async def test_stats_answer_only_whoever_asked(sandbox: Any, bot: Any) -> None:
    room, _ = await declared(sandbox, bot)
    alice = Engineer(sandbox, "alice")
    before = len(sandbox.messages(room["name"]))
    await alice.types(room["name"], "/incident stats 7d")
    reply = await alice.sees_reply("Incidents, last 7 days")
    assert "1 incident ·" in reply and "1 incidents" not in reply and "0 incidents" in reply
    assert "direct messages" in reply
    alice_id = sandbox.user_by_name("alice")["id"]
    ws = sandbox.core.workspace
    dm = next(c for c in ws.channels.values() if c.is_im and alice_id in c.members)

    async def chart_in_dm() -> bool:
        return any(m.get("files") for m in sandbox.messages(dm.id))

    assert await eventually(chart_in_dm)
    after = sandbox.messages(room["name"])
    assert len(after) == before and not any(m.get("files") for m in after)  # nothing public


async def test_an_unchanged_topic_is_not_set_again(sandbox: Any, bot: Any) -> None:
    room, _ = await declared(sandbox, bot)
    alice = Engineer(sandbox, "alice")

    def topic_posts() -> list[str]:
        return [texts(m) for m in sandbox.messages(room["name"]) if "set the channel topic" in texts(m)]

    await alice.types(room["name"], '/status update investigating "Checking the pool"')
    await message_with(sandbox, room["name"], "Update #1")
    await alice.types(room["name"], '/status update investigating "Still checking"')
    await message_with(sandbox, room["name"], "Update #2")
    await alice.types(room["name"], '/status update identified "Pool exhausted"')

    async def identified_topic() -> bool:
        return any("identified" in t for t in topic_posts())

    assert await eventually(identified_topic)
    posts = topic_posts()
    assert len(posts) == len(set(posts)), posts  # one message per distinct topic
    assert len(posts) == 2  # the declaration's, then "identified"; "investigating" never again


async def test_escalation_labels_read_cleanly(sandbox: Any, bot: Any) -> None:
    from bot.escalation.runtime import escalation_policy
    from bot.escalation.targets import select

    esc = escalation_policy(bot.ctx)
    for name in esc.roles:
        selection = select(esc, name)
        assert selection is not None
        assert not re.search(r"\([^()]*\(", selection.label), selection.label  # no "(level 2 (…))"


def _examples() -> list[tuple[str, str]]:
    load_commands()
    out = []
    for name, cmd in REGISTRY.items():
        for line in dict.fromkeys(cmd.usage_lines()):
            example = re.sub(r"\s{2,}\(.*\)\s*$", "", line).strip()
            if re.search(r"[<\[]|\|", example):
                continue  # a pattern, not an example
            out.append((name, example))
    return out


def test_usage_lines_name_no_words_the_bot_refuses() -> None:
    load_commands()
    lines = [line for cmd in REGISTRY.values() for line in cmd.usage_lines()]
    assert lines
    for line in lines:
        assert "<@user>" not in line and "--run" not in line, line
        assert not re.search(r"\bmajor\b|\back\b", line), line


@pytest.mark.parametrize(("command", "example"), _examples())
def test_every_usage_example_parses(command: str, example: str) -> None:
    cmd = REGISTRY[command]
    text = example.removeprefix(command).strip()
    sub, rest = cmd.route(text)
    assert sub is not None, example
    try:
        sub.parse(rest)
    except UsageError as exc:  # pragma: no cover - the assertion says which line
        raise AssertionError(f"{example!r} is refused: {exc.problem}") from exc
