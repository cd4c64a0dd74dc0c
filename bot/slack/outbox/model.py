"""The outbox's vocabulary: thread and render references, reply ops, configuration, metrics."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter, Gauge
from slack_sdk.models.blocks import Block, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

OUTBOX_OPS = Counter("chatops_outbox_ops_total", "Outbox operations", ["kind", "outcome"])
OUTBOX_DEPTH = Gauge("chatops_outbox_queue_depth", "Replies waiting in the outbox (as last counted)")
OUTBOX_THREADS_DUE = Gauge("chatops_outbox_threads_pending", "Outbox threads with work pending")
OUTBOX_RATELIMITED = Counter("chatops_outbox_ratelimited_total", "429s the outbox deferred a thread for")

SECTION_LIMIT = 2900
MARKER_PREFIX = "ob|"

Rendered = tuple[str, list[Block]]
Renderer = Callable[[str], Awaitable[Rendered | None]]


@dataclass(frozen=True)
class ThreadRef:
    """What a thread of posts belongs to: ``kind`` names the feature (``inc``, ``ag``, ``storm``...),
    ``key`` the entity, ``part`` which of its threads (an incident has an announcement thread and a
    war-room feed). Its ``tid`` is the durable idempotency reference in Redis."""

    kind: str
    key: str
    part: str = ""

    @property
    def tid(self) -> str:
        return ":".join(p for p in (self.kind, self.key, self.part) if p)


@dataclass(frozen=True)
class RenderRef:
    """The renderer (registered under ``kind``) that draws a thread's root from current state."""

    kind: str
    arg: str

    @property
    def ref(self) -> str:
        return f"{self.kind}:{self.arg}"


def tid_of(thread: str | ThreadRef) -> str:
    return thread.tid if isinstance(thread, ThreadRef) else thread


def ref_of(render: str | RenderRef | None) -> str:
    if render is None:
        return ""
    return render.ref if isinstance(render, RenderRef) else render


@dataclass(frozen=True)
class Op:
    """One reply. ``lines`` (mrkdwn) replies that follow each other are merged into one message."""

    id: str
    lines: tuple[str, ...] = ()
    text: str = ""
    blocks: tuple[dict[str, Any], ...] = ()

    @classmethod
    def of_blocks(cls, op_id: str, blocks: Sequence[Block | dict[str, Any]], text: str) -> Op:
        """A reply of ready Block Kit blocks (posted as it is, never merged)."""
        raw = tuple(b.to_dict() if isinstance(b, Block) else dict(b) for b in blocks)
        return cls(id=op_id, text=text, blocks=raw)

    def dumps(self) -> str:
        return json.dumps({"id": self.id, "lines": self.lines, "text": self.text, "blocks": self.blocks})

    @classmethod
    def loads(cls, raw: str) -> Op:
        data = json.loads(raw)
        return cls(
            id=data["id"],
            lines=tuple(data.get("lines") or ()),
            text=data.get("text") or "",
            blocks=tuple(data.get("blocks") or ()),
        )

    @property
    def mergeable(self) -> bool:
        return bool(self.lines) and not self.blocks


@dataclass(frozen=True)
class OutboxConfig:
    concurrency: int = 64
    lease_seconds: float = 10.0
    poll_seconds: float = 0.05
    reply_budget_chars: int = 20_000
    max_merge_ops: int = 200
    # After an uncertain outcome, wait this long before looking the message up (a slow request may
    # still land in the meantime).
    uncertain_grace_seconds: float = 10.0
    max_backoff_seconds: float = 60.0
    thread_ttl_seconds: int = 30 * 86400
    call_timeout_seconds: float = 10.0


class Defer(Exception):
    """Stop working on this thread for ``seconds``."""

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(reason)
        self.seconds = seconds
        self.reason = reason


class LeaseLost(Exception):
    """Another sender holds the thread now."""


def lines_blocks(lines: Sequence[str], marker: str | None = None) -> list[Block]:
    """Section blocks holding mrkdwn lines (each section within Slack's 3000 characters)."""
    blocks: list[Block] = []
    current: list[str] = []
    size = 0
    for line in lines:
        line = line if len(line) <= SECTION_LIMIT else line[: SECTION_LIMIT - 1] + "…"
        if current and size + 1 + len(line) > SECTION_LIMIT:
            blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(current))))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(current))))
    if marker and blocks:
        blocks[0].block_id = marker
    return blocks
