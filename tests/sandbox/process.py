"""``chatops sandbox`` as a real child process, for the first-run and browser tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

from chatops.sandbox_cli import demo_policy_path
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def dead_redis_url() -> str:
    """A loopback port where nothing listens (bound, then closed, never listened on)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    return f"redis://127.0.0.1:{port}/0"


class SandboxProcess:
    """``python -m chatops sandbox`` in a child process; :meth:`start` returns once it is ready."""

    def __init__(self, data_dir: Path, redis_url: str, config: Path | None = None) -> None:
        self.data_dir = data_dir
        self.redis_url = redis_url
        self.config = config
        self.port = free_port()
        self.bot_port = free_port()
        self.proc: asyncio.subprocess.Process | None = None
        self.output: list[str] = []
        self.url = f"http://127.0.0.1:{self.port}"

    async def start(self, *extra: str) -> list[str]:
        args = [
            sys.executable,
            "-m",
            "chatops",
            "sandbox",
            "--no-browser",
            "--port",
            str(self.port),
            "--bot-port",
            str(self.bot_port),
            "--data-dir",
            str(self.data_dir),
            *(["--config", str(self.config)] if self.config else []),
            *extra,
        ]
        env = {**os.environ, "REDIS_URL": self.redis_url, "CHATOPS_JOB_POLL_SECONDS": "0.1"}
        env.pop("CHATOPS_REDIS_PREFIX", None)
        self.proc = await asyncio.create_subprocess_exec(
            *args,
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert self.proc.stdout is not None
        banner: list[str] = []
        async with asyncio.timeout(60):
            while True:
                raw = await self.proc.stdout.readline()
                if not raw:
                    raise AssertionError("chatops sandbox exited:\n" + "\n".join(self.output))
                line = raw.decode(errors="replace").rstrip()
                self.output.append(line)
                if " INFO " not in line and " WARNING " not in line:
                    banner.append(line)
                if line.startswith("Open the page"):
                    break
        self._drain = asyncio.create_task(self._read_rest())
        return banner

    async def _read_rest(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for raw in self.proc.stdout:
            self.output.append(raw.decode(errors="replace").rstrip())

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                async with asyncio.timeout(30):
                    await self.proc.wait()
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        await self._drain
        pid_file = self.data_dir / "store" / "valkey.pid"
        if pid_file.exists():  # a store left behind by a killed sandbox: ours to stop
            try:
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
            except (ProcessLookupError, ValueError):
                pass
        return int(self.proc.returncode or 0)


def fast_demo_policy(tmp_path: Path) -> Path:
    """The demo policy with its 45 s timer at 2 s (the test watches it fire without waiting long)."""
    text = demo_policy_path().read_text()
    assert "after: 45s" in text
    path = tmp_path / "demo-policy.yml"
    path.write_text(text.replace("after: 45s", "after: 2s"))
    return path
