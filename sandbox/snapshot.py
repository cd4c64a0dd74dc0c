"""The sandbox workspace on disk: users, groups, channels with their messages, pins, bookmarks and
files, saved as JSON after every change (debounced) and when the sandbox stops, loaded at start.

Ephemeral messages, open modals, trigger ids and response URLs are not kept: Slack forgets them
within minutes too. A ``generation`` token is stored beside the workspace; whoever keeps other state
for this workspace (the bot's store) keeps the same token, so a mismatch shows that the two no
longer belong together.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from sandbox.core import Core
from sandbox.workspace import Channel, File, Message, User, UserGroup

log = logging.getLogger("sandbox.snapshot")

VERSION = 1
_SERIAL_RE = re.compile(r"^[A-Z](\d{4})")


def dump(core: Core, generation: str) -> dict[str, Any]:
    """The workspace of ``core`` as JSON-ready data."""
    ws = core.workspace
    files = []
    for f in ws.files.values():
        data = dataclasses.asdict(f)
        data["content"] = base64.b64encode(f.content).decode("ascii")
        files.append(data)
    channels = []
    for c in ws.channels.values():
        data = dataclasses.asdict(c)
        data["messages"] = [dataclasses.asdict(m) for m in c.messages.values()]
        channels.append(data)
    return {
        "version": VERSION,
        "generation": generation,
        "team_id": ws.team_id,
        "last_ts": core.clock.next_ts(),
        "users": [dataclasses.asdict(u) for u in ws.users.values()],
        "usergroups": [dataclasses.asdict(g) for g in ws.usergroups.values()],
        "channels": channels,
        "files": files,
    }


def restore(core: Core, data: dict[str, Any]) -> None:
    """Put a dumped workspace into ``core`` (over its seeded one). Raises ValueError when ``data``
    is not a snapshot of this version or of this team."""
    if data.get("version") != VERSION:
        raise ValueError(f"snapshot version {data.get('version')!r}, expected {VERSION}")
    ws = core.workspace
    if data.get("team_id") != ws.team_id:
        raise ValueError(f"snapshot of team {data.get('team_id')!r}, the seed is {ws.team_id!r}")
    try:
        users = {u["id"]: User(**u) for u in data["users"]}
        groups = {g["id"]: UserGroup(**g) for g in data["usergroups"]}
        channels: dict[str, Channel] = {}
        for c in data["channels"]:
            messages = {m["ts"]: Message(**m) for m in c.pop("messages")}
            channels[c["id"]] = Channel(**c, messages=messages)
        files: dict[str, File] = {}
        for f in data["files"]:
            f["content"] = base64.b64decode(f["content"])
            files[f["id"]] = File(**f)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"snapshot does not match the workspace's shape: {exc}") from exc
    ws.users, ws.usergroups, ws.channels, ws.files = users, groups, channels, files
    # ids and timestamps go on after the restored ones (Slack never reuses either)
    serials = [
        int(m.group(1)) for key in (*channels, *files, *groups) if (m := _SERIAL_RE.match(key)) is not None
    ]
    if serials:
        core.ids = ws.ids = _ids_after(core, max(serials))
    last = str(data.get("last_ts") or "0.0")
    secs, _, micros = last.partition(".")
    core.clock._last_ts_micros = max(core.clock._last_ts_micros, int(secs) * 1_000_000 + int(micros or 0))


def _ids_after(core: Core, serial: int) -> Any:
    import itertools

    ids = core.ids
    ids._counter = itertools.count(serial + 1)
    return ids


class WorkspaceFile:
    """Loads the workspace from ``path`` and keeps it saved while the sandbox runs."""

    def __init__(self, core: Core, path: Path, generation: str, debounce: float = 0.3) -> None:
        self.core = core
        self.path = path
        self.generation = generation
        self.debounce = debounce
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def read(path: Path) -> dict[str, Any] | None:
        """The saved snapshot, or None when there is none or it cannot be read (logged)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.error("cannot read the saved sandbox workspace %s: %s", path, exc)
            return None
        return data if isinstance(data, dict) else None

    def save(self) -> None:
        """Write the workspace atomically (a crash leaves the previous file whole)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(dump(self.core, self.generation)), encoding="utf-8")
        os.replace(tmp, self.path)

    def start(self) -> None:
        self.save()
        self._task = asyncio.create_task(self._run(), name="sandbox-workspace-saver")

    async def _run(self) -> None:
        hub = self.core.hub
        queue = hub.subscribe()
        try:
            while True:
                if not hub.is_subscribed(queue):  # dropped as a slow subscriber: come back
                    queue = hub.subscribe()
                event = await queue.get()
                if event.get("type") == "_close":
                    return
                await asyncio.sleep(self.debounce)  # one write for a burst of changes
                while not queue.empty():
                    queue.get_nowait()
                try:
                    self.save()
                except OSError as exc:
                    log.error("cannot save the sandbox workspace to %s: %s", self.path, exc)
        finally:
            hub.unsubscribe(queue)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.save()
