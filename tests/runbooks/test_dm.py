"""/runbook typed in a direct message between people (the app is not part of it, so Slack answers
channel_not_found to any post there): the person gets the answer in that DM, the runbook itself in
their DM with the app, where its Run diagnostics button works; in the app's own DM it is posted there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.incidents.story import Engineer, message_with, texts

REPO_RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"


@pytest.fixture
def bot_policy() -> str:
    return yaml.safe_dump({"runbooks": {"paths": [str(REPO_RUNBOOKS)]}})


def refused(sandbox: Any) -> dict[str, int]:
    return {
        f"{method} {outcome}": n
        for method, outcomes in sandbox.core.stats_json()["methods"].items()
        for outcome, n in outcomes.items()
        if outcome in ("channel_not_found", "not_in_channel", "invalid_blocks", "msg_blocks_too_long")
    }


async def test_runbook_in_a_dm_between_people_answers_in_that_dm(sandbox: Any, bot: Any) -> None:
    alice = Engineer(sandbox, "alice")
    dm = sandbox.people_dm("alice", "bob")
    await alice.types(dm, "/runbook service-down")
    answer = await alice.sees_reply("Service down", dm)
    assert "direct messages with me" in answer
    assert sandbox.messages(dm) == []  # nothing the app cannot post, and nothing bob sees
    assert sandbox.ephemerals("bob", dm) == []
    own = sandbox.core.workspace.dm_channel(sandbox.core.workspace.find_user("alice")).id
    top = await message_with(sandbox, own, "Service down")
    assert "runbook_run" in str(top["blocks"])
    assert refused(sandbox) == {}


async def test_runbook_in_the_apps_own_dm_is_posted_there(sandbox: Any, bot: Any) -> None:
    alice = Engineer(sandbox, "alice")
    own = sandbox.core.workspace.dm_channel(sandbox.core.workspace.find_user("alice")).id
    await alice.types(own, "/runbook service-down")
    top = await message_with(sandbox, own, "Service down")
    assert "Prometheus cannot scrape" in texts(top)
    assert refused(sandbox) == {}
