"""The escalation part's per-process objects: store, job queue, pager and status-page clients.

Pager keys: ``pagerduty`` (PAGERDUTY_ROUTING_KEY), ``pagerduty:<NAME>`` (a target's own routing key,
the secret ``<NAME>`` in the environment or CHATOPS_SECRETS_DIR) and ``opsgenie`` (OPSGENIE_API_KEY).
Every secret comes from :class:`bot.settings.Settings`. Clients exist only for keys that are set; a
target whose pager has no key is reported, not ignored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.config.escalation import EscalationPolicy, PagerRoute
from bot.escalation.jobs import JobQueue
from bot.escalation.store import EscalationStore
from bot.logs import add_secrets
from bot.settings import Settings
from integrations.opsgenie import OpsgenieClient
from integrations.pagerduty import PagerDutyClient
from integrations.paging import Pager
from integrations.statuspage import StatuspageClient
from integrations.vendor_http import RetryPolicy

if TYPE_CHECKING:
    from bot.context import AppContext

log = logging.getLogger(__name__)


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
    settings: Settings
    retry: RetryPolicy
    statuspage: StatuspageClient | None = None
    worker: Any = None  # this process's JobWorker (its counters show how many jobs it ran)
    _pagers: dict[str, Pager] = field(default_factory=dict)

    def pager(self, key: str) -> Pager | None:
        """The client for a pager key, built from the settings on first use; None without a key."""
        if key in self._pagers:
            return self._pagers[key]
        client = pager_client(key, self.settings, self.retry)
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


def pager_client(key: str, settings: Settings, retry: RetryPolicy) -> Pager | None:
    """The pager client for ``key`` (see the module's docstring); None when its secret is not set."""
    if key == "pagerduty" or key.startswith("pagerduty:"):
        if key == "pagerduty":
            routing_key = settings.pagerduty_routing_key.get_secret_value().strip()
        else:
            routing_key = settings.named_secret(key.split(":", 1)[1])
            add_secrets(routing_key)
        if not routing_key:
            return None
        return PagerDutyClient(routing_key, base_url=settings.pagerduty_api_url, policy=retry)
    if key == "opsgenie":
        api_key = settings.opsgenie_api_key.get_secret_value().strip()
        if not api_key:
            return None
        return OpsgenieClient(api_key, base_url=settings.opsgenie_api_url, policy=retry)
    return None


def statuspage_client(settings: Settings, retry: RetryPolicy) -> StatuspageClient | None:
    """The Statuspage client from STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID; None unless both are set."""
    api_key = settings.statuspage_api_key.get_secret_value().strip()
    page_id = settings.statuspage_page_id.strip()
    if not api_key or not page_id:
        return None
    return StatuspageClient(api_key, page_id, base_url=settings.statuspage_api_url, policy=retry)


def build_runtime(ctx: AppContext, queue: JobQueue | None) -> EscalationRuntime:
    esc = escalation_policy(ctx)
    retry = RetryPolicy(attempts=esc.pagers.attempts, timeout=esc.pagers.timeout.total_seconds())
    statuspage = statuspage_client(ctx.settings, retry) if esc.statuspage.enabled else None
    return EscalationRuntime(
        store=EscalationStore(ctx.redis, ctx.keys),
        queue=queue,
        settings=ctx.settings,
        retry=retry,
        statuspage=statuspage,
    )


def runtime(ctx: AppContext) -> EscalationRuntime:
    """This process's escalation runtime; created on demand (without a job queue) when the part's
    start-up has not run, e.g. in a tool that only reads state."""
    if ctx.escalation is not None:
        return ctx.escalation
    made = build_runtime(ctx, None)
    ctx.escalation = made
    log.warning("escalation runtime built without a job queue: timers, reminders and pages are not scheduled")
    return made
