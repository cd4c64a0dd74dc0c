"""Story: follow-ups leave Slack. In the sandbox, action items of an incident are exported to GitHub
Issues (command) and Jira (the button under the new item); the links are stored and shown; the
issues' states are read back on `/incident actions` and in the review; trackers' refusals reach the
person as a sentence."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from bot.core.models import Incident
from bot.review.workflow import records
from tests.conftest import eventually
from tests.incidents.story import Engineer, buttons, texts
from tests.pagers.vendor_server import Scripted
from tests.trackers.tracker_server import GITHUB_TOKEN, JIRA_EMAIL, JIRA_TOKEN, TrackerServer


@pytest.fixture
def bot_policy(trackers: TrackerServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", trackers.base_url)
    monkeypatch.setenv("JIRA_URL", trackers.base_url)
    monkeypatch.setenv("JIRA_EMAIL", JIRA_EMAIL)
    monkeypatch.setenv("JIRA_API_TOKEN", JIRA_TOKEN)
    return """
review:
  meeting_offset_days: 0
  stats_chart: false
  trackers:
    default: github
    github: {repo: acme/ops, labels: [incident-follow-up]}
    jira: {project: OPS, issue_type: Task, api_version: 3}
"""


async def test_follow_ups_exported_tracked_and_read_back(
    sandbox: Any, bot: Any, trackers: TrackerServer
) -> None:
    alice, bob = Engineer(sandbox, "alice"), Engineer(sandbox, "bob")
    await alice.types("general", '/incident create critical "Checkout errors"')

    async def declared() -> Incident | None:
        found = await bot.ctx.store.list(include_resolved=True)
        return found[0] if found and found[0].war_room else None

    inc = await eventually(declared)
    room = inc.war_room.channel_id

    # two follow-ups; the first exported with the command (the default tracker: GitHub)
    await alice.types(room, f"/incident action {inc.id} Alert on queue depth @bob due 2030-01-31")
    await alice.sees_reply("Action item added", room)
    await alice.types(room, f"/incident action export {inc.id} #1")
    reply = await alice.sees_reply("tracked in GitHub", room)
    assert "https://github.example/acme/ops/issues/1" in reply and "acme/ops#1" in reply
    issue = trackers.gh_issues[("acme/ops", 1)]
    assert issue.title == f"[{inc.id}] Alert on queue depth"
    assert f"incident {inc.id}: Checkout errors" in issue.body and "Due: 2030-01-31" in issue.body
    assert "Owner: " in issue.body and "<@" not in issue.body  # names, not Slack's mention syntax

    # exporting it again makes no second issue
    await alice.types(room, f"/incident action export {inc.id} 1 github")
    await alice.sees_reply("already tracked in acme/ops#1", room)
    assert len(trackers.gh_issues) == 1

    # the second: Bob uses the Jira button under the new item
    await bob.types(room, f"/incident action {inc.id} Add a readiness probe to cart")

    async def added() -> dict[str, Any] | None:
        found = [e for e in sandbox.ephemerals("bob", room) if "readiness probe" in texts(e)]
        return found[-1] if found else None

    added_msg = await eventually(added)
    assert {"review_action_export_github", "review_action_export_jira"} <= set(buttons(added_msg))
    await bob.clicks(room, added_msg, "review_action_export_jira")
    jira_reply = await bob.sees_reply("tracked in Jira", room)
    assert "OPS-1" in jira_reply and f"{trackers.base_url}/browse/OPS-1" in jira_reply
    fields = trackers.jira_issues["OPS-1"]
    assert fields.summary == f"[{inc.id}] Add a readiness probe to cart" and fields.labels == [
        "incident-follow-up"
    ]

    items = await records(bot.ctx).actions(inc.id)
    assert [(a.number, a.issue.tracker if a.issue else None) for a in items] == [(1, "github"), (2, "jira")]
    assert items[1].issue is not None and items[1].issue.exported_by == sandbox.user_by_name("bob")["id"]

    # GitHub closes #1; Jira moves OPS-1 along: /incident actions reads both states back
    trackers.close_github("acme/ops", 1)
    await alice.types(room, f"/incident actions {inc.id}")
    listed = await alice.sees_reply("action items (2)", room)
    lines = {line.split(" ", 1)[0]: line for line in listed.splitlines() if line.startswith("*#")}
    assert "acme/ops#1" in lines["*#1*"] and "closed" in lines["*#1*"]
    assert "OPS-1" in lines["*#2*"] and "open" in lines["*#2*"]
    stored = await records(bot.ctx).actions(inc.id)
    assert stored[0].issue is not None and stored[0].issue.state == "closed"
    assert stored[1].pending and not stored[0].pending

    # a tracker that refuses: the person reads why, nothing is stored
    await alice.types(room, f"/incident action {inc.id} Write the runbook")
    trackers.answer_next(Scripted(404, {}, {"message": "Not Found"}))
    await alice.types(room, f"/incident action export {inc.id} 3")
    await alice.sees_reply(
        "GitHub has no repository acme/ops, or the bot's token cannot see it (HTTP 404)", room
    )
    third = (await records(bot.ctx).actions(inc.id))[2]
    assert third.issue is None
    # the claim was released: it can be exported once GitHub answers again
    await alice.types(room, f"/incident action export {inc.id} jira")
    await alice.sees_reply("#3 of", room)
    assert "OPS-2" in trackers.jira_issues

    # the review lists the issues with their states
    await alice.types(room, f"/incident resolve {inc.id} Rolled back")

    async def resolved() -> bool:
        return (await bot.ctx.store.get(inc.id)).is_resolved

    await eventually(resolved)
    trackers.move_jira("OPS-1", "done")  # closed in Jira since the last look: the review reads it
    await alice.types(room, f"/incident review {inc.id}")

    async def review_file() -> list[dict[str, Any]] | None:
        posted = [m for m in sandbox.messages(room) if m.get("files")]
        return posted[-1]["files"] if posted else None

    files = {f["name"]: f for f in await eventually(review_file)}
    async with aiohttp.ClientSession() as http, http.get(files[f"{inc.id}-review.md"]["url_private"]) as resp:
        markdown = await resp.text()
    rows = [line for line in markdown.splitlines() if line.startswith("| 1 |") or line.startswith("| 2 |")]
    assert rows[0].startswith(
        "| 1 | Alert on queue depth ([acme/ops#1](https://github.example/acme/ops/issues/1), closed) |"
    )
    assert rows[1].startswith(
        f"| 2 | Add a readiness probe to cart ([OPS-1]({trackers.base_url}/browse/OPS-1), closed) |"
    )
    timeline = [e.text for e in await bot.ctx.store.timeline(inc.id) if "exported to" in e.text]
    assert len(timeline) == 3
