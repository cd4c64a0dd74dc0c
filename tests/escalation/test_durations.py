from __future__ import annotations

from datetime import timedelta

import pytest

from bot.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("15 min", timedelta(minutes=15)),
        ("1w", timedelta(weeks=1)),
        ("2 weeks", timedelta(weeks=2)),
        ("1w2d", timedelta(days=9)),
        ("12h", timedelta(hours=12)),
        (90, timedelta(seconds=90)),
        ("3s", timedelta(seconds=3)),
    ],
)
def test_parse(text: object, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("bad", ["5x", "m", "", "soon", "5m x", True, None, [1]])
def test_bad_durations_name_the_forms(bad: object) -> None:
    with pytest.raises(ValueError, match="1w"):
        parse_duration(bad)


@pytest.mark.parametrize("text", ["90s", "5m", "1h30m", "1w", "1w2d3h4m5s", "12h"])
def test_format_round_trips(text: str) -> None:
    assert format_duration(parse_duration(text)) == {"90s": "1m30s"}.get(text, text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("90 s", timedelta(seconds=90)),
        ("2d", timedelta(days=2)),
        ("2 days", timedelta(days=2)),
        ("1 hour 30 minutes", timedelta(hours=1, minutes=30)),
        ("250ms", timedelta(milliseconds=250)),
        ("1.5h", timedelta(minutes=90)),
        (2.5, timedelta(seconds=2.5)),
        (timedelta(minutes=3), timedelta(minutes=3)),
    ],
)
def test_every_policy_form_still_parses(text: object, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (timedelta(hours=1, minutes=30), "1h30m"),
        (5400.0, "1h30m"),
        (timedelta(hours=1, minutes=30, seconds=7), "1h30m7s"),
        (timedelta(days=9, hours=1), "1w2d1h"),
        (59.9, "59s"),
        (0, "0s"),
        (-30, "0s"),
        (None, "—"),
    ],
)
def test_one_human_format(value: timedelta | float | None, shown: str) -> None:
    assert format_duration(value) == shown
