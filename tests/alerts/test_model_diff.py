"""Pure parts: payload model, diff of notifications against group state, routing, views."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from slack_sdk.models.blocks import ActionsBlock, Block, SectionBlock

from bot.alerts import views
from bot.alerts.diff import apply_notification
from bot.alerts.models import WebhookPayload, validation_reason
from bot.config.alerts import AlertsPolicy
from bot.slack.outbox import lines_blocks
from tests.alerts.payloads import T0, alert, host_alerts, payload


def parse(data: dict) -> WebhookPayload:
    return WebhookPayload.model_validate_json(json.dumps(data))


def test_model_accepts_alertmanager_payload() -> None:
    p = parse(payload({"alertname": "HighLatency"}, host_alerts("HighLatency", range(3), service="api")))
    assert p.version == "4"
    assert len(p.alerts) == 3
    assert p.common_labels == {"alertname": "HighLatency", "service": "api"}
    assert p.alerts[0].ends_at is not None and p.alerts[0].ends_at.year == 1


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d.update(version="3"), "version"),
        (lambda d: d.update(status="exploded"), "status"),
        (lambda d: d.pop("groupKey"), "groupKey"),
        (lambda d: d.update(alerts=[]), "alerts"),
        (lambda d: d["alerts"][0].update(startsAt="yesterday"), "alerts.0.startsAt"),
        (lambda d: d["alerts"][0]["labels"].update(instance=5), "alerts.0.labels.instance"),
        (lambda d: d["alerts"][0].pop("fingerprint"), "alerts.0.fingerprint"),
    ],
)
def test_model_rejects_garbage_with_reason(mutate, where: str) -> None:
    data = payload({"alertname": "X"}, host_alerts("X", range(1)))
    mutate(data)
    with pytest.raises(ValidationError) as info:
        parse(data)
    assert where in validation_reason(info.value)


@given(st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
def test_model_never_crashes_on_bytes(raw: bytes) -> None:
    try:
        WebhookPayload.model_validate_json(raw)
    except ValidationError as exc:
        assert validation_reason(exc)


def fold(old, data: dict, entry: str, minutes: int = 0):
    return apply_notification(
        old, parse(data), entry_id=entry, channel="#alerts", now=T0 + timedelta(minutes=minutes)
    )


def test_diff_first_then_changes_then_resolved() -> None:
    group = {"alertname": "HighLatency"}
    s1, c1 = fold(None, payload(group, host_alerts("HighLatency", range(2))), "1-0")
    assert c1.new_episode and len(c1.newly_firing) == 2 and not c1.resolved
    assert (s1.firing, s1.resolved, s1.status, s1.episode) == (2, 0, "firing", 1)

    # same snapshot again: nothing to tell
    s2, c2 = fold(s1, payload(group, host_alerts("HighLatency", range(2))), "2-0", 1)
    assert not c2 and c2.rerender

    # one more fires, one resolves
    alerts = host_alerts("HighLatency", [0], "resolved") + host_alerts("HighLatency", [1, 2])
    s3, c3 = fold(s2, payload(group, alerts), "3-0", 2)
    assert [s3.alerts[f].labels["instance"] for f in c3.newly_firing] == ["host-2"]
    assert [s3.alerts[f].labels["instance"] for f in c3.resolved] == ["host-0"]
    assert not c3.group_resolved and s3.status == "firing"

    # everything resolved: the group is resolved, with its duration
    s4, c4 = fold(s3, payload(group, host_alerts("HighLatency", [1, 2], "resolved")), "4-0", 12)
    assert c4.group_resolved and s4.status == "resolved" and s4.resolved_at is not None
    assert (s4.firing, s4.resolved) == (0, 3)
    # durations are the alerts' own (endsAt − startsAt: 5 minutes), not when the bot heard of it (12m)
    assert "resolved after 5m" in "\n".join(views.change_lines(s4, c4, with_title=False))

    # a repeat of the resolved notification changes nothing
    s5, c5 = fold(s4, payload(group, host_alerts("HighLatency", [1, 2], "resolved")), "5-0", 13)
    assert not c5 and s5.episode == 1

    # firing again after full resolution: a new episode (a new thread)
    s6, c6 = fold(s5, payload(group, host_alerts("HighLatency", [7])), "6-0", 20)
    assert c6.new_episode and s6.episode == 2 and set(s6.alerts) == set(c6.newly_firing)


def test_diff_missing_alert_is_resolved_unless_truncated() -> None:
    group = {"alertname": "Disk"}
    s1, _ = fold(None, payload(group, host_alerts("Disk", range(3))), "1-0")
    s2, c2 = fold(s1, payload(group, host_alerts("Disk", [0, 1]), truncated=1), "2-0")
    assert not c2.resolved and s2.firing == 3
    s3, c3 = fold(s2, payload(group, host_alerts("Disk", [0, 1])), "3-0")
    assert [s3.alerts[f].labels["instance"] for f in c3.resolved] == ["host-2"]


def test_diff_ignores_stale_entries() -> None:
    group = {"alertname": "Disk"}
    s1, _ = fold(None, payload(group, host_alerts("Disk", range(3))), "5-0")
    s2, c2 = fold(s1, payload(group, host_alerts("Disk", range(3), "resolved")), "4-9")
    assert c2.stale and s2 is s1


def test_routing_first_match_wins_then_default() -> None:
    policy = AlertsPolicy.model_validate(
        {
            "default_channel": "#alerts",
            "routes": [
                {"match": {"severity": "critical"}, "channel": "#alerts-critical"},
                {"match": {"team": "payments"}, "channel": "#payments-alerts"},
                {"match_re": {"service": "db-.*"}, "channel": "#db"},
            ],
        }
    )
    assert policy.route({"severity": "critical", "team": "payments"}) == "#alerts-critical"
    assert policy.route({"severity": "warning", "team": "payments"}) == "#payments-alerts"
    assert policy.route({"service": "db-main"}) == "#db"
    assert policy.route({"service": "api"}) == "#alerts"
    with pytest.raises(ValidationError, match="invalid regular expression"):
        AlertsPolicy.model_validate({"routes": [{"match_re": {"a": "("}, "channel": "#x"}]})


def _texts(blocks: list[Block]) -> str:
    return json.dumps([b.to_dict() for b in blocks])


def test_root_view_has_what_matters_and_escapes_labels() -> None:
    policy = AlertsPolicy(runbooks={"HighLatency": "high-latency"})
    alerts = [
        alert(
            {
                "alertname": "HighLatency",
                "severity": "critical",
                "service": "api",
                "instance": f"<!channel>-{i}",
            },
            annotations={"summary": "p99 above 2s <@U123>", "description": "checkout is slow"},
        )
        for i in range(12)
    ]
    state, _ = fold(
        None, payload({"alertname": "HighLatency"}, alerts, annotations=alerts[0]["annotations"]), "1-0"
    )
    blocks = views.group_blocks(state, policy)
    text = _texts(blocks)
    assert "<!channel>" not in text and "<@U123>" not in text
    assert "&lt;!channel&gt;" in text
    assert "checkout is slow" in text and "critical" in text and "12 firing" in text and "service" in text
    assert "and 2 more" in text
    actions = next(b for b in blocks if isinstance(b, ActionsBlock))
    assert [e.action_id for e in actions.elements] == [
        views.ACK_ACTION,
        views.DECLARE_ACTION,
        views.SILENCE_ACTION,
        views.RUNBOOK_ACTION,
    ]
    assert actions.elements[3].value == "high-latency"


def test_root_view_runbook_url_annotation_wins() -> None:
    policy = AlertsPolicy(runbooks={"Disk": "disk-full"})
    data = payload(
        {"alertname": "Disk"}, host_alerts("Disk", range(1)), annotations={"runbook_url": "https://rb/disk"}
    )
    state, _ = fold(None, data, "1-0")
    buttons = next(b for b in views.group_blocks(state, policy) if isinstance(b, ActionsBlock)).elements
    assert buttons[-1].url == "https://rb/disk"


def test_storm_view_fits_slack_limits() -> None:
    groups = []
    for g in range(500):
        s, _ = fold(
            None,
            payload(
                {"alertname": "Storm", "service": f"svc-{g}"},
                host_alerts("Storm", range(20), service=f"svc-{g}"),
            ),
            f"{g + 1}-0",
        )
        groups.append(s)
    blocks = views.storm_blocks(groups)
    assert len(blocks) <= 50
    for b in blocks:
        if isinstance(b, SectionBlock) and b.text is not None:
            assert len(b.text.text) <= 3000
    assert "500 alert groups" in _texts(blocks)


def test_reply_lines_chunk_into_sections() -> None:
    group = {"alertname": "Big"}
    state, change = fold(None, payload(group, host_alerts("Big", range(600))), "1-0")
    replies = views.change_replies(state, change, with_title=True)
    assert len(replies) > 1 and all(r[0].startswith("*Big") for r in replies)
    for reply in replies:
        assert sum(len(line) + 1 for line in reply) <= views.REPLY_BUDGET + 300
        assert all(len(line) <= 3000 for line in reply)
    joined = "\n".join(line for r in replies for line in r)
    shown = views.THREAD_LIST_MAX
    listed = [i for i in range(600) if f"`instance=host-{i}`" in joined]
    assert len(listed) == shown
    assert f"…and {600 - shown} more firing" in joined
    blocks = lines_blocks(replies[0], marker="ob|t|1")
    assert blocks[0].block_id == "ob|t|1"
    assert all(len(b.text.text) <= 3000 for b in blocks)
