"""Text as Slack delivers it to an app (https://api.slack.com/interactivity/slash-commands, "Escaping";
https://api.slack.com/reference/surfaces/formatting, "Escaping text").

Slack always sends ``&``, ``<`` and ``>`` as ``&amp;``, ``&lt;`` and ``&gt;``. When the slash command
has ``should_escape: true`` in the app manifest, a typed ``@name`` of a person becomes
``<@U…|name>``, ``@handle`` of a user group ``<!subteam^S…|@handle>``, ``@here``/``@channel``/
``@everyone`` ``<!here>``/``<!channel>``/``<!everyone>``, ``#channel`` ``<#C…|channel>`` and a URL
``<url>``; names nobody has stay as typed. Without it everything stays as typed (still encoded).
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path

import yaml

from sandbox.workspace import Workspace

log = logging.getLogger("sandbox.text")

MANIFEST = Path(__file__).resolve().parent.parent / "manifest.yml"
_TYPED = re.compile(
    r"(?P<url>\bhttps?://[^\s<>]+)"
    r"|(?<![\w@.#&/<])@(?P<name>[\w][\w.\-]*)"
    r"|(?<![\w#&/<])#(?P<channel>[a-z0-9_][a-z0-9_\-]*)"
)
_TRAILING = ".,;:!?)]}'\""
BROADCASTS = ("here", "channel", "everyone")


def entities(text: str) -> str:
    """Slack's three entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@functools.lru_cache(maxsize=4)
def manifest_escapes(path: Path = MANIFEST) -> dict[str, bool]:
    """``should_escape`` of each slash command in the app manifest (Slack's default: false)."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        log.warning("SANDBOX: no app manifest at %s (%s): slash commands are not escaped", path, exc)
        return {}
    commands = ((data.get("features") or {}).get("slash_commands")) or []
    return {str(c["command"]): bool(c.get("should_escape", False)) for c in commands if c.get("command")}


def should_escape(ws: Workspace, command: str, manifest: dict[str, bool]) -> bool:
    """The command's ``should_escape``: the seed's own setting, else the manifest's, else false."""
    for c in ws.slash_commands:
        if c.get("command") == command and "should_escape" in c:
            return bool(c["should_escape"])
    return manifest.get(command, False)


def _token(ws: Workspace, m: re.Match[str]) -> tuple[str, int] | None:
    """The Slack token for a typed reference and how many typed characters it stands for."""
    if url := m.group("url"):
        url = url.rstrip(_TRAILING)
        return f"<{entities(url)}>", len(url)
    if name := m.group("name"):
        name = name.rstrip(".-")
        if name.lower() in BROADCASTS:
            return f"<!{name.lower()}>", len(name) + 1
        for user in ws.users.values():
            if not user.deleted and name == user.name:
                return f"<@{user.id}|{user.name}>", len(name) + 1
        for group in ws.usergroups.values():
            if group.handle == name:
                return f"<!subteam^{group.id}|@{group.handle}>", len(name) + 1
        return None
    channel_name = m.group("channel").rstrip("-")
    for channel in ws.channels.values():
        if channel.name == channel_name and not channel.is_im and not channel.is_private:
            return f"<#{channel.id}|{channel.name}>", len(channel_name) + 1
    return None


def encode(ws: Workspace, text: str, escape: bool) -> str:
    """What Slack sends for ``text`` typed by a person."""
    if not escape:
        return entities(text)
    out: list[str] = []
    last = 0
    for m in _TYPED.finditer(text):
        if m.start() < last:
            continue
        found = _token(ws, m)
        if found is None:
            continue
        token, length = found
        out.append(entities(text[last : m.start()]))
        out.append(token)
        last = m.start() + length
    out.append(entities(text[last:]))
    return "".join(out)
