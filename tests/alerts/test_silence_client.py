"""The Alertmanager client's answers when Alertmanager is down or refuses: one clear line, no exception."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.alerts.silences import _down, matchers_for
from bot.alerts.state import GroupState
from integrations.alertmanager import AlertmanagerClient, Matcher
from integrations.failures import Failure, FailureKind
from tests.conftest import free_port

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


async def test_alertmanager_down_is_one_clear_line() -> None:
    client = AlertmanagerClient(f"http://127.0.0.1:{free_port()}", timeout=2)
    created = await client.create_silence(
        [Matcher("service", "checkout")],
        starts_at=NOW,
        ends_at=NOW + timedelta(hours=1),
        created_by="U1",
        comment="x",
    )
    assert isinstance(created, Failure) and created.kind == FailureKind.UNREACHABLE
    assert created.reason == "create a silence: Alertmanager is unreachable (ConnectError)"
    assert str(_down(created)) == (
        "Alertmanager could not be reached, nothing was changed: "
        "create a silence: Alertmanager is unreachable (ConnectError)"
    )
    counted = await client.firing_count([Matcher("service", "checkout")])
    assert isinstance(counted, Failure) and "count the firing alerts" in counted.reason


def test_matchers_are_the_group_labels_and_filters_are_quoted() -> None:
    state = GroupState(
        gid="g",
        group_key="k",
        channel="#a",
        group_labels={"service": 'check"out', "cluster": "eu"},
        first_seen=NOW,
    )
    matchers = matchers_for(state)
    assert [(m.name, m.value) for m in matchers] == [("cluster", "eu"), ("service", 'check"out')]
    assert matchers[1].as_filter() == 'service="check\\"out"'
    assert Matcher("a", "b.*", is_regex=True, is_equal=False).as_filter() == 'a!~"b.*"'
