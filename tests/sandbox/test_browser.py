"""The page in a real browser (Debian's headless Chromium driven by Playwright) against the real bot:
declare an incident, see the war room appear, acknowledge it as someone else, reply in the thread."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import async_playwright, expect

from sandbox import Sandbox

CHROMIUM = shutil.which("chromium")
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"
    ),
]


async def test_declare_acknowledge_and_thread_in_the_browser(bot: Any, sandbox: Sandbox) -> None:
    expect.set_options(timeout=15_000)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 900})
            page_errors: list[str] = []
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            await page.goto(sandbox.url + "/#/C0INCIDENTS")
            await expect(page.locator("#channel-name")).to_contain_text("incidents")
            await expect(page.locator("#user-switcher")).to_have_value("U0ALICE001")

            # Alice declares an incident from the composer; the usage hint shows while she types.
            composer = page.locator("#composer-input")
            await composer.fill("/incident ")
            await expect(page.locator("#usage-hint")).to_contain_text("create")
            await composer.fill('/incident create critical "Checkout API returns 502"')
            await composer.press("Enter")

            war_room = page.locator("#channel-list a", has_text="inc-1-checkout")
            await expect(war_room).to_be_visible()
            announcement = page.locator("#messages .msg:not(.ephemeral)").filter(
                has=page.locator(".b-header", has_text="INC-1")
            )
            await expect(announcement).to_be_visible()
            await expect(announcement.locator("button", has_text="Acknowledge")).to_be_visible()
            await expect(page.locator("#messages .msg.ephemeral")).to_contain_text("Only visible to you")

            # Bob acknowledges; Alice's ephemeral message is not his to see.
            await page.select_option("#user-switcher", "U0BOB00002")
            await expect(page.locator("#messages .msg.ephemeral")).to_have_count(0)
            await announcement.locator("button", has_text="Acknowledge").click()
            await expect(announcement).to_contain_text("acknowledged by @bob")
            await expect(announcement.locator("button", has_text="Acknowledge")).to_have_count(0)

            # Bob opens the announcement's thread and replies there.
            await announcement.hover()
            await announcement.locator(".hover-actions [data-thread]").click()
            await expect(page.locator("#side-pane")).to_be_visible()
            await expect(page.locator("#side-body .b-header")).to_contain_text("INC-1")
            await page.locator("#thread-input").fill("Looking at the gateway pods now")
            await page.locator("#thread-input").press("Enter")
            await expect(page.locator("#side-body")).to_contain_text("Looking at the gateway pods now")
            await expect(announcement.locator(".thread-link")).to_contain_text("1 reply")

            # A tidy picture: no hover toolbar, no toasts.
            await page.mouse.move(700, 880)
            await page.evaluate("document.querySelectorAll('#toasts .toast').forEach((t) => t.click())")
            await expect(page.locator("#toasts .toast")).to_have_count(0)
            for path in (ROOT / "artifacts" / "sandbox.png", ROOT / "docs" / "screenshot.png"):
                path.parent.mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=str(path))
            assert page_errors == []
        finally:
            await browser.close()

    # The same story, read back through Slack's own API shapes.
    (ann,) = [m for m in sandbox.messages("incidents") if m.get("blocks")]
    assert "acknowledged by <@U0BOB00002>" in str(ann["blocks"])
    replies = sandbox.replies("incidents", ann["ts"])
    assert [m["text"] for m in replies[1:]] == ["Looking at the gateway pods now"]
    assert sandbox.channel_by_name("inc-1-checkout-api-returns-502")["is_archived"] is False
    assert sandbox.unknown_calls() == []
