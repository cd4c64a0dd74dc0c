"""The external upload flow: files.getUploadURLExternal → POST upload_url → files.completeUploadExternal."""

from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_files_upload_v2_shares_into_a_thread(sandbox: Sandbox, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel="C0INCIDENTS", text="INC-1")
    up = await client.files_upload_v2(
        channel="C0INCIDENTS",
        thread_ts=parent["ts"],
        content=PNG,
        filename="latency.png",
        title="p99 latency",
        initial_comment="Graph for the last hour",
    )
    file_id = up["file"]["id"]
    assert file_id.startswith("F") and up["file"]["title"] == "p99 latency"
    replies = await client.conversations_replies(channel="C0INCIDENTS", ts=parent["ts"])
    share = replies["messages"][1]
    assert share["text"] == "Graph for the last hour" and share["bot_id"] == "B0CHATOPS1"
    (f,) = share["files"]
    assert f["id"] == file_id and f["mimetype"] == "image/png" and f["size"] == len(PNG)
    async with aiohttp.ClientSession() as http:
        async with http.get(f["url_private"]) as resp:
            assert resp.status == 200
            assert resp.content_type == "image/png"
            assert await resp.read() == PNG


async def test_complete_before_upload_is_refused(sandbox: Sandbox, client: AsyncWebClient) -> None:
    got = await client.files_getUploadURLExternal(filename="x.txt", length=3)
    with pytest.raises(SlackApiError) as err:
        await client.files_completeUploadExternal(files=[{"id": got["file_id"]}], channel_id="C0INCIDENTS")
    assert err.value.response["error"] == "file_upload_not_completed"
    with pytest.raises(SlackApiError) as err:
        await client.files_completeUploadExternal(files=[{"id": "F0NOPE"}], channel_id="C0INCIDENTS")
    assert err.value.response["error"] == "file_not_found"


async def test_multipart_upload_and_channels_without_share(sandbox: Sandbox, client: AsyncWebClient) -> None:
    got = await client.files_getUploadURLExternal(filename="notes.txt", length=5)
    form = aiohttp.FormData()
    form.add_field("file", b"hello", filename="notes.txt")
    async with aiohttp.ClientSession() as http:
        async with http.post(got["upload_url"], data=form) as resp:
            assert resp.status == 200
    done = await client.files_completeUploadExternal(files=[{"id": got["file_id"], "title": "Notes"}])
    assert done["files"] == [{"id": got["file_id"], "title": "Notes"}]
    assert sandbox.messages("incidents") == []  # completing without a channel shares nothing
