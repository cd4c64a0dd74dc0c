"""File uploads the way Slack wants them now: files.getUploadURLExternal, a POST of the bytes to
the URL Slack gives, then files.completeUploadExternal to share them (all Slack calls through the
gateway)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp

from bot.context import AppContext
from bot.slack.errors import SlackCallError

log = logging.getLogger(__name__)
UPLOAD_TIMEOUT = 30.0


@dataclass
class Upload:
    filename: str
    content: bytes
    title: str


async def _post_bytes(url: str, upload: Upload) -> None:
    form = aiohttp.FormData()
    form.add_field("file", upload.content, filename=upload.filename)
    timeout = aiohttp.ClientTimeout(total=UPLOAD_TIMEOUT)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http, http.post(url, data=form) as resp:
            if resp.status >= 300:
                body = (await resp.text())[:200]
                raise SlackCallError("upload", f"http_{resp.status}: {body}")
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise SlackCallError("upload", type(exc).__name__) from exc


async def upload_files(
    ctx: AppContext,
    uploads: list[Upload],
    *,
    channel: str,
    thread_ts: str | None = None,
    comment: str | None = None,
) -> list[str]:
    """Upload and share files in one message; returns the file ids. Raises ``SlackCallError``."""
    ids: list[dict[str, str]] = []
    for up in uploads:
        url, file_id = await ctx.slack.upload_url(up.filename, len(up.content))
        await _post_bytes(url, up)
        ids.append({"id": file_id, "title": up.title})
    await ctx.slack.complete_upload(ids, channel, thread_ts=thread_ts, comment=comment)
    log.info("uploaded %s to %s", ", ".join(u.filename for u in uploads), channel)
    return [i["id"] for i in ids]
