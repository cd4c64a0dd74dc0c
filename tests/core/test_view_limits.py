"""Every view builder, fed extreme input (hypothesis), produces a payload Slack would take: each block
within its limits, at most 50 blocks and 12,000 characters of block text per message, modals within
theirs. The rules are the sandbox's (sandbox/blocks.py), which are Slack's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.config.escalation import EscalationLevel, EscalationPolicy, EscalationTarget
from bot.config.policy import Policy
from bot.core.models import Incident, StatusUpdate, TimelineEntry, WarRoom
from bot.escalation import views as escalation_views
from bot.incidents import views as incident_views
from bot.review import views as review_views
from bot.runbooks import views as runbook_views
from bot.runbooks.diagnostics import DiagnosticResult
from bot.runbooks.loader import RunbookLibrary
from bot.runbooks.model import Diagnostic, Runbook
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


# ------------------------------------------------------------------------------------------ runbooks
runbook_names = names.map(lambda t: "rb" + "".join(c for c in t if c.isalnum())[:198] or "rb")


def runbook(name: str, title: str, body: str, diagnostics: int = 0) -> Runbook:
    return Runbook(
        name=name,
        title=title,
        path=Path(f"/runbooks/{name}.md"),
        body=body,
        summary=title,
        alerts=[title] * 4,
        diagnostics=[
            Diagnostic(name=f"{title[:70]}{n}", type="pods", params={"namespace": "shop"})
            for n in range(diagnostics)
        ],
    )


@SETTINGS
@given(name=runbook_names, title=names, text=huge)
def test_a_40kb_runbook_is_pages_that_each_fit(name: str, title: str, text: str) -> None:
    body = "\n\n".join(
        f"## {title}\n\n{text[i : i + 4_000]}\n\n```\n{text[:500]}\n```" for i in range(0, 40_000, 4_000)
    )
    rb = runbook(name, title, body, diagnostics=20)
    labels = {f"label{n}": title for n in range(10)}
    pages = runbook_views.runbook_pages(rb, "INC-42", labels)
    for page in pages:
        assert_message_ok(page)
    first = as_dicts(pages[0])
    run = next(el for b in first if b["type"] == "actions" for el in b["elements"])
    assert len(run["value"]) <= 2000
    # nothing of the body is lost: every page after the first says which part it is
    for n, page in enumerate(pages[1:], start=2):
        assert f"Part {n} of {len(pages)} — " in str(as_dicts(page))


@SETTINGS
@given(name=runbook_names, title=names)
def test_a_list_of_100_runbooks_fits(name: str, title: str) -> None:
    library = RunbookLibrary(runbooks={f"{name}{n}": runbook(f"{name}{n}", title, "x") for n in range(100)})
    library.errors = [title] * 20
    blocks = as_dicts(runbook_views.runbook_list(library))
    assert_message_ok(blocks)
    text = str(blocks)
    listed = sum(1 for n in range(100) if f"`{name}{n}`" in text)
    assert listed >= 1
    if listed < 100:
        assert f"…and {100 - listed} more" in text


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=names, text=huge, cluster=names, namespace=names, deployment=names)
def test_100_diagnostics_results_are_pages_that_each_fit_and_values_stay_within_limits(
    name: str, text: str, cluster: str, namespace: str, deployment: str
) -> None:
    results = [
        DiagnosticResult(
            name=f"{name[:70]}{n}",
            type="pods",
            ok=n % 7 != 0,
            lines=[text[:3_000]] * 3,
            reason=text[:5_000],
            attention=n % 3 == 0,
        )
        for n in range(100)
    ]
    target = runbook_views.RemediationTarget(cluster, namespace, deployment, "INC-42", replicas=4)
    ref = runbook_views.target_ref(target)
    pages = runbook_views.results_pages(
        name,
        results,
        remediation=target,
        actions=["rollout_restart", "rollout_undo", "scale"],
        max_replicas=50,
        target_ref=ref,
    )
    assert len(pages) > 1
    for page in pages:
        assert_message_ok(page)
    starts = [b["text"]["text"] for p in pages for b in as_dicts(p) if b["type"] == "section" and "text" in b]
    for n in range(100):  # every result is on a page, once
        head = f"*{runbook_views.escape(f'{name[:70]}{n}')}*"
        assert sum(1 for t in starts if t.partition(" ")[2].startswith(head)) == 1
    remedy = [el for b in as_dicts(pages[0]) if b["type"] == "actions" for el in b["elements"]]
    assert {el["action_id"] for el in remedy} == {
        "runbook_remediate_rollout_restart",
        "runbook_remediate_rollout_undo",
        "runbook_scale",
    }
    scale = next(el for el in remedy if el["action_id"] == "runbook_scale")
    assert all(len(o["value"]) <= 150 for o in scale["options"])
    assert all(el["confirm"]["text"]["type"] == "plain_text" for el in remedy)
