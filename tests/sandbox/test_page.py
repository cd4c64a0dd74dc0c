"""The page is served from package data, with nothing loaded from the internet."""

from __future__ import annotations

import aiohttp

from sandbox import Sandbox


async def test_page_and_static_files_are_served(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(sandbox.url + "/") as resp:
            assert resp.status == 200 and "text/html" in resp.content_type
            html = await resp.text()
        assert "/static/app.js" in html and "http://" not in html and "https://" not in html
        for name in ("app.js", "style.css"):
            async with http.get(sandbox.url + "/static/" + name) as resp:
                assert resp.status == 200
        async with http.get(sandbox.url + "/static/..%2Fserver.py") as resp:
            assert resp.status == 404
