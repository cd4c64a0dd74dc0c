"""Configured responders are invited to the war room: by group handle, e-mail and user ID."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import eventually
from tests.incidents.story import Engineer, channel_named


@pytest.fixture
def bot_policy() -> str:
    return """
channels:
  announcements: incidents
responders:
  by_severity:
    critical: ["@sre-oncall", "carol@example.com"]
  by_service:
    payments: ["U0DAVE0004", "nobody@example.com"]
"""


async def test_responders_are_invited_and_unknown_ones_reported(sandbox: Any, bot: Any) -> None:
    alice = Engineer(sandbox, "alice")
    await alice.types("#incidents", '/incident create critical "Card payments failing" service=payments')
    room = await channel_named(sandbox, "inc-1-card-payments-failing")
    ids = {n: sandbox.user_by_name(n)["id"] for n in ("alice", "bob", "carol", "dave", "erin")}

    async def invited() -> bool:
        members = set(sandbox.channel_by_name(room["name"])["members"])
        return {ids["alice"], ids["bob"], ids["carol"], ids["dave"]} <= members

    assert await eventually(invited)
    assert ids["erin"] not in sandbox.channel_by_name(room["name"])["members"]
    reply = await alice.sees_reply("INC-1")
    assert "nobody@example.com" in reply and "users_not_found" in reply
