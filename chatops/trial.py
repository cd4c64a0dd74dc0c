"""What ``chatops sandbox`` adds to the sandbox's page for a trial: ``GET /sandbox/info`` (the bot's
URL, the Alertmanager webhook, the store, the policy and the bot's own command usage for the
composer's hints), ``POST /sandbox/demo/alerts`` ("Fire demo alerts": real Alertmanager v4
notifications sent to the bot's webhook) and ``POST /sandbox/demo/play`` (``--demo``: a short
scripted incident played through the workspace as its people would).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

from sandbox import Sandbox

log = logging.getLogger("chatops.trial")

ACK_ACTION = "incident_ack"  # bot/incidents/views.py: the announcement's Acknowledge button
EXTERNAL_URL = "http://alertmanager.demo:9093"

# (group labels, alerts: (labels, annotations)) of the demo notifications; the demo policy routes
# severity=critical to #alerts-critical and team=payments to #payments-alerts
DEMO_GROUPS: list[tuple[dict[str, str], list[tuple[dict[str, str], dict[str, str]]]]] = [
    (
        {"alertname": "HighErrorRate", "service": "checkout"},
        [
            (
                {"severity": "critical", "namespace": "shop", "pod": "checkout-7d9f-x2k4q", "team": "web"},
                {
                    "summary": "checkout: 7.2% of requests fail (5xx)",
                    "description": "Error ratio above 5% for 5 minutes.",
                },
            ),
            (
                {"severity": "critical", "namespace": "shop", "pod": "checkout-7d9f-p8w1m", "team": "web"},
                {
                    "summary": "checkout: 6.8% of requests fail (5xx)",
                    "description": "Error ratio above 5% for 5 minutes.",
                },
            ),
        ],
    ),
    (
        {"alertname": "SlowDatabase", "service": "payments"},
        [
            (
                {"severity": "warning", "namespace": "payments", "team": "payments", "instance": "pg-0"},
                {"summary": "payments database p99 latency 850 ms", "description": "p99 above 500 ms."},
            ),
        ],
    ),
]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _iso(t: dt.datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def demo_notifications(status: str = "firing", started: dt.datetime | None = None) -> list[dict[str, Any]]:
    """One Alertmanager webhook (version 4) body per demo alert group, ``firing`` or ``resolved``."""
    started = started or _now() - dt.timedelta(minutes=5)
    ended = _now()
    out: list[dict[str, Any]] = []
    for group_labels, alerts in DEMO_GROUPS:
        items: list[dict[str, Any]] = []
        for labels, notes in alerts:
            all_labels = {**group_labels, **labels}
            fingerprint = hashlib.sha256(json.dumps(all_labels, sort_keys=True).encode()).hexdigest()[:16]
            items.append(
                {
                    "status": status,
                    "labels": all_labels,
                    "annotations": notes,
                    "startsAt": _iso(started),
                    "endsAt": _iso(ended) if status == "resolved" else "0001-01-01T00:00:00Z",
                    "generatorURL": f"http://prometheus.demo:9090/graph?g0.expr={group_labels['alertname']}",
                    "fingerprint": fingerprint,
                }
            )
        common = {k: v for k, v in items[0]["labels"].items() if all(i["labels"].get(k) == v for i in items)}
        group_key = "{}:{" + ", ".join(f'{k}="{v}"' for k, v in sorted(group_labels.items())) + "}"
        out.append(
            {
                "version": "4",
                "groupKey": group_key,
                "truncatedAlerts": 0,
                "status": status,
                "receiver": "chatops",
                "groupLabels": group_labels,
                "commonLabels": common,
                "commonAnnotations": {},
                "externalURL": EXTERNAL_URL,
                "alerts": items,
            }
        )
    return out


class TrialRoutes:
    """The trial's routes on the sandbox's app; :meth:`configure` once the bot listens."""

    def __init__(self, sandbox: Sandbox, pace: float = 2.0) -> None:
        self.sb = sandbox
        self.pace = pace  # seconds between the demo's steps, so a person can follow them
        self.info: dict[str, Any] = {"ok": True, "ready": False}
        self._started: dt.datetime | None = None
        self._demo: asyncio.Task[dict[str, Any]] | None = None

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/sandbox/info", self.get_info)
        app.router.add_post("/sandbox/demo/alerts", self.post_alerts)
        app.router.add_post("/sandbox/demo/play", self.post_play)

    def configure(self, **info: Any) -> None:
        self.info.update(info, ready=True)

    # ---- routes --------------------------------------------------------------------------------
    async def get_info(self, request: web.Request) -> web.Response:
        return web.json_response(self.info)

    async def post_alerts(self, request: web.Request) -> web.Response:
        status = request.query.get("status", "firing")
        if status not in ("firing", "resolved"):
            return web.json_response({"ok": False, "error": "invalid_status"}, status=400)
        try:
            sent = await self.fire_alerts(status)
        except (aiohttp.ClientError, TimeoutError, RuntimeError) as exc:
            log.error("demo alerts not delivered: %s", exc)
            return web.json_response({"ok": False, "error": "webhook_failed", "detail": str(exc)}, status=502)
        return web.json_response({"ok": True, "status": status, "notifications": sent})

    async def post_play(self, request: web.Request) -> web.Response:
        if self._demo is not None and not self._demo.done():
            return web.json_response({"ok": False, "error": "demo_running"}, status=409)
        self._demo = asyncio.create_task(self.play_demo(), name="sandbox-demo")
        return web.json_response({"ok": True, "started": True})

    # ---- alerts --------------------------------------------------------------------------------
    async def fire_alerts(self, status: str = "firing") -> int:
        """Send the demo groups to the bot's Alertmanager webhook as Alertmanager would; the number
        of notifications the bot accepted."""
        url = self.info.get("webhook_url")
        if not url:
            raise RuntimeError("the bot is not listening yet")
        if status == "firing" or self._started is None:
            self._started = _now() - dt.timedelta(minutes=5)
        sent = 0
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            for body in demo_notifications(status, self._started):
                async with http.post(url, json=body) as resp:
                    if resp.status >= 300:
                        text = await resp.text()
                        raise RuntimeError(f"the webhook answered {resp.status}: {text[:200]}")
                    sent += 1
        return sent

    # ---- the scripted incident -----------------------------------------------------------------
    async def _until(self, check: Callable[[], Any], what: str, timeout: float = 90.0) -> Any:
        """``check()``'s first truthy answer, re-checked after every workspace change."""
        hub = self.sb.core.hub
        queue = hub.subscribe()
        try:
            async with asyncio.timeout(timeout):
                while True:
                    found = check()
                    if found:
                        return found
                    await queue.get()
        except TimeoutError as exc:
            raise RuntimeError(f"demo: no {what} within {timeout:.0f}s") from exc
        finally:
            hub.unsubscribe(queue)

    def _root_in(self, channel: str, needle: str) -> dict[str, Any] | None:
        for m in reversed(self.sb.messages(channel)):
            if needle in json.dumps(m):
                return m
        return None

    def _new_announcement(self, known: set[str]) -> tuple[str, str] | None:
        """(ts, incident id) of an announcement in #incidents posted since ``known``."""
        for m in reversed(self.sb.messages("incidents")):
            if m["ts"] in known:
                continue
            for block in m.get("blocks") or []:
                for el in block.get("elements") or []:
                    if el.get("action_id") == ACK_ACTION:
                        return m["ts"], str(el.get("value"))
        return None

    async def _say(self, step: str) -> None:
        log.info("demo: %s", step)
        print(f"demo: {step}", flush=True)
        await asyncio.sleep(self.pace)  # pacing for the person watching, not a wait for the bot

    async def play_demo(self) -> dict[str, Any]:
        """Alerts fire, a group threads, Alice declares, Bob acknowledges, updates follow, the alerts
        resolve and the incident is resolved. Returns what happened (the incident id); a step that
        fails stops the demo with one line saying which."""
        try:
            return await self._play()
        except (RuntimeError, aiohttp.ClientError, TimeoutError) as exc:
            log.error("demo stopped: %s", exc)
            print(f"demo stopped: {exc}", flush=True)
            return {"error": str(exc)}

    async def _play(self) -> dict[str, Any]:
        sb = self.sb
        await self._say("Alertmanager sends two alert groups")
        await self.fire_alerts("firing")
        await self._until(lambda: self._root_in("alerts-critical", "HighErrorRate"), "alert thread")
        await self._say("Alice declares an incident for the checkout errors")
        known = {m["ts"] for m in sb.messages("incidents")}
        await sb.command(
            "alice", "incidents", "/incident", 'create critical "Checkout returns 5xx" service=checkout'
        )
        ts, inc = await self._until(lambda: self._new_announcement(known), "announcement")
        await self._say(f"Bob acknowledges {inc}")
        await sb.click("bob", "incidents", ts, ACK_ACTION, value=inc)
        await self._say("Bob posts status updates")
        await sb.command(
            "bob", "incidents", "/status", f'update {inc} identified "Bad deploy of checkout 1.42"'
        )
        await self._say("Rolled back")
        await sb.command("bob", "incidents", "/status", f'update {inc} monitoring "Rolled back to 1.41"')
        await self._say("The alerts resolve")
        await self.fire_alerts("resolved")
        await self._say(f"Alice resolves {inc}")
        await sb.command("alice", "incidents", "/incident", f'resolve {inc} "Rolled back checkout to 1.41"')
        print(f"demo: done ({inc}); the page shows every step", flush=True)
        return {"incident": inc}

    async def close(self) -> None:
        if self._demo is not None:
            self._demo.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._demo
