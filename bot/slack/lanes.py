"""Lanes: outbound Slack work classed by who waits for it.

* ``interactive``: a person waits — answers to a command or click, the incident's own posts
  (announcement, war room, status updates), pages and escalations;
* ``bulk``: nobody is looking at a clock — alert roots and thread replies, storm summaries,
  enrichment, re-renders of alert messages.

Interactive work never queues behind bulk work:

* the gateway's pacing (bot/slack/gateway.py) lets bulk take a slot only when one is free now (it
  never reserves future slots, so an interactive call never waits behind a queue of bulk
  reservations) and caps bulk at ``BULK_TIER_SHARE`` of each method tier (bulk cannot use up a
  tier such as chat.update);
* the outbox (bot/slack/outbox/) keeps one ready set per lane and claims interactive threads first,
  with sender slots of their own;
* in-process, the alert worker is bounded in concurrency and yields the event loop
  (bot/alerts/worker.py).

The lane of the code running now is a context variable: the outbox sets it for the thread it
delivers, everything else (a listener's own calls) is interactive by default.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from prometheus_client import Counter, Gauge, Histogram

Lane = Literal["interactive", "bulk"]
INTERACTIVE: Lane = "interactive"
BULK: Lane = "bulk"
LANES: tuple[Lane, ...] = (INTERACTIVE, BULK)

# Outbox thread kinds (the first part of a thread id) that are machine work.
BULK_KINDS = frozenset({"ag", "storm", "enrich", "alerts"})
# The share of a method tier's rate that bulk work may use (interactive work may use all of it).
BULK_TIER_SHARE = 0.6
# Bulk takes a pacing slot only if it is free within this many ms (else it waits and asks again).
BULK_MAX_WAIT_MS = 50

_current: contextvars.ContextVar[Lane] = contextvars.ContextVar("chatops_lane", default=INTERACTIVE)

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
LANE_DEPTH = Gauge("chatops_lane_depth", "Outbox threads waiting in each lane (as last counted)", ["lane"])
LANE_WAIT = Histogram(
    "chatops_lane_wait_seconds",
    "Time an outbox thread waited in its lane between being due and a sender taking it",
    ["lane"],
    buckets=_LATENCY_BUCKETS,
)
LANE_VISIBLE = Histogram(
    "chatops_lane_visible_seconds",
    "Event to visible in Slack: from the request (interactive answers) or the first pending push "
    "(outbox threads) to Slack's confirmation",
    ["lane"],
    buckets=_LATENCY_BUCKETS,
)
LANE_PACING_WAIT = Counter(
    "chatops_lane_pacing_wait_seconds_total", "Time spent waiting for Slack pacing, by lane", ["lane"]
)


def current() -> Lane:
    return _current.get()


@contextmanager
def using(lane: Lane) -> Iterator[None]:
    """Run the block's Slack calls in ``lane``."""
    token = _current.set(lane)
    try:
        yield
    finally:
        _current.reset(token)


def set_lane(lane: Lane) -> None:
    """Set the lane for the rest of the current task (a task's context is its own copy)."""
    _current.set(lane)


def lane_of(tid: str, explicit: str | None = None) -> Lane:
    """An outbox thread's lane: ``explicit`` when given, else by the thread's kind."""
    if explicit in LANES:
        return explicit  # type: ignore[return-value]
    return BULK if tid.split(":", 1)[0] in BULK_KINDS else INTERACTIVE
