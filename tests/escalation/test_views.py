"""The escalation views stay within Block Kit's limits whatever the incident holds."""

from __future__ import annotations

from datetime import timedelta

from bot.config.escalation import EscalationLevel, EscalationPolicy, EscalationTarget
from bot.config.policy import Policy
from bot.core.models import Incident, WarRoom
from bot.escalation import views as views


def incident(title: str = "API gateway down") -> Incident:
    return Incident(
        id="INC-42", number=42, title=title, severity="critical", status="investigating", created_by="U0ALICE001",
        war_room=WarRoom(channel_id="C0ROOM0001", name="inc-42-api"),
    )  # fmt: skip


def test_escalate_menu_offers_every_level() -> None:
    esc = EscalationPolicy(
        levels=[
            EscalationLevel(
                level=n, name="L" * 200, targets=[EscalationTarget(name="t", users=["U0ALICE001"])]
            )
            for n in range(1, 10)
        ]
    )
    element = views.escalate_select(esc, incident()).to_dict()
    assert [o["value"] for o in element["options"]] == [f"INC-42|{n}" for n in range(1, 10)]
    assert all(len(o["text"]["text"]) <= 75 for o in element["options"])


def test_posts_escape_user_text_and_fit() -> None:
    inc = incident(title="<!channel> " + "x" * 5000)
    post = views.escalation_post(
        inc, label="level 2 (Team lead)", actor="U0BOB00002", reason="<!here> " + "y" * 5000,
        users=["U0CAROL003"], usergroups=["platform-leads"], channels=["alerts"], automatic=False,
    )  # fmt: skip
    dicts = [b.to_dict() for b in post]
    text = str(dicts)
    # the title is plain text (escaped once); the reason is Slack text, its broadcast made a word
    assert "<!channel>" not in text and "<!here>" not in text and "&lt;!channel&gt;" in text
    assert "*Reason:* @here yyy" in text
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in dicts)
    dm = [
        b.to_dict()
        for b in views.escalation_dm(Policy(), inc, label="x", actor="U1", reason="z", automatic=True)
    ]
    assert dm[1]["elements"][0]["action_id"] == views.DM_ACK and dm[1]["elements"][0]["value"] == "INC-42"
    assert "<#C0ROOM0001>" in dm[0]["text"]["text"]


def test_reminder_and_modal() -> None:
    inc = incident()
    blocks = [
        b.to_dict()
        for b in views.reminder(
            inc, mention="U0ALICE001", since=timedelta(minutes=20), cadence=timedelta(minutes=15),
            snooze=timedelta(minutes=15),
        )
    ]  # fmt: skip
    assert "no status update for 20m" in blocks[0]["text"]["text"]
    assert [e["action_id"] for e in blocks[1]["elements"]] == [views.REMINDER_UPDATE, views.REMINDER_SNOOZE]
    modal = views.status_modal(Policy(), inc, "p" * 5000).to_dict()
    assert modal["callback_id"] == views.STATUS_MODAL and modal["private_metadata"] == "INC-42"
    assert len(modal["blocks"][2]["element"]["initial_value"]) <= 3000
    assert modal["blocks"][1]["element"]["initial_option"]["value"] == "investigating"


def test_who_view_lists_levels_and_problems() -> None:
    esc = EscalationPolicy()
    blocks = [b.to_dict() for b in views.who_is_on_call(esc, {1: ["*primary*: <@U1>"]}, ["rotation missing"])]
    text = str(blocks)
    assert "Level 1 · On-call" in text and "<@U1>" in text and "_nobody configured_" in text
    assert "rotation missing" in text
