"""Incident types with custom fields (policy incidents.types): declared from the command and from the
form (its Type select re-draws it with that type's fields), shown in the announcement and the review,
filtered in /incident list and /incident stats; every bad input answered in a sentence."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from bot.config.policy import PolicyError, parse_policy
from bot.core.models import Incident
from bot.incidents import declare_views as dv
from bot.incidents import fields as f
from tests.conftest import eventually
from tests.incidents.story import Engineer, texts

CAROL = "U0CAROL003"

TYPES = """
incidents:
  types:
    security:
      label: Security
      fields:
        - {name: vector, label: Attack vector, type: select, required: true, options: [Phishing, Credentials, Malware]}
        - {name: reporter, type: user}
        - {name: records, label: Records exposed, type: number}
        - {name: ticket, label: SOC ticket, type: text}
    customer_facing:
      label: Customer-facing
      fields:
        - {name: customers, type: number, required: true}
review:
  stats_chart: false
  meeting_offset_days: 0
"""


@pytest.fixture
def bot_policy() -> str:
    return TYPES


def policy() -> Any:
    return parse_policy(TYPES)


# -- parsing and checking ------------------------------------------------------------------------


def test_assignments_are_read_outside_the_quoted_title() -> None:
    rest, found = f.split_assignments('critical "DB a=b down" type=security ticket="SOC 12" vector=phishing')
    assert rest == 'critical "DB a=b down"'
    assert found == {"type": "security", "ticket": "SOC 12", "vector": "phishing"}
    with pytest.raises(f.FieldProblem, match="given twice"):
        f.split_assignments("x type=a type=b")


def test_values_are_checked_against_the_type() -> None:
    p = policy()
    ok = f.check(p, "Security", {"vector": "PHISHING", "records": "1,200", "reporter": f"<@{CAROL}|carol>"})
    assert ok.problems == {} and ok.type == "security"
    assert ok.fields == {"vector": "Phishing", "records": "1200", "reporter": CAROL}
    assert f.check(p, "security", {"records": "1.5", "vector": "malware"}).fields["records"] == "1.5"
    missing = f.check(p, "security", {})
    assert missing.problems == {"vector": "Attack vector is required for security incidents (`vector=…`)."}
    bad = f.check(p, "security", {"vector": "ddos", "records": "many", "color": "red", "reporter": "carol"})
    assert "one of: Phishing, Credentials, Malware" in bad.problems["vector"]
    assert bad.problems["records"] == "Records exposed is a number (not `many`)."
    assert "`color` is not a field of security incidents" in bad.problems["color"]
    assert "mention them" in bad.problems["reporter"]
    assert "is not an incident type (security, customer_facing)" in f.check(p, "hr", {}).sentence()
    assert "add `type=`" in f.check(p, None, {"vector": "x"}).sentence()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("incidents: {types: {sec: {fields: [{name: v, type: select}]}}}", "needs 1 to 100 options"),
        ("incidents: {types: {sec: {fields: [{name: v, type: text, options: [a]}]}}}", "only select fields"),
        ("incidents: {types: {sec: {fields: [{name: severity}]}}}", "already uses"),
        ("incidents: {types: {Sec-Ops: {fields: []}}}", "incident type 'Sec-Ops'"),
        ("incidents: {types: {sec: {fields: [{name: a}, {name: a}]}}}", "unique"),
        ("incidents: {types: {sec: {fields: [{name: a, type: date}]}}}", "fields.0.type"),
    ],
)
def test_bad_types_are_refused_with_the_reason(text: str, words: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(text)
    assert words in "\n".join(err.value.problems)


def test_filters_match_type_and_fields() -> None:
    p = policy()
    inc = Incident(id="INC-1", number=1, title="t", severity="high", status="open", created_by="U1")
    inc.type, inc.fields = "security", {"vector": "Phishing", "records": "1200"}
    assert f.matches(inc, f.make_filter(p, {"type": "security", "vector": "phishing"}))
    assert f.matches(inc, f.make_filter(p, {"records": "1,200"}))
    assert not f.matches(inc, f.make_filter(p, {"type": "customer_facing"}))
    assert not f.matches(inc, f.make_filter(p, {"vector": "malware"}))
    with pytest.raises(f.FieldProblem, match="not a field of any incidents"):
        f.make_filter(p, {"colour": "red"})
    assert f.pairs(p, inc)[:2] == [("Type", "Security"), ("Attack vector", "Phishing")]


# -- the story in the sandbox --------------------------------------------------------------------


async def _incident(bot: Any, title: str) -> Incident:
    async def check() -> Incident | None:
        found = [i for i in await bot.ctx.store.list(include_resolved=True) if i.title == title]
        return found[0] if found and found[0].announcement else None

    return await eventually(check)


async def _modal(sandbox: Any, user: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        found = [v for v in sandbox.views(user) if v["callback_id"] == dv.MODAL]
        return found[-1] if found else None

    return dict(await eventually(check))


async def test_typed_incidents_from_command_and_form(sandbox: Any, bot: Any) -> None:
    alice = Engineer(sandbox, "alice")

    # --- refused with a sentence, nothing declared -------------------------------------------
    await alice.types("general", '/incident create high "Odd logins" type=security')
    await alice.sees_reply("Attack vector is required for security incidents")
    await alice.types("general", '/incident create high "Odd logins" type=hr')
    await alice.sees_reply("`hr` is not an incident type (security, customer_facing)")
    await alice.types("general", '/incident create high "Odd logins" type=security vector=ddos')
    await alice.sees_reply("Attack vector is one of: Phishing, Credentials, Malware")
    assert await bot.ctx.store.list(include_resolved=True) == []

    # --- from the command: a person named as Slack encodes them -------------------------------
    await alice.types(
        "general",
        '/incident create critical "Phishing wave" type=security vector=phishing records=1,200 '
        'reporter=@carol ticket="SOC 12"',
    )
    wave = await _incident(bot, "Phishing wave")
    assert wave.type == "security"
    assert wave.fields == {"vector": "Phishing", "records": "1200", "reporter": CAROL, "ticket": "SOC 12"}
    shown = texts(
        next(m for m in sandbox.messages(wave.announcement.channel) if m["ts"] == wave.announcement.ts)
    )
    for words in (
        "*Type*",
        "Security",
        "*Attack vector*",
        "Phishing",
        "*Records exposed*",
        "1200",
        f"<@{CAROL}>",
    ):
        assert words in shown, words

    # --- from the form: picking the type re-draws it with the type's fields -------------------
    await alice.types("general", "/incident create")
    view = await _modal(sandbox, "alice")
    assert f.TYPE_BLOCK in {b.get("block_id") for b in view["blocks"]}
    assert not [b for b in view["blocks"] if str(b.get("block_id", "")).startswith(f.FIELD_BLOCK)]
    clicked = await sandbox.click(
        "alice", None, None, f.TYPE_ACTION, selected_option="customer_facing", view_id=view["id"]
    )
    assert clicked.get("error") is None, clicked

    async def redrawn() -> dict[str, Any] | None:
        v = next((v for v in sandbox.views("alice") if v["id"] == view["id"]), None)
        ids = [b.get("block_id") for b in (v or {}).get("blocks", [])]
        return v if f"{f.FIELD_BLOCK}customers" in ids else None

    view = await eventually(redrawn)
    ids = [b.get("block_id") for b in view["blocks"]]
    assert ids.index(f.TYPE_BLOCK) + 1 == ids.index(f"{f.FIELD_BLOCK}customers")  # right under the type
    assert {dv.TITLE, dv.SEVERITY, dv.SERVICE, dv.PRIVATE} <= set(ids)
    refused = await sandbox.submit(
        "alice",
        view["id"],
        {
            dv.TITLE: {"text": "Checkout down for EU"},
            dv.SEVERITY: {"choice": "high"},
            f.TYPE_BLOCK: {f.TYPE_ACTION: "customer_facing"},
            f"{f.FIELD_BLOCK}customers": {f.FIELD_ACTION: "lots"},
        },
    )
    assert refused["response_action"] == "errors"
    assert "Customers is a number" in str(refused)
    done = await sandbox.submit(
        "alice",
        view["id"],
        {
            dv.TITLE: {"text": "Checkout down for EU"},
            dv.SEVERITY: {"choice": "high"},
            f.TYPE_BLOCK: {f.TYPE_ACTION: "customer_facing"},
            f"{f.FIELD_BLOCK}customers": {f.FIELD_ACTION: "340"},
        },
    )
    assert done["ok"] and done["response_action"] is None, done
    eu = await _incident(bot, "Checkout down for EU")
    assert (eu.type, eu.fields) == ("customer_facing", {"customers": "340"})
    await alice.types("general", '/incident create low "Untyped blip"')
    await _incident(bot, "Untyped blip")

    # --- filtered in the list and the stats ---------------------------------------------------
    await alice.types("general", "/incident list type=security vector=Phishing")
    listed = await alice.sees_reply("Filtered by `type=security vector=Phishing`")
    assert wave.id in listed and eu.id not in listed and "Untyped blip" not in listed
    await alice.types("general", "/incident list customers=340")
    listed = await alice.sees_reply("Filtered by `customers=340`")
    assert eu.id in listed and wave.id not in listed
    await alice.types("general", "/incident list type=nope")
    await alice.sees_reply("`nope` is not an incident type")
    await alice.types("general", "/incident stats 7d type=customer_facing")
    stats = await alice.sees_reply("Only incidents with `type=customer_facing`")
    assert "*1* declared" in stats

    # --- the review shows the type and its fields ---------------------------------------------
    room = wave.war_room.channel_id
    await alice.types(room, f"/incident resolve {wave.id} Blocked the sender")

    async def resolved() -> bool:
        return (await bot.ctx.store.get(wave.id)).is_resolved

    await eventually(resolved)
    await alice.types(room, f"/incident review {wave.id}")

    async def review_file() -> list[dict[str, Any]] | None:
        posted = [m for m in sandbox.messages(room) if m.get("files")]
        return posted[-1]["files"] if posted else None

    files = {x["name"]: x for x in await eventually(review_file)}
    async with (
        aiohttp.ClientSession() as http,
        http.get(files[f"{wave.id}-review.md"]["url_private"]) as resp,
    ):
        markdown = await resp.text()
    assert "| Type | Security |" in markdown and "| Attack vector | Phishing |" in markdown
    assert "| Records exposed | 1200 |" in markdown and "| SOC ticket | SOC 12 |" in markdown
    reporter = next(line for line in markdown.splitlines() if line.startswith("| Reporter |"))
    assert CAROL not in reporter and "@" in reporter  # a person by name
