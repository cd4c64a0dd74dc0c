"""A real Alertmanager (Debian's ``/usr/bin/prometheus-alertmanager``) for tests.

:class:`AlertmanagerServer` starts it on a free loopback port with clustering disabled, a temporary
storage path and a config whose only receiver is a webhook (the bot's ``/alerts/alertmanager``),
grouping fast (group_wait/group_interval 1s) and repeating rarely. :meth:`start` waits for
``/-/ready``; :meth:`stop` terminates it and removes its directory.

pytest fixture: ``alertmanager_factory(webhook_url, **kwargs)``; everything it started stops at teardown.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.harness.prometheus import HarnessError, free_port, wait_ready

ALERTMANAGER_BINARY = os.environ.get("ALERTMANAGER_BINARY", "/usr/bin/prometheus-alertmanager")
START_TIMEOUT = 60.0

log = logging.getLogger(__name__)


class AlertmanagerServer:
    def __init__(
        self,
        webhook_url: str,
        *,
        group_by: Sequence[str] = ("alertname",),
        group_wait: str = "1s",
        group_interval: str = "1s",
        repeat_interval: str = "4h",
        bearer_token: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        binary: str = ALERTMANAGER_BINARY,
    ) -> None:
        self.webhook_url = webhook_url
        self.group_by = list(group_by)
        self.group_wait = group_wait
        self.group_interval = group_interval
        self.repeat_interval = repeat_interval
        self.bearer_token = bearer_token
        self.basic_auth = basic_auth
        self.binary = binary
        self.workdir: Path | None = None
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("alertmanager not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        """host:port, as Prometheus' alerting config wants it."""
        return self.url.split("://", 1)[1]

    def log_tail(self, lines: int = 30) -> str:
        if self.workdir is None or not (self.workdir / "alertmanager.log").exists():
            return ""
        return "\n".join(
            (self.workdir / "alertmanager.log").read_text(errors="replace").splitlines()[-lines:]
        )

    def render_config(self) -> dict[str, Any]:
        webhook: dict[str, Any] = {"url": self.webhook_url, "send_resolved": True, "max_alerts": 0}
        if self.bearer_token:
            webhook["http_config"] = {"authorization": {"type": "Bearer", "credentials": self.bearer_token}}
        elif self.basic_auth:
            webhook["http_config"] = {
                "basic_auth": {"username": self.basic_auth[0], "password": self.basic_auth[1]}
            }
        return {
            "route": {
                "receiver": "chatops",
                "group_by": self.group_by,
                "group_wait": self.group_wait,
                "group_interval": self.group_interval,
                "repeat_interval": self.repeat_interval,
            },
            "receivers": [{"name": "chatops", "webhook_configs": [webhook]}],
        }

    def start(self, *, timeout: float = START_TIMEOUT) -> AlertmanagerServer:
        if self._proc is not None:
            raise RuntimeError("alertmanager already running")
        self.workdir = Path(tempfile.mkdtemp(prefix="am-harness-"))
        (self.workdir / "data").mkdir()
        (self.workdir / "alertmanager.yml").write_text(yaml.safe_dump(self.render_config(), sort_keys=False))
        deadline = time.monotonic() + timeout
        for _attempt in range(5):  # the probed port can be taken before Alertmanager binds it
            self.port = free_port()
            self._spawn()
            try:
                self._wait_ready(deadline)
                return self
            except HarnessError as exc:
                self._terminate()
                if "address already in use" not in str(exc) or time.monotonic() > deadline:
                    self._cleanup()
                    raise
        self._cleanup()
        raise HarnessError("alertmanager could not bind a port")

    def _spawn(self) -> None:
        assert self.workdir is not None
        if self._log is not None:
            self._log.close()
        self._log = open(self.workdir / "alertmanager.log", "ab")  # closed in _terminate
        args = [
            self.binary,
            f"--config.file={self.workdir / 'alertmanager.yml'}",
            f"--storage.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",
            "--log.level=info",
        ]
        self._proc = subprocess.Popen(
            args, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )

    def _wait_ready(self, deadline: float) -> None:
        assert self._proc is not None
        wait_ready("alertmanager", self._proc, self.url, self.log_tail, deadline)

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts Alertmanager currently holds (API v2)."""
        return list(httpx.get(f"{self.url}/api/v2/alerts", timeout=5).json())

    def _terminate(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(10)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(5)
            self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def _cleanup(self) -> None:
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def stop(self) -> None:
        self._terminate()
        self._cleanup()

    def __enter__(self) -> AlertmanagerServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


AlertmanagerFactory = Callable[..., AlertmanagerServer]


@pytest.fixture
def alertmanager_factory() -> Iterator[AlertmanagerFactory]:
    started: list[AlertmanagerServer] = []

    def factory(webhook_url: str, **kwargs: Any) -> AlertmanagerServer:
        server = AlertmanagerServer(webhook_url, **kwargs)
        started.append(server)
        return server.start()

    yield factory
    for server in reversed(started):
        try:
            server.stop()
        except Exception:
            log.exception("stopping alertmanager at %s failed", server.workdir)
