from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.config.oncall import Layer, Override, Restriction, Rotation, upcoming_shifts, who_is_on_call

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def weekly() -> Rotation:
    return Rotation(
        name="primary", members=["UA", "UB", "UC"], shift="1w", handoff_time="09:00", start="2024-01-01"
    )


def test_weekly_rotation_cycles_through_members_in_order() -> None:
    rot = weekly()
    assert who_is_on_call(rot, utc(2024, 1, 1, 8, 59)) is None  # before the first handoff
    assert who_is_on_call(rot, utc(2024, 1, 1, 9, 0)) == "UA"
    assert who_is_on_call(rot, utc(2024, 1, 8, 8, 59, 59)) == "UA"
    assert who_is_on_call(rot, utc(2024, 1, 8, 9, 0)) == "UB"
    assert who_is_on_call(rot, utc(2024, 1, 15, 9, 0)) == "UC"
    assert who_is_on_call(rot, utc(2024, 1, 22, 9, 0)) == "UA"
    # 2025-01-01 12:00 is in week 52 after the start (2024-12-30 09:00): 52 % 3 == 1
    assert who_is_on_call(rot, utc(2025, 1, 1, 12, 0)) == "UB"


def test_aware_times_in_other_zones_are_the_same_instant() -> None:
    rot = weekly()
    at = datetime(2024, 1, 8, 4, 0, tzinfo=NY)  # 09:00 UTC
    assert who_is_on_call(rot, at) == "UB"
    assert who_is_on_call(rot, at - timedelta(seconds=1)) == "UA"


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        who_is_on_call(weekly(), datetime(2024, 1, 2, 12, 0))


def test_daily_handoff_stays_at_local_time_across_spring_forward() -> None:
    # New York springs forward on 2024-03-10: 09:00 local is 14:00 UTC before, 13:00 UTC after.
    rot = Rotation(
        name="d",
        members=["U0", "U1", "U2"],
        shift="1d",
        handoff_time="09:00",
        timezone="America/New_York",
        start="2024-03-08",
    )
    assert who_is_on_call(rot, utc(2024, 3, 9, 13, 59)) == "U0"
    assert who_is_on_call(rot, utc(2024, 3, 9, 14, 0)) == "U1"
    assert who_is_on_call(rot, utc(2024, 3, 10, 12, 59)) == "U1"
    assert who_is_on_call(rot, utc(2024, 3, 10, 13, 0)) == "U2"  # a 23-hour shift
    shifts = upcoming_shifts(rot, utc(2024, 3, 9, 20, 0), 2)
    assert [s.user for s in shifts] == ["U1", "U2"]
    assert shifts[0].end - shifts[0].start == timedelta(hours=23)
    assert shifts[1].end - shifts[1].start == timedelta(hours=24)


def test_daily_handoff_across_fall_back_makes_a_25_hour_shift() -> None:
    # Berlin falls back on 2024-10-27 (03:00 CEST → 02:00 CET).
    rot = Rotation(
        name="d",
        members=["U0", "U1"],
        shift="1d",
        handoff_time="09:00",
        timezone="Europe/Berlin",
        start="2024-10-26",
    )
    shifts = upcoming_shifts(rot, utc(2024, 10, 26, 7, 0), 2)
    assert shifts[0].start == utc(2024, 10, 26, 7, 0)
    assert shifts[0].end == utc(2024, 10, 27, 8, 0)
    assert shifts[0].end - shifts[0].start == timedelta(hours=25)
    assert [s.user for s in shifts] == ["U0", "U1"]


def test_twelve_hour_shifts_keep_local_handoffs_through_dst() -> None:
    rot = Rotation(
        name="h",
        members=["DAY", "NIGHT"],
        shift="12h",
        handoff_time="09:00",
        timezone="America/New_York",
        start="2024-03-01",
    )
    shifts = upcoming_shifts(rot, datetime(2024, 3, 9, 10, 0, tzinfo=NY), 4)
    local = [(s.user, s.start.astimezone(NY).strftime("%m-%d %H:%M")) for s in shifts]
    assert local == [
        ("DAY", "03-09 09:00"),
        ("NIGHT", "03-09 21:00"),
        ("DAY", "03-10 09:00"),
        ("NIGHT", "03-10 21:00"),
    ]
    assert shifts[1].end - shifts[1].start == timedelta(hours=11)


def test_handoff_inside_the_spring_forward_gap_happens_when_the_clock_resumes() -> None:
    rot = Rotation(
        name="g",
        members=["U0", "U1", "U2"],
        shift="1d",
        handoff_time="02:30",
        timezone="America/New_York",
        start="2024-03-08",
    )
    # 02:30 does not exist on 2024-03-10; the handoff happens at 03:30 EDT = 07:30 UTC
    assert who_is_on_call(rot, utc(2024, 3, 10, 7, 29)) == "U1"
    assert who_is_on_call(rot, utc(2024, 3, 10, 7, 30)) == "U2"


