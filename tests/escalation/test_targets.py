from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from bot.config.escalation import EscalationPolicy
from bot.escalation.targets import reach, select
from commands.escalate import parse_escalate
from tests.escalation.policies import ALICE, BOB, DAVE, ERIN, LEVELS

POLICY = EscalationPolicy.model_validate(yaml.safe_load(LEVELS))


@pytest.mark.parametrize(
    ("word", "level", "target"),
    [
        ("2", 2, None),
        ("L2", 2, None),
        ("level-2", 2, None),
        ("Level2", 2, None),
        ("1.secondary", 1, "secondary"),
        ("1/primary", 1, "primary"),
        ("secondary", 1, "secondary"),
        ("oncall", 1, None),
        ("team-lead", 2, None),
        ("Team lead", 2, None),
        ("tech-lead", 2, None),
        ("manager", 3, None),
        ("engineering manager", 3, None),
        ("2.lead", 2, None),  # the only target of its level: the whole level
    ],
)
def test_words_select_levels_and_targets(word: str, level: int, target: str | None) -> None:
    found = select(POLICY, word)
    assert found is not None and (found.level, found.target) == (level, target)


@pytest.mark.parametrize("word", ["", "9", "0", "cfo", "1.tertiary", "level-", "@@"])
def test_unknown_words_select_nothing(word: str) -> None:
    assert select(POLICY, word) is None


def test_role_alias_with_people() -> None:
    found = select(POLICY, "support")
    assert found is not None and found.level is None and found.users == (ERIN,)
    assert found.key == "role:support"


def test_reach_resolves_rotations_at_the_moment() -> None:
    one = select(POLICY, "1")
    assert one is not None
    week1 = reach(POLICY, one, datetime(2024, 1, 3, tzinfo=UTC))
    week2 = reach(POLICY, one, datetime(2024, 1, 10, tzinfo=UTC))
    assert week1.users == [ALICE, DAVE] and week2.users == [BOB, DAVE]
    assert week1.problems == [] and len(week1.lines) == 2 and f"<@{ALICE}>" in week1.lines[0]


def test_reach_collects_groups_channels_and_problems() -> None:
    manager = select(POLICY, "manager")
    assert manager is not None
    found = reach(POLICY, manager, datetime(2024, 1, 3, tzinfo=UTC))
    assert found.users == [] and found.usergroups == ["platform-leads"] and found.channels == ["alerts"]
    before_start = reach(POLICY, select(POLICY, "1"), datetime(2023, 6, 1, tzinfo=UTC))  # type: ignore[arg-type]
    assert any("nobody is on call" in p for p in before_start.problems)
    assert before_start.users == []


def test_undefined_rotation_is_a_problem_not_an_error() -> None:
    defaults = EscalationPolicy()  # level 1 names rotations that no policy defined yet
    found = reach(defaults, select(defaults, "1"), datetime(2024, 1, 3, tzinfo=UTC))  # type: ignore[arg-type]
    assert found.users == []
    assert found.problems == [
        "primary: rotation `primary` is not defined in the policy",
        "secondary: rotation `secondary` is not defined in the policy",
    ]


def test_default_pager_applies_to_targets_without_their_own() -> None:
    pol = EscalationPolicy.model_validate(
        {**yaml.safe_load(LEVELS), "pagers": {"default_service": "opsgenie"}}
    )
    found = reach(pol, select(pol, "2"), datetime(2024, 1, 3, tzinfo=UTC))  # type: ignore[arg-type]
    assert [p.service for p in found.pagers] == ["opsgenie"]
    off = EscalationPolicy.model_validate(
        {**yaml.safe_load(LEVELS), "pagers": {"default_service": "opsgenie", "enabled": False}}
    )
    assert reach(off, select(off, "2"), datetime(2024, 1, 3, tzinfo=UTC)).pagers == []  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "incident", "target", "reason"),
    [
        ('INC-123 tech-lead "no progress after 30 min"', "INC-123", "tech-lead", "no progress after 30 min"),
        ("INC-123 2", "INC-123", "2", ""),
        ("inc-7 manager db is on fire", "INC-7", "manager", "db is on fire"),
        ("2 from the war room", "INC-2", "from", "the war room"),  # the handler also tries level 2 here
        ("INC-5", "INC-5", None, ""),
        ("", None, None, ""),
    ],
)
def test_parse_escalate(text: str, incident: str | None, target: str | None, reason: str) -> None:
    args = parse_escalate(text)
    assert (args.incident_id, args.target, args.reason) == (incident, target, reason)
