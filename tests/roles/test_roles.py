"""Splitting the process: a web-role bot only takes notifications in; a `chatops worker` posts them."""

from __future__ import annotations

from typing import Any

import aiohttp
import redis.asyncio as aioredis

from bot.alerts.worker import AlertKeys
from bot.keys import Keys
from tests.alerts.payloads import alert, payload
from tests.conftest import REDIS_URL, BotProcess, eventually
from tests.incidents.story import texts


class RoleBot(BotProcess):
    role = "all"

    def settings(self) -> Any:
        return super().settings().model_copy(update={"role": self.role})


class WebBot(RoleBot):
    role = "web"


class WorkerBot(RoleBot):
    role = "worker"


async def test_web_role_takes_alerts_in_and_the_worker_posts_them(
    sandbox: Any, redis_prefix: str, tmp_path: Any
) -> None:
    web = WebBot(sandbox, redis_prefix, None, tmp_path)
    await web.start()
    worker: WorkerBot | None = None
    try:
        body = payload({"alertname": "DiskFull"}, [alert({"alertname": "DiskFull", "instance": "db-1"})])
        async with aiohttp.ClientSession() as s, s.post(web.url + "/alerts/alertmanager", json=body) as r:
            assert r.status == 200
        client = aioredis.from_url(REDIS_URL, decode_responses=True)
        try:
            stream = AlertKeys(Keys(redis_prefix)).stream
            assert int((await client.xinfo_stream(stream))["entries-added"]) == 1
        finally:
            await client.aclose()
        assert not any("DiskFull" in texts(m) for m in sandbox.messages("#alerts"))  # web role posts nothing

        worker = WorkerBot(sandbox, redis_prefix, None, tmp_path)
        await worker.start()
        sandbox.bot_url = f"{web.url}/slack/events"  # Slack still talks to the web process

        async def posted() -> bool:
            return any("DiskFull" in texts(m) for m in sandbox.messages("#alerts"))

        assert await eventually(posted, timeout=20)
    finally:
        if worker is not None:
            await worker.stop()
        await web.stop()
