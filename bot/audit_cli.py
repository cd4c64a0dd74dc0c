"""``chatops audit --since 1h [--incident INC-n] [--json]``: print the audit trail."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from bot.audit import AuditRecord, read
from bot.core.redis_factory import redis_client
from bot.durations import parse_duration
from bot.keys import Keys
from bot.settings import Settings

COLUMNS = ("at", "actor", "action", "outcome", "incident", "channel", "detail")


def _since(text: str) -> datetime:
    """``1h``/``30m``/``2d`` ago, or an ISO date-time."""
    try:
        return datetime.now(UTC) - parse_duration(text)
    except ValueError:
        pass
    try:
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: give a duration (1h, 30m, 2d) or an ISO time") from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _incident(text: str) -> str:
    t = text.strip().upper()
    if t.isdigit():
        t = f"INC-{t}"
    if not t.startswith("INC-") or not t[4:].isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not an incident id (INC-12)")
    return t


def format_table(records: list[AuditRecord]) -> str:
    rows = [
        (
            r.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            r.actor,
            r.action,
            r.outcome,
            r.incident or "",
            r.channel or "",
            r.detail.replace("\n", " ")[:80],
        )
        for r in records
    ]
    widths = [max(len(c), *(len(row[i]) for row in rows)) if rows else len(c) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(COLUMNS, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)


async def fetch(settings: Settings, since: datetime, incident: str | None) -> list[AuditRecord]:
    client = redis_client(settings)
    try:
        return await read(client, Keys(settings.redis_prefix), since=since, incident=incident)
    finally:
        await client.aclose()


def run(args: argparse.Namespace, out: TextIO | None = None, settings: Settings | None = None) -> int:
    out = out or sys.stdout
    settings = settings or Settings()
    try:
        records = asyncio.run(fetch(settings, args.since, args.incident))
    except Exception as exc:  # Redis unreachable: one clear line, no traceback
        print(f"cannot read the audit trail from {settings.redis_url.split('@')[-1]}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        for r in records:
            out.write(json.dumps(r.as_json(), default=str, ensure_ascii=False) + "\n")
    elif records:
        out.write(format_table(records) + "\n")
    else:
        out.write("no audit records in that window\n")
    return 0


def add_cli(subparsers: Any) -> dict[str, Callable[[argparse.Namespace], int]]:
    p = subparsers.add_parser("audit", help="print the audit trail (who did what, when, where, outcome)")
    p.add_argument("--since", type=_since, default="1h", help="how far back: 1h, 30m, 2d or an ISO time")
    p.add_argument("--incident", type=_incident, default=None, help="only records about INC-n")
    p.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    return {"audit": run}
