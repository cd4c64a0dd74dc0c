"""Helpers that let tests read like what an engineer does in Slack."""

from __future__ import annotations

from typing import Any

from tests.conftest import eventually


def texts(message: dict[str, Any]) -> str:
    """Everything a person reads in a message: its text and every text object in its blocks."""
    out = [message.get("text") or ""]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and "text" in node:
                out.append(str(node["text"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks") or [])
    return "\n".join(out)


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        el.get("action_id", "")
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for el in block.get("elements", [])
    ]


class Engineer:
    """A person in the sandbox workspace."""

    def __init__(self, sandbox: Any, name: str) -> None:
        self.sandbox = sandbox
        self.name = name

    async def types(self, channel: str, command_line: str) -> dict[str, Any]:
        command, _, text = command_line.partition(" ")
        result = await self.sandbox.command(self.name, channel, command, text)
        assert result.get("error") is None, result
        return result

    async def clicks(
        self, channel: str, message: dict[str, Any], action_id: str, **kw: Any
    ) -> dict[str, Any]:
        result = await self.sandbox.click(self.name, channel, message["ts"], action_id, **kw)
        assert result.get("error") is None, result
        return result

    def replies_seen(self, channel: str | None = None) -> list[str]:
        return [texts(e) for e in self.sandbox.ephemerals(self.name, channel)]

    async def sees_reply(self, needle: str, channel: str | None = None) -> str:
        async def check() -> str | None:
            return next((t for t in self.replies_seen(channel) if needle in t), None)

        return str(await eventually(check))


async def channel_named(sandbox: Any, prefix: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        resp = sandbox.core.workspace.channels.values()
        return next(({"id": c.id, "name": c.name} for c in resp if c.name.startswith(prefix)), None)

    return dict(await eventually(check))


async def message_with(sandbox: Any, channel: str, needle: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        return next((m for m in sandbox.messages(channel) if needle in texts(m)), None)

    return dict(await eventually(check))
