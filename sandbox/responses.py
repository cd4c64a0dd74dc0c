"""response_url endpoints with Slack's semantics: valid 30 minutes, at most 5 uses."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from sandbox.blocks import validate_blocks
from sandbox.core import Core, normalize_blocks

log = logging.getLogger("sandbox.responses")


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true", "yes")


class ResponseUrls:
    def __init__(self, core: Core) -> None:
        self.core = core

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/response/{rid}", self.handle)]

    def _fail(self, error: str, status: int) -> web.Response:
        self.core.count("response_url", error)
        log.warning("SANDBOX: response_url call rejected: %s", error)
        return web.json_response({"ok": False, "error": error}, status=status)

    async def handle(self, request: web.Request) -> web.Response:
        core = self.core
        ws = core.workspace
        entry = ws.response_urls.get(request.match_info["rid"])
        if entry is None:
            return self._fail("expired_url", 404)
        if core.clock.now() - entry.created > core.config.response_url_ttl_seconds:
            return self._fail("expired_url", 404)
        if entry.uses >= core.config.response_url_max_uses:
            return self._fail("used_url", 404)
        try:
            if request.content_type == "application/json":
                body = json.loads(await request.read() or b"{}")
            else:
                form = await request.post()
                raw = form.get("payload")
                body = json.loads(raw) if isinstance(raw, str) else {k: v for k, v in form.items()}
        except json.JSONDecodeError:
            return self._fail("invalid_payload", 400)
        if not isinstance(body, dict):
            return self._fail("invalid_payload", 400)
        blocks = body.get("blocks")
        if blocks is not None:
            if isinstance(blocks, str):
                try:
                    blocks = json.loads(blocks)
                except json.JSONDecodeError:
                    return self._fail("invalid_blocks", 400)
            errors = validate_blocks(blocks)
            if errors:
                log.warning("SANDBOX: response_url blocks invalid: %s", "; ".join(errors))
                core.count("response_url", "invalid_blocks")
                return web.json_response(
                    {"ok": False, "error": "invalid_blocks", "errors": errors}, status=400
                )
        entry.uses += 1
        text = str(body.get("text") or "")
        channel = ws.channels.get(entry.channel)
        if channel is None:
            return self._fail("channel_not_found", 404)

        target_msg = channel.messages.get(entry.message_ts or "")
        target_eph = ws.find_ephemeral(entry.ephemeral_id)
        if _truthy(body.get("delete_original")):
            if target_msg is not None:
                core.delete_message(channel, target_msg.ts)
            elif target_eph is not None:
                ws.ephemerals.remove(target_eph)
                core.publish(
                    {"type": "ephemeral", "channel": channel.id, "user": entry.user, "id": target_eph.id}
                )
            else:
                return self._fail("message_not_found", 404)
            core.count("response_url", "ok")
            return web.json_response({"ok": True})
        if _truthy(body.get("replace_original")):
            if target_msg is not None:
                core.update_message(target_msg, text=text, blocks=None, editor=ws.bot.user_id)
                target_msg.blocks = normalize_blocks(blocks) if blocks is not None else None
                core.count("response_url", "ok")
                return web.json_response({"ok": True})
            if target_eph is not None:
                target_eph.text = text[: core.config.max_text_chars]
                target_eph.blocks = normalize_blocks(blocks)
                core.publish(
                    {"type": "ephemeral", "channel": channel.id, "user": entry.user, "id": target_eph.id}
                )
                core.count("response_url", "ok")
                return web.json_response({"ok": True})
            # Nothing to replace (e.g. a slash command without an earlier response): post a new one.
        thread_ts = body.get("thread_ts") or entry.thread_ts
        if body.get("response_type") == "in_channel":
            core.post_message(channel, user=ws.bot.user_id, text=text, blocks=blocks, thread_ts=thread_ts)
        else:
            eph = core.post_ephemeral(
                channel,
                entry.user,
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
                source="response_url",
                sender=ws.bot.user_id,
            )
            if entry.message_ts is None:
                entry.ephemeral_id = eph.id
        core.count("response_url", "ok")
        return web.json_response({"ok": True})
