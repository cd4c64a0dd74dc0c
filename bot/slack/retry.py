"""The one retry engine for Slack calls: tenacity's wait strategies, honouring Retry-After.

The gateway retries inside one call (``AsyncRetrying(wait=gateway_wait(...))``); the outbox, which
retries across calls and replicas with the failure count kept in Redis, asks the same kind of
strategy for its next delay through :func:`delay_after`.
"""

from __future__ import annotations

from tenacity import RetryCallState, wait_exponential, wait_random_exponential
from tenacity.wait import wait_base

from bot.slack.errors import SlackCallError


class WaitRetryAfter(wait_base):
    """Slack's Retry-After when the failure carries one, else the fallback strategy."""

    def __init__(self, fallback: wait_base, cap: float = 300.0) -> None:
        self.fallback = fallback
        self.cap = cap

    def __call__(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, SlackCallError) and exc.retry_after is not None:
            return min(self.cap, max(0.0, exc.retry_after))
        return float(self.fallback(retry_state))


def gateway_wait(base: float, cap: float) -> wait_base:
    """In-call retries: ``base * 2**(attempt-1)`` capped, or Retry-After."""
    return WaitRetryAfter(wait_exponential(multiplier=base, max=cap))


def outbox_wait(cap: float) -> wait_base:
    """Across-call retries with jitter (half fixed, half random) so replicas do not retry in step,
    or Retry-After."""
    half = cap / 2
    return WaitRetryAfter(
        wait_exponential(multiplier=0.25, max=half) + wait_random_exponential(multiplier=0.25, max=half)
    )


def delay_after(strategy: wait_base, exc: BaseException, attempt: int) -> float:
    """The strategy's delay after ``exc`` ended the ``attempt``-th try (1-based), for retries that
    are driven outside a tenacity loop (the outbox keeps its attempt count in Redis)."""
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = max(1, attempt)
    state.set_exception((type(exc), exc, exc.__traceback__))
    return float(strategy(state))
