from __future__ import annotations

import pytest

from integrations.failures import FailureKind
from integrations.opsgenie import OpsgenieClient, opsgenie_priority, opsgenie_responders
from integrations.paging import PageRequest
from integrations.vendor_http import Delivered, Failed, RetryPolicy
from tests.pagers.vendor_server import Scripted, SleepRecorder, VendorServer


def client(
    vendor: VendorServer, policy: RetryPolicy, sleeps: SleepRecorder, key: str | None = None
) -> OpsgenieClient:
    return OpsgenieClient(key or vendor.genie_key, base_url=vendor.base_url, policy=policy, sleep=sleeps)


def page(**over: object) -> PageRequest:
    fields: dict[str, object] = {
        "incident_id": "INC-12",
        "summary": "Checkout errors above 5%",
        "severity": "high",
        "service": "checkout",
        "details": {"commander": "U42", "war_room": "#inc-12-checkout"},
        "responders": ("team:payments", "user:alice@example.com"),
        "tags": ("incident", "high"),
    }
    fields.update(over)
    return PageRequest(**fields)  # type: ignore[arg-type]


async def test_create_acknowledge_close_by_alias(vendor, fast_policy, sleeps) -> None:
    og = client(vendor, fast_policy, sleeps)
    try:
        created = await og.trigger(page())
        acked = await og.acknowledge("INC-12", by="alice@example.com")
        closed = await og.resolve("INC-12", note="fixed")
    finally:
        await og.aclose()
    assert isinstance(created, Delivered) and created.status_code == 202
    assert created.data["requestId"]  # async semantics: a request id to look up later
    assert acked.ok and closed.ok
    reqs = vendor.of("opsgenie")
    assert all(r.headers["Authorization"] == f"GenieKey {vendor.genie_key}" for r in reqs)
    assert [r.path for r in reqs] == [
        "/v2/alerts",
        "/v2/alerts/INC-12/acknowledge",
        "/v2/alerts/INC-12/close",
    ]
    assert reqs[1].query == {"identifierType": "alias"} and reqs[2].query == {"identifierType": "alias"}
    body = reqs[0].body
    assert body["alias"] == "INC-12"
    assert body["message"] == "[INC-12] Checkout errors above 5%"
    assert body["priority"] == "P2"
    assert body["responders"] == [
        {"type": "team", "name": "payments"},
        {"type": "user", "username": "alice@example.com"},
    ]
    assert body["tags"] == ["incident", "high"]
    assert body["entity"] == "checkout"
    assert "commander: U42" in body["description"]
    assert reqs[1].body["user"] == "alice@example.com"
    assert reqs[2].body["note"] == "fixed"
    alert = vendor.og_alerts["INC-12"]
    assert alert.acknowledged and alert.status == "closed"


async def test_long_summary_is_cut_to_130_characters(vendor, fast_policy, sleeps) -> None:
    og = client(vendor, fast_policy, sleeps)
    try:
        result = await og.trigger(page(summary="x" * 400))
    finally:
        await og.aclose()
    assert result.ok
    assert len(vendor.of("opsgenie")[0].body["message"]) == 130


async def test_bad_key_is_rejected_once(vendor, fast_policy, sleeps) -> None:
    og = client(vendor, fast_policy, sleeps, key="wrong")
    try:
        result = await og.trigger(page())
    finally:
        await og.aclose()
    assert isinstance(result, Failed)
    assert result.kind is FailureKind.REJECTED and result.status_code == 401 and result.attempts == 1
    assert "authenticate" in result.detail
    assert len(vendor.of("opsgenie")) == 1


async def test_422_validation_error_is_not_retried(vendor, fast_policy, sleeps) -> None:
    vendor.answer_next(Scripted(status=422, body={"message": "Request body is not processable", "took": 0.0}))
    og = client(vendor, fast_policy, sleeps)
    try:
        result = await og.trigger(page())
    finally:
        await og.aclose()
    assert isinstance(result, Failed) and result.status_code == 422 and result.attempts == 1
    assert "not processable" in result.detail


async def test_429_and_5xx_are_retried(vendor, fast_policy, sleeps) -> None:
    vendor.answer_next(Scripted(status=429, headers={"Retry-After": "1"}), Scripted(status=500))
    og = client(vendor, fast_policy, sleeps)
    try:
        result = await og.acknowledge("INC-12")
    finally:
        await og.aclose()
    assert isinstance(result, Delivered) and result.attempts == 3
    assert sleeps.waits == [1.0, 0.02]


async def test_timeouts_exhaust_into_typed_failure(vendor, sleeps) -> None:
    policy = RetryPolicy(attempts=2, timeout=0.2, backoff_initial=0.01)
    vendor.answer_next(Scripted(hang=1.0), Scripted(hang=1.0))
    og = client(vendor, policy, sleeps)
    try:
        result = await og.resolve("INC-12")
    finally:
        await og.aclose()
    assert isinstance(result, Failed) and result.kind is FailureKind.TIMEOUT and result.attempts == 2


async def test_bad_responder_never_reaches_the_network(vendor, fast_policy, sleeps) -> None:
    og = client(vendor, fast_policy, sleeps)
    try:
        result = await og.trigger(page(responders=("robot:r2d2",)))
    finally:
        await og.aclose()
    assert (
        isinstance(result, Failed) and result.kind is FailureKind.REJECTED and "robot:r2d2" in result.detail
    )
    assert vendor.of("opsgenie") == []


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [("critical", "P1"), ("high", "P2"), ("medium", "P3"), ("low", "P4"), ("p2", "P2"), ("x", "P5")],
)
def test_priority_mapping(ours: str, theirs: str) -> None:
    assert opsgenie_priority(ours) == theirs


def test_responder_parsing() -> None:
    assert opsgenie_responders(["sre", "schedule:primary", "escalation:ops"]) == [
        {"type": "team", "name": "sre"},
        {"type": "schedule", "name": "primary"},
        {"type": "escalation", "name": "ops"},
    ]
    with pytest.raises(ValueError, match="team:NAME"):
        opsgenie_responders(["user:"])


def test_base_url_and_the_key_stays_hidden() -> None:
    og = OpsgenieClient("genie-secret", base_url="https://api.eu.opsgenie.com/")
    assert og.base_url == "https://api.eu.opsgenie.com"
    assert "genie-secret" not in repr(og)
    assert OpsgenieClient("k").base_url == "https://api.opsgenie.com"
