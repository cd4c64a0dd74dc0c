"""The policy file: defaults, partial files, and errors that say where they are."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config.policy import Policy, PolicyError, parse_policy
from chatops.main import main

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


@pytest.mark.parametrize(
    ("written", "expected", "shown"),
    [
        ("1h30m", timedelta(minutes=90), "1h30m"),
        ("1h 30m", timedelta(minutes=90), "1h30m"),
        ("90 min", timedelta(minutes=90), "1h30m"),
        ("1 hour 30 minutes", timedelta(minutes=90), "1h30m"),
        (5400, timedelta(minutes=90), "1h30m"),
        ("90s", timedelta(seconds=90), "1m30s"),
        ("1w", timedelta(weeks=1), "1w"),
        ("2d", timedelta(days=2), "2d"),
    ],
)
def test_every_duration_form_reads_and_writes_back_one_way(
    written: object, expected: timedelta, shown: str
) -> None:
    p = parse_policy(f"severities:\n  - name: critical\n    response_target: {written}\n")
    assert p.severities[0].response_target == expected
    dumped = p.model_dump(mode="json")["severities"][0]["response_target"]
    assert dumped == shown
    assert parse_policy(f"severities:\n  - name: critical\n    response_target: {dumped}\n") == p


def test_one_alert_runbook_map_and_the_old_key_still_reads() -> None:
    p = parse_policy(
        "alerts:\n  runbooks: {DiskFull: 'https://wiki.example/disk', CrashLoop: old-name}\n"
        "runbooks:\n  alerts: {CrashLoop: pod-crash-loop, HighErrorRate: high-error-rate}\n"
    )
    assert p.runbooks.alerts == {
        "CrashLoop": "pod-crash-loop",  # the new key wins a clash
        "HighErrorRate": "high-error-rate",
        "DiskFull": "https://wiki.example/disk",
    }
    assert p.alerts.runbooks == p.runbooks.alerts  # the alert posts read the same map
    [note] = p.deprecations()
    assert "alerts.runbooks is deprecated" in note and "runbooks.alerts" in note and "CrashLoop" in note
    assert parse_policy("runbooks:\n  alerts: {A: a}\n").deprecations() == []


def test_check_config_warns_about_the_old_runbook_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "p.yml"
    policy.write_text("alerts:\n  runbooks: {DiskFull: disk-full}\n")
    assert main(["check-config", str(policy)]) == 0  # it still works...
    out = capsys.readouterr().out
    assert f"{policy}: alerts.runbooks is deprecated" in out and "1 warning" in out
    assert main(["check-config", "--strict", str(policy)]) == 1  # ...and --strict asks to move it
    capsys.readouterr()
    assert main(["check-config", str(EXAMPLE)]) == 0
    assert "deprecated" not in capsys.readouterr().out
