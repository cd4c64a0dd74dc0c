"""Injected faults (429, 5xx, slow answers) at a chosen rate, reproducible with a seed; stats."""

from __future__ import annotations

from collections import Counter

import aiohttp

from sandbox import Sandbox


async def _auth_tests(sandbox: Sandbox, n: int) -> Counter[int]:
    statuses: Counter[int] = Counter()
    headers = {"Authorization": f"Bearer {sandbox.bot_token}"}
    async with aiohttp.ClientSession() as http:
        for _ in range(n):
            async with http.post(
                sandbox.api_url + "users.info", params={"user": "U0ALICE001"}, headers=headers
            ) as r:
                statuses[r.status] += 1
                if r.status == 429:
                    assert r.headers["Retry-After"].isdigit()
                    assert (await r.json())["error"] == "ratelimited"
    return statuses


async def test_fault_429_rate(sandbox: Sandbox) -> None:
    sandbox.set_faults(rate_limits=False, fault_429_rate=0.25, seed=7)
    statuses = await _auth_tests(sandbox, 400)
    assert set(statuses) == {200, 429}
    assert 60 <= statuses[429] <= 140  # 25 % of 400 = 100, binomial sd ≈ 8.7
    assert sandbox.stats()["methods"]["users.info"]["fault_429"] == statuses[429]


async def test_fault_5xx_rate_and_reproducible_seed(sandbox: Sandbox) -> None:
    sandbox.set_faults(rate_limits=False, fault_5xx_rate=0.1, seed=42)
    first = await _auth_tests(sandbox, 200)
    sandbox.set_faults(seed=42)
    second = await _auth_tests(sandbox, 200)
    assert first == second
    assert {s for s in first if s >= 500} <= {500, 502, 503}
    failures = sum(n for s, n in first.items() if s >= 500)
    assert 5 <= failures <= 40


async def test_fault_slow_rate_counts_slow_answers(sandbox: Sandbox) -> None:
    sandbox.set_faults(rate_limits=False, fault_slow_rate=0.5, slow_seconds=0.001, seed=3)
    statuses = await _auth_tests(sandbox, 100)
    assert statuses == Counter({200: 100})  # slow answers still answer
    slow = sandbox.stats()["methods"]["users.info"]["fault_slow"]
    assert 25 <= slow <= 75


async def test_faults_settable_over_http_and_validated(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(sandbox.url + "/sandbox/faults", json={"fault_429_rate": 1.0, "seed": 1}) as r:
            assert (await r.json())["config"]["fault_429_rate"] == 1.0
        async with http.post(sandbox.url + "/sandbox/faults", json={"fault_429_rate": 3}) as r:
            assert r.status == 400 and (await r.json())["error"] == "invalid_value"
        async with http.post(sandbox.url + "/sandbox/faults", json={"bot_token": "x"}) as r:
            assert r.status == 400 and (await r.json())["error"] == "unknown_field"
    assert sandbox.config.fault_429_rate == 1.0
    assert (await _auth_tests(sandbox, 3)) == Counter({429: 3})


async def test_stats_count_by_method_and_outcome(sandbox: Sandbox) -> None:
    await _auth_tests(sandbox, 3)
    async with aiohttp.ClientSession() as http:
        async with http.post(sandbox.api_url + "users.info", params={"token": "bad", "user": "U0ALICE001"}):
            pass
        async with http.get(sandbox.url + "/sandbox/stats") as r:
            stats = await r.json()
    assert stats["methods"]["users.info"] == {"ok": 3, "invalid_auth": 1}
    assert stats["calls"] == 4
