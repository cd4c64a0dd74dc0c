"""The review meeting: when to propose it, and the iCalendar (RFC 5545) file that invites to it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from bot.config.review import ReviewPolicy

PRODID = "-//chatops incident bot//post-incident review//EN"


def meeting_start(policy: ReviewPolicy, after: datetime) -> datetime | None:
    """``meeting_offset_days`` after ``after`` at ``meeting_time`` UTC; weekends move to Monday."""
    if policy.meeting_offset_days <= 0:
        return None
    day: date = after.astimezone(UTC).date() + timedelta(days=policy.meeting_offset_days)
    if policy.meeting_skip_weekends and day.weekday() >= 5:
        day += timedelta(days=7 - day.weekday())
    return datetime.combine(day, time(policy.meeting_time.hour, policy.meeting_time.minute), tzinfo=UTC)


def _text(value: str) -> str:
    """TEXT value escaping (RFC 5545 3.3.11)."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Lines longer than 75 octets are folded (RFC 5545 3.1), never inside a UTF-8 sequence."""
    out: list[str] = []
    current = ""
    limit = 75
    for ch in line:
        if len((current + ch).encode()) > limit:
            out.append(current)
            current = " " + ch
            limit = 75
        else:
            current += ch
    out.append(current)
    return "\r\n".join(out)


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def ics(
    *,
    uid: str,
    start: datetime,
    minutes: int,
    summary: str,
    description: str,
    location: str = "",
    now: datetime | None = None,
) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{_text(uid)}",
        f"DTSTAMP:{_stamp(now or datetime.now(UTC))}",
        f"DTSTART:{_stamp(start)}",
        f"DTEND:{_stamp(start + timedelta(minutes=minutes))}",
        f"SUMMARY:{_text(summary)}",
        f"DESCRIPTION:{_text(description)}",
    ]
    if location:
        lines.append(f"LOCATION:{_text(location)}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
