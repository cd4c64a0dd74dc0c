from __future__ import annotations

import httpx
import pytest

from integrations.failures import FailureKind
from integrations.pagerduty import PagerDutyClient, pagerduty_severity
from integrations.paging import PageRequest
from integrations.vendor_http import Delivered, Failed, RetryPolicy
from tests.pagers.vendor_server import Scripted, SleepRecorder, VendorServer


def client(
    vendor: VendorServer, policy: RetryPolicy, sleeps: SleepRecorder, key: str | None = None
) -> PagerDutyClient:
    return PagerDutyClient(key or vendor.routing_key, base_url=vendor.base_url, policy=policy, sleep=sleeps)


def page(incident_id: str = "INC-7", severity: str = "critical") -> PageRequest:
    return PageRequest(
        incident_id=incident_id,
        summary="API gateway down",
        severity=severity,
        service="api-gateway",
        group="edge",
        event_class="availability",
        details={"commander": "U123"},
        links=(("https://slack.example/archives/C1", "War room"),),
    )


async def test_trigger_acknowledge_resolve_use_incident_id_as_dedup_key(vendor, fast_policy, sleeps) -> None:
    pd = client(vendor, fast_policy, sleeps)
    try:
        first = await pd.trigger(page())
        ack = await pd.acknowledge("INC-7")
        done = await pd.resolve("INC-7")
    finally:
        await pd.aclose()
    assert isinstance(first, Delivered) and first.status_code == 202 and first.attempts == 1
    assert first.data["dedup_key"] == "INC-7"
    assert ack.ok and done.ok
    bodies = [r.body for r in vendor.of("pagerduty")]
    assert [b["event_action"] for b in bodies] == ["trigger", "acknowledge", "resolve"]
    assert {b["dedup_key"] for b in bodies} == {"INC-7"}
    payload = bodies[0]["payload"]
    assert payload["summary"] == "API gateway down"
    assert payload["severity"] == "critical"
    assert payload["component"] == "api-gateway"
    assert payload["group"] == "edge"
    assert payload["class"] == "availability"
    assert payload["custom_details"] == {"incident_id": "INC-7", "commander": "U123"}
    assert bodies[0]["links"] == [{"href": "https://slack.example/archives/C1", "text": "War room"}]
    assert vendor.pd_alerts["INC-7"].status == "resolved"
    assert vendor.pd_alerts["INC-7"].events == ["trigger", "acknowledge", "resolve"]
    assert sleeps.waits == []


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("critical", "critical"),
        ("P1", "critical"),
        ("high", "error"),
        ("medium", "warning"),
        ("low", "info"),
        ("whatever", "info"),
        ("warning", "warning"),
    ],
)
def test_severity_mapping(ours: str, theirs: str) -> None:
    assert pagerduty_severity(ours) == theirs


async def test_server_rejects_a_malformed_event(vendor) -> None:
    # the checker is not vacuous: a trigger without payload.summary and with a bad severity is refused
    async with httpx.AsyncClient() as http:
        resp = await http.post(
            vendor.base_url + "/v2/enqueue",
            json={
                "routing_key": vendor.routing_key,
                "event_action": "trigger",
                "payload": {"severity": "sev1"},
            },
        )
    assert resp.status_code == 400
    errors = resp.json()["errors"]
    assert any("summary" in e for e in errors) and any("severity" in e for e in errors)


async def test_wrong_routing_key_is_a_typed_rejection_without_retry(vendor, fast_policy, sleeps) -> None:
    pd = client(vendor, fast_policy, sleeps, key="not-the-key")
    try:
        result = await pd.trigger(page())
    finally:
        await pd.aclose()
    assert isinstance(result, Failed)
    assert result.kind is FailureKind.REJECTED and result.status_code == 400 and result.attempts == 1
    assert "routing_key" in result.detail
    assert len(vendor.of("pagerduty")) == 1