def test_handoff_in_the_repeated_hour_takes_the_first_occurrence() -> None:
    rot = Rotation(
        name="r",
        members=["U0", "U1"],
        shift="1d",
        handoff_time="01:30",
        timezone="America/New_York",
        start="2024-11-02",
    )
    assert who_is_on_call(rot, utc(2024, 11, 3, 5, 29)) == "U0"  # 01:29 EDT
    assert who_is_on_call(rot, utc(2024, 11, 3, 5, 30)) == "U1"  # 01:30 EDT, first occurrence
    assert who_is_on_call(rot, utc(2024, 11, 3, 6, 45)) == "U1"  # 01:45 EST, second pass: no flip back


def test_override_in_the_rotation_timezone_splits_the_shift() -> None:
    rot = Rotation(
        name="p",
        members=["UA", "UB"],
        shift="1w",
        handoff_time="09:00",
        timezone="Europe/Berlin",
        start="2024-01-01",
        overrides=[Override(start=datetime(2024, 1, 3, 12, 0), end=datetime(2024, 1, 4, 12, 0), user="UZ")],
    )
    assert who_is_on_call(rot, datetime(2024, 1, 3, 11, 59, tzinfo=BERLIN)) == "UA"
    assert who_is_on_call(rot, datetime(2024, 1, 3, 12, 0, tzinfo=BERLIN)) == "UZ"
    assert who_is_on_call(rot, datetime(2024, 1, 4, 12, 0, tzinfo=BERLIN)) == "UA"
    shifts = upcoming_shifts(rot, datetime(2024, 1, 2, 0, 0, tzinfo=BERLIN), 4)
    got = [
        (
            s.user,
            s.source,
            s.start.astimezone(BERLIN).strftime("%d %H:%M"),
            s.end.astimezone(BERLIN).strftime("%d %H:%M"),
        )
        for s in shifts
    ]
    assert got == [
        ("UA", "rotation", "01 09:00", "03 12:00"),
        ("UZ", "override", "03 12:00", "04 12:00"),
        ("UA", "rotation", "04 12:00", "08 09:00"),
        ("UB", "rotation", "08 09:00", "15 09:00"),
    ]


def test_later_override_wins_and_aware_overrides_are_exact() -> None:
    rot = weekly().model_copy(
        update={
            "overrides": [
                Override(start=utc(2024, 2, 1, 0, 0), end=utc(2024, 2, 3, 0, 0), user="UX"),
                Override(start=utc(2024, 2, 2, 0, 0), end=utc(2024, 2, 2, 6, 0), user="UY"),
            ]
        }
    )
    assert who_is_on_call(rot, utc(2024, 2, 1, 12, 0)) == "UX"
    assert who_is_on_call(rot, utc(2024, 2, 2, 3, 0)) == "UY"
    assert who_is_on_call(rot, utc(2024, 2, 2, 6, 0)) == "UX"


def test_override_before_the_rotation_starts() -> None:
    rot = weekly().model_copy(
        update={"overrides": [Override(start=utc(2023, 12, 31), end=utc(2024, 1, 1, 9), user="UE")]}
    )
    assert who_is_on_call(rot, utc(2023, 12, 30)) is None
    assert who_is_on_call(rot, utc(2023, 12, 31, 12)) == "UE"
    assert [s.user for s in upcoming_shifts(rot, utc(2023, 12, 31, 12), 2)] == ["UE", "UA"]


def business_hours() -> Rotation:
    return Rotation(
        name="primary",
        members=["NIGHT1", "NIGHT2"],
        shift="1w",
        handoff_time="09:00",
        timezone="Europe/Berlin",
        start="2024-01-01",
        layers=[
            Layer(
                name="office",
                members=["DAY1", "DAY2"],
                shift="1d",
                handoff_time="09:00",
                start="2024-01-01",
                restrictions=[
                    Restriction(start=time(9), end=time(17), days=["mon", "tue", "wed", "thu", "fri"])
                ],
            )
        ],
    )


def test_layer_with_business_hours_covers_only_its_window() -> None:
    rot = business_hours()
    assert who_is_on_call(rot, datetime(2024, 1, 2, 10, 0, tzinfo=BERLIN)) == "DAY2"  # Tuesday, layer day 1
    assert who_is_on_call(rot, datetime(2024, 1, 2, 17, 0, tzinfo=BERLIN)) == "NIGHT1"
    assert who_is_on_call(rot, datetime(2024, 1, 6, 10, 0, tzinfo=BERLIN)) == "NIGHT1"  # Saturday
    # next Monday is layer day 7 (DAY2), and the base has handed off to NIGHT2 for the evenings
    assert who_is_on_call(rot, datetime(2024, 1, 8, 10, 0, tzinfo=BERLIN)) == "DAY2"
    assert who_is_on_call(rot, datetime(2024, 1, 9, 10, 0, tzinfo=BERLIN)) == "DAY1"
    assert who_is_on_call(rot, datetime(2024, 1, 8, 18, 0, tzinfo=BERLIN)) == "NIGHT2"
    shifts = upcoming_shifts(rot, datetime(2024, 1, 2, 8, 0, tzinfo=BERLIN), 3)
    got = [(s.user, s.source, s.start.astimezone(BERLIN).strftime("%d %H:%M")) for s in shifts]
    assert got == [
        ("NIGHT1", "rotation", "01 17:00"),
        ("DAY2", "layer:office", "02 09:00"),
        ("NIGHT1", "rotation", "02 17:00"),
    ]


