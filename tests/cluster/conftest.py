"""A real Redis Cluster and a real Sentinel setup (tests/harness/redis_cluster.py), each started once
per session with a password that the bot reads from its settings (``REDIS_PASSWORD``), not the URL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.redis_cluster import RedisClusterProcs, RedisSentinelProcs

PASSWORD = "cluster-test-secret"


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterProcs]:
    procs = RedisClusterProcs(password=PASSWORD)
    try:
        yield procs.start()
    finally:
        procs.stop()


@pytest.fixture(scope="session")
def redis_sentinel() -> Iterator[RedisSentinelProcs]:
    procs = RedisSentinelProcs(password=PASSWORD)
    try:
        yield procs.start()
    finally:
        procs.stop()
