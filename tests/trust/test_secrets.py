"""Secrets come from the environment or secret files, never reach a log line, /metrics or /healthz."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.logs import add_secrets, redact, setup_logging
from bot.settings import Settings
from tests.conftest import BotProcess

BOT = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
USER = "xoxp-1111-2222-3333-abcdef"
APP = "xapp-1-A0123-4567-0123456789abcdef"
SIGNING = "8f742231b10e8888abcd99yyyzzz85a5"  # no prefix: known values are redacted exactly
BEARER = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGVydG1hbmFnZXIifQ.c2lnbmF0dXJl"


@pytest.fixture
def log_stream() -> Any:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    yield stream
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_log_records_are_redacted(log_stream: io.StringIO, fmt: str) -> None:
    setup_logging(fmt, stream=log_stream)
    add_secrets(SIGNING)
    log = logging.getLogger("chatops.test")
    log.info("token %s then %s", BOT, USER)
    log.warning("socket mode with %s", APP)
    log.info("alertmanager sent Authorization: Bearer %s", BEARER)
    log.info("verifying with %s", SIGNING)
    log.info("settings", extra={"signing_secret": SIGNING, "url": "redis://:hunter2pass@redis:6379/0"})
    log.info("slack said {'token': '%s'}", BOT)
    try:
        raise RuntimeError(f"call failed with token={BOT} secret {SIGNING}")
    except RuntimeError:
        log.exception("boom")
    out = log_stream.getvalue()
    assert out.count("\n") >= 7
    for secret in (BOT, USER, APP, SIGNING, BEARER, "hunter2pass"):
        assert secret not in out, (secret, out)
    # still useful: the kind of token is visible
    assert "xoxb" in out and "[redacted]" in out


def test_redact_leaves_ordinary_text() -> None:
    text = "INC-12 resolved by <@U0ALICE001> after 5m; see https://status.example.com/x"
    assert redact(text) == text


def test_secrets_from_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "SLACK_BOT_TOKEN").write_text(BOT + "\n")  # a Kubernetes secret volume key
    (tmp_path / "slack_signing_secret").write_text(SIGNING)
    (tmp_path / "redis_url").write_text("redis://:pw@redis:6379/0")
    monkeypatch.setenv("CHATOPS_SECRETS_DIR", str(tmp_path))
    settings = Settings()
    assert settings.slack_bot_token.get_secret_value() == BOT
    assert settings.slack_signing_secret.get_secret_value() == SIGNING
    assert settings.redis_url == "redis://:pw@redis:6379/0"
    assert BOT not in repr(settings) and SIGNING not in repr(settings)
    # the environment wins over a file
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-env")
    assert Settings().slack_bot_token.get_secret_value() == "xoxb-from-env"


async def test_metrics_and_health_expose_no_secret(bot: BotProcess, sandbox: Any) -> None:
    await sandbox.command("alice", "incidents", "/incident", "list")  # some traffic in the metrics
    secrets = [sandbox.bot_token, sandbox.signing_secret]
    async with aiohttp.ClientSession() as s:
        for path in ("/metrics", "/healthz", "/readyz"):
            async with s.get(f"{bot.url}{path}") as resp:
                body = await resp.text()
                assert resp.status == 200, path
                headers = " ".join(f"{k}: {v}" for k, v in resp.headers.items())
            for secret in secrets:
                assert secret not in body and secret not in headers, path
            assert "xoxb-" not in body and "xapp-" not in body


async def test_bot_logs_never_show_its_tokens(bot: BotProcess, sandbox: Any, log_stream: io.StringIO) -> None:
    setup_logging("json", level=logging.DEBUG, stream=log_stream)
    await sandbox.command("alice", "incidents", "/incident", 'create medium "Logging check"')
    from tests.conftest import eventually

    async def posted() -> bool:
        return any(m.get("blocks") for m in sandbox.messages("incidents"))

    await eventually(posted)
    out = log_stream.getvalue()
    assert out  # DEBUG logging of a whole request did produce lines
    assert sandbox.bot_token not in out
    assert sandbox.signing_secret not in out
