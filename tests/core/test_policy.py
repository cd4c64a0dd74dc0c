"""The policy file: defaults, partial files, and errors that say where they are."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from chatops.main import main
from bot.config.policy import Policy, PolicyError, parse_policy

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "policy.example.yml"


def test_defaults_follow_common_practice() -> None:
    p = Policy()
    crit = p.severity("P1")
    assert crit is not None and crit.name == "critical" and crit.war_room
    assert crit.response_target == timedelta(minutes=5) and crit.update_cadence == timedelta(minutes=15)
    high = p.severity("sev2")
    assert high is not None and high.war_room and high.update_cadence == timedelta(minutes=30)
    low = p.severity("low")
    assert low is not None and not low.war_room and low.update_cadence is None
    assert [s.name for s in p.statuses] == ["investigating", "identified", "monitoring", "resolved"]
    assert p.channels.announcements == "incidents"


def test_a_file_sets_only_what_it_changes() -> None:
    p = parse_policy("channels:\n  announcements: ops-incidents\n")
    assert p.channels.announcements == "ops-incidents"
    assert p.severity("critical") is not None


def test_errors_name_their_location() -> None:
    text = "severities:\n  - name: critical\n    response_target: soon\nchannels:\n  announcment: x\n"
    with pytest.raises(PolicyError) as err:
        parse_policy(text, "p.yml")
    problems = err.value.problems
    assert any(p.startswith("p.yml:3:") and "severities.0.response_target" in p for p in problems)
    assert any(p.startswith("p.yml:5:") and "unknown key" in p for p in problems)


def test_bad_yaml_is_located() -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy("channels: [\n", "x.yml")
    assert err.value.problems[0].startswith("x.yml:")


def test_duplicate_alias_refused() -> None:
    with pytest.raises(PolicyError, match="used twice"):
        parse_policy("severities:\n  - name: a\n    aliases: [x]\n  - name: b\n    aliases: [x]\n")


def test_check_config_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("templates:\n  announcement: '{{ incident.title '\n")
    assert main(["check-config", str(bad)]) == 1
    assert "templates.announcement" in capsys.readouterr().out
    assert main(["check-config", str(EXAMPLE)]) == 0


def test_check_config_catches_unknown_severities_in_timers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "p.yml"
    policy.write_text(
        "escalation:\n  timers:\n    - {id: x, severities: [sev9], after: 5m, when: unresolved, level: 2}\n"
    )
    assert main(["check-config", str(policy)]) == 1
    assert "severity `sev9`" in capsys.readouterr().out
