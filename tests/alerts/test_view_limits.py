"""Property tests: alert views stay within Slack's Block Kit limits and never let label or annotation text
form a mention, broadcast or link, whatever the group holds (1,000 alerts, 5 KB annotations of `& < >`,
200-character label values)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.alerts import views
from bot.alerts.diff import Change
from bot.alerts.state import AlertState, GroupState
from bot.config.alerts import AlertsPolicy

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
NASTY = st.text(alphabet="&<>`*_~|!@#:abc \n", min_size=0, max_size=40)
# Our own tokens: date tokens, user mentions of acknowledgers, the Alertmanager link.
OWN_TOKENS = re.compile(r"<!date\^\d+\^[^|>]*\|[^>]*>|<@U[A-Z0-9]+>|<https?://[^|>]*\|Alertmanager>")


def make_state(
    n: int, *, summary: str, label_value: str, names: int, resolved_every: int, group_value: str
) -> GroupState:
    alerts: dict[str, AlertState] = {}
    for i in range(n):
        status = "resolved" if resolved_every and i % resolved_every == 0 else "firing"
        fp = f"{i:016x}"
        alerts[fp] = AlertState(
            fingerprint=fp,
            status=status,
            labels={
                "alertname": f"Alert{i % names}<!channel>" + "&" * 20,
                "service": group_value,
                "instance": f"{label_value}-{i}",
                "pod": label_value,
            },
            annotations={"summary": summary, "description": summary, "runbook_url": summary[:300]},
            starts_at=T0 + timedelta(seconds=i),
            ends_at=T0 + timedelta(hours=1) if status == "resolved" else None,
            first_seen=T0,
            last_change=T0,
        )
    return GroupState(
        gid="g" * 20,
        group_key="{}:{service=x}",
        channel="#alerts",
        status="firing" if any(a.status == "firing" for a in alerts.values()) else "resolved",
        group_labels={"service": group_value},
        common_labels={"service": group_value},
        alerts=alerts,
        first_seen=T0,
        resolved_at=None if any(a.status == "firing" for a in alerts.values()) else T0,
        acked_by="U123ABC",
        acked_at=T0,
        external_url="http://am.local/<script>",
    )


def check_limits(blocks: list[Block]) -> None:
    raw = [b.to_dict() for b in blocks]
    assert len(raw) <= 50
    assert views.block_text_size(blocks) < 12_000
    for block in raw:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        text = block.get("text")
        if isinstance(text, dict):
            assert len(text["text"]) <= 3000
            if text["type"] == "mrkdwn":  # plain text (headers) is never parsed for mentions
                assert_safe(text["text"])
        fields = block.get("fields") or []
        assert len(fields) <= 10
        for f in fields:
            assert len(f["text"]) <= 2000
            assert_safe(f["text"])
        for el in block.get("elements") or []:
            if el.get("type") == "mrkdwn":
                assert len(el["text"]) <= 3000
                assert_safe(el["text"])
            if el.get("type") == "button":
                assert len(el["text"]["text"]) <= 75 and len(el.get("value") or "") <= 2000
                assert len(el.get("url") or "") <= 3000


def assert_safe(mrkdwn: str) -> None:
    """No `<` or `>` of the input survives: only our own tokens use them; no entity is cut in half."""
    rest = OWN_TOKENS.sub("", mrkdwn)
    assert "<" not in rest and ">" not in rest, rest[:200]
    assert not re.search(r"&(?!amp;|lt;|gt;)", rest), rest[:200]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.sampled_from([1, 2, 11, 300, 1000]),
    summary=st.sampled_from(["", "& < >" * 1024, "x" * 5000]) | NASTY,
    label_value=st.sampled_from(["<@U1>" * 40, "&" * 200, "a" * 200]) | NASTY,
    names=st.integers(min_value=1, max_value=30),
    resolved_every=st.sampled_from([0, 1, 2, 7]),
    group_value=st.sampled_from(["<!here>" * 30, "svc"]),
)
def test_root_and_replies_fit_slack_for_any_group(
    n: int, summary: str, label_value: str, names: int, resolved_every: int, group_value: str
) -> None:
    state = make_state(
        n,
        summary=summary,
        label_value=label_value,
        names=names,
        resolved_every=resolved_every,
        group_value=group_value,
    )
    policy = AlertsPolicy(root_alert_lines=40, runbooks={"Alert0": "x" * 5000})
    blocks = views.group_blocks(state, policy)
    check_limits(blocks)
    assert len(views.group_text(state)) <= 3000
    assert_safe(views.group_text(state))
    # the root lists alerts up to its budget, then says how many more
    listed = [ln for b in blocks for ln in (b.to_dict().get("text") or {}).get("text", "").split("\n")]
    alert_lines = [ln for ln in listed if ln.startswith((":red_circle:", ":large_green_circle:"))]
    if n > len(alert_lines):
        assert any(f"…and {n - len(alert_lines)} more" in ln for ln in listed)

    fps = list(state.alerts)
    change = Change(
        newly_firing=[f for f in fps if state.alerts[f].status == "firing"],
        resolved=[f for f in fps if state.alerts[f].status == "resolved"],
        group_resolved=state.status == "resolved",
    )
    for with_title in (False, True):
        for reply in views.change_replies(state, change, with_title=with_title):
            assert sum(len(line) + 1 for line in reply) < 12_000
            for line in reply:
                assert len(line) <= 3000
                assert_safe(line)


@settings(max_examples=10, deadline=None)
@given(value=NASTY | st.just("&" * 200), count=st.sampled_from([1, 50, 600]))
def test_storm_summary_fits_slack(value: str, count: int) -> None:
    groups = [
        make_state(3, summary="s", label_value=value, names=2, resolved_every=2, group_value=f"{value}{g}")
        for g in range(count)
    ]
    blocks = views.storm_blocks(groups)
    raw = [b.to_dict() for b in blocks]
    assert len(raw) <= 50
    for block in raw:
        text = block.get("text")
        if isinstance(text, dict):
            assert len(text["text"]) <= 3000
            assert_safe(text["text"])


def test_clip_escaped_never_cuts_an_entity() -> None:
    for limit in range(1, 30):
        out = views.clip_escaped("a&<>" * 10, limit)
        assert len(out) <= limit
        assert not re.search(r"&(?!amp;|lt;|gt;)", out.rstrip("…"))
