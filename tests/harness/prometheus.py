"""A real Prometheus (the Debian ``/usr/bin/prometheus`` binary) for tests.

Pieces, usable without pytest:

* :class:`MetricsEndpoint` — a tiny threaded HTTP server on a free loopback port that serves
  Prometheus text exposition at ``/metrics``; the test changes what it serves with :meth:`set`.
* :class:`PrometheusServer` — starts Prometheus on a free loopback port with a temporary config and
  storage directory, scraping one or more endpoints every second (evaluation every second), with
  optional rule files and an optional Alertmanager target list. ``--web.enable-lifecycle`` is on, so
  :meth:`PrometheusServer.reload` applies changed rules/targets without a restart. :meth:`start`
  waits until ``/-/ready`` answers and the first scrape of every target has landed.

pytest fixtures (import them into your test module or conftest):

    # in a conftest.py (importing them into a test module trips ruff's F811):
    from tests.harness.prometheus import metrics_endpoint, prometheus, prometheus_factory  # noqa: F401

or list ``"tests.harness.prometheus"`` in the root conftest's ``pytest_plugins``.

* ``metrics_endpoint`` — a running :class:`MetricsEndpoint` (function scope).
* ``prometheus`` — a running :class:`PrometheusServer` scraping ``metrics_endpoint``.
* ``shared_prometheus`` / ``shared_metrics_endpoint`` — session-wide pair for query-only tests
  (starting Prometheus costs ~5 s: its target discovery batches updates every 5 s).
* ``prometheus_factory`` — ``prometheus_factory(endpoint=..., rules=..., alertmanagers=[...])`` for tests
  that need rule files or Alertmanager targets; everything it started is stopped at teardown.

Waiting is always "until a condition holds, with a generous deadline" (2-core CI machines are slow);
no helper asserts on elapsed time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

PROMETHEUS_BINARY = os.environ.get("PROMETHEUS_BINARY", "/usr/bin/prometheus")
DEFAULT_START_TIMEOUT = 90.0
DEFAULT_WAIT_TIMEOUT = 60.0
JOB_NAME = "test"

log = logging.getLogger(__name__)


class HarnessError(RuntimeError):
    """The harness could not bring a process up (message carries the log tail)."""


def wait_ready(
    name: str, proc: subprocess.Popen[bytes], url: str, log_tail: Callable[[], str], deadline: float
) -> None:
    """Poll ``<url>/-/ready`` (Prometheus and Alertmanager both serve it) until 200, the process
    exits, or the deadline passes; the last two raise with the log's tail."""
    with httpx.Client(timeout=2.0) as client:
        while True:
            code = proc.poll()
            if code is not None:
                raise HarnessError(f"{name} exited with {code}:\n{log_tail()}")
            try:
                if client.get(f"{url}/-/ready").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise HarnessError(f"{name} not ready in time:\n{log_tail()}")
            time.sleep(0.1)


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (callers retry if it is taken before they bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------------------------- metrics


class _MetricsHandler(BaseHTTPRequestHandler):
    server: _MetricsHTTPServer

    def do_GET(self) -> None:
        owner = self.server.owner
        if self.path.split("?", 1)[0] != owner.path:
            self.send_error(404)
            return
        body = owner.text.encode()
        self.send_response(owner.status)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        owner._count_scrape()

    def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per scrape is noise
        return


class _MetricsHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: MetricsEndpoint


class MetricsEndpoint:
    """Serves Prometheus text exposition that the test controls.

    Runs in its own thread, so it answers whether the test is sync or async (and never blocks the
    test's event loop)."""

    def __init__(self, text: str = "", *, path: str = "/metrics") -> None:
        self.path = path
        self.status = 200
        self._text = text
        self._lock = threading.Condition()
        self._scrapes = 0
        self._server: _MetricsHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- content
    @property
    def text(self) -> str:
        with self._lock:
            return self._text

    def set(self, text: str, *, status: int = 200) -> None:
        """Replace the exposition text (and optionally the HTTP status) served from now on."""
        if text and not text.endswith("\n"):
            text += "\n"
        with self._lock:
            self._text = text
            self.status = status

    # -- scrapes
    @property
    def scrapes(self) -> int:
        with self._lock:
            return self._scrapes

    def _count_scrape(self) -> None:
        with self._lock:
            self._scrapes += 1
            self._lock.notify_all()

    def wait_for_scrapes(self, count: int = 1, *, timeout: float = DEFAULT_WAIT_TIMEOUT) -> None:
        """Block until ``count`` more scrapes than now have been served."""
        with self._lock:
            target = self._scrapes + count
            if not self._lock.wait_for(lambda: self._scrapes >= target, timeout=timeout):
                raise TimeoutError(f"metrics endpoint was scraped {self._scrapes} times, waited for {target}")

    # -- lifecycle
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("metrics endpoint not started")
        return int(self._server.server_address[1])

    @property
    def target(self) -> str:
        """host:port, as a Prometheus static target."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.target}{self.path}"

    def start(self) -> MetricsEndpoint:
        server = _MetricsHTTPServer(("127.0.0.1", 0), _MetricsHandler)
        server.owner = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="metrics-endpoint", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> MetricsEndpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ------------------------------------------------------------------------------------------ prometheus


@dataclass
class ScrapeTarget:
    """One scrape job: ``targets`` are host:port strings, ``metrics_path`` the path on each."""

    job: str
    targets: list[str]
    metrics_path: str = "/metrics"


class PrometheusServer:
    """A real Prometheus process in a temporary directory.

    ``rules``: mapping of file name → rule-file YAML text (or a list of such texts).
    ``alertmanagers``: list of host:port (or http://host:port) Alertmanager targets.
    """

    def __init__(
        self,
        endpoints: Sequence[MetricsEndpoint | ScrapeTarget] = (),
        *,
        rules: dict[str, str] | Sequence[str] | None = None,
        alertmanagers: Sequence[str] = (),
        scrape_interval: str = "1s",
        evaluation_interval: str = "1s",
        extra_args: Sequence[str] = (),
        binary: str = PROMETHEUS_BINARY,
    ) -> None:
        self.scrape_targets = [self._as_target(e, i) for i, e in enumerate(endpoints)]
        self.scrape_interval = scrape_interval
        self.evaluation_interval = evaluation_interval
        self.extra_args = list(extra_args)
        self.binary = binary
        self.alertmanagers = [a.split("://", 1)[-1].rstrip("/") for a in alertmanagers]
        if rules is None:
            self.rules: dict[str, str] = {}
        elif isinstance(rules, dict):
            self.rules = dict(rules)
        else:
            self.rules = {f"rules-{i}.yml": text for i, text in enumerate(rules)}
        self.workdir: Path | None = None
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @staticmethod
    def _as_target(endpoint: MetricsEndpoint | ScrapeTarget, index: int) -> ScrapeTarget:
        if isinstance(endpoint, ScrapeTarget):
            return endpoint
        job = JOB_NAME if index == 0 else f"{JOB_NAME}{index}"
        return ScrapeTarget(job=job, targets=[endpoint.target], metrics_path=endpoint.path)

    # -- addresses
    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("prometheus not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "prometheus.yml"

    @property
    def log_path(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "prometheus.log"

    def log_tail(self, lines: int = 30) -> str:
        if self.workdir is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    # -- config
    def render_config(self) -> dict[str, Any]:
        assert self.workdir is not None
        config: dict[str, Any] = {
            "global": {
                "scrape_interval": self.scrape_interval,
                "scrape_timeout": self.scrape_interval,
                "evaluation_interval": self.evaluation_interval,
            },
            "scrape_configs": [
                {
                    "job_name": t.job,
                    "metrics_path": t.metrics_path,
                    "static_configs": [{"targets": list(t.targets)}],
                }
                for t in self.scrape_targets
            ],
        }
        if self.rules:
            config["rule_files"] = [str(self.workdir / "rules" / name) for name in sorted(self.rules)]
        if self.alertmanagers:
            config["alerting"] = {
                "alertmanagers": [{"api_version": "v2", "static_configs": [{"targets": self.alertmanagers}]}]
            }
        return config

    def _write_files(self) -> None:
        assert self.workdir is not None
        rules_dir = self.workdir / "rules"
        if rules_dir.exists():
            shutil.rmtree(rules_dir)
        rules_dir.mkdir()
        for name, text in self.rules.items():
            (rules_dir / name).write_text(text)
        self.config_path.write_text(yaml.safe_dump(self.render_config(), sort_keys=False))

    # -- lifecycle
    def start(self, *, timeout: float = DEFAULT_START_TIMEOUT) -> PrometheusServer:
        if self._proc is not None:
            raise RuntimeError("prometheus already running")
        self.workdir = Path(tempfile.mkdtemp(prefix="prom-harness-"))
        (self.workdir / "data").mkdir()
        self._write_files()
        deadline = time.monotonic() + timeout
        last_error = ""
        for _attempt in range(5):  # a free port can be taken between probe and bind: retry on another
            self.port = free_port()
            self._spawn()
            try:
                self._wait_ready(deadline)
                break
            except HarnessError as exc:
                last_error = str(exc)
                self._terminate()
                if "address already in use" not in last_error or time.monotonic() > deadline:
                    self._cleanup_dir()
                    raise
        else:
            self._cleanup_dir()
            raise HarnessError(f"prometheus could not bind a port: {last_error}")
        try:
            self.wait_for_targets(timeout=max(5.0, deadline - time.monotonic()))
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self) -> None:
        assert self.workdir is not None
        if self._log is not None:
            self._log.close()
        self._log = open(self.log_path, "ab")  # closed in _terminate
        args = [
            self.binary,
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-lifecycle",
            "--storage.tsdb.retention.time=2h",
            "--query.lookback-delta=30s",
            *self.extra_args,
        ]
        env = {**os.environ, "GOMAXPROCS": os.environ.get("GOMAXPROCS", "2")}
        self._proc = subprocess.Popen(
            args, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )

    def _wait_ready(self, deadline: float) -> None:
        assert self._proc is not None
        wait_ready("prometheus", self._proc, self.url, self.log_tail, deadline)

    def wait_for_targets(self, *, timeout: float = DEFAULT_WAIT_TIMEOUT) -> None:
        """Block until every scrape target has been scraped at least once and the sample is queryable."""
        expected = {(t.job, target) for t in self.scrape_targets for target in t.targets}
        if not expected:
            return

        def landed() -> bool:
            result = self.query("up")
            seen = {(r["metric"].get("job"), r["metric"].get("instance")) for r in result}
            return expected <= seen

        self.wait_until(landed, timeout=timeout, what=f"first scrape of {sorted(expected)}")

    def reload(self, *, timeout: float = DEFAULT_WAIT_TIMEOUT) -> None:
        """Rewrite config and rule files from the current attributes and POST /-/reload."""
        self._write_files()
        with httpx.Client(timeout=timeout) as client:
            response = client.post(f"{self.url}/-/reload")
        if response.status_code != 200:
            raise HarnessError(f"reload failed ({response.status_code}): {response.text}\n{self.log_tail()}")

    def set_rules(self, rules: dict[str, str]) -> None:
        self.rules = dict(rules)
        self.reload()

    def set_alertmanagers(self, targets: Sequence[str]) -> None:
        self.alertmanagers = [a.split("://", 1)[-1].rstrip("/") for a in targets]
        self.reload()

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
        if self._log is not None:
            self._log.close()
            self._log = None

    def _cleanup_dir(self) -> None:
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def stop(self) -> None:
        self._terminate()
        self._cleanup_dir()

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- API helpers (sync; use the async_* variants inside a running event loop)
    def api(self, path: str, **params: Any) -> Any:
        with httpx.Client(timeout=10.0) as client:
            response = client.get(f"{self.url}/api/v1/{path.lstrip('/')}", params=params)
        body = response.json()
        if body.get("status") != "success":
            raise HarnessError(f"{path} failed: {body.get('error')}")
        return body["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        return list(self.api("query", query=promql)["result"])

    def alerts(self) -> list[dict[str, Any]]:
        return list(self.api("alerts")["alerts"])

    def wait_until(
        self, condition: Callable[[], bool], *, timeout: float = DEFAULT_WAIT_TIMEOUT, what: str = "condition"
    ) -> None:
        deadline = time.monotonic() + timeout
        last_exc: Exception | None = None
        while True:
            if self._proc is not None and self._proc.poll() is not None:
                raise HarnessError(f"prometheus died while waiting for {what}:\n{self.log_tail()}")
            try:
                if condition():
                    return
                last_exc = None
            except (httpx.HTTPError, HarnessError) as exc:
                last_exc = exc
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what} (last error: {last_exc})")
            time.sleep(0.2)

    def wait_for_query(
        self,
        promql: str,
        predicate: Callable[[list[dict[str, Any]]], bool] = bool,
        *,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
    ) -> list[dict[str, Any]]:
        """Poll an instant query until ``predicate(result)`` holds; returns that result."""
        holder: list[list[dict[str, Any]]] = []

        def check() -> bool:
            result = self.query(promql)
            if predicate(result):
                holder.append(result)
                return True
            return False

        self.wait_until(check, timeout=timeout, what=f"query {promql!r}")
        return holder[0]

    def wait_for_alert(
        self, name: str, *, state: str = "firing", timeout: float = DEFAULT_WAIT_TIMEOUT
    ) -> dict[str, Any]:
        """Poll /api/v1/alerts until an alert called ``name`` is in ``state`` (pending/firing)."""
        holder: list[dict[str, Any]] = []

        def check() -> bool:
            for alert in self.alerts():
                if alert["labels"].get("alertname") == name and alert["state"] == state:
                    holder.append(alert)
                    return True
            return False

        self.wait_until(check, timeout=timeout, what=f"alert {name} {state}")
        return holder[0]

    async def async_wait_for_query(
        self,
        promql: str,
        predicate: Callable[[list[dict[str, Any]]], bool] = bool,
        *,
        within: float = DEFAULT_WAIT_TIMEOUT,
    ) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.wait_for_query, promql, predicate, timeout=within)

    async def async_wait_for_alert(
        self, name: str, *, state: str = "firing", within: float = DEFAULT_WAIT_TIMEOUT
    ) -> dict[str, Any]:
        return await asyncio.to_thread(self.wait_for_alert, name, state=state, timeout=within)


# -------------------------------------------------------------------------------------------- fixtures

PrometheusFactory = Callable[..., PrometheusServer]


@pytest.fixture
def metrics_endpoint() -> Iterator[MetricsEndpoint]:
    """A running metrics endpoint serving an empty exposition; call ``.set(text)`` to change it."""
    with MetricsEndpoint() as endpoint:
        yield endpoint


@pytest.fixture
def prometheus_factory(metrics_endpoint: MetricsEndpoint) -> Iterator[PrometheusFactory]:
    """``prometheus_factory(endpoints=None, rules=None, alertmanagers=(), **kwargs)`` starts a Prometheus.

    ``endpoints`` defaults to ``[metrics_endpoint]``. All started servers stop at teardown."""
    started: list[PrometheusServer] = []

    def factory(
        endpoints: Sequence[MetricsEndpoint | ScrapeTarget] | None = None,
        *,
        rules: dict[str, str] | Sequence[str] | None = None,
        alertmanagers: Sequence[str] = (),
        **kwargs: Any,
    ) -> PrometheusServer:
        server = PrometheusServer(
            [metrics_endpoint] if endpoints is None else endpoints,
            rules=rules,
            alertmanagers=alertmanagers,
            **kwargs,
        )
        started.append(server)
        return server.start()

    yield factory
    for server in reversed(started):
        try:
            server.stop()
        except Exception:  # keep stopping the others, but say what went wrong
            log.exception("stopping prometheus at %s failed", server.workdir)


@pytest.fixture
def prometheus(prometheus_factory: PrometheusFactory) -> PrometheusServer:
    """A running Prometheus scraping ``metrics_endpoint`` every second (job ``test``)."""
    return prometheus_factory()


@pytest.fixture(scope="session")
def shared_metrics_endpoint() -> Iterator[MetricsEndpoint]:
    with MetricsEndpoint() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def shared_prometheus(shared_metrics_endpoint: MetricsEndpoint) -> Iterator[PrometheusServer]:
    """One Prometheus for the whole session, scraping ``shared_metrics_endpoint`` (job ``test``).

    Starting Prometheus costs ~5 s (its target discovery batches updates every 5 s), so tests that only
    query share this one: each test sets its own exposition text with metric names of its own and waits
    for them with ``wait_for_query``; do not change its rules or targets (use ``prometheus_factory``)."""
    server = PrometheusServer([shared_metrics_endpoint]).start()
    yield server
    server.stop()