def test_overnight_restriction_wraps_midnight() -> None:
    rot = Rotation(
        name="p",
        members=["BASE"],
        start="2024-01-01",
        layers=[
            Layer(
                name="night",
                members=["OWL"],
                start="2024-01-01",
                restrictions=[Restriction(start=time(22), end=time(6))],
            )
        ],
    )
    assert who_is_on_call(rot, utc(2024, 1, 3, 23)) == "OWL"
    assert who_is_on_call(rot, utc(2024, 1, 4, 5, 59)) == "OWL"
    assert who_is_on_call(rot, utc(2024, 1, 4, 6)) == "BASE"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "Mars/Olympus", "unknown IANA timezone"),
        ("shift", "30m", "at least 1h"),
        ("shift", "soon", "bad duration"),
        ("members", [], "at least 1"),
        ("handoff_time", "25:00", "time"),
    ],
)
def test_bad_rotation_fields_are_explained(field: str, value: object, message: str) -> None:
    data = {"name": "x", "members": ["U1"], field: value}
    with pytest.raises(ValidationError, match=message):
        Rotation.model_validate(data)


def test_bad_override_is_explained() -> None:
    with pytest.raises(ValidationError, match="end must be after"):
        Override(start=utc(2024, 1, 2), end=utc(2024, 1, 1), user="U")
    with pytest.raises(ValidationError, match="both"):
        Override(start=utc(2024, 1, 1), end=datetime(2024, 1, 2), user="U")


def test_policy_style_yaml_values_parse() -> None:
    rot = Rotation.model_validate(
        {
            "name": "s",
            "members": ["U1", "U2"],
            "shift": "12h",
            "handoff_time": "08:30",
            "timezone": "Asia/Kolkata",
            "start": "2024-05-01",
            "overrides": [{"start": "2024-05-02T00:00:00", "end": "2024-05-03T00:00:00", "user": "U9"}],
        }
    )
    assert (
        rot.shift == timedelta(hours=12) and rot.handoff_time == time(8, 30) and rot.start == date(2024, 5, 1)
    )
    assert who_is_on_call(rot, datetime(2024, 5, 2, 12, tzinfo=ZoneInfo("Asia/Kolkata"))) == "U9"


ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Santiago",
]


@settings(max_examples=150, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    shift_hours=st.sampled_from([1, 5, 8, 12, 24, 48, 168]),
    handoff=st.times(),
    members=st.integers(min_value=1, max_value=4),
    at=st.datetimes(min_value=datetime(2024, 1, 2), max_value=datetime(2026, 12, 1), timezones=st.just(UTC)),
    override_at=st.integers(min_value=-72, max_value=72),
    override_hours=st.integers(min_value=1, max_value=50),
    with_layer=st.booleans(),
)
def test_schedule_agrees_with_who_is_on_call(
    zone: str,
    shift_hours: int,
    handoff: time,
    members: int,
    at: datetime,
    override_at: int,
    override_hours: int,
    with_layer: bool,
) -> None:
    o_start = (at + timedelta(hours=override_at)).replace(microsecond=0)
    rot = Rotation(
        name="p",
        members=[f"U{i}" for i in range(members)],
        shift=timedelta(hours=shift_hours),
        handoff_time=handoff.replace(microsecond=0),
        timezone=zone,
        start="2024-01-01",
        overrides=[Override(start=o_start, end=o_start + timedelta(hours=override_hours), user="UO")],
        layers=[
            Layer(
                name="l",
                members=["L1", "L2"],
                shift="1d",
                start="2024-01-01",
                restrictions=[Restriction(start=time(9), end=time(17), days=["mon", "wed"])],
            )
        ]
        if with_layer
        else [],
    )
    shifts = upcoming_shifts(rot, at, 6)
    assert len(shifts) == 6
    assert shifts[0].start <= at < shifts[0].end
    assert shifts[0].user == who_is_on_call(rot, at)
    for shift, following in itertools.pairwise(shifts):
        assert shift.end == following.start  # no holes once the rotation has started
        assert shift.start < shift.end
    for shift in shifts:
        assert who_is_on_call(rot, shift.start) == shift.user
        assert who_is_on_call(rot, shift.end - timedelta(microseconds=1)) == shift.user
