"""Bad input: every command parser and the alert payload model take any text; user text can never
ping a channel nor run as a template."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from bot.blocks import to_dicts
from bot.config.policy import Policy
from bot.core.models import Incident, StatusUpdate, TimelineEntry
from bot.incidents import views
from bot.listeners import REGISTRY, UsageError
from chatops.product import load_commands

load_commands()

NASTY = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S0SREONCALL>",
    "<@U0FRANK006>",
    "<#C0INCIDENTS>",
    "<https://evil.example|click>",
    "{{ 7*7 }}",
    "{% for x in range(3) %}x{% endfor %}",
    "{{ ''.__class__.__mro__ }}",
    "*bold* _it_ ~s~ `code` ```block```",
    "&lt;!channel&gt;",
    "INC-1",
    "inc-42",
    "#7",
    "service=api",
    '"',
    "'",
    "“",
    "\x00",
    "\ud800",
    "\udfff",
    "\u202e",
    "\n",
    "\t",
    "x" * 5000,
    "critical",
    "p1",
    "resolved",
    "investigating",
    "commander",
    "@alice",
    "U0ALICE001",
]
words = st.one_of(st.sampled_from(NASTY), st.text(max_size=20))
texts = st.one_of(
    st.text(max_size=400),
    st.lists(words, max_size=8).map(" ".join),
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", "surrogateescape")),
)

PARSERS = sorted(
    {(cmd.name, sub.name, sub.parse) for cmd in REGISTRY.values() for sub in cmd.subcommands.values()},
    key=lambda x: (x[0], x[1]),
)


def test_parsers_were_discovered() -> None:
    names = {(c, s) for c, s, _ in PARSERS}
    assert ("/incident", "create") in names and ("/status", "update") in names


@pytest.mark.parametrize(("command", "sub", "parse"), PARSERS, ids=[f"{c} {s}" for c, s, _ in PARSERS])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts)
def test_any_text_parses_or_is_a_usage_error(command: str, sub: str, parse: Any, text: str) -> None:
    try:
        result = parse(text)
    except UsageError as exc:
        assert exc.problem is None or isinstance(exc.problem, str)
        return
    assert isinstance(result, BaseModel)
    json.dumps(result.model_dump(mode="json"))  # what was accepted can be stored


@settings(max_examples=200, deadline=None)
@given(text=texts)
def test_routing_never_raises(text: str) -> None:
    for cmd in REGISTRY.values():
        sub, rest = cmd.route(text)
        assert sub is None or isinstance(rest, str)


# ---- alert payloads --------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


def _alert(labels: dict[str, str]) -> dict[str, Any]:
    return {
        "status": "firing",
        "labels": labels,
        "annotations": {"summary": labels.get("summary", "")},
        "startsAt": "2026-11-22T20:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.local/graph",
        "fingerprint": "f00d",
    }


def _payload(labels: dict[str, str]) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": "{}:{}",
        "status": "firing",
        "receiver": "chatops",
        "groupLabels": {},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "",
        "alerts": [_alert(labels)],
    }


def _alert_model() -> Any:
    models = pytest.importorskip("bot.alerts.models")
    return models.WebhookPayload


@settings(max_examples=300, deadline=None)
@given(raw=st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode())))
def test_alert_payload_model_takes_any_body(raw: bytes) -> None:
    model = _alert_model()
    try:
        parsed = model.model_validate_json(raw)
    except ValidationError as exc:
        assert exc.errors()  # a reason to give back (400), never another exception
        return
    assert parsed.version == "4" and parsed.alerts


@settings(max_examples=200, deadline=None)
@given(
    labels=st.dictionaries(
        st.one_of(st.sampled_from(["alertname", "service", "summary"]), st.text(max_size=20)),
        st.one_of(st.sampled_from(NASTY), st.text(max_size=50)),
        max_size=5,
    ),
    extra=st.dictionaries(st.text(max_size=10), json_values, max_size=3),
)
def test_alert_payload_model_with_nasty_labels(labels: dict[str, str], extra: dict[str, Any]) -> None:
    model = _alert_model()
    try:
        parsed = model.model_validate({**_payload(labels), **extra})
    except ValidationError:
        return
    assert parsed.alerts[0].labels == parsed.common_labels


# ---- rendering user text ---------------------------------------------------------------------

POLICY = Policy()
CREATOR = "U0ALICE001"
# Free text (updates, summaries, notes) is Slack text: the mentions and links Slack encoded in it stay
# live (bot/text.py); a broadcast (<!channel>, <!here>, <!everyone>) never does.
LIVE_TOKENS = r"<@[UW][A-Z0-9]+>|<#[CGD][A-Z0-9]+>|<!subteam\^S[A-Z0-9]+>|<[a-zA-Z][a-zA-Z0-9+.\-]*:[^<>|\s]+(?:\|[^<>]*)?>"
SAFE_TOKENS = re.compile(rf"<!date\^\d+\^[^|>]*\|[^>]*>|{LIVE_TOKENS}")


def _mrkdwn_texts(blocks: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                out.append(node["text"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(blocks)
    return out


def assert_inert(texts: list[str], user_text: str) -> None:
    """No control sequence from user text survives; templates in it were not run."""
    for text in texts:
        rest = SAFE_TOKENS.sub("", text)
        assert "<" not in rest and ">" not in rest, text
    joined = SAFE_TOKENS.sub("", "\n".join(texts))
    if "{{ 7*7 }}" in user_text and "49" not in user_text:
        assert "49" not in joined  # never evaluated


def _incident(title: str, message: str) -> Incident:
    inc = Incident(
        id="INC-1",
        number=1,
        title=title,
        severity="critical",
        status="identified",
        created_by=CREATOR,
        roles={"commander": CREATOR},
        summary=message,
        acknowledged_by="U0BOB00002",
    )
    inc.updates.append(
        StatusUpdate(number=1, status="identified", message=message, by="U0BOB00002", at=inc.created_at)
    )
    return inc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=st.lists(words, min_size=1, max_size=5).map(" ".join), message=texts)
def test_views_escape_user_text(title: str, message: str) -> None:
    inc = _incident(title, message)
    update = inc.updates[0]
    timeline = [TimelineEntry(actor=CREATOR, kind="note", text=message)]
    rendered = {
        "announcement": to_dicts(views.announcement(POLICY, inc)),
        "status_update": to_dicts(views.status_update(POLICY, inc, update)),
        "resolution": to_dicts(views.resolution(POLICY, inc)),
        "details": to_dicts(views.details(POLICY, inc, timeline)),
        "list": to_dicts(views.incident_list(POLICY, [inc], "open")),
        "created": to_dicts(views.created_reply(inc, None)),
    }
    for blocks in rendered.values():
        assert_inert(_mrkdwn_texts(blocks), title + message)
    # the plain-text fallbacks are mrkdwn for notifications too
    for fallback in (views.announcement_text(POLICY, inc), views.status_update_text(inc, update)):
        assert_inert([fallback], title + message)


def test_template_syntax_in_a_title_is_shown_literally() -> None:
    inc = _incident("{{ 7*7 }} {% if true %}yes{% endif %} <!channel>", "{{ incident.created_by }}")
    texts = _mrkdwn_texts(to_dicts(views.announcement(POLICY, inc)))
    texts += _mrkdwn_texts(to_dicts(views.status_update(POLICY, inc, inc.updates[0])))
    joined = "\n".join(texts)
    # the title is plain text now (the announcement's header, where nothing is markup): literal there
    headers = [b["text"]["text"] for b in to_dicts(views.announcement(POLICY, inc)) if b["type"] == "header"]
    assert headers == ["INC-1: {{ 7*7 }} {% if true %}yes{% endif %} <!channel>"]
    assert "49 yes" not in joined and "{{" in joined  # nothing was rendered as a template
    assert "{{ incident.created_by }}" in joined


# ---- through the sandbox: what Slack would store and show ----------------------------------

TITLE = "<!channel> <!here> {{ 7*7 }} {% raw %} *pwn* <@U0FRANK006> <https://evil.example|x> \x00 end"
NOTE = "<!everyone> {{ incident.__class__ }} {% for i in range(9) %}spam{% endfor %} <!subteam^S0SREONCALL>"


def _stored_texts(sandbox: Any, channels: list[str]) -> list[str]:
    out: list[str] = []
    for ch in channels:
        for msg in sandbox.messages(ch):
            thread = sandbox.replies(ch, msg["ts"]) if msg.get("reply_count") else [msg]
            for m in thread:
                if m.get("subtype") in ("channel_topic", "channel_purpose", "channel_join"):
                    continue  # Slack's own notices; a topic is plain text (no formatting, no pings)
                out.append(m.get("text") or "")
                out += _mrkdwn_texts(m.get("blocks") or [])
    for user in ("alice", "bob"):
        for e in sandbox.ephemerals(user):
            out.append(e.get("text") or "")
            out += _mrkdwn_texts(e.get("blocks") or [])
    return out


async def test_nasty_text_through_slack_is_inert(bot: Any, sandbox: Any) -> None:
    from tests.conftest import eventually

    await sandbox.command("alice", "incidents", "/incident", f"create critical {TITLE}")

    async def room() -> str | None:
        inc = await bot.ctx.store.find("INC-1")
        return inc.war_room.channel_id if inc and inc.war_room and inc.war_room_message else None

    war_room = await eventually(room)
    await sandbox.command("bob", war_room, "/status", f"update identified {NOTE}")
    await sandbox.command("bob", war_room, "/incident", f"note {NOTE}")
    await sandbox.command("alice", "incidents", "/incident", "create critical " + "x" * 400)

    async def settled() -> bool:
        inc = await bot.ctx.store.get("INC-1")
        notes = [e for e in await bot.ctx.store.timeline("INC-1") if e.kind == "note"]
        return len(inc.updates) == 1 and bool(notes) and len(sandbox.ephemerals("alice")) >= 2

    await eventually(settled)
    inc = await bot.ctx.store.get("INC-1")
    assert inc.title.startswith("<!channel>")  # stored as typed: escaping happens when rendering
    texts = _stored_texts(sandbox, ["incidents", war_room])
    joined = "\n".join(texts)
    for bad in ("<!channel>", "<!here>", "<!everyone>", "<!subteam", "<@U0FRANK006>", "<https://evil"):
        assert bad not in joined, bad
    assert "&lt;!channel&gt;" in joined and "{{ 7*7 }}" in joined
    assert "spamspam" not in joined  # the for loop was never run
    # the 400-character title was refused with the usage, not posted
    assert any("title" in t and "150" in t for t in _stored_texts(sandbox, [])), joined
    assert [i.id for i in await bot.ctx.store.list(include_resolved=True)] == ["INC-1"]
    # the war-room name is Slack-safe whatever the title was
    assert re.fullmatch(r"[a-z0-9_-]{1,80}", inc.war_room.name)
