"""The pieces without Slack: Markdown escaping, the review template, action parsing, the calendar
file, the meeting day, the timeline pages and the policy section."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.blocks import MAX_BLOCKS, SECTION_TEXT_MAX
from bot.config.policy import Policy, PolicyError, parse_policy
from bot.config.review import ReviewPolicy
from bot.core.models import Incident, TimelineEntry
from bot.listeners import UsageError
from bot.review.document import render_review
from bot.review.markdown import check_template, md_escape
from bot.review.meeting import ics, meeting_start
from bot.review.names import slack_to_plain
from bot.review.views import timeline_pages
from commands.incident_review import parse_action

T0 = datetime(2030, 3, 4, 5, 6, 7, tzinfo=UTC)


def incident(**extra: object) -> Incident:
    base: dict[str, object] = {
        "id": "INC-9",
        "number": 9,
        "title": "Queue backlog",
        "severity": "high",
        "status": "resolved",
        "created_by": "U0ALICE001",
        "created_at": T0,
        "resolved_at": T0 + timedelta(hours=2),
        "resolved_by": "U0ALICE001",
    }
    base.update(extra)
    return Incident.model_validate(base)


def test_user_text_cannot_shape_the_markdown() -> None:
    hostile = "# Title\n| x | [click](http://evil) *bold* _it_ `code` <b>html</b> ~~gone~~ \\"
    out = md_escape(hostile)
    assert "\n" not in out
    assert out == (
        "\\# Title \\| x \\| \\[click\\](http://evil) \\*bold\\* \\_it\\_ \\`code\\` "
        "\\<b\\>html\\</b\\> \\~\\~gone\\~\\~ \\\\"
    )
    assert md_escape("- item") == "\\- item" and md_escape("12. item") == "12\\. item"


def test_hostile_title_and_timeline_stay_in_their_cells() -> None:
    inc = incident(title="DB | down *now*", summary="line one\nline two <!channel>")
    entries = [TimelineEntry(at=T0, actor="U0BOB00002", kind="note", text="a | b\n# c <@U0ALICE001>")]
    md, warning = render_review(
        Policy(),
        inc,
        entries,
        [],
        {"U0ALICE001": "Alice", "U0BOB00002": "Bob"},
        generated_at=T0,
    )
    assert warning is None
    lines = md.splitlines()
    assert lines[0] == "# Post-incident review: INC-9 — DB \\| down \\*now\\*"
    assert "| 2030-03-04 05:06:07 | a \\| b # c @Alice | Bob |" in lines
    assert "line one line two @channel" in lines


def test_broken_policy_template_falls_back_and_says_so() -> None:
    policy = parse_policy("review:\n  template: '{{ incident.nope.deeper }}'\n")
    md, warning = render_review(policy, incident(), [], [], {}, generated_at=T0)
    assert warning and "review template failed" in warning
    assert md.startswith("# Post-incident review: INC-9")
    assert check_template("{% for %}") is not None and check_template("{{ incident.id }}") is None


def test_slack_markup_becomes_plain_words() -> None:
    names = {"U0ALICE001": "Alice Andersen"}
    text = (
        "<@U0ALICE001> in <#C123|inc-1> see <https://x.test/a|dash> at <!date^1^{time}|10:00> "
        "<!here> a &lt; b"
    )
    assert (
        slack_to_plain(text, names)
        == "@Alice Andersen in #inc-1 see dash (https://x.test/a) at 10:00 @here a < b"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("INC-3 Add an alert", ("INC-3", "Add an alert", None, None)),
        ("inc-3 Add an alert <@U0BOB00002>", ("INC-3", "Add an alert", "U0BOB00002", None)),
        (
            "3 Add an alert <@U0BOB00002|bob> due 2030-01-31",
            ("INC-3", "Add an alert", "U0BOB00002", date(2030, 1, 31)),
        ),
        ("Add an alert due:2030-02-01", (None, "Add an alert", None, date(2030, 2, 1))),
        ('"Quoted text" U0CAROL003', (None, "Quoted text", "U0CAROL003", None)),
    ],
)
def test_action_parsing(text: str, expected: tuple[object, ...]) -> None:
    args = parse_action(text)
    assert (args.incident_id, args.text, args.owner, args.due) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("INC-3", "Describe the action item"),
        ("INC-3 <@U0BOB00002>", "Describe the action item"),
        ("Fix it due 2030-02-30", "is not a date"),
        ("Fix it due", "Give the due date"),
        ("x" * 501, "at most 500"),
    ],
)
def test_action_parsing_errors(text: str, problem: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_action(text)
    assert problem in (err.value.problem or "")


def test_meeting_day_skips_weekends_and_can_be_off() -> None:
    policy = ReviewPolicy(meeting_offset_days=3, meeting_time=time(9, 30))
    thursday = datetime(2030, 3, 7, 23, 0, tzinfo=UTC)  # +3 days = Sunday -> Monday
    assert meeting_start(policy, thursday) == datetime(2030, 3, 11, 9, 30, tzinfo=UTC)
    monday = datetime(2030, 3, 4, 1, 0, tzinfo=UTC)
    assert meeting_start(policy, monday) == datetime(2030, 3, 7, 9, 30, tzinfo=UTC)
    assert meeting_start(ReviewPolicy(meeting_offset_days=0), monday) is None


def test_calendar_file_is_rfc5545() -> None:
    text = ics(
        uid="INC-9-review-1@chatops",
        start=datetime(2030, 3, 7, 14, 0, tzinfo=UTC),
        minutes=45,
        summary="Review: INC-9, queue; backlog",
        description="Ünïcode " * 20,
        now=T0,
    )
    lines = text.split("\r\n")
    assert text.endswith("\r\n") and lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR"
    assert "DTSTART:20300307T140000Z" in lines and "DTEND:20300307T144500Z" in lines
    assert "SUMMARY:Review: INC-9\\, queue\\; backlog" in lines
    assert all(len(line.encode()) <= 75 for line in lines)
    unfolded = text.replace("\r\n ", "")
    assert "DESCRIPTION:" + "Ünïcode " * 20 in unfolded


def test_timeline_pages_fit_block_kit() -> None:
    entries = [
        TimelineEntry(
            at=T0 + timedelta(minutes=i), actor="U0BOB00002", kind="note", text=f"note {i} " + "x" * 400
        )
        for i in range(300)
    ]
    pages = timeline_pages(incident(), entries)
    assert 1 < len(pages) <= 5
    for page in pages:
        assert len(page) <= MAX_BLOCKS
        for block in page:
            text = block.to_dict().get("text", {}).get("text", "")
            assert len(text) <= SECTION_TEXT_MAX
    for page in pages:  # each page is one message within Slack's total block-text budget
        assert sum(len(str(b.to_dict().get("text", {}).get("text", ""))) for b in page) <= 12_000
    shown = "".join(str(b.to_dict()) for page in pages for b in page)
    # the latest entries are shown; the first page shown says the earliest are in the review file
    assert "note 299 " in shown and "note 0 " not in shown
    assert "the earliest entries) are not shown: the review file has the whole timeline" in str(
        pages[0][-1].to_dict()
    )


def test_policy_section_defaults_and_errors() -> None:
    assert parse_policy("").review.pin_emoji == "pushpin"
    assert parse_policy("review:\n  pin_emoji: ':round_pushpin:'\n").review.pin_emoji == "round_pushpin"
    with pytest.raises(PolicyError) as err:
        parse_policy("review:\n  pin_emoji: 'no spaces please'\n  meeting_offset_days: -1\n")
    problems = "\n".join(err.value.problems)
    assert "review.pin_emoji" in problems and "review.meeting_offset_days" in problems
    with pytest.raises(PolicyError) as err:
        parse_policy("review:\n  template: '{% for x in %}'\n")
    assert ":2:" in err.value.problems[0] and "review.template" in err.value.problems[0]
