"""The storm scenario shared by the storm, fault and SIGKILL tests: 500 groups × 20 alerts = 10,000
alerts over ~30 s, straight into the intake (not through Alertmanager)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import aiohttp

from tests.alerts.payloads import alert, payload

GROUPS = 500
PER_GROUP = 20


def notification(g: int, wave: int) -> dict:
    """Wave 0: alerts 0-9 firing; wave 1: all 20 firing; wave 2: 0-9 resolved (even groups: all)."""
    service = f"svc-{g:03d}"
    labels = [
        {"alertname": "StormAlert", "service": service, "instance": f"g{g}-h{i}"} for i in range(PER_GROUP)
    ]
    if wave == 0:
        alerts = [alert(lab) for lab in labels[:10]]
    elif wave == 1:
        alerts = [alert(lab) for lab in labels]
    else:
        cut = PER_GROUP if g % 2 == 0 else 10
        alerts = [alert(lab, "resolved") for lab in labels[:cut]] + [alert(lab) for lab in labels[cut:]]
    return payload({"alertname": "StormAlert", "service": service}, alerts)


def expected_final() -> dict[str, str]:
    out = {}
    for g in range(GROUPS):
        for i in range(PER_GROUP):
            resolved = i < 10 or g % 2 == 0
            out[f"instance=g{g}-h{i}"] = "resolved" if resolved else "firing"
    return out


def expected_counts(g: int) -> tuple[int, int]:
    """(firing, resolved) at the end."""
    return (0, 20) if g % 2 == 0 else (10, 10)


async def send_storm(
    url: str,
    *,
    seconds: float = 30.0,
    headers: dict[str, str] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Post the 1,500 notifications (3 waves of 500) spread over `seconds`; retries 5xx and
    connection errors like Alertmanager does. Returns the number of accepted notifications."""
    plan = [(w, g) for w in range(3) for g in range(GROUPS)]
    gap = seconds / len(plan)
    accepted = 0
    start = time.monotonic()
    async with aiohttp.ClientSession(headers=headers or {}) as http:
        for n, (wave, g) in enumerate(plan):
            body = json.dumps(notification(g, wave)).encode()
            while True:
                try:
                    async with http.post(url, data=body) as resp:
                        if resp.status == 200:
                            break
                        if resp.status < 500:
                            raise AssertionError(f"intake refused: {resp.status} {await resp.text()}")
                except (aiohttp.ClientError, OSError):
                    pass
                await asyncio.sleep(0.2)  # the bot is down or Redis is: retry, as Alertmanager would
            accepted += 1
            if on_progress:
                on_progress(accepted)
            delay = start + (n + 1) * gap - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
    return accepted
