"""Story: an incident carried through its life in the sandbox — declared, acknowledged, updated, a
war-room message pinned with 📌, an action item, resolved — then its review read line by line
against the timeline recorded in Redis, and finally closed (war room archived, record kept)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.core.models import Incident, TimelineEntry
from bot.durations import format_duration
from bot.review.workflow import records
from tests.conftest import eventually

ALICE, BOB, CAROL = "U0ALICE001", "U0BOB00002", "U0CAROL003"


@pytest.fixture
def bot_policy() -> str:
    return """
responders:
  by_severity:
    critical: [U0BOB00002, carol@example.com, U0DAVE0004]
"""


def texts(msgs: list[dict[str, Any]]) -> str:
    """Everything a user would read in some messages (text and block texts)."""
    out = []
    for m in msgs:
        out.append(m.get("text") or "")
        for b in m.get("blocks") or []:
            out.append(str(b))
    return "\n".join(out)


async def metric(url: str, name: str, labels: dict[str, str]) -> float:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/metrics") as resp:
        body = await resp.text()
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


async def download(sandbox: Any, file: dict[str, Any]) -> str:
    async with aiohttp.ClientSession() as http, http.get(file["url_private"]) as resp:
        assert resp.status == 200
        return await resp.text()


def expected_row(entry: TimelineEntry, names: dict[str, str]) -> str:
    """The review's row for a timeline entry, built from the recorded entry and people's names."""
    at = entry.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    event = re.sub(r"<@(U[A-Z0-9]+)>", lambda m: "@" + names[m.group(1)], entry.text)
    if entry.kind == "pinned":
        event = f"Pinned message: “{event}” [message]({entry.data['permalink']})"
    person = names.get(entry.actor, entry.actor)
    return f"| {at} | {event} | {person} |"


async def test_incident_life_review_and_close(sandbox: Any, bot: Any) -> None:
    store = bot.ctx.store
    opened_before = await metric(bot.url, "chatops_incidents_opened_total", {"severity": "critical"})
    resolved_before = await metric(bot.url, "chatops_incidents_resolved_total", {"severity": "critical"})
    ttr_count_before = await metric(
        bot.url, "chatops_incident_time_to_resolve_seconds_count", {"severity": "critical"}
    )

    # --- declared -------------------------------------------------------------------------------
    await sandbox.command("alice", "general", "/incident", 'create critical "Checkout errors"')

    async def declared() -> Incident | None:
        found = await store.list(include_resolved=True)
        return found[0] if found and found[0].war_room and found[0].war_room_message else None

    inc = await eventually(declared)
    room = inc.war_room.channel_id
    assert inc.announcement is not None

    # --- acknowledged by Bob with the button ---------------------------------------------------
    await sandbox.click("bob", inc.announcement.channel, inc.announcement.ts, "incident_ack", inc.id)

    async def acknowledged() -> Incident | None:
        i = await store.get(inc.id)
        return i if i.acknowledged_by else None

    await eventually(acknowledged)

    # --- updates from the war room (the ID may be left out there) ------------------------------
    await sandbox.command(
        "alice", room, "/status", f"update {inc.id} identified Bad deploy of the cart service"
    )
    await sandbox.command("alice", room, "/status", f"update {inc.id} monitoring Rolled back, watching")

    async def two_updates() -> bool:
        return len((await store.get(inc.id)).updates) == 2

    await eventually(two_updates)

    # --- a message pinned with 📌; a second 📌 and another emoji change nothing ---------------
    said = await sandbox.say("carol", room, "Error rate back to 0.1 percent after the rollback")
    other = await sandbox.say("dave", room, "Coffee anyone")
    await sandbox.react("bob", room, said["ts"], "pushpin")

    async def pinned() -> list[TimelineEntry]:
        return [e for e in await store.timeline(inc.id) if e.kind == "pinned"]

    pins = await eventually(pinned)
    await sandbox.react("alice", room, said["ts"], "pushpin")
    await sandbox.react("alice", room, other["ts"], "eyes")
    assert len(pins) == 1
    pin = pins[0]
    assert pin.actor == CAROL
    assert pin.text == "Error rate back to 0.1 percent after the rollback"
    assert pin.at == datetime.fromtimestamp(float(said["ts"]), UTC)
    assert pin.data["pinned_by"] == BOB
    assert pin.data["permalink"].startswith(sandbox.url)
    confirmations = await eventually(
        lambda: _async([e for e in sandbox.ephemerals("bob", room) if "timeline" in (e["text"] or "")])
    )
    assert inc.id in confirmations[0]["text"]

    # --- refusals before their time -------------------------------------------------------------
    await sandbox.command("alice", room, "/incident", "close")
    await sandbox.command("alice", room, "/incident", "review")

    async def refusals() -> str:
        got = texts(sandbox.ephemerals("alice", room))
        return got if "is not resolved; resolve it first" in got and "the review comes after" in got else ""

    await eventually(refusals)

    # --- an action item, without the ID inside the war room ------------------------------------
    await sandbox.command(
        "alice", room, "/incident", "action Alert on checkout error rate @bob due 2030-01-31"
    )

    async def action_added() -> list[Any]:
        return await records(bot.ctx).actions(inc.id)

    (item,) = await eventually(action_added)
    assert (item.text, item.owner, item.due.isoformat(), item.created_by) == (
        "Alert on checkout error rate",
        BOB,
        "2030-01-31",
        ALICE,
    )
    await sandbox.command("alice", room, "/incident", "actions")
    await eventually(
        lambda: _async("Alert on checkout error rate" in texts(sandbox.ephemerals("alice", room)))
    )

    # --- resolved: the announcement offers "Create review" -------------------------------------
    await sandbox.command("alice", room, "/incident", "resolve Rolled back the cart deploy")

    async def resolved() -> Incident | None:
        i = await store.get(inc.id)
        return i if i.is_resolved else None

    inc = await eventually(resolved)

    async def review_button() -> dict[str, Any] | None:
        msg = next(m for m in sandbox.messages(inc.announcement.channel) if m["ts"] == inc.announcement.ts)
        return msg if "review_create" in str(msg.get("blocks")) else None

    await eventually(review_button)

    async def resolution_posted() -> bool:  # the core's resolution template, in the war room
        return any(m["text"] == f"{inc.id} resolved: Checkout errors" for m in sandbox.messages(room))

    await eventually(resolution_posted)
    # the timeline command (no ID needed in the war room) shows it all
    await sandbox.command("carol", room, "/incident", "timeline")

    async def timeline_shown() -> str:
        got = texts(sandbox.ephemerals("carol", room))
        return got if "Error rate back to 0.1 percent" in got and "Resolved" in got else ""

    shown = await eventually(timeline_shown)
    assert f"{inc.id} timeline" in shown

    # --- the review, from the button ------------------------------------------------------------
    await sandbox.click("alice", inc.announcement.channel, inc.announcement.ts, "review_create", inc.id)

    async def review_file() -> list[dict[str, Any]] | None:
        posted = [m for m in sandbox.messages(room) if m.get("files")]
        return posted[-1]["files"] if posted else None

    files = await eventually(review_file)
    by_name = {f["name"]: f for f in files}
    review_md = await download(sandbox, by_name[f"{inc.id}-review.md"])
    stored = await records(bot.ctx).review(inc.id)
    assert (
        stored is not None
        and stored.markdown == review_md
        and stored.file_id == by_name[f"{inc.id}-review.md"]["id"]
    )
    lines = review_md.splitlines()

    timeline = await store.timeline(inc.id)
    covered = [e for e in timeline if e.at <= stored.generated_at and e.kind != "review"]
    names = {u: sandbox.user_by_name(u)["real_name"] for u in (ALICE, BOB, CAROL)}
    assert lines[0] == f"# Post-incident review: {inc.id} — Checkout errors"

    # every recorded entry is one row, in order, with its time, event and person
    start = lines.index("| Time | Event | Person |") + 2
    rows = lines[start : start + len(covered)]
    assert rows == [expected_row(e, names) for e in covered]
    assert lines[start + len(covered)] == ""
    kinds = [e.kind for e in covered]
    for kind in ("created", "acknowledged", "status", "pinned", "action_item", "resolved"):
        assert kind in kinds

    # metrics computed from the recorded events
    created = next(e for e in covered if e.kind == "created").at
    acked = next(e for e in covered if e.kind == "acknowledged").at
    mitigated = next(e for e in covered if e.kind == "status" and e.data["status"] == "monitoring").at
    resolved_at = next(e for e in covered if e.kind == "resolved").at
    assert f"| Time to acknowledge | {format_duration(acked - created)} |" in lines
    assert f"| Time to mitigate | {format_duration(mitigated - created)} |" in lines
    assert f"| Time to resolve | {format_duration(resolved_at - created)} |" in lines
    assert f"| Status updates | {sum(e.kind == 'status' for e in covered)} |" in lines
    assert "| Escalations | 0 |" in lines
    assert f"| Declared | {created:%Y-%m-%d %H:%M:%S} by Alice Andersen |" in lines
    assert f"| Resolved | {resolved_at:%Y-%m-%d %H:%M:%S} by Alice Andersen |" in lines
    assert "| Commander | Bob Barros |" in lines
    assert "Rolled back the cart deploy" in lines

    # participants with what they did; sections to fill in; the action item
    assert "- Alice Andersen (reporter, status updates, resolved)" in lines
    assert "- Bob Barros (Incident commander, acknowledged, action owner)" in lines
    assert "- Carol Chen" in lines
    for heading in ("## Summary", "## Impact", "## Root cause", "## Action items"):
        assert heading in lines
    assert "| 1 | Alert on checkout error rate | Bob Barros | 2030-01-31 |" in lines

    # the meeting: three days later at 14:00 UTC (weekends move to Monday), as a calendar file
    day = stored.generated_at.date() + timedelta(days=3)
    if day.weekday() >= 5:
        day += timedelta(days=7 - day.weekday())
    assert stored.meeting_at == datetime(day.year, day.month, day.day, 14, 0, tzinfo=UTC)
    invite = await download(sandbox, by_name[f"{inc.id}-review-meeting.ics"])
    assert invite.startswith("BEGIN:VCALENDAR\r\n")
    assert f"DTSTART:{day:%Y%m%d}T140000Z\r\n" in invite
    assert f"DTEND:{day:%Y%m%d}T150000Z\r\n" in invite

    # --- /metrics saw the incident through its events -----------------------------------------
    assert (
        await metric(bot.url, "chatops_incidents_opened_total", {"severity": "critical"}) == opened_before + 1
    )
    assert (
        await metric(bot.url, "chatops_incidents_resolved_total", {"severity": "critical"})
        == resolved_before + 1
    )
    assert (
        await metric(bot.url, "chatops_incident_time_to_resolve_seconds_count", {"severity": "critical"})
        == ttr_count_before + 1
    )

    # --- closed: war room archived, record kept, no way back -----------------------------------
    await sandbox.command("alice", room, "/incident", "close")

    async def archived() -> bool:
        return bool(sandbox.channel_by_name(room)["is_archived"])

    await eventually(archived)
    closed = await store.get(inc.id)
    assert closed.closed_at is not None
    assert [e.kind for e in await store.timeline(inc.id)][-1] == "closed"
    announcement = next(
        m for m in sandbox.messages(inc.announcement.channel) if m["ts"] == inc.announcement.ts
    )
    assert "review_create" not in str(announcement.get("blocks"))
    await sandbox.command("alice", "general", "/incident", f"reopen {inc.id}")
    await sandbox.command("alice", "general", "/incident", f"close {inc.id}")

    async def after_close() -> str:
        got = texts(sandbox.ephemerals("alice", "general"))
        return got if "is closed; declare a new incident" in got and "is already closed" in got else ""

    await eventually(after_close)


async def _async(value: Any) -> Any:
    return value
