"""Explicit parts: the product's modules all load, a mistyped one stops the start-up with a clear
message, every part follows one lifecycle (routes, start in order, stop in reverse) and keeps its
runtime in a typed attribute of the context."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.config.policy import Policy
from bot.context import AppContext, build_context
from bot.parts import BotApp, Part
from bot.settings import Settings
from chatops import product
from chatops.main import main
from chatops.product import StartupError, assemble, build_app, load_commands, load_parts
from tests.conftest import REDIS_URL, BotProcess, free_port


def test_the_product_assembles_every_part() -> None:
    parts = assemble()
    assert len(parts) == len(product.PART_MODULES)
    assert all(isinstance(p, Part) for p in parts)
    names = [p.name for p in parts]
    assert {"alerts", "review", "escalation", "runbooks"} <= set(names)
    assert len(set(names)) == len(names)


def test_a_mistyped_part_module_is_a_startup_error() -> None:
    with pytest.raises(StartupError) as caught:
        load_parts(["bot.alerts.part", "bot.escalation.prat"])
    assert str(caught.value) == (
        "part module 'bot.escalation.prat' (listed in chatops.product) does not exist: "
        "No module named 'bot.escalation.prat'"
    )


def test_a_missing_command_module_is_a_startup_error() -> None:
    with pytest.raises(StartupError, match=r"command module 'commands\.incidnet' .* does not exist"):
        load_commands(["commands.incident", "commands.incidnet"])


def test_a_module_that_is_not_a_part_is_refused() -> None:
    with pytest.raises(StartupError, match=r"part module 'bot\.listeners' has no make_part\(\) function"):
        load_parts(["bot.listeners"])


def test_serve_with_a_mistyped_part_exits_with_the_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(product, "PART_MODULES", (*product.PART_MODULES, "bot.runbooks.prat"))
    monkeypatch.setenv("CHATOPS_INSECURE_NO_SIGNATURE", "1")
    monkeypatch.delenv("CHATOPS_CONFIG", raising=False)
    port = free_port()
    assert main(["serve", "--host", "127.0.0.1", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert "chatops cannot start: part module 'bot.runbooks.prat'" in err
    assert "Traceback" not in err


class Recorder:
    """A part that records its lifecycle; ``fail_start`` makes its start raise."""

    def __init__(self, name: str, log: list[str], fail_start: bool = False) -> None:
        self.name = name
        self.log = log
        self.fail_start = fail_start

    def routes(self, app: BotApp) -> None:
        self.log.append(f"routes {self.name}")

        async def hello(request: web.Request) -> web.Response:
            return web.json_response({"part": self.name})

        app.web.router.add_get(f"/parts/{self.name}", hello)

    async def start(self, ctx: AppContext) -> None:
        self.log.append(f"start {self.name}")
        if self.fail_start:
            raise RuntimeError(f"{self.name} cannot start")

    async def stop(self) -> None:
        self.log.append(f"stop {self.name}")


def _ctx(sandbox: Any, prefix: str) -> AppContext:
    from pydantic import SecretStr

    settings = Settings(
        slack_api_url=sandbox.api_url,
        slack_bot_token=SecretStr(sandbox.bot_token),
        slack_signing_secret=SecretStr(sandbox.signing_secret),
        redis_url=REDIS_URL,
        redis_prefix=prefix,
    )
    return build_context(settings, Policy())


async def test_one_lifecycle_routes_then_start_in_order_then_stop_in_reverse(
    sandbox: Any, redis_prefix: str
) -> None:
    log: list[str] = []
    parts = [Recorder("first", log), Recorder("second", log)]
    assert all(isinstance(p, Part) for p in parts)
    runner = web.AppRunner(build_app(_ctx(sandbox, redis_prefix), parts), access_log=None)
    assert log == ["routes first", "routes second"]
    await runner.setup()
    try:
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        assert log[2:] == ["start first", "start second"]
        async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/parts/second") as r:
            assert r.status == 200 and await r.json() == {"part": "second"}
    finally:
        await runner.cleanup()
    assert log[4:] == ["stop second", "stop first"]


async def test_a_failing_start_stops_what_had_started(sandbox: Any, redis_prefix: str) -> None:
    log: list[str] = []
    parts = [Recorder("first", log), Recorder("broken", log, fail_start=True), Recorder("never", log)]
    runner = web.AppRunner(build_app(_ctx(sandbox, redis_prefix), parts), access_log=None)
    with pytest.raises(RuntimeError, match="broken cannot start"):
        await runner.setup()
    await runner.cleanup()
    assert log == [
        "routes first",
        "routes broken",
        "routes never",
        "start first",
        "start broken",
        "stop broken",
        "stop first",
    ]


async def test_the_bot_parts_keep_their_runtime_on_typed_context_fields(bot: BotProcess) -> None:
    ctx = bot.ctx
    assert ctx.alerts is not None and ctx.alerts.tasks  # worker and outbox sender running (role all)
    assert ctx.escalation is not None and ctx.escalation.queue is not None
    assert ctx.runbooks is not None and ctx.runbooks.ctx is ctx
    assert not hasattr(ctx, "extras")
    # the alert intake is the alerts part's route, not a 501 placeholder
    async with aiohttp.ClientSession() as s, s.post(f"{bot.url}/alerts/alertmanager", json={}) as resp:
        assert resp.status == 400
    await bot.stop()
    assert ctx.escalation is None and ctx.runbooks is None and ctx.alerts is None
