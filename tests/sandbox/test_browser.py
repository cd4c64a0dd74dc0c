"""The page in a real browser (Debian's headless Chromium driven by Playwright) against the real bot:
declare an incident, see the war room appear, acknowledge it as someone else, reply in the thread."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import async_playwright, expect
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox
from tests.sandbox.process import SandboxProcess, dead_redis_url
from tests.sandbox.receiver import Received, Receiver

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


def screenshot_paths() -> list[Path]:
    """artifacts/try-it.png always; the README's docs/screenshot.png when it is missing or when
    CHATOPS_UPDATE_SCREENSHOT=1 (so a test run does not leave a tracked file changed)."""
    paths = [ROOT / "artifacts" / "try-it.png"]
    readme_shot = ROOT / "docs" / "screenshot.png"
    if not readme_shot.exists() or os.environ.get("CHATOPS_UPDATE_SCREENSHOT") == "1":
        paths.append(readme_shot)
    return paths


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
            shot = ROOT / "artifacts" / "sandbox.png"
            shot.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(shot))
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


MODAL = {
    "type": "modal",
    "callback_id": "runbook_run",
    "title": {"type": "plain_text", "text": "Run a runbook"},
    "submit": {"type": "plain_text", "text": "Run"},
    "blocks": [
        {
            "type": "input",
            "block_id": "reason",
            "label": {"type": "plain_text", "text": "Reason"},
            "element": {"type": "plain_text_input", "action_id": "reason_input"},
        },
        {
            "type": "input",
            "block_id": "target",
            "label": {"type": "plain_text", "text": "Target"},
            "element": {
                "type": "static_select",
                "action_id": "target_select",
                "placeholder": {"type": "plain_text", "text": "Pick one"},
                "options": [
                    {"text": {"type": "plain_text", "text": "checkout"}, "value": "checkout"},
                    {"text": {"type": "plain_text", "text": "payments"}, "value": "payments"},
                ],
            },
        },
    ],
}
RESTART = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Runbook* `restart-gateway` is ready"}},
    {
        "type": "actions",
        "block_id": "rb",
        "elements": [
            {
                "type": "button",
                "action_id": "rb_run",
                "style": "danger",
                "value": "restart-gateway",
                "text": {"type": "plain_text", "text": "Restart pods"},
                "confirm": {
                    "title": {"type": "plain_text", "text": "Restart pods?"},
                    "text": {"type": "plain_text", "text": "This restarts checkout."},
                    "confirm": {"type": "plain_text", "text": "Restart"},
                    "deny": {"type": "plain_text", "text": "Cancel"},
                    "style": "danger",
                },
            },
        ],
    },
]


async def test_modal_confirm_dialog_and_reaction_in_the_browser(sandbox: Sandbox) -> None:
    """Page interactions against a small scripted app: views.open from a slash command, modal submit
    with a text input and a static select, a confirm dialog on a button, a reaction."""
    client = AsyncWebClient(base_url=sandbox.api_url, token=sandbox.bot_token)
    app = Receiver(sandbox.signing_secret)

    async def respond(req: Received) -> web.StreamResponse:
        if req.form.get("command") == "/runbook":
            await client.views_open(trigger_id=req.form["trigger_id"], view=MODAL)
            return web.Response()
        if req.json is not None:
            return web.Response()
        payload = req.payload
        if payload["type"] == "view_submission":
            await client.chat_postMessage(channel="C0INCIDENTS", text="Runbook ready", blocks=RESTART)
        return web.Response()

    app.respond = respond
    sandbox.bot_url = await app.start()
    expect.set_options(timeout=15_000)
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 860})
                page_errors: list[str] = []
                page.on("pageerror", lambda exc: page_errors.append(str(exc)))
                await page.goto(sandbox.url + "/#/C0INCIDENTS")
                await page.select_option("#user-switcher", "U0CAROL003")
                await page.locator("#composer-input").fill("/runbook restart-gateway")
                await page.locator("#composer-input").press("Enter")

                modal = page.locator("#modal-layer .modal")
                await expect(modal).to_contain_text("Run a runbook")
                await modal.locator("[data-modal-submit]").click()  # nothing filled in: Slack refuses
                await expect(modal.locator(".field-error").first).to_contain_text("fill out")
                await modal.locator("input.input").fill("pods stuck in CrashLoopBackOff")
                await modal.locator("select").select_option("payments")
                await modal.locator("[data-modal-submit]").click()
                await expect(page.locator("#modal-layer")).to_be_hidden()

                message = page.locator("#messages .msg", has_text="restart-gateway")
                await message.locator("button", has_text="Restart pods").click()
                dialog = page.locator("#confirm-layer .modal")
                await expect(dialog).to_contain_text("This restarts checkout.")
                await dialog.locator("[data-answer=no]").click()  # Cancel sends nothing
                await message.locator("button", has_text="Restart pods").click()
                await dialog.locator("[data-answer=yes]").click()

                await message.hover()
                await message.locator(".hover-actions [data-react=pushpin]").click()
                await expect(message.locator(".reaction")).to_contain_text("1")
                assert page_errors == []
            finally:
                await browser.close()
    finally:
        await app.stop()

    kinds = [
        r.form.get("command") or (r.payload["type"] if "payload" in r.form else r.json["event"]["type"])
        for r in app.requests
        if r.json is not None or r.form
    ]
    assert kinds == ["/runbook", "view_submission", "block_actions", "reaction_added"]
    assert all(r.verified for r in app.requests)
    submission = app.requests[1].payload
    values = submission["view"]["state"]["values"]
    assert submission["user"]["id"] == "U0CAROL003"
    assert values["reason"]["reason_input"]["value"] == "pods stuck in CrashLoopBackOff"
    assert values["target"]["target_select"]["selected_option"]["value"] == "payments"
    action = app.requests[2].payload["actions"][0]
    assert action["action_id"] == "rb_run" and action["value"] == "restart-gateway"
    assert app.requests[3].json is not None and app.requests[3].json["event"]["reaction"] == "pushpin"


async def test_try_it_walk_in_the_browser(tmp_path: Path) -> None:
    """README's "Try it" path as a newcomer walks it, against `chatops sandbox` as a real process
    (embedded store, demo policy): declare, acknowledge as someone else, a status update, fire the
    demo alerts, open the alert thread and acknowledge there, resolve. The page stays put while the
    message pane scrolls on its own, and the latest message is in view. Screenshots of each step go
    to artifacts/try-it/; the last one is the README's."""
    shots = ROOT / "artifacts" / "try-it"
    shots.mkdir(parents=True, exist_ok=True)
    sb = SandboxProcess(tmp_path / "data", dead_redis_url())
    await sb.start()
    expect.set_options(timeout=20_000)
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = await browser.new_page(viewport={"width": 1440, "height": 900})
                page_errors: list[str] = []
                page.on("pageerror", lambda exc: page_errors.append(str(exc)))
                await page.goto(sb.url + "/#/C0INCIDENTS")
                await expect(page.locator("#channel-name")).to_contain_text("incidents")
                await expect(page.locator("#trial-info")).to_contain_text(
                    f"http://127.0.0.1:{sb.bot_port}/alerts/alertmanager"
                )

                # 1. Alice declares; the hint under the composer is the bot's own usage line.
                composer = page.locator("#composer-input")
                await composer.fill("/incident cre")
                await expect(page.locator("#usage-hint")).to_contain_text(
                    "/incident create <severity> <title> [service=<name>]"
                )
                await composer.fill('/incident create critical "Checkout API returns 502"')
                await composer.press("Enter")
                announcement = page.locator("#messages .msg:not(.ephemeral)").filter(
                    has=page.locator(".b-header", has_text="INC-1")
                )
                await expect(announcement.locator("button", has_text="Acknowledge")).to_be_visible()
                await expect(page.locator("#channel-list a", has_text="inc-1-checkout")).to_be_visible()
                await page.screenshot(path=str(shots / "1-declared.png"))

                # 2. Bob acknowledges.
                await page.select_option("#user-switcher", "U0BOB00002")
                await announcement.locator("button", has_text="Acknowledge").click()
                await expect(announcement).to_contain_text("acknowledged by @bob")

                # 3. Bob posts a status update; it reaches the war room.
                await composer.fill('/status update INC-1 identified "Bad deploy of checkout 1.42"')
                await composer.press("Enter")
                await page.locator("#channel-list a", has_text="inc-1-checkout").click()
                await expect(page.locator("#messages")).to_contain_text("Bad deploy of checkout 1.42")
                await page.screenshot(path=str(shots / "2-war-room.png"))

                # 4. Fire the demo alerts; their group threads in #alerts-critical.
                await page.locator("#fire-alerts").click()
                await page.locator("#channel-list a", has_text="alerts-critical").click()
                root = page.locator("#messages .msg").filter(has_text="HighErrorRate")
                await expect(root.first).to_be_visible()
                await root.first.hover()
                await root.first.locator(".hover-actions [data-thread]").click()
                await expect(page.locator("#side-pane")).to_be_visible()
                await expect(page.locator("#side-body")).to_contain_text("HighErrorRate")
                await root.first.locator("button", has_text="Acknowledge").click()
                await expect(root.first).to_contain_text("@bob")
                await page.screenshot(path=str(shots / "3-alert-thread.png"))

                # 5. Alice resolves from the announcement.
                await page.select_option("#user-switcher", "U0ALICE001")
                await page.locator("#channel-list a", has_text="incidents").first.click()
                await expect(page.locator("#channel-name")).to_contain_text("incidents")
                await announcement.locator("button", has_text="Resolve").click()
                await page.locator("#confirm-layer button", has_text="Resolve").click()  # Slack's confirm
                await expect(announcement.locator("button", has_text="Reopen")).to_be_visible()
                await page.mouse.move(700, 880)
                await page.evaluate("document.querySelectorAll('#toasts .toast').forEach((t) => t.click())")
                await expect(page.locator("#toasts .toast")).to_have_count(0)
                for path in screenshot_paths():  # the README's picture: the story so far
                    await page.screenshot(path=str(path))

                # 6. Enough chatter to scroll: the page itself never scrolls, the pane does, and
                # the latest message is in view.
                for n in range(1, 26):
                    await composer.fill(f"Follow-up note {n} on the checkout incident")
                    await composer.press("Enter")
                    await expect(page.locator("#messages .msg").last).to_contain_text(f"note {n} on")
                latest = page.locator("#messages .msg").last
                await expect(latest).to_contain_text("Follow-up note 25")
                await expect(latest).to_be_in_viewport()
                pane = page.locator("#messages")
                sizes = await pane.evaluate("(p) => [p.scrollHeight, p.clientHeight, p.scrollTop]")
                assert sizes[0] > sizes[1] and sizes[2] > 0, sizes
                await pane.evaluate("(p) => { p.scrollTop = 0; }")
                assert await page.evaluate("document.scrollingElement.scrollTop") == 0
                assert await page.evaluate("document.scrollingElement.scrollHeight <= window.innerHeight"), (
                    "the page scrolls as a whole"
                )
                header = await page.locator("#channel-header").bounding_box()
                switcher = await page.locator("#user-switcher").bounding_box()
                assert header is not None and switcher is not None
                assert header["y"] == 0 and switcher["y"] < 200
                await expect(latest).not_to_be_in_viewport()
                await expect(page.locator("#composer-input")).to_be_in_viewport()
                await pane.evaluate("(p) => { p.scrollTop = p.scrollHeight; }")
                await expect(latest).to_be_in_viewport()

                await page.mouse.move(700, 880)
                await page.evaluate("document.querySelectorAll('#toasts .toast').forEach((t) => t.click())")
                await expect(page.locator("#toasts .toast")).to_have_count(0)
                await page.screenshot(path=str(shots / "4-scrolled.png"))
                assert page_errors == []
            finally:
                await browser.close()
    finally:
        assert await sb.stop() == 0
