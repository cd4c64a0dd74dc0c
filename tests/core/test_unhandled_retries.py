"""What Slack would retry: an event the bot has no listener for and a click on a button nobody
registered, delivered by the sandbox as Slack delivers them, are acknowledged with a 200 at once, so
no retry is ever scheduled (the sandbox retries a failed event delivery like Slack: 1 s, 5 s, 15 s).
tests/core/test_listeners.py checks the 200s and the answers; this checks the retries."""

from __future__ import annotations

import time
from typing import Any

from tests.conftest import BotProcess


async def test_an_unhandled_event_and_an_unknown_action_are_never_retried(
    bot: BotProcess, sandbox: Any
) -> None:
    bob = sandbox.user_by_name("bob")["id"]
    envelope = {
        "type": "event_callback",
        "team_id": sandbox.team_id,
        "api_app_id": "A0CHATOPS1",
        "event_id": "Ev0NORETRY01",
        "event_time": int(time.time()),
        "event": {"type": "pin_added", "user": bob, "channel_id": "C0INCIDENTS"},
    }
    assert sandbox.delivery.event_retry_delays  # the sandbox would retry a failed delivery
    result = await sandbox.delivery.send_event(envelope)
    assert result.ok and result.status == 200, result
    assert sandbox.delivery.pending_retries == 0

    posted = await bot.ctx.gateway.call(
        "chat.postMessage",
        channel="C0INCIDENTS",
        text="old message",
        blocks=[
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "gone_in_this_version",
                        "text": {"type": "plain_text", "text": "Old"},
                    }
                ],
            }
        ],
    )
    clicked = await sandbox.click("bob", "incidents", posted["ts"], "gone_in_this_version")
    assert clicked["ok"] and clicked["status"] == 200, clicked

    kinds = [d["kind"] for d in sandbox.deliveries()]
    assert kinds.count("event") == 1 and not any(k.startswith("event retry") for k in kinds), kinds
    assert all(d["status"] == 200 and d["error"] is None for d in sandbox.deliveries()), sandbox.deliveries()
    assert sandbox.delivery.pending_retries == 0
