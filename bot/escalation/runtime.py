"""The escalation part's per-process objects: store, job queue, pager and status-page clients.

Pager keys: ``pagerduty`` (PAGERDUTY_ROUTING_KEY), ``pagerduty:<ENV>`` (a target's own routing key
from the environment variable ``<ENV>``) and ``opsgenie`` (OPSGENIE_API_KEY). Clients exist only
for keys present in the environment; a target whose pager has no key is reported, not ignored.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.config.escalation import EscalationPolicy, PagerRoute
from bot.escalation.jobs import JobQueue
from bot.escalation.store import EscalationStore
from integrations.opsgenie import OpsgenieClient
from integrations.pagerduty import DEFAULT_BASE_URL as PD_DEFAULT_URL
from integrations.pagerduty import PagerDutyClient
from integrations.paging import Pager
from integrations.statuspage import StatuspageClient
from integrations.vendor_http import RetryPolicy

if TYPE_CHECKING:
    from bot.context import AppContext

log = logging.getLogger(__name__)
EXTRAS_KEY = "escalation"


def escalation_policy(ctx: AppContext) -> EscalationPolicy:
    found = getattr(ctx.policy, "escalation", None)
    return found if isinstance(found, EscalationPolicy) else EscalationPolicy()


def pager_key(route: PagerRoute) -> str:
    if route.service == "pagerduty" and route.routing_key_env:
        return f"pagerduty:{route.routing_key_env}"
    return route.service


@dataclass
class EscalationRuntime:
    store: EscalationStore
    queue: JobQueue | None
    env: Mapping[str, str]
    retry: RetryPolicy
    statuspage: StatuspageClient | None = None
    worker: Any = None  # this process's arq worker (its counters show how many jobs it ran)
    _pagers: dict[str, Pager] = field(default_factory=dict)

    def pager(self, key: str) -> Pager | None:
        """The client for a pager key, built from the environment on first use; None without a key."""
        if key in self._pagers:
            return self._pagers[key]
        client: Pager | None = None
        if key == "pagerduty":
            client = PagerDutyClient.from_env(self.env, policy=self.retry)
        elif key.startswith("pagerduty:"):
            routing_key = self.env.get(key.split(":", 1)[1], "").strip()
            if routing_key:
                base = self.env.get("PAGERDUTY_API_URL", PD_DEFAULT_URL)
                client = PagerDutyClient(routing_key, base_url=base, policy=self.retry)
        elif key == "opsgenie":
            client = OpsgenieClient.from_env(self.env, policy=self.retry)
        if client is not None:
            self._pagers[key] = client
        return client

    async def close(self) -> None:
        for client in self._pagers.values():
            await client.aclose()
        self._pagers.clear()
        if self.statuspage is not None:
            await self.statuspage.aclose()
        if self.queue is not None:
            await self.queue.close()


def build_runtime(
    ctx: AppContext, queue: JobQueue | None, env: Mapping[str, str] | None = None
) -> EscalationRuntime:
    esc = escalation_policy(ctx)
    env = dict(os.environ) if env is None else env
    retry = RetryPolicy(attempts=esc.pagers.attempts, timeout=esc.pagers.timeout.total_seconds())
    statuspage = StatuspageClient.from_env(env, policy=retry) if esc.statuspage.enabled else None
    return EscalationRuntime(
        store=EscalationStore(ctx.redis, ctx.keys), queue=queue, env=env, retry=retry, statuspage=statuspage
    )


def runtime(ctx: AppContext) -> EscalationRuntime:
    """This process's escalation runtime; created on demand (without a job queue) when the part's
    start-up has not run, e.g. in a tool that only reads state."""
    found = ctx.extras.get(EXTRAS_KEY)
    if isinstance(found, EscalationRuntime):
        return found
    made = build_runtime(ctx, None)
    ctx.extras[EXTRAS_KEY] = made
    log.warning("escalation runtime built without a job queue: timers, reminders and pages are not scheduled")
    return made
