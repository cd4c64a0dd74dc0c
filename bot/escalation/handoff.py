"""On-call hand-offs: at each rotation hand-off the outgoing and the incoming on-call get a DM (and,
with ``oncall.handoff_channel``, the channel a post) summing up the shift: incidents open and resolved
during it, the alerts that fired most, pending follow-ups and the silences the bot made that are
still active.

Hand-off times come from the rotations (bot/config/oncall.py: wall-clock hand-offs, so DST-safe,
layers and overrides included): a hand-off is a moment where the person on call changes. Every replica
runs :class:`HandoffRunner`; a Redis once-marker keyed by rotation and hand-off time (SET NX) lets
exactly one of them send each hand-off. A hand-off missed while no replica ran is still sent within
``oncall.handoff_grace``; the posts go through the durable outbox, one op id per recipient.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.alerts.state import GroupState
from bot.alerts.views import group_title
from bot.alerts.worker import AlertKeys
from bot.config.oncall import Rotation, upcoming_shifts
from bot.context import AppContext
from bot.core.models import Incident
from bot.escalation import handoff_views as hv
from bot.incidents.posts import post_to
from bot.incidents.visibility import visible
from bot.review.records import ActionItem, ReviewRecords
from bot.slack.errors import SlackCallError
from bot.slack.outbox import ThreadRef

log = logging.getLogger(__name__)

MARKER_TTL = int(timedelta(days=8).total_seconds())
MAX_WAIT = 30.0  # re-read the rotations at least this often
INCIDENT_SCAN = 500
FOLLOW_UP_INCIDENTS = 50
GROUP_SCAN = 500


@dataclass(frozen=True)
class Handoff:
    rotation: str
    at: datetime  # UTC
    outgoing: str | None
    incoming: str | None
    shift_start: datetime | None  # when the outgoing shift began

    @property
    def marker(self) -> str:
        return f"{self.rotation}:{int(self.at.timestamp())}"


def handoffs(rotation: Rotation, after: datetime, until: datetime) -> list[Handoff]:
    """Hand-offs of ``rotation`` in (after, until]: moments where who is on call changes."""
    shifts = upcoming_shifts(rotation, after, 6)
    found: dict[datetime, Handoff] = {}
    for i, shift in enumerate(shifts):
        before = shifts[i - 1] if i else None
        if before is None or before.end != shift.start:  # someone starts after nobody held it
            found.setdefault(shift.start, Handoff(rotation.name, shift.start, None, shift.user, None))
        after_it = shifts[i + 1] if i + 1 < len(shifts) else None
        incoming = after_it.user if after_it is not None and after_it.start == shift.end else None
        if after_it is None and i + 1 < 6:
            incoming = None  # nobody after this shift (e.g. the last override of a rotation)
        elif after_it is None:
            continue  # the list was cut: the next shift is unknown here
        if incoming != shift.user:
            found[shift.end] = Handoff(rotation.name, shift.end, shift.user, incoming, shift.start)
    return sorted((h for h in found.values() if after < h.at <= until), key=lambda h: h.at)


def next_handoff(rotation: Rotation, now: datetime) -> Handoff | None:
    """The first hand-off after ``now`` (None when the rotation never changes hands again)."""
    horizon = now
    for _ in range(8):  # a long run of one person (e.g. one member) may need several looks
        found = handoffs(rotation, horizon, horizon + timedelta(days=400))
        if found:
            return found[0]
        shifts = upcoming_shifts(rotation, horizon, 6)
        if len(shifts) < 6:
            return None
        horizon = shifts[-1].start
    return None


# -- what the summary says ------------------------------------------------------------------------


@dataclass
class ShiftReport:
    start: datetime
    end: datetime
    open_incidents: list[Incident] = field(default_factory=list)
    resolved: list[Incident] = field(default_factory=list)
    declared: int = 0
    top_alerts: list[tuple[str, int]] = field(default_factory=list)
    follow_ups: list[tuple[str, ActionItem]] = field(default_factory=list)
    silences: list[hv.SilenceLine] = field(default_factory=list)

    def seen_by(self, allowed: set[str]) -> ShiftReport:
        """The report with only the incidents (and their follow-ups) whose IDs are in ``allowed``."""
        return ShiftReport(
            self.start,
            self.end,
            [i for i in self.open_incidents if i.id in allowed],
            [i for i in self.resolved if i.id in allowed],
            self.declared,
            self.top_alerts,
            [(iid, a) for iid, a in self.follow_ups if iid in allowed],
            self.silences,
        )


async def _groups(ctx: AppContext, since: datetime | None) -> list[GroupState]:
    keys = AlertKeys(ctx.keys)
    if since is None:
        gids = await ctx.redis.zrevrange(keys.watched, 0, GROUP_SCAN - 1)
    else:
        gids = await ctx.redis.zrevrangebyscore(
            keys.watched, "+inf", since.timestamp(), start=0, num=GROUP_SCAN
        )
    if not gids:
        return []
    async with ctx.redis.pipeline(transaction=False) as pipe:
        for gid in gids:
            pipe.get(keys.state(str(gid)))
        raws = await pipe.execute()
    return [GroupState.model_validate_json(r) for r in raws if r]


def top_alerts(groups: list[GroupState], start: datetime, end: datetime, limit: int) -> list[tuple[str, int]]:
    """Alert names by how many alerts of that name fired during [start, end), most first."""
    counts: Counter[str] = Counter()
    for state in groups:
        for alert in state.alerts.values():
            ended = alert.ends_at if alert.status == "resolved" else None
            if alert.starts_at < end and (ended is None or ended >= start):
                counts[alert.alertname or "(no alertname)"] += 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


def active_silences(groups: list[GroupState], now: datetime) -> list[hv.SilenceLine]:
    """Silences made from Slack that still hold, soonest to end first."""
    lines = [
        hv.SilenceLine(group_title(s), s.silenced_by, s.silenced_until)
        for s in groups
        if s.silence_id and s.silenced_until is not None and s.silenced_until > now
    ]
    return sorted(lines, key=lambda line: line.until)


async def shift_report(ctx: AppContext, start: datetime, end: datetime, now: datetime) -> ShiftReport:
    incidents = await ctx.store.list(include_resolved=True, limit=INCIDENT_SCAN)
    report = ShiftReport(start, end)
    report.open_incidents = [i for i in incidents if not i.is_resolved and not i.closed_at]
    report.resolved = [i for i in incidents if i.resolved_at is not None and start <= i.resolved_at < end]
    report.declared = sum(1 for i in incidents if start <= i.created_at < end and not i.test)
    report.top_alerts = top_alerts(await _groups(ctx, start), start, end, ctx.policy.oncall.top_alerts)
    report.silences = active_silences(await _groups(ctx, None), now)
    records = ReviewRecords(ctx.redis, ctx.keys)
    recent = incidents[:FOLLOW_UP_INCIDENTS]
    found = await asyncio.gather(*(records.actions(i.id) for i in recent))
    report.follow_ups = [
        (inc.id, a) for inc, items in zip(recent, found, strict=True) for a in items if a.pending
    ]
    return report


# -- sending ---------------------------------------------------------------------------------------


async def _allowed(ctx: AppContext, user: str | None, report: ShiftReport) -> set[str]:
    incidents = {i.id: i for i in (*report.open_incidents, *report.resolved)}
    for_incident = await ctx.store.list(include_resolved=True, limit=INCIDENT_SCAN)
    pool = list({**{i.id: i for i in for_incident}, **incidents}.values())
    if user is None:  # a channel: no private incident appears there
        return {i.id for i in pool if not i.private}
    return {i.id for i in await visible(ctx, user, pool)}


async def send_handoff(ctx: AppContext, h: Handoff, now: datetime | None = None) -> bool:
    """Send hand-off ``h`` if no replica did yet; True when this call sent it."""
    claimed = await ctx.redis.set(
        ctx.keys.custom("oncall", "handoff", h.marker), _replica(), nx=True, ex=MARKER_TTL
    )
    if not claimed:
        return False
    now = now or datetime.now(UTC)
    start = h.shift_start or h.at - timedelta(days=1)
    report = await shift_report(ctx, start, h.at, now)
    policy = ctx.policy.oncall
    if policy.handoff_dm:
        for user in dict.fromkeys(u for u in (h.outgoing, h.incoming) if u):
            if not user.startswith(("U", "W")):
                log.warning("hand-off %s: %r is not a Slack user ID; no DM", h.marker, user)
                continue
            mine = report.seen_by(await _allowed(ctx, user, report))
            blocks = hv.handoff_blocks(h, mine, for_user=user)
            thread = ThreadRef("handoff", h.marker, user)  # one thread per channel: a feed has one
            await post_to(ctx, thread, user, f"handoff:{h.marker}:{user}", blocks, hv.handoff_text(h))
    if policy.handoff_channel:
        try:
            channel = await ctx.slack.channel_id(policy.handoff_channel)
        except SlackCallError as exc:
            log.error("hand-off %s: channel %s: %s", h.marker, policy.handoff_channel, exc.error)
        else:
            public = report.seen_by(await _allowed(ctx, None, report))
            blocks = hv.handoff_blocks(h, public, for_user=None)
            thread = ThreadRef("handoff", h.marker, "channel")
            await post_to(ctx, thread, channel, f"handoff:{h.marker}:channel", blocks, hv.handoff_text(h))
    log.info("hand-off %s sent (%s -> %s)", h.marker, h.outgoing, h.incoming)
    return True


def _replica() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class HandoffRunner:
    """Wakes at each hand-off of every rotation (and every ``MAX_WAIT`` seconds to pick up a changed
    policy) and sends the due ones; every replica runs one, the once-marker picks the sender."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.sent: list[str] = []

    def due(self, now: datetime) -> list[Handoff]:
        grace = self.ctx.policy.oncall.handoff_grace
        out: list[Handoff] = []
        for rotation in self.ctx.policy.escalation.rotations:
            out += handoffs(rotation, now - grace - timedelta(seconds=1), now)
        return out

    def wait(self, now: datetime) -> float:
        upcoming = [h.at for r in self.ctx.policy.escalation.rotations if (h := next_handoff(r, now))]
        if not upcoming:
            return MAX_WAIT
        return max(0.05, min(MAX_WAIT, (min(upcoming) - now).total_seconds()))

    async def run_once(self, now: datetime | None = None) -> list[str]:
        now = now or datetime.now(UTC)
        sent: list[str] = []
        for h in self.due(now):
            try:
                if await send_handoff(self.ctx, h, now):
                    sent.append(h.marker)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("hand-off %s failed", h.marker)
        self.sent += sent
        return sent

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
                wait = self.wait(datetime.now(UTC))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("hand-off runner: a round failed; trying again")
                wait = MAX_WAIT
            await asyncio.sleep(wait)
