"""Every alert named, the alerts' own times, and late/out-of-order notifications (hand-made v4 payloads)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from bot.alerts import views
from bot.alerts.diff import Change, apply_notification
from bot.alerts.models import WebhookPayload
from bot.alerts.state import GroupState
from bot.config.alerts import AlertsPolicy
from tests.alerts.payloads import T0, alert, payload

SERVICE = {"service": "checkout"}
CRASH = {
    "alertname": "KubePodCrashLooping",
    "service": "checkout",
    "pod": "checkout-7d9f",
    "severity": "critical",
}
REPLICAS = {
    "alertname": "KubeDeploymentReplicasMismatch",
    "service": "checkout",
    "deployment": "checkout",
    "severity": "warning",
}
CRASH_NOTE = {"summary": "Pod checkout-7d9f is crash looping"}
REPLICAS_NOTE = {"summary": "Deployment checkout has 1 of 3 replicas"}


def fold(old: GroupState | None, data: dict, entry: str, at: datetime) -> tuple[GroupState, Change]:
    parsed = WebhookPayload.model_validate_json(json.dumps(data))
    return apply_notification(old, parsed, entry_id=entry, channel="#alerts", now=at)


def text_of(blocks: list) -> str:
    return json.dumps([b.to_dict() for b in blocks], ensure_ascii=False)


def epoch(when: datetime) -> str:
    return f"<!date^{int(when.timestamp())}^"


def crash(status: str = "firing", **kw: object) -> dict:
    return alert(CRASH, status, annotations=CRASH_NOTE, **kw)  # type: ignore[arg-type]


def replicas(status: str = "firing", **kw: object) -> dict:
    return alert(REPLICAS, status, annotations=REPLICAS_NOTE, **kw)  # type: ignore[arg-type]


def test_mixed_group_names_every_alert_and_the_headline_follows_what_fires() -> None:
    policy = AlertsPolicy()
    t_crash, t_rep = T0 - timedelta(hours=2), T0 - timedelta(minutes=30)
    s1, c1 = fold(None, payload(SERVICE, [crash(starts=t_crash), replicas(starts=t_rep)]), "1-0", T0)
    root = text_of(views.group_blocks(s1, policy))
    assert views.headline(s1) == "[FIRING:2] KubeDeploymentReplicasMismatch, KubePodCrashLooping"
    for name, summary, ident in (
        ("KubePodCrashLooping", "Pod checkout-7d9f is crash looping", "pod=checkout-7d9f"),
        ("KubeDeploymentReplicasMismatch", "Deployment checkout has 1 of 3 replicas", "deployment=checkout"),
    ):
        line = next(ln for ln in root.split("\\n") if ident in ln)
        assert f"*{name}* — {summary} `{ident}`" in line
        reply = next(ln for ln in views.change_lines(s1, c1, with_title=False) if ident in ln)
        assert reply.startswith(f"• *{name}* — {summary} `{ident}` · since ")
    # firing since = the earliest startsAt of the firing alerts (two hours ago), not when the bot heard
    assert f"*Firing* since {epoch(t_crash)}" in root

    # KubePodCrashLooping resolves (endsAt = its own end): the headline names the one still firing
    end = T0 + timedelta(minutes=1)
    s2, c2 = fold(
        s1, payload(SERVICE, [crash("resolved", starts=t_crash, ends=end), replicas(starts=t_rep)]), "2-0", T0
    )
    assert views.headline(s2) == "[FIRING:1] KubeDeploymentReplicasMismatch"
    assert s2.alertname == "KubeDeploymentReplicasMismatch"
    assert s2.annotation("summary") == "Deployment checkout has 1 of 3 replicas"
    lines = views.change_lines(s2, c2, with_title=False)
    assert lines[0] == ":large_green_circle: Resolved (1):"
    # its own duration: endsAt − startsAt = 2h1m, although the bot saw it for a moment only
    assert (
        lines[1]
        == "• *KubePodCrashLooping* — Pod checkout-7d9f is crash looping `pod=checkout-7d9f` · resolved after 2h1m"
    )
    root2 = text_of(views.group_blocks(s2, policy))
    assert f"*Firing* since {epoch(t_rep)}" in root2 and "critical" not in root2.split("Alerts")[0]

    # everything resolved: [RESOLVED] with both names, the group's own span
    end2 = T0 + timedelta(minutes=10)
    s3, c3 = fold(
        s2,
        payload(
            SERVICE,
            [crash("resolved", starts=t_crash, ends=end), replicas("resolved", starts=t_rep, ends=end2)],
        ),
        "3-0",
        T0 + timedelta(minutes=11),
    )
    assert views.headline(s3) == "[RESOLVED] KubeDeploymentReplicasMismatch, KubePodCrashLooping"
    assert ":white_check_mark: All 2 alerts resolved after 2h10m." in views.change_lines(
        s3, c3, with_title=False
    )
    assert "*Resolved* after 2h10m" in text_of(views.group_blocks(s3, policy))


def test_single_name_group_keeps_lines_short() -> None:
    alerts = [
        alert({"alertname": "Disk", "instance": f"h{i}"}, annotations={"summary": "disk full"})
        for i in range(2)
    ]
    state, change = fold(
        None, payload({"alertname": "Disk"}, alerts, annotations={"summary": "disk full"}), "1-0", T0
    )
    lines = views.change_lines(state, change, with_title=False)
    assert lines[1].startswith("• `instance=h0` · since ")  # no name, the shared summary is on the root
    assert views.headline(state) == "[FIRING:2] Disk"


def test_late_firing_retry_never_resurrects_a_resolved_alert() -> None:
    s1, _ = fold(None, payload(SERVICE, [crash(), replicas()]), "1-0", T0)
    s2, c2 = fold(
        s1, payload(SERVICE, [crash("resolved"), replicas("resolved")]), "2-0", T0 + timedelta(minutes=6)
    )
    assert s2.status == "resolved" and c2.group_resolved
    # Alertmanager retries the first (firing) notification after the resolution went through
    s3, c3 = fold(s2, payload(SERVICE, [crash(), replicas()]), "3-0", T0 + timedelta(minutes=7))
    assert not c3 and s3.status == "resolved" and s3.episode == 1


def test_late_snapshot_does_not_resolve_an_alert_that_started_after_it() -> None:
    s1, _ = fold(None, payload(SERVICE, [crash()]), "1-0", T0)
    s2, c2 = fold(
        s1,
        payload(SERVICE, [crash(), replicas(starts=T0 + timedelta(minutes=2))]),
        "2-0",
        T0 + timedelta(minutes=3),
    )
    assert len(c2.newly_firing) == 1
    # the first notification again, late: it predates the replicas alert, which keeps firing
    s3, c3 = fold(s2, payload(SERVICE, [crash()]), "3-0", T0 + timedelta(minutes=4))
    assert not c3 and s3.firing == 2


def test_out_of_order_copies_never_move_times_backwards() -> None:
    first, second = T0, T0 + timedelta(hours=1)
    s1, _ = fold(None, payload(SERVICE, [crash(starts=first)]), "1-0", T0)
    s2, _ = fold(
        s1, payload(SERVICE, [crash("resolved", starts=first, ends=first + timedelta(minutes=5))]), "2-0", T0
    )
    # a new occurrence: a new episode whose times are its own
    s3, c3 = fold(s2, payload(SERVICE, [crash(starts=second)]), "3-0", second)
    assert c3.new_episode and s3.firing_since == second
    # a late resolved copy of the first occurrence: ignored (the second still fires, since `second`)
    s4, c4 = fold(
        s3,
        payload(SERVICE, [crash("resolved", starts=first, ends=first + timedelta(minutes=5))]),
        "4-0",
        second,
    )
    assert not c4 and s4.firing == 1 and s4.firing_since == second
    # a late firing copy of the first occurrence: the start stays where it is
    s5, c5 = fold(s4, payload(SERVICE, [crash(starts=first)]), "5-0", second)
    assert not c5 and s5.firing_since == second


def test_inferred_resolution_takes_the_alerts_own_end_when_it_arrives() -> None:
    s1, _ = fold(None, payload(SERVICE, [crash(), replicas()]), "1-0", T0)
    later = T0 + timedelta(hours=3)
    s2, c2 = fold(s1, payload(SERVICE, [replicas()]), "2-0", later)  # crash vanished: inferred resolved
    fp = c2.resolved[0]
    assert s2.alerts[fp].ends_inferred and s2.alerts[fp].ends_at == later
    own = T0 + timedelta(minutes=20)
    s3, c3 = fold(s2, payload(SERVICE, [crash("resolved", ends=own), replicas()]), "3-0", later)
    assert not c3 and s3.alerts[fp].ends_at == own and not s3.alerts[fp].ends_inferred


def test_slack_date_tokens_for_the_viewers_zone() -> None:
    state, _ = fold(None, payload(SERVICE, [crash(starts=datetime(2026, 1, 2, 3, 4, tzinfo=UTC))]), "1-0", T0)
    root = text_of(views.group_blocks(state, AlertsPolicy()))
    token = re.search(r"<!date\^(\d+)\^[^|]+\|([^>]+)>", root)
    assert token and int(token.group(1)) == int(datetime(2026, 1, 2, 3, 4, tzinfo=UTC).timestamp())
    assert token.group(2) == "2026-01-02 03:04 UTC"
