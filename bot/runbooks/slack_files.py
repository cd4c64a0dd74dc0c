"""Upload a file into a channel or thread through the Slack layer (Slack's files upload v2 flow).

files.getUploadURLExternal → POST the bytes to the upload URL → files.completeUploadExternal, the two
API calls going through the layer's gateway (pacing, retries, 429 Retry-After) like every other call.
"""

from __future__ import annotations

import logging

import aiohttp
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from bot.slack.errors import SlackCallError
from bot.slack.layer import Slack

log = logging.getLogger(__name__)


class _UploadRetry(Exception):
    pass


async def upload_file(
    slack: Slack,
    *,
    channel: str,
    content: bytes,
    filename: str,
    title: str,
    thread_ts: str | None = None,
    comment: str | None = None,
    alt_text: str | None = None,
    timeout: float = 30.0,
) -> str:
    """Upload ``content`` and share it in ``channel`` (in ``thread_ts``'s thread); returns the file id."""
    upload_url, file_id = await slack.upload_url(filename, len(content), alt_text=alt_text)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(3),
            wait=wait_exponential(multiplier=0.5, max=5),
            retry=retry_if_exception_type(_UploadRetry),
            reraise=True,
        ):
            with attempt:
                try:
                    form = aiohttp.FormData()
                    form.add_field(
                        "file", content, filename=filename, content_type="application/octet-stream"
                    )
                    async with http.post(upload_url, data=form) as resp:
                        if resp.status >= 500:
                            raise _UploadRetry(f"http_{resp.status}")
                        if resp.status >= 400:
                            raise SlackCallError(
                                "file upload", f"http_{resp.status}: {(await resp.text())[:200]}"
                            )
                except (aiohttp.ClientError, TimeoutError) as exc:
                    raise _UploadRetry(type(exc).__name__) from exc
    await slack.complete_upload(
        [{"id": file_id, "title": title}], channel, thread_ts=thread_ts, comment=comment
    )
    return str(file_id)
