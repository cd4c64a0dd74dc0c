"""Keeps alert roots true about silences: silences made outside Slack (Alertmanager's UI, amtool) that
mute a group's alerts show on its root, and a silence that ends (expired, or deleted in Alertmanager)
is noted in the group's thread.

Alertmanager's webhook does not say which silences exist, so every ``alerts.silence_poll_seconds`` one
replica (a Redis lock shared by the replicas) reads ``GET /api/v2/silences`` once per Alertmanager and
matches the active silences against the alerts of the groups it follows (the groups notified recently,
at most ``MAX_GROUPS``; resolved groups without silences are dropped). Alertmanager being down costs a
warning in the log and nothing else: the next poll catches up.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.alerts import views as alert_views
from bot.alerts.buttons import _update_group
from bot.alerts.state import GroupState, SilenceNote
from bot.alerts.worker import AlertWorker
from bot.blocks import clip, escape
from bot.config.alerts import AlertsPolicy
from bot.core.state import Refused
from bot.tasks import raise_if_cancelling
from bot.templates import slack_date
from integrations.alertmanager import AlertmanagerClient, Silence
from integrations.failures import Failure

log = logging.getLogger(__name__)

MAX_GROUPS = 500
IN_FLIGHT = timedelta(seconds=60)  # a silence being created from Slack is not taken for an outside one
OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Event:
    text: str
    id: str


def _how_it_ended(found: Silence | None, planned_end: datetime | None) -> str:
    if found is None:
        return "is gone from Alertmanager"
    if planned_end is not None and found.ends_at < planned_end - timedelta(seconds=5):
        return "was ended early in Alertmanager"
    return "expired"


def reconcile(state: GroupState, silences: dict[str, Silence], now: datetime) -> tuple[bool, list[Event]]:
    """Bring the group's silence fields in line with Alertmanager's silences (changes ``state``);
    returns whether anything changed and the thread notes to post."""
    if state.silencing_since is not None and now - state.silencing_since < IN_FLIGHT:
        return False, []
    targets = [a.labels for a in (state.firing_alerts() or list(state.alerts.values()))]
    muting = {
        sid: s
        for sid, s in silences.items()
        if s.state == "active" and any(s.mutes(labels) for labels in targets)
    }
    events: list[Event] = []
    changed = False
    own = state.silence_id
    if own and own not in muting:
        found = silences.get(own)
        if found is None or found.state == "expired":
            how = _how_it_ended(found, state.silenced_until)
            events.append(
                Event(
                    f":bell: The silence by <@{escape(state.silenced_by or '')}> {how}.",
                    f"unsilence:{state.gid}:{own}",
                )
            )
            state.silence_id = state.silenced_by = state.silenced_until = None
            changed = True
    outside = {sid: s for sid, s in muting.items() if sid != state.silence_id}
    for sid, note in list(state.external_silences.items()):
        if sid not in outside:
            how = _how_it_ended(silences.get(sid), note.ends_at)
            who = alert_views.silencer(note.created_by)
            events.append(Event(f":bell: The silence by {who} {how}.", f"xunsilence:{state.gid}:{sid}"))
            del state.external_silences[sid]
            changed = True
    for sid, s in outside.items():
        if sid in state.external_silences:
            continue
        state.external_silences[sid] = SilenceNote(
            created_by=s.created_by, ends_at=s.ends_at, comment=s.comment
        )
        comment = f": {escape(clip(' '.join(s.comment.split()), 300))}" if s.comment.strip() else ""
        events.append(
            Event(
                f":no_bell: Silenced in Alertmanager by {alert_views.silencer(s.created_by)} "
                f"until {slack_date(s.ends_at)}{comment}",
                f"xsilence:{state.gid}:{sid}",
            )
        )
        changed = True
    return changed, events


class SilenceWatcher:
    def __init__(self, worker: AlertWorker, policy: AlertsPolicy) -> None:
        self.worker = worker
        self.policy = policy
        self.lock_key = worker.k.keys.custom("alerts", "silence-poll")

    async def run(self) -> None:
        """Poll forever (cancel to stop); does nothing when ``silence_poll_seconds`` is 0."""
        interval = self.policy.silence_poll_seconds
        if interval <= 0:
            return
        while True:
            try:
                took = await self.worker.redis.set(
                    self.lock_key, OWNER, nx=True, px=max(1, int(interval * 900))
                )
                if took:
                    await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                raise_if_cancelling()
                log.exception("silence watcher: poll failed; trying again at the next one")
            await asyncio.sleep(interval)

    async def poll_once(self, now: datetime | None = None) -> int:
        """One look at every followed group's silences; returns how many groups changed."""
        now = now or datetime.now(UTC)
        redis, keys = self.worker.redis, self.worker.k
        gids = [str(g) for g in await redis.zrevrange(keys.watched, 0, MAX_GROUPS - 1)]
        by_url: dict[str, list[GroupState]] = {}
        for gid in gids:
            state = await self.worker.load(gid)
            quiet = state is not None and state.status == "resolved"
            if state is None or (quiet and not state.silence_id and not state.external_silences):
                await redis.zrem(keys.watched, gid)
                continue
            url = self.policy.alertmanager_for(state.all_labels(), state.external_url)
            if url is not None:
                by_url.setdefault(url, []).append(state)
        changed = 0
        for url, states in by_url.items():
            listed = await AlertmanagerClient(url, timeout=5.0).silences()
            if isinstance(listed, Failure):
                log.warning("silence watcher: %s", listed.reason)
                continue
            silences = {s.id: s for s in listed}
            for state in states:
                changed += await self._apply(state.gid, silences, now)
        return changed

    async def _apply(self, gid: str, silences: dict[str, Silence], now: datetime) -> int:
        events: list[Event] = []

        def update(state: GroupState) -> bool:
            did, found = reconcile(state, silences, now)
            events[:] = found
            return did

        try:
            state, did = await _update_group(self.worker, gid, update)
        except Refused:  # the group's state expired meanwhile
            return 0
        for event in events:
            await self.worker.push_event(state, event.text, event.id)
        return int(did)
