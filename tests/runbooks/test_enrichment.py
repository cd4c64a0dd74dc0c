"""Alert enrichment (diagnostics of the mapped runbook in an alert group's thread) and the triage
snapshot for /incident create, against the sandbox, the Kubernetes emulator and a real Prometheus."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.runbooks.enrichment import enrich_alert_thread, triage_snapshot
from tests.harness.kubernetes import KubeEmulator, pod
from tests.harness.prometheus import MetricsEndpoint, PrometheusServer
from tests.incidents.story import texts

REPO_RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"


@pytest.fixture
def bot_policy(kube: KubeEmulator, shared_prometheus: PrometheusServer) -> str:
    return yaml.safe_dump(
        {
            "runbooks": {
                "paths": [str(REPO_RUNBOOKS)],
                "alerts": {"CheckoutPodsFlapping": "pod-crash-loop"},
                "auto_diagnostics": True,
                "graph_range": "5m",
                "triage": {
                    "enabled": True,
                    "namespace": "shop",
                    "queries": [
                        {
                            "name": "error rate",
                            "query": 'triage_error_ratio{service="{{ service }}"}',
                            "unit": "ratio",
                            "warn": 0.01,
                            "critical": 0.05,
                        },
                        {"name": "p95 latency", "query": "sum(triage_p95_seconds", "unit": "seconds"},
                    ],
                },
            },
            "kubernetes": {
                "clusters": [{"name": "test", "kubeconfig": str(kube.kubeconfig), "context": "test"}]
            },
            "prometheus": {"url": shared_prometheus.url, "timeout": "5s"},
        }
    )


async def test_new_alert_group_gets_the_mapped_runbooks_diagnostics(
    sandbox: Any, bot: Any, kube: KubeEmulator
) -> None:
    kube.put(
        "v1/pods",
        pod("checkout-1", "shop", labels={"app": "checkout"}, ready=False, waiting="CrashLoopBackOff"),
    )
    kube.serve_logs("shop", "checkout-1", "FATAL config missing\n")
    parent = await bot.ctx.gateway.call(
        "chat.postMessage", channel="#alerts", text="CheckoutPodsFlapping firing"
    )
    channel, ts = parent["channel"], parent["ts"]

    run = await enrich_alert_thread(
        bot.ctx,
        alertname="CheckoutPodsFlapping",
        labels={
            "alertname": "CheckoutPodsFlapping",
            "namespace": "shop",
            "app": "checkout",
            "pod": "checkout-1",
        },
        channel=channel,
        thread_ts=ts,
    )

    assert run is not None and run.runbook.name == "pod-crash-loop"
    thread = sandbox.replies("#alerts", ts)[1:]
    assert "Runbook *Pod crash loop*" in texts(thread[0])
    results = texts(thread[1])
    assert "CrashLoopBackOff" in results and "FATAL config missing" in results
    assert (
        await enrich_alert_thread(
            bot.ctx, alertname="NoRunbookForThis", labels={}, channel=channel, thread_ts=ts
        )
        is None
    )


async def test_triage_snapshot_suggests_a_severity(
    bot: Any,
    kube: KubeEmulator,
    shared_metrics_endpoint: MetricsEndpoint,
    shared_prometheus: PrometheusServer,
) -> None:
    kube.put(
        "v1/pods",
        pod("payments-1", "shop", labels={"app": "payments"}, ready=False, waiting="ImagePullBackOff"),
    )
    kube.put("v1/pods", pod("payments-2", "shop", labels={"app": "payments"}))
    shared_metrics_endpoint.set('triage_error_ratio{service="payments"} 0.08')
    await shared_prometheus.async_wait_for_query("triage_error_ratio")

    snapshot = await triage_snapshot(bot.ctx, "payments")

    assert snapshot is not None
    assert "*Pods:* 1 of 2 not ready (ImagePullBackOff)" in snapshot.lines
    assert "*error rate:* 8%" in snapshot.lines
    assert snapshot.suggested_severity == "critical"
    assert "error rate 8% ≥ 5%" in snapshot.reasons
    assert len(snapshot.failures) == 1 and snapshot.failures[0].startswith("p95 latency: bad PromQL")


def test_triage_and_auto_diagnostics_are_off_in_the_builtin_policy() -> None:
    from bot.config.policy import parse_policy

    policy = parse_policy("{}")
    assert policy.runbooks.triage.enabled is False and policy.runbooks.auto_diagnostics is False
    assert policy.kubernetes.remediation.enabled is False


async def test_alertmanager_notification_gets_diagnostics_in_its_thread(
    sandbox: Any, bot: Any, kube: KubeEmulator
) -> None:
    import aiohttp

    from tests.alerts.payloads import alert, payload
    from tests.conftest import eventually

    kube.put(
        "v1/pods",
        pod("checkout-1", "shop", labels={"app": "checkout"}, ready=False, waiting="CrashLoopBackOff"),
    )
    kube.serve_logs("shop", "checkout-1", "FATAL config missing\n")
    labels = {
        "alertname": "CheckoutPodsFlapping",
        "namespace": "shop",
        "app": "checkout",
        "pod": "checkout-1",
    }
    body = payload({"alertname": "CheckoutPodsFlapping"}, [alert(labels)])
    async with aiohttp.ClientSession() as s, s.post(bot.url + "/alerts/alertmanager", json=body) as resp:
        assert resp.status == 200

    async def diagnosed() -> list[dict[str, Any]] | None:
        roots = [m for m in sandbox.messages("#alerts") if "CheckoutPodsFlapping" in texts(m)]
        if not roots:
            return None
        thread = sandbox.replies("#alerts", roots[0]["ts"])[1:]
        return thread if any("CrashLoopBackOff" in texts(m) for m in thread) else None

    thread = await eventually(diagnosed, timeout=30)
    assert any("Runbook *Pod crash loop*" in texts(m) for m in thread)


async def test_incident_without_severity_takes_triages_suggestion(
    sandbox: Any,
    bot: Any,
    kube: KubeEmulator,
    shared_metrics_endpoint: MetricsEndpoint,
    shared_prometheus: PrometheusServer,
) -> None:
    from tests.incidents.story import Engineer, message_with

    kube.put(
        "v1/pods",
        pod("payments-1", "shop", labels={"app": "payments"}, ready=False, waiting="ImagePullBackOff"),
    )
    shared_metrics_endpoint.set('triage_error_ratio{service="payments"} 0.08')
    await shared_prometheus.async_wait_for_query("triage_error_ratio")
    alice = Engineer(sandbox, "alice")

    await alice.types("#incidents", '/incident create "Card payments failing" service=payments')

    announcement = await message_with(sandbox, "#incidents", "INC-1: Card payments failing")
    assert "Critical" in texts(announcement)
    triage = await message_with(sandbox, "inc-1-card-payments-failing", "Triage of")
    assert "suggested by triage" in texts(triage) and "error rate 8%" in texts(triage)
    assert "ImagePullBackOff" in texts(triage)
