"""On-call rotations: who holds a rotation at a given moment, and the next shifts. Pure functions.

A rotation hands off at ``handoff_time`` wall-clock time in its IANA ``timezone``, every ``shift``
(``1w``, ``1d``, ``12h``…), starting on ``start`` with the first member, cycling through ``members``
in order. Handoffs follow the wall clock, so a daily or weekly handoff at 09:00 stays at 09:00 local
across daylight-saving changes (that shift is then an hour shorter or longer). A handoff that falls
into a spring-forward gap happens when the clock resumes (02:30 → 03:30); in the repeated hour of a
fall-back the first occurrence counts.

Optional ``layers`` (later layers win) cover parts of the day or week, e.g. a business-hours layer on
top of a weekly base rotation; ``overrides`` (later ones win) replace whoever is on call between two
moments. Override times without a UTC offset are read in the rotation's timezone.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.durations import Duration

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MIN_SHIFT = timedelta(hours=1)
_MAX_STEPS = 20000


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Override(_Model):
    start: datetime
    end: datetime
    user: str = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Override:
        if (self.start.tzinfo is None) != (self.end.tzinfo is None):
            raise ValueError("override start and end must both have a UTC offset or both have none")
        if self.end <= self.start:
            raise ValueError("override end must be after its start")
        return self


class Restriction(_Model):
    """A daily window [start, end) in the rotation's timezone on the given days (the day it opens).

    ``end`` at or before ``start`` wraps past midnight; ``start == end`` is the whole day.
    """

    start: time = time(9, 0)
    end: time = time(17, 0)
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS))


class ShiftPattern(_Model):
    members: list[str] = Field(min_length=1)
    shift: Duration = timedelta(weeks=1)
    handoff_time: time = time(9, 0)
    start: date = date(2024, 1, 1)

    @field_validator("shift")
    @classmethod
    def _long_enough(cls, value: timedelta) -> timedelta:
        if value < MIN_SHIFT:
            raise ValueError("a shift must last at least 1h")
        return value

    @field_validator("handoff_time")
    @classmethod
    def _naive_time(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("handoff_time is wall-clock time in the rotation's timezone; give no offset")
        return value


class Layer(ShiftPattern):
    name: str = Field(min_length=1)
    restrictions: list[Restriction] = Field(default_factory=list)


class Rotation(ShiftPattern):
    name: str = Field(min_length=1)
    timezone: str = "UTC"
    overrides: list[Override] = Field(default_factory=list)
    layers: list[Layer] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown IANA timezone {value!r} (e.g. 'Europe/Berlin', 'America/New_York')"
            ) from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Shift:
    start: datetime  # UTC
    end: datetime  # UTC
    user: str
    source: str  # "rotation", "layer:<name>" or "override"


# -- time helpers ---------------------------------------------------------------------------------


def _localize(naive: datetime, tz: ZoneInfo) -> datetime:
    """Wall-clock time in ``tz`` → UTC; gap times move forward, repeated times take the first."""
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _require_aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("times must be timezone-aware (e.g. datetime.now(UTC))")
    return at.astimezone(UTC)


def _override_bounds(override: Override, tz: ZoneInfo) -> tuple[datetime, datetime]:
    if override.start.tzinfo is None:
        return _localize(override.start, tz), _localize(override.end, tz)
    return override.start.astimezone(UTC), override.end.astimezone(UTC)


def _handoff(pattern: ShiftPattern, tz: ZoneInfo, index: int) -> datetime:
    return _localize(datetime.combine(pattern.start, pattern.handoff_time) + index * pattern.shift, tz)


def _shift_index(pattern: ShiftPattern, tz: ZoneInfo, at: datetime) -> int | None:
    """Index of the shift holding ``at`` (UTC), or None before the pattern's first handoff."""
    naive_start = datetime.combine(pattern.start, pattern.handoff_time)
    naive_at = at.astimezone(tz).replace(tzinfo=None)
    index = math.floor((naive_at - naive_start) / pattern.shift)
    while _handoff(pattern, tz, index) > at:
        index -= 1
    while _handoff(pattern, tz, index + 1) <= at:
        index += 1
    return index if index >= 0 else None


