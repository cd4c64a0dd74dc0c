from __future__ import annotations

import pytest

from integrations.failures import FailureKind
from integrations.statuspage import StatuspageClient, component_status, impact_for, statuspage_status
from integrations.vendor_http import Delivered, Failed, RetryPolicy
from tests.pagers.vendor_server import Scripted, SleepRecorder, VendorServer


def client(vendor: VendorServer, policy: RetryPolicy, sleeps: SleepRecorder, **kw: str) -> StatuspageClient:
    return StatuspageClient(
        kw.get("key", vendor.statuspage_key),
        kw.get("page", vendor.page_id),
        base_url=vendor.base_url,
        policy=policy,
        sleep=sleeps,
    )


async def test_create_then_update_then_resolve(vendor, fast_policy, sleeps) -> None:
    sp = client(vendor, fast_policy, sleeps)
    try:
        created = await sp.create_incident(
            name="API gateway down",
            status="investigating",
            body="We are looking into it.",
            severity="critical",
            component_ids=["cmp1", "cmp2"],
        )
        assert isinstance(created, Delivered) and created.status_code == 201
        sp_id = created.data["id"]
        updated = await sp.update_incident(
            sp_id, status="identified", body="Bad deploy.", severity="critical", component_ids=["cmp1"]
        )
        resolved = await sp.update_incident(
            sp_id, status="resolved", body="Rolled back.", component_ids=["cmp1", "cmp2"]
        )
    finally:
        await sp.aclose()
    assert updated.ok and resolved.ok
    reqs = vendor.of("statuspage")
    assert [(r.method, r.path) for r in reqs] == [
        ("POST", "/v1/pages/page123/incidents"),
        ("PATCH", f"/v1/pages/page123/incidents/{sp_id}"),
        ("PATCH", f"/v1/pages/page123/incidents/{sp_id}"),
    ]
    assert all(r.headers["Authorization"] == f"OAuth {vendor.statuspage_key}" for r in reqs)
    first = reqs[0].body["incident"]
    assert first["name"] == "API gateway down" and first["status"] == "investigating"
    assert first["component_ids"] == ["cmp1", "cmp2"]
    assert first["components"] == {"cmp1": "major_outage", "cmp2": "major_outage"}
    assert first["impact_override"] == "critical"
    assert "name" not in reqs[1].body["incident"]
    inc = vendor.sp_incidents[sp_id]
    assert inc.status == "resolved"
    assert inc.components == {"cmp1": "operational", "cmp2": "operational"}
    assert [u["status"] for u in inc.updates] == ["investigating", "identified", "resolved"]


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("investigating", "investigating"),
        ("identified", "identified"),
        ("monitoring", "monitoring"),
        ("resolved", "resolved"),
        ("open", "investigating"),
        ("Monitoring", "monitoring"),
    ],
)
def test_status_mapping(ours: str, theirs: str) -> None:
    assert statuspage_status(ours) == theirs


def test_component_and_impact_mapping() -> None:
    assert component_status("high", "identified") == "partial_outage"
    assert component_status("medium", "monitoring") == "degraded_performance"
    assert component_status("critical", "resolved") == "operational"
    assert (
        impact_for("critical") == "critical"
        and impact_for("high") == "major"
        and impact_for("zzz") == "minor"
    )


async def test_update_of_unknown_incident_is_404_not_retried(vendor, fast_policy, sleeps) -> None:
    sp = client(vendor, fast_policy, sleeps)
    try:
        result = await sp.update_incident("nope", status="monitoring", body="x")
    finally:
        await sp.aclose()
    assert isinstance(result, Failed) and result.status_code == 404 and result.attempts == 1
    assert "not found" in result.detail.lower()


async def test_wrong_page_and_wrong_key(vendor, fast_policy, sleeps) -> None:
    wrong_page = client(vendor, fast_policy, sleeps, page="other")
    wrong_key = client(vendor, fast_policy, sleeps, key="bad")
    try:
        r1 = await wrong_page.create_incident(name="x", status="investigating", body="b", severity="low")
        r2 = await wrong_key.create_incident(name="x", status="investigating", body="b", severity="low")
    finally:
        await wrong_page.aclose()
        await wrong_key.aclose()
    assert isinstance(r1, Failed) and r1.status_code == 404
    assert isinstance(r2, Failed) and r2.status_code == 401 and r2.kind is FailureKind.REJECTED


async def test_rate_limit_420_and_429_are_retried(vendor, fast_policy, sleeps) -> None:
    vendor.answer_next(
        Scripted(status=420, body={"error": "rate limited"}),
        Scripted(status=429, headers={"Retry-After": "1"}),
    )
    sp = client(vendor, fast_policy, sleeps)
    try:
        result = await sp.create_incident(name="n", status="investigating", body="b", severity="high")
    finally:
        await sp.aclose()
    assert isinstance(result, Delivered) and result.attempts == 3
    assert sleeps.waits == [0.01, 1.0]


async def test_persistent_500_and_timeouts(vendor, sleeps) -> None:
    policy = RetryPolicy(attempts=2, timeout=0.2, backoff_initial=0.01)
    vendor.answer_next(Scripted(status=500), Scripted(hang=1.0))
    sp = client(vendor, policy, sleeps)
    try:
        result = await sp.create_incident(name="n", status="investigating", body="b", severity="high")
    finally:
        await sp.aclose()
    assert isinstance(result, Failed) and result.kind is FailureKind.TIMEOUT and result.attempts == 2


async def test_answer_without_id_is_bad_response(vendor, fast_policy, sleeps) -> None:
    vendor.answer_next(Scripted(status=201, body={"name": "no id"}))
    sp = client(vendor, fast_policy, sleeps)
    try:
        result = await sp.create_incident(name="n", status="investigating", body="b", severity="high")
    finally:
        await sp.aclose()
    assert isinstance(result, Failed) and result.kind is FailureKind.BAD_RESPONSE


async def test_missing_page_id_is_not_configured(fast_policy) -> None:
    sp = StatuspageClient("k", "", base_url="http://127.0.0.1:9", policy=fast_policy)
    try:
        result = await sp.create_incident(name="x", status="investigating", body="b", severity="high")
    finally:
        await sp.aclose()
    assert isinstance(result, Failed) and result.kind is FailureKind.CONFIG and result.attempts == 0
    assert "STATUSPAGE_PAGE_ID" in result.detail
    default = StatuspageClient("secret-sp-key", "p")
    assert default.page_id == "p" and default.base_url == "https://api.statuspage.io"
    assert "secret-sp-key" not in repr(default)