async def test_5xx_is_retried_until_success(vendor, fast_policy, sleeps) -> None:
    vendor.answer_next(Scripted(status=500), Scripted(status=502))
    pd = client(vendor, fast_policy, sleeps)
    try:
        result = await pd.trigger(page())
    finally:
        await pd.aclose()
    assert isinstance(result, Delivered) and result.attempts == 3
    assert [r.answered for r in vendor.of("pagerduty")] == [500, 502, 202]
    assert sleeps.waits == [0.01, 0.02]  # exponential backoff between the attempts


async def test_persistent_5xx_gives_up_with_typed_failure(vendor, fast_policy, sleeps) -> None:
    vendor.answer_next(*[Scripted(status=503)] * 5)
    pd = client(vendor, fast_policy, sleeps)
    try:
        result = await pd.acknowledge("INC-9")
    finally:
        await pd.aclose()
    assert isinstance(result, Failed)
    assert result.kind is FailureKind.UNAVAILABLE and result.status_code == 503 and result.attempts == 3
    assert len(vendor.of("pagerduty")) == 3
    assert "pagerduty acknowledge failed" in result.reason


async def test_429_honours_retry_after(vendor, fast_policy, sleeps) -> None:
    vendor.answer_next(Scripted(status=429, headers={"Retry-After": "2"}, body={"status": "throttled"}))
    pd = client(vendor, fast_policy, sleeps)
    try:
        result = await pd.trigger(page())
    finally:
        await pd.aclose()
    assert result.ok and result.attempts == 2
    assert sleeps.waits == [2.0]


async def test_retry_after_is_capped(vendor, sleeps) -> None:
    policy = RetryPolicy(attempts=2, timeout=0.5, backoff_initial=0.01, retry_after_max=3)
    vendor.answer_next(Scripted(status=429, headers={"Retry-After": "3600"}))
    pd = client(vendor, policy, sleeps)
    try:
        result = await pd.trigger(page())
    finally:
        await pd.aclose()
    assert result.ok
    assert sleeps.waits == [3]


async def test_hang_past_timeout_is_retried_then_reported(vendor, sleeps) -> None:
    policy = RetryPolicy(attempts=2, timeout=0.2, backoff_initial=0.01)
    vendor.answer_next(Scripted(hang=1.0), Scripted(hang=1.0))
    pd = client(vendor, policy, sleeps)
    try:
        result = await pd.trigger(page())
    finally:
        await pd.aclose()
    assert isinstance(result, Failed)
    assert result.kind is FailureKind.TIMEOUT and result.attempts == 2 and result.status_code is None


async def test_one_timeout_then_success(vendor, sleeps) -> None:
    policy = RetryPolicy(attempts=3, timeout=0.2, backoff_initial=0.01)
    vendor.answer_next(Scripted(hang=1.0))
    pd = client(vendor, policy, sleeps)
    try:
        result = await pd.resolve("INC-3")
    finally:
        await pd.aclose()
    assert isinstance(result, Delivered) and result.attempts == 2


async def test_connection_refused_is_a_connection_failure(vendor, fast_policy, sleeps) -> None:
    base = vendor.base_url
    await vendor.stop()
    pd = PagerDutyClient(vendor.routing_key, base_url=base, policy=fast_policy, sleep=sleeps)
    try:
        result = await pd.trigger(page())
    finally:
        await pd.aclose()
    assert isinstance(result, Failed) and result.kind is FailureKind.UNREACHABLE and result.attempts == 3


async def test_missing_key_is_not_configured(fast_policy) -> None:
    pd = PagerDutyClient("", base_url="http://127.0.0.1:9", policy=fast_policy)
    try:
        result = await pd.trigger(page())
    finally:
        await pd.aclose()
    assert isinstance(result, Failed) and result.kind is FailureKind.CONFIG and result.attempts == 0
    assert "PAGERDUTY_ROUTING_KEY is not set" in result.detail


def test_url_default_and_override_and_the_key_stays_hidden() -> None:
    pd = PagerDutyClient("secret-key", base_url="http://127.0.0.1:1/")
    assert pd.url == "http://127.0.0.1:1/v2/enqueue"
    assert "secret-key" not in repr(pd)
    default = PagerDutyClient("k", base_url=None)
    assert default.url == "https://events.pagerduty.com/v2/enqueue"
