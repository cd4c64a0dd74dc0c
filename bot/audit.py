"""The audit trail: who did what, when, where, and how it ended, appended to one Redis stream.

Every command and click (outcome ok / usage / refused / denied / error / duplicate), every incident
state change (through ``bot.events`` hooks) and whatever other parts record with ``record`` —
escalations, pages, remediations — lands in ``<prefix>:audit``. ``chatops audit`` reads it back.

Writing the trail never breaks the action it describes: a failed write is logged as an error
(with the record, so the log holds it instead) and the caller carries on.

One round trip per request: the listener pipeline opens a :func:`batch` around a request, the records
made meanwhile (the request's incident events included) are kept in it, and the pipeline writes them
together with its own record in one pipelined request (:func:`flush`). A record made after the batch
was written (by a task the request started) is written at once, as without a batch.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot import events

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from bot.context import AppContext
    from bot.core.models import Incident
    from bot.keys import Keys

log = logging.getLogger(__name__)

MAX_LEN = 200_000  # approximate cap of the stream (XADD MAXLEN ~)
OUTCOMES = ("ok", "usage", "refused", "denied", "error", "duplicate")
_INCIDENT = re.compile(r"^INC-\d+$")


@dataclass
class AuditRecord:
    at: datetime
    actor: str  # Slack user id, or "bot" / "alertmanager" / a part's name
    action: str  # "/incident create", "button incident_ack", "incident.acknowledged", "page", ...
    outcome: str = "ok"
    incident: str | None = None
    channel: str | None = None
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    id: str = ""  # the stream entry id, once stored

    def fields(self) -> dict[str, str]:
        return {
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "outcome": self.outcome,
            "incident": self.incident or "",
            "channel": self.channel or "",
            "detail": self.detail[:1000],
            "data": json.dumps(self.data, default=str, ensure_ascii=False)[:4000],
        }

    @classmethod
    def from_fields(cls, entry_id: str, raw: dict[str, str]) -> AuditRecord:
        try:
            data = json.loads(raw.get("data") or "{}")
        except json.JSONDecodeError:
            data = {"raw": raw.get("data")}
        return cls(
            id=entry_id,
            at=datetime.fromisoformat(raw["at"]) if raw.get("at") else _at_of(entry_id),
            actor=raw.get("actor", ""),
            action=raw.get("action", ""),
            outcome=raw.get("outcome", ""),
            incident=raw.get("incident") or None,
            channel=raw.get("channel") or None,
            detail=raw.get("detail", ""),
            data=data if isinstance(data, dict) else {"value": data},
        )

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["at"] = self.at.isoformat()
        return out


def _at_of(entry_id: str) -> datetime:
    return datetime.fromtimestamp(int(entry_id.split("-")[0]) / 1000, UTC)


def incident_of(value: Any) -> str | None:
    """An incident id when ``value`` is one (button values, parsed arguments)."""
    text = str(value or "").strip().upper()
    return text if _INCIDENT.match(text) else None


@dataclass
class Batch:
    """Records kept for one request, written together by :func:`flush`."""

    records: list[AuditRecord] = field(default_factory=list)
    open: bool = True


_batch: contextvars.ContextVar[Batch | None] = contextvars.ContextVar("chatops_audit_batch", default=None)


@contextmanager
def batch() -> Iterator[Batch]:
    """Keep the records made in this block (and in tasks it starts, until flushed) for one write."""
    current = Batch()
    token = _batch.set(current)
    try:
        yield current
    finally:
        _batch.reset(token)


async def flush(redis: aioredis.Redis, keys: Keys, pending: Batch, *last: AuditRecord) -> None:
    """Write the batch's records and ``last`` in one pipelined round trip; the batch is closed (later
    records are written at once). A failed write is logged with the records, never raised."""
    pending.open = False
    records = [*pending.records, *last]
    pending.records = []
    if not records:
        return
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for rec in records:
                fields: dict[Any, Any] = rec.fields()
                pipe.xadd(keys.audit(), fields, maxlen=MAX_LEN, approximate=True)
            ids = await pipe.execute()
    except Exception as exc:
        for rec in records:
            log.error("audit record not stored (%s): %s", exc, json.dumps(rec.as_json(), default=str))
        return
    for rec, entry_id in zip(records, ids, strict=True):
        rec.id = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


def make(
    *,
    actor: str,
    action: str,
    outcome: str = "ok",
    incident: str | None = None,
    channel: str | None = None,
    detail: str = "",
    **data: Any,
) -> AuditRecord:
    return AuditRecord(
        at=datetime.now(UTC),
        actor=actor or "unknown",
        action=action,
        outcome=outcome,
        incident=incident,
        channel=channel,
        detail=detail,
        data=data,
    )


async def append(redis: aioredis.Redis, keys: Keys, rec: AuditRecord) -> str | None:
    """Store one record; returns its stream id, or None (logged) when the store is unavailable."""
    try:
        fields: dict[Any, Any] = rec.fields()  # redis-py's stub wants its own key/value union
        entry_id = await redis.xadd(keys.audit(), fields, maxlen=MAX_LEN, approximate=True)
    except Exception as exc:
        # the action itself already happened (or was refused): keep the record in the logs instead
        log.error("audit record not stored (%s): %s", exc, json.dumps(rec.as_json(), default=str))
        return None
    rec.id = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    return rec.id


async def record(
    ctx: AppContext,
    *,
    actor: str,
    action: str,
    outcome: str = "ok",
    incident: str | None = None,
    channel: str | None = None,
    detail: str = "",
    **data: Any,
) -> str | None:
    """Append to the audit trail. For other parts: escalations, pages, remediations, ...

    ``outcome`` is one of ok, usage, refused, denied, error, duplicate (free text is kept too).
    Inside a request's :func:`batch` the record is kept and written with the request's own (the
    return value is then None: its id is not known yet).
    """
    rec = make(
        actor=actor, action=action, outcome=outcome, incident=incident, channel=channel, detail=detail, **data
    )
    pending = _batch.get()
    if pending is not None and pending.open:
        pending.records.append(rec)
        return None
    return await append(ctx.redis, ctx.keys, rec)


async def read(
    redis: aioredis.Redis,
    keys: Keys,
    *,
    since: datetime | None = None,
    incident: str | None = None,
    limit: int = 10_000,
) -> list[AuditRecord]:
    """Records from ``since`` on (oldest first), optionally only those about one incident."""
    start = f"{int(since.timestamp() * 1000)}-0" if since else "-"
    out: list[AuditRecord] = []
    cursor = start
    while len(out) < limit:
        batch = await redis.xrange(keys.audit(), min=cursor, max="+", count=1000)
        if not batch:
            break
        for entry_id, raw in batch:
            eid = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
            fields = {
                (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                for k, v in raw.items()
            }
            rec = AuditRecord.from_fields(eid, fields)
            if incident is None or rec.incident == incident:
                out.append(rec)
        last = batch[-1][0]
        last_id = last.decode() if isinstance(last, bytes) else str(last)
        cursor = "(" + last_id
        if len(batch) < 1000:
            break
    return out[:limit]


# --------------------------------------------------------------------------------------------
# incident events -> audit records


def _event_hook(event: str) -> events.Hook:
    async def audit_event(ctx: AppContext, incident: Incident, **data: Any) -> None:
        actor = data.pop("user", None) or data.pop("actor", None)
        if actor is None and event == events.DECLARED:
            actor = incident.created_by
        actor = actor or "bot"
        channel = incident.war_room.channel_id if incident.war_room else incident.origin_channel
        detail = f"{incident.id} is {incident.status}"
        clean = {k: (v.model_dump(mode="json") if hasattr(v, "model_dump") else v) for k, v in data.items()}
        await record(
            ctx,
            actor=str(actor),
            action=event,
            incident=incident.id,
            channel=channel,
            detail=detail,
            severity=incident.severity,
            status=incident.status,
            **clean,
        )

    audit_event.__name__ = f"audit_{event.replace('.', '_')}"
    return audit_event


def install_event_hooks() -> list[str]:
    """Record every event named in ``bot.events`` (parts that add events there are covered too)."""
    names = sorted(
        {
            value
            for key, value in vars(events).items()
            if key.isupper() and isinstance(value, str) and "." in value and not key.startswith("_")
        }
    )
    for name in names:
        if not any(
            getattr(h, "__name__", "") == f"audit_{name.replace('.', '_')}" for h in events._HOOKS[name]
        ):
            events.on(name)(_event_hook(name))
    return names


install_event_hooks()
