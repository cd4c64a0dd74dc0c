from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from pydantic import ValidationError

from bot.config.escalation import EscalationPolicy


def parse(text: str) -> EscalationPolicy:
    return EscalationPolicy.model_validate(yaml.safe_load(text) or {})


def test_defaults_cover_every_key() -> None:
    pol = parse("")
    assert [lv.level for lv in pol.levels] == [1, 2, 3, 4, 5]
    assert [t.name for t in pol.levels[0].targets] == ["primary", "secondary"]
    assert pol.levels[0].targets[1].rotation == "secondary"
    timers = {t.id: (t.severities, t.when, t.after, t.level, t.target) for t in pol.timers}
    assert timers == {
        "critical-unacked-secondary": (["critical"], "unacknowledged", timedelta(minutes=5), 1, "secondary"),
        "critical-unresolved-manager": (["critical"], "unresolved", timedelta(minutes=15), 3, None),
        "high-unresolved-team-lead": (["high"], "unresolved", timedelta(minutes=30), 2, None),
        "unresolved-1h-senior": (["critical", "high"], "unresolved", timedelta(hours=1), 4, None),
        "critical-unresolved-executives": (["critical"], "unresolved", timedelta(hours=2), 5, None),
    }
    assert pol.roles["tech-lead"].level == 2
    assert (
        pol.reminders.enabled
        and pol.reminders.snooze == timedelta(minutes=15)
        and pol.reminders.cadence == {}
    )
    assert pol.pagers.default_service is None and pol.pagers.attempts == 4
    assert pol.statuspage.auto_severities == []


def test_a_partial_section_keeps_the_other_defaults() -> None:
    pol = parse(
        """
        rotations:
          - {name: primary, members: [U1, U2], shift: 1w, handoff_time: "09:00", timezone: Europe/Berlin}
          - {name: secondary, members: [U3], shift: 12h}
        timers:
          - {id: fast, severities: [Critical], when: unacknowledged, after: 3s, level: 1, target: Secondary}
        reminders: {snooze: 5m, cadence: {critical: 10s}}
        """
    )
    assert len(pol.levels) == 5
    assert pol.timers[0].after == timedelta(seconds=3) and pol.timers[0].severities == ["critical"]
    assert pol.timers[0].target == "secondary"
    assert pol.reminders.cadence == {"critical": timedelta(seconds=10)}
    assert pol.rotation("secondary") is not None and pol.rotation("secondary").shift == timedelta(hours=12)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "timers: [{id: t, severities: [critical], when: unresolved, after: 1m, level: 7}]",
            "no escalation level 7",
        ),
        (
            "timers: [{id: t, severities: [critical], when: unresolved, after: 1m, level: 1, target: boss}]",
            "level 1 has no target 'boss'",
        ),
        ("timers: [{id: t, severities: [critical], when: later, after: 1m, level: 1}]", "unacknowledged"),
        (
            "timers: [{id: t, severities: [critical], when: unresolved, after: soon, level: 1}]",
            "bad duration",
        ),
        ("timers: [{id: T!, severities: [critical], when: unresolved, after: 1m, level: 1}]", "timer ids"),
        ("roles: {boss: {level: 9}}", "no escalation level 9"),
        ("roles: {boss: {}}", "either a level"),
        ("roles: {boss: {level: 2, users: [U1X]}}", "either a level"),
        ("levels: [{level: 1, name: A, targets: [{users: [alice]}]}]", "not Slack user IDs: alice"),
        ("levels: [{level: 1, name: A, targets: []}]", "at least 1"),
        (
            "levels: [{level: 1, name: A, targets: [{name: x}]}, {level: 1, name: B, targets: [{name: y}]}]",
            "unique",
        ),
        ("rotations: [{name: other, members: [U1]}]", "no rotation named 'primary'"),
        ("pagers: {default_service: pagerdooty}", "pagerduty"),
        ("escalate_after: 5m", "Extra inputs"),
    ],
)
def test_mistakes_are_explained(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse(text)


def test_fewer_levels_drop_the_defaults_that_name_missing_ones() -> None:
    pol = parse(
        """
        levels:
          - {level: 1, name: On-call, targets: [{name: primary, users: [U1A]}]}
          - {level: 2, name: Lead, targets: [{name: lead, users: [U2B]}]}
        """
    )
    assert set(pol.roles) == {"primary", "tech-lead"}
    assert [t.id for t in pol.timers] == ["high-unresolved-team-lead"]


def test_unknown_severities_are_reported() -> None:
    pol = parse("timers: [{id: t, severities: [critcal], when: unresolved, after: 1m, level: 1}]")
    assert pol.unknown_severities({"critical", "high", "medium", "low"}) == ["critcal"]
    assert parse("").unknown_severities({"critical", "high"}) == []


def test_level_words_list_numbers_then_aliases() -> None:
    words = parse("").level_words()
    assert words[:5] == ["1", "2", "3", "4", "5"]
    assert {"tech-lead", "primary", "secondary", "manager", "cto", "executives"} <= set(words)


def test_dump_round_trips() -> None:
    pol = parse("")
    again = EscalationPolicy.model_validate(pol.model_dump(mode="json"))
    assert again == pol


def test_the_example_policy_escalation_section_is_valid() -> None:
    from pathlib import Path

    from bot.config.policy import load_policy

    example = Path(__file__).resolve().parents[2] / "config" / "policy.example.yml"
    esc = load_policy(str(example)).escalation
    assert [lv.level for lv in esc.levels] == [1, 2, 3, 4, 5]
    assert esc.rotation("primary") is not None and esc.rotation("primary").overrides
    assert esc.unknown_severities({"critical", "high", "medium", "low"}) == []
