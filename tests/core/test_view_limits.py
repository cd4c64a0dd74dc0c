"""Every view builder, fed extreme input (hypothesis), produces a payload Slack would take: each block
within its limits, at most 50 blocks and 12,000 characters of block text per message, modals within
theirs. The rules are the sandbox's (sandbox/blocks.py), which are Slack's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.config.escalation import EscalationLevel, EscalationPolicy, EscalationTarget
from bot.config.policy import Policy
from bot.core.models import Incident, StatusUpdate, TimelineEntry, WarRoom
from bot.escalation import views as escalation_views
from bot.incidents import views as incident_views
from bot.review import views as review_views
from sandbox.blocks import MAX_MESSAGE_BLOCK_TEXT, message_text_chars, validate_blocks, validate_view

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
HOSTILE = "& < > <!channel> *_~` "
# text as it comes from people: anything printable, Slack's specials over-represented
texts = st.text(
    alphabet=st.one_of(st.sampled_from(list(HOSTILE)), st.characters(codec="utf-8")),
    min_size=1,
)
names = texts.map(lambda t: (t * (200 // len(t) + 1))[:200])  # 200-character names
# names a policy accepts (letters or digits in them), as long
policy_names = names.map(lambda t: ("n" + t)[:200])
huge = texts.map(lambda t: (t * (40_000 // len(t) + 1))[:40_000])  # 40 KB of text
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def as_dicts(blocks: Sequence[Block | dict[str, Any]]) -> list[dict[str, Any]]:
    return [b.to_dict() if isinstance(b, Block) else dict(b) for b in blocks]


def assert_message_ok(blocks: Sequence[Block | dict[str, Any]]) -> None:
    raw = as_dicts(blocks)
    assert validate_blocks(raw) == []
    assert message_text_chars(raw) <= MAX_MESSAGE_BLOCK_TEXT


def incident(title: str, n: int = 42, message: str = "looking", service: str | None = None) -> Incident:
    return Incident(
        id=f"INC-{n}",
        number=n,
        title=title,
        severity="critical",
        status="investigating",
        service=service,
        created_by="U0ALICE001",
        created_at=T0,
        war_room=WarRoom(channel_id="C0ROOM0001", name=f"inc-{n}-x"),
        roles={"commander": "U0BOB00002"},
        summary=message,
        updates=[StatusUpdate(number=1, status="investigating", message=message, by="U0BOB00002", at=T0)],
    )


@SETTINGS
@given(title=names, text=huge)
def test_incident_messages_fit_whatever_they_hold(title: str, text: str) -> None:
    policy = Policy()
    inc = incident(title, message=text, service=title)
    assert_message_ok(incident_views.announcement(policy, inc))
    update = incident_views.status_update(policy, inc, inc.updates[0])
    assert_message_ok(update)
    shown = message_text_chars(as_dicts(update))
    if len(text) > incident_views.FREE_TEXT_MAX:  # clipped with … and says where the rest is
        assert "…" in str(as_dicts(update)) and f"the whole update is kept with {inc.id}" in str(
            as_dicts(update)
        )
    assert shown > min(len(text), incident_views.FREE_TEXT_MAX) // 6  # clipped, not dropped
    assert_message_ok(incident_views.resolution(policy, inc))
    timeline = [
        TimelineEntry(at=T0 + timedelta(minutes=i), actor="U0BOB00002", kind="note", text=text[:5000])
        for i in range(60)
    ]
    assert_message_ok(incident_views.details(policy, inc, timeline))
    assert len(incident_views.topic(policy, inc)) <= 250


@SETTINGS
@given(title=names)
def test_a_list_of_60_incidents_fits(title: str) -> None:
    incidents = [incident(f"{title}{i}", n=i) for i in range(1, 61)]
    blocks = as_dicts(incident_views.incident_list(Policy(), incidents, "open"))
    assert_message_ok(blocks)
    text = str(blocks)
    shown = sum(1 for inc in incidents if f"*{inc.id}*" in text)
    assert shown >= 1 and "Open incidents (60)" in text
    if shown < 60:  # the rest are counted, never silently dropped
        assert f"…and {60 - shown} more not shown" in text


@SETTINGS
@given(name=policy_names, text=huge)
def test_escalation_views_fit(name: str, text: str) -> None:
    esc = EscalationPolicy(
        levels=[
            EscalationLevel(level=n, name=name, targets=[EscalationTarget(name=name, users=["U0ALICE001"])])
            for n in range(1, 10)
        ]
    )
    inc = incident(name, message=text)
    post = escalation_views.escalation_post(
        inc,
        label=name,
        actor="U0BOB00002",
        reason=text,
        users=["U0CAROL003"] * 50,
        usergroups=[name] * 20,
        channels=[name] * 20,
        automatic=False,
    )
    assert_message_ok(post)
    assert_message_ok(
        escalation_views.escalation_dm(Policy(), inc, label=name, actor="U1", reason=text, automatic=True)
    )
    select = escalation_views.escalate_select(esc, inc).to_dict()
    assert_message_ok([{"type": "actions", "elements": [select]}])
    assert validate_view(escalation_views.status_modal(Policy(), inc, text).to_dict()) == []


@SETTINGS
@given(text=huge)
def test_review_timeline_pages_each_fit(text: str) -> None:
    inc = incident("review")
    entries = [
        TimelineEntry(at=T0 + timedelta(seconds=i), actor="U0BOB00002", kind="note", text=text[: 200 + i])
        for i in range(300)
    ]
    pages = review_views.timeline_pages(inc, entries)
    assert pages
    for page in pages:
        assert_message_ok(page)