def _windows(restriction: Restriction, tz: ZoneInfo, around: date) -> Iterator[tuple[datetime, datetime]]:
    """Windows of ``restriction`` that open on days around ``around`` (UTC bounds)."""
    for offset in range(-1, 9):
        day = around + timedelta(days=offset)
        if WEEKDAYS[day.weekday()] not in restriction.days:
            continue
        opens = datetime.combine(day, restriction.start)
        closes = datetime.combine(day, restriction.end)
        if closes <= opens:
            closes += timedelta(days=1)
        yield _localize(opens, tz), _localize(closes, tz)


def _in_restrictions(layer: Layer, tz: ZoneInfo, at: datetime) -> bool:
    if not layer.restrictions:
        return True
    local_day = at.astimezone(tz).date()
    return any(
        opens <= at < closes
        for restriction in layer.restrictions
        for opens, closes in _windows(restriction, tz, local_day)
    )


# -- resolution -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Holder:
    user: str | None
    source: str
    key: tuple[str, int]


def _holder(rotation: Rotation, at: datetime) -> _Holder:
    tz = rotation.tz
    for number in range(len(rotation.overrides) - 1, -1, -1):
        override = rotation.overrides[number]
        start, end = _override_bounds(override, tz)
        if start <= at < end:
            return _Holder(override.user, "override", ("override", number))
    for layer in reversed(rotation.layers):
        if not _in_restrictions(layer, tz, at):
            continue
        index = _shift_index(layer, tz, at)
        if index is not None:
            return _Holder(
                layer.members[index % len(layer.members)], f"layer:{layer.name}", (layer.name, index)
            )
    index = _shift_index(rotation, tz, at)
    if index is None:
        return _Holder(None, "rotation", ("", -1))
    return _Holder(rotation.members[index % len(rotation.members)], "rotation", ("", index))


def who_is_on_call(rotation: Rotation, at: datetime) -> str | None:
    """The user on call for ``rotation`` at ``at`` (aware); None before the rotation starts."""
    return _holder(rotation, _require_aware(at)).user


def _next_boundary(rotation: Rotation, after: datetime) -> datetime:
    tz = rotation.tz
    candidates: list[datetime] = []
    patterns: Sequence[ShiftPattern] = [rotation, *rotation.layers]
    for pattern in patterns:
        index = _shift_index(pattern, tz, after)
        candidates.append(_handoff(pattern, tz, 0 if index is None else index + 1))
    local_day = after.astimezone(tz).date()
    for layer in rotation.layers:
        for restriction in layer.restrictions:
            for opens, closes in _windows(restriction, tz, local_day):
                candidates.extend(t for t in (opens, closes) if t > after)
    for override in rotation.overrides:
        candidates.extend(t for t in _override_bounds(override, tz) if t > after)
    return min(t for t in candidates if t > after)


def upcoming_shifts(rotation: Rotation, at: datetime, count: int = 5) -> list[Shift]:
    """The shift holding ``at`` (with its true start) and the following ones, ``count`` in all.

    Consecutive time held by the same person through the same source and shift is one entry; a
    break by an override or a layer splits a shift into pieces. Time nobody holds is left out.
    """
    at = _require_aware(at)
    if count <= 0:
        return []
    tz = rotation.tz
    # Walk from the start of every unit that may hold `at`, so the first entry has its real start.
    anchor = at
    for pattern in (rotation, *rotation.layers):
        index = _shift_index(pattern, tz, at)
        if index is not None:
            anchor = min(anchor, _handoff(pattern, tz, index))
    for override in rotation.overrides:
        start, end = _override_bounds(override, tz)
        if start <= at < end:
            anchor = min(anchor, start)
    shifts: list[Shift] = []
    seg_start = anchor
    holder = _holder(rotation, seg_start)
    t = seg_start
    for _ in range(_MAX_STEPS):
        boundary = _next_boundary(rotation, t)
        nxt = _holder(rotation, boundary)
        if nxt.key != holder.key or nxt.user != holder.user:
            if holder.user is not None and boundary > at:
                shifts.append(Shift(seg_start, boundary, holder.user, holder.source))
                if len(shifts) >= count:
                    return shifts
            seg_start, holder = boundary, nxt
        t = boundary
    return shifts
