from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from integrations.vendor_http import RetryPolicy
from tests.pagers.vendor_server import SleepRecorder
from tests.trackers.tracker_server import TrackerServer


@pytest.fixture
async def trackers() -> AsyncIterator[TrackerServer]:
    server = TrackerServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def fast_policy() -> RetryPolicy:
    return RetryPolicy(attempts=3, timeout=2.0, backoff_initial=0.01, backoff_max=0.05, retry_after_max=30)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()
