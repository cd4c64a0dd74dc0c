"""files.getUploadURLExternal / upload URL / files.completeUploadExternal, and serving file content."""

from __future__ import annotations

import mimetypes
from typing import Any

from aiohttp import web

from sandbox.core import Core
from sandbox.webapi import Call, SlackError, invalid_arguments, method
from sandbox.workspace import File

MAX_FILE_BYTES = 50 * 1024 * 1024
MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF8": "image/gif"}


def guess_mimetype(name: str, content: bytes) -> str:
    for magic, mime in MAGIC.items():
        if content.startswith(magic):
            return mime
    if content.startswith(b"<svg") or (content.startswith(b"<?xml") and b"<svg" in content[:200]):
        return "image/svg+xml"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


@method("files.getUploadURLExternal", 4)
async def files_get_upload_url_external(call: Call) -> dict[str, Any]:
    filename = call.arg("filename")
    if not filename:
        raise invalid_arguments("missing required field: filename")
    length = call.number("length", -1)
    if length < 0:
        raise invalid_arguments("missing required field: length")
    if length > MAX_FILE_BYTES:
        raise SlackError("file_too_large")
    f = File(
        id=call.core.ids.new("F"),
        name=filename,
        title=filename,
        user=call.ws.bot.user_id,
        created=int(call.core.clock.now()),
        alt_txt=call.arg("alt_txt"),
        expected_length=length,
    )
    call.ws.files[f.id] = f
    return {"upload_url": f"{call.core.base_url}/upload/v1/{f.id}", "file_id": f.id}


@method("files.completeUploadExternal", 4)
async def files_complete_upload_external(call: Call) -> dict[str, Any]:
    items = call.json("files")
    if not isinstance(items, list) or not items:
        raise invalid_arguments("missing required field: files")
    channel_ref = call.arg("channel_id")
    channel_refs = [c for c in (call.arg("channels") or "").split(",") if c]
    if channel_ref:
        channel_refs.insert(0, channel_ref)
    channels = []
    for ref in channel_refs:
        channel = call.ws.find_channel(ref)
        if channel is None:
            raise SlackError("invalid_channel")
        if channel.is_archived:
            raise SlackError("is_archived")
        if channel.is_private and call.ws.bot.user_id not in channel.members:
            raise SlackError("not_in_channel")
        channels.append(channel)
    thread_ts = call.arg("thread_ts")
    if thread_ts and channels and thread_ts not in channels[0].messages:
        raise SlackError("thread_not_found")
    done: list[File] = []
    for item in items:
        if not isinstance(item, dict) or not item.get("id"):
            raise invalid_arguments("files must be a list of {id, title}")
        f = call.ws.files.get(str(item["id"]))
        if f is None:
            raise SlackError("file_not_found")
        if not f.uploaded:
            raise SlackError("file_upload_not_completed" if not f.completed else "file_not_found")
        if item.get("title"):
            f.title = str(item["title"])
        f.completed = True
        done.append(f)
    comment = call.arg("initial_comment") or ""
    for channel in channels:
        for f in done:
            if channel.id not in f.channels:
                f.channels.append(channel.id)
        call.core.post_message(
            channel,
            user=call.ws.bot.user_id,
            text=comment,
            thread_ts=thread_ts,
            files=[f.id for f in done],
        )
    return {"files": [{"id": f.id, "title": f.title} for f in done]}


class FileRoutes:
    def __init__(self, core: Core) -> None:
        self.core = core

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/upload/v1/{file_id}", self.upload),
            web.get("/files/{file_id}/{name}", self.download),
        ]

    async def upload(self, request: web.Request) -> web.Response:
        f = self.core.workspace.files.get(request.match_info["file_id"])
        if f is None or f.completed:
            self.core.count("upload", "file_not_found")
            return web.Response(status=404, text="file_not_found")
        content: bytes
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            content = b""
            async for part in reader:
                if getattr(part, "filename", None) or getattr(part, "name", "") == "file":
                    content = await part.read()  # type: ignore[union-attr]
                    break
        else:
            content = await request.read()
        if len(content) > MAX_FILE_BYTES:
            return web.Response(status=413, text="file_too_large")
        f.content = content
        f.mimetype = guess_mimetype(f.name, content)
        f.uploaded = True
        self.core.count("upload", "ok")
        return web.Response(text=f"OK - {len(content)}")

    async def download(self, request: web.Request) -> web.Response:
        f = self.core.workspace.files.get(request.match_info["file_id"])
        if f is None or not f.uploaded:
            return web.Response(status=404, text="file_not_found")
        headers = {"Cache-Control": "private, max-age=3600"}
        if request.query.get("download"):
            headers["Content-Disposition"] = f'attachment; filename="{f.name}"'
        return web.Response(body=f.content, content_type=f.mimetype, headers=headers)
