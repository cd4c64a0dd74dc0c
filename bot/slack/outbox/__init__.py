"""The durable outbound queue: Slack posts that must not be lost, delivered from Redis.

A *thread* (one alert group's episode, one incident's announcement, a war room's feed) has an
optional root message and ordered replies, named by a :class:`ThreadRef` (its durable idempotency
reference):

* ``push`` (atomic, idempotent per op id) appends replies to the thread's queue and/or marks the root
  for a re-render. The root content is rendered lazily at send time by a registered renderer, so any
  number of re-renders pending for one message collapse into one ``chat.update`` with the latest state.
  A thread without a renderer is a feed: its replies are top-level posts, in order.
* Senders (any replica) claim a due thread with a lease, post the root first, then the replies in
  order (consecutive line replies are merged into one message, within Slack's limits), then the
  pending re-render. An op leaves Redis only after Slack confirmed it (its ``ts`` is recorded in the
  same Lua script that removes it, fenced by the lease).
* 429 → the thread is retried after Retry-After; 5xx, timeouts and connection errors → the outcome
  is *uncertain*: the attempt stays recorded, and before posting again the sender looks the message
  up in Slack (every post carries a marker in its first block's ``block_id``), so a post that did
  reach Slack is never posted twice — also when the process was SIGKILLed mid-call. Permanent and
  too-large failures go to a dead-letter list, loudly.

Modules: ``model`` (references, ops, config, metrics), ``scripts`` (Lua), ``delivery`` (one step),
``sender`` (queue, leases, loop).
"""

from bot.slack.outbox.model import (
    MARKER_PREFIX,
    Op,
    OutboxConfig,
    Rendered,
    Renderer,
    RenderRef,
    ThreadRef,
    lines_blocks,
)
from bot.slack.outbox.sender import Outbox

__all__ = [
    "MARKER_PREFIX",
    "Op",
    "Outbox",
    "OutboxConfig",
    "RenderRef",
    "Rendered",
    "Renderer",
    "ThreadRef",
    "lines_blocks",
]
