"""The bot (`chatops serve`, a real process) is SIGKILLed in the middle of an alert storm and started
again: pending outbound messages resume, none is posted twice, no alert is lost."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.alerts import storm
from tests.alerts.slackview import channel_id, final_by_ident, marker, read_channel
from tests.conftest import REDIS_URL, eventually, free_port

pytestmark = pytest.mark.slow

POLICY = """
alerts:
  default_channel: '#alerts'
  claim_idle_seconds: 3
  storm:
    threshold: 10
"""


class ServeProcess:
    def __init__(self, sandbox: Any, prefix: str, policy: Path, log: Path) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "SLACK_API_URL": sandbox.api_url,
            "SLACK_BOT_TOKEN": sandbox.bot_token,
            "SLACK_SIGNING_SECRET": sandbox.signing_secret,
            "REDIS_URL": REDIS_URL,
            "CHATOPS_REDIS_PREFIX": prefix,
            "CHATOPS_CONFIG": str(policy),
        }
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: ASYNC220 (returns at once; the test polls /readyz)
                [
                    sys.executable,
                    "-m",
                    "chatops.main",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

        async def ready() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                async with httpx.AsyncClient() as http:
                    return (await http.get(f"{self.url}/readyz", timeout=1)).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(ready, timeout=60, interval=0.2)

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


async def test_sigkill_mid_storm_resumes_without_duplicates(
    sandbox: Any, redis_prefix: str, redis_client: Any, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text(POLICY)
    bot = ServeProcess(sandbox, redis_prefix, policy, tmp_path / "bot.log")
    await bot.start()
    ready_key = f"{redis_prefix}:outbox:ready"
    stream_key = f"{redis_prefix}:alerts:stream"
    progress = {"accepted": 0, "at_kill": 0}
    mid_storm = asyncio.Event()

    def on_progress(accepted: int) -> None:
        progress["accepted"] = accepted
        if accepted >= storm.GROUPS * 3 // 2:  # halfway through the notifications
            mid_storm.set()

    try:

        async def killer() -> None:
            await mid_storm.wait()

            async def backlog() -> bool:  # posts are paced at ~1/s per channel: work is waiting
                return await redis_client.zcard(ready_key) > 0

            await eventually(backlog, timeout=60, interval=0.1)
            bot.kill()
            progress["at_kill"] = progress["accepted"]
            await bot.start()

        kill_task = asyncio.create_task(killer())
        accepted = await storm.send_storm(
            f"{bot.url}/alerts/alertmanager", seconds=25, on_progress=on_progress
        )
        await kill_task
        assert accepted == storm.GROUPS * 3
        assert 0 < progress["at_kill"] < accepted, "the bot was not killed in the middle of the storm"

        async def settled() -> bool:
            return await redis_client.zcard(ready_key) == 0 and await redis_client.xlen(stream_key) == 0

        await eventually(settled, timeout=240, interval=0.5)
    finally:
        bot.stop()

    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token=sandbox.bot_token, base_url=sandbox.api_url)
    threads = await read_channel(client, await channel_id(client, "alerts"))
    markers = Counter(marker(m) for t in threads for m in [t.root, *t.replies])
    assert [m for m, n in markers.items() if n > 1] == [], "a message was posted twice"
    final = final_by_ident(threads)
    wrong = {k: (final.get(k), v) for k, v in storm.expected_final().items() if final.get(k) != v}
    assert not wrong, f"{len(wrong)} alerts not in their final state, e.g. {list(wrong.items())[:5]}"
    stats = sandbox.core.stats_json()
    print(
        f"\nsigkill: {len(threads)} threads, {sum(len(t.replies) for t in threads)} replies, "
        f"Slack calls {stats['calls']}, by method {stats['methods']}"
    )
