"""The App Home through the sandbox: opening the tab publishes the viewer's Home (open incidents,
their roles, who is on call, their follow-ups, buttons to declare and to list); an incident change
re-publishes it, paced and coalesced per person. The view stays within Slack's limits for 60
incidents of any titles."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config.policy import Policy
from bot.core.models import Incident, WarRoom
from bot.incidents import declare_views as dv
from bot.incidents import home
from bot.incidents import home_views as hv
from sandbox.blocks import validate_view
from tests.conftest import eventually
from tests.incidents.story import texts

ALICE, BOB, ERIN = "U0ALICE001", "U0BOB00002", "U0ERIN0005"


@pytest.fixture
def bot_policy() -> str:
    return f"""
escalation:
  rotations:
    - {{name: primary, members: [{ERIN}], shift: 1w, start: 2024-01-01}}
    - {{name: secondary, members: [{ALICE}], shift: 1d, start: 2024-01-01}}
  timers: []
"""


def _home_text(sandbox: Any, user: str) -> str:
    view = sandbox.home.view(user)
    return texts({"blocks": view["blocks"]}) if view else ""


async def _home_with(sandbox: Any, user: str, *needles: str) -> str:
    async def check() -> str | None:
        text = _home_text(sandbox, user)
        return text if all(n in text for n in needles) else None

    return str(await eventually(check))


def _publishes(sandbox: Any) -> int:
    return int(sandbox.stats()["methods"].get("views.publish", {}).get("ok", 0))


async def test_opening_home_publishes_it_and_changes_republish(sandbox: Any, bot: Any) -> None:
    opened = await sandbox.home.open("alice")
    assert opened["ok"] and opened["event"]["tab"] == "home" and "view" not in opened["event"]
    first = await _home_with(sandbox, "alice", "Open incidents* (0)", "On call now")
    assert f"primary: <@{ERIN}>" in first and f"secondary: <@{ALICE}> (you)" in first
    assert "No follow-ups assigned to you." in first
    view = sandbox.home.view("alice")
    assert view["type"] == "home"
    actions = [el["action_id"] for b in view["blocks"] if b["type"] == "actions" for el in b["elements"]]
    assert actions == [hv.DECLARE, hv.LIST]
    # a second opening carries the published view, as Slack's event does
    again = await sandbox.home.open("alice")
    assert again["event"]["view"]["id"] == view["id"]

    await sandbox.command("bob", "#incidents", "/incident", 'create critical "Payments API down"')
    text = await _home_with(sandbox, "alice", "Open incidents* (1)", "INC-1")
    room = (await bot.ctx.store.get("INC-1")).war_room
    assert room is not None and f"<#{room.channel_id}>" in text
    assert "Critical" in text and "Investigating" in text and "_no commander_" in text
    assert "^{ago}|" in text  # the age is a Slack date token: current in every viewer's zone

    await sandbox.command("bob", "#incidents", "/incident", "role INC-1 commander @alice")
    mine = await _home_with(sandbox, "alice", "Your incidents* (1)", f"IC <@{ALICE}>")
    assert "you: Incident commander" in mine

    await sandbox.command("bob", "#incidents", "/incident", "action INC-1 Alert on queue depth @alice")
    # an action item is no incident event: the Home shows it the next time it is opened
    await sandbox.home.open("alice")
    follow = await _home_with(sandbox, "alice", "Your follow-ups* (1)")
    assert "*INC-1* #1 Alert on queue depth" in follow
    # bob never opened his Home: nothing is published for him
    assert sandbox.home.view("bob") is None
    assert sandbox.unknown_calls() == []


async def test_a_burst_of_changes_costs_one_publish(sandbox: Any, bot: Any) -> None:
    await sandbox.home.open("alice")
    await _home_with(sandbox, "alice", "Open incidents* (0)")
    before = _publishes(sandbox)
    # just published: the next one waits its turn, and every request meanwhile joins it
    await bot.ctx.redis.set(bot.ctx.keys.custom("{home}", "last", ALICE), f"{time.time():.3f}")
    scheduled = [await home.request(bot.ctx, ALICE) for _ in range(10)]
    assert scheduled == [True] + [False] * 9
    await eventually(lambda: _async(_publishes(sandbox) == before + 1))


async def test_home_buttons_open_the_declaration_form_and_the_list(sandbox: Any, bot: Any) -> None:
    await sandbox.command("bob", "#incidents", "/incident", 'create high "Search is slow"')
    await sandbox.home.open("carol")
    await _home_with(sandbox, "carol", "INC-1")

    clicked = await sandbox.home.click("carol", hv.DECLARE)
    assert clicked["ok"], clicked
    form = await eventually(
        lambda: _async(next((v for v in sandbox.views("carol") if v["callback_id"] == dv.MODAL), None))
    )
    await sandbox.close_view("carol", form["id"])

    await sandbox.home.click("carol", hv.LIST)
    listing = await eventually(
        lambda: _async(
            next((v for v in sandbox.views("carol") if v["callback_id"] == "chatops_home_list"), None)
        )
    )
    assert "INC-1" in texts({"blocks": listing["blocks"]})


async def test_messages_tab_publishes_nothing(sandbox: Any, bot: Any) -> None:
    res = await sandbox.home.open("dave", tab="messages")
    assert res["ok"] and res["event"]["tab"] == "messages"
    # the event was handled (acknowledged) and no Home was published for dave
    assert sandbox.stats()["methods"].get("event app_home_opened", {}).get("ok") == 1
    await sandbox.home.open("dave")
    await _home_with(sandbox, "dave", "Incidents")
    assert sandbox.stats()["methods"]["views.publish"]["ok"] == 1


# ---- the view alone: Slack's limits for any input ---------------------------------------------

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
titles = st.text(min_size=1, max_size=150).filter(lambda t: t.strip())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            titles, st.sampled_from(["critical", "high", "medium", "low"]), st.booleans(), st.booleans()
        ),
        min_size=60,
        max_size=60,
    ),
    st.lists(st.text(min_size=1, max_size=2000), max_size=40),
)
def test_home_view_within_slacks_limits_with_60_incidents(
    incidents: list[tuple[str, str, bool, bool]], follow_ups: list[str]
) -> None:
    policy = Policy()
    made = [
        Incident(
            id=f"INC-{n}",
            number=n,
            title=title,
            severity=sev,
            status="investigating",
            created_by=BOB,
            created_at=NOW - timedelta(minutes=n),
            war_room=WarRoom(channel_id=f"C{n:08d}", name=f"inc-{n}") if room else None,
            roles={"commander": ALICE} if mine else {},
        )
        for n, (title, sev, room, mine) in enumerate(incidents, start=1)
    ]
    state = hv.HomeState(
        user=ALICE,
        open_incidents=made,
        on_call=[hv.OnCall(f"rotation-{i}", ERIN, NOW) for i in range(30)],
        follow_ups=[hv.FollowUp("INC-1", i, text) for i, text in enumerate(follow_ups, start=1)],
        updated=NOW,
    )
    view = hv.home(policy, state).to_dict()
    assert validate_view(view) == []  # the sandbox's checks: Slack's documented limits
    assert len(view["blocks"]) <= 100
    shown = texts({"blocks": view["blocks"]})
    assert "Open incidents* (60)" in shown and "10 more open" in shown


def test_on_call_lists_each_rotation(bot_policy: str) -> None:
    policy = Policy.model_validate(yaml.safe_load(bot_policy))
    found, problems = home.on_call_now(policy.escalation, NOW)
    assert problems == []
    assert [(o.rotation, o.user) for o in found] == [("primary", ERIN), ("secondary", ALICE)]
    assert all(o.until is not None and o.until > NOW for o in found)


async def _async(value: Any) -> Any:
    return value


# ---- the sandbox page: a Home tab and a message's shortcut menu, as in Slack ---------------------

CHROMIUM = shutil.which("chromium")
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
async def test_page_home_tab_and_message_shortcut(sandbox: Any, bot: Any) -> None:
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=15_000)
    await sandbox.say("bob", "#incidents", "Payments latency spiking\nsince 10:00, p99 at 4 s")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(sandbox.url + "/#/C0INCIDENTS")
            await expect(page.locator("#user-switcher")).to_have_value(ALICE)

            # a message's ⋮ menu lists the app's message shortcuts
            message = page.locator(".msg", has_text="Payments latency spiking").first
            await message.hover()
            await message.locator(".msg-shortcuts").click()
            await page.locator(".shortcut-menu button", has_text="Declare incident").click()
            modal = page.locator("#modal-layer .modal")
            await expect(modal).to_contain_text("Declare incident")
            await expect(modal.locator("input").first).to_have_value("Payments latency spiking")
            await modal.locator("select").first.select_option("high")
            await modal.locator("[data-modal-submit]").click()
            incident = await eventually(lambda: bot.ctx.store.find("INC-1"))
            assert incident.title == "Payments latency spiking" and incident.severity == "high"

            # the Home tab: opening it delivers app_home_opened; the published view shows INC-1
            await page.locator("#home-link").click()
            home_pane = page.locator("#home-pane")
            await expect(home_pane).to_contain_text("Open incidents")
            await expect(home_pane).to_contain_text("INC-1")
            await home_pane.locator("button", has_text="Declare incident").click()
            await expect(modal).to_contain_text("Severity")
            assert errors == []
        finally:
            await browser.close()
