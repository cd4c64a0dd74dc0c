"""/runbook as an engineer uses it in the sandbox workspace: list, show, long runbooks in a thread,
Run diagnostics (a message updated in place, then results and a graph in the thread), a war room
post, and remediation buttons that only the people the policy names may use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import eventually
from tests.harness.kubernetes import KubeEmulator, deployment, event, pod, replicaset
from tests.harness.prometheus import MetricsEndpoint, PrometheusServer
from tests.incidents.story import Engineer, buttons, channel_named, message_with, texts

REPO_RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"


def long_runbook() -> str:
    steps = "\n".join(
        f"## Step {i}\n\n{'Check the service carefully and note what you saw. ' * 40}\n" for i in range(60)
    )
    return f"# Very long procedure\n\n{steps}\n## Last step\n\nDone.\n"


@pytest.fixture
def bot_policy(kube: KubeEmulator, shared_prometheus: PrometheusServer, tmp_path: Path) -> str:
    extra = tmp_path / "more-runbooks"
    extra.mkdir()
    (extra / "very-long-procedure.md").write_text(long_runbook())
    policy = {
        "runbooks": {"paths": [str(REPO_RUNBOOKS), str(extra)], "graph_range": "5m", "check_timeout": "15s"},
        "kubernetes": {
            "clusters": [{"name": "test", "kubeconfig": str(kube.kubeconfig), "context": "test"}],
            "remediation": {"enabled": True, "actions": ["rollout_restart", "scale", "rollout_undo"]},
        },
        "prometheus": {"url": shared_prometheus.url, "timeout": "5s"},
        "permissions": {"remediate": ["@sre-oncall"]},
    }
    return yaml.safe_dump(policy)


async def seed(kube: KubeEmulator, metrics: MetricsEndpoint, prometheus: PrometheusServer) -> None:
    kube.put("v1/pods", pod("checkout-1", "shop", labels={"app": "checkout"}))
    kube.put(
        "v1/pods",
        pod(
            "checkout-2",
            "shop",
            labels={"app": "checkout"},
            ready=False,
            restarts=9,
            waiting="CrashLoopBackOff",
            last_terminated="OOMKilled",
            exit_code=137,
        ),
    )
    kube.put(
        "v1/events", event("ev1", "shop", obj="checkout-2", reason="BackOff", message="Back-off restarting")
    )
    kube.serve_logs("shop", "checkout-2", "ERROR cannot allocate 524288 bytes\n" * 4)
    kube.serve_logs("shop", "checkout-1", "INFO fine\n")
    kube.put("apps/v1/deployments", deployment("checkout", "shop", replicas=2, ready=1, revision=4))
    kube.put("apps/v1/replicasets", replicaset("checkout", 3, "registry.local/checkout:1.3", "shop"))
    kube.put(
        "apps/v1/replicasets", replicaset("checkout", 4, "registry.local/checkout:1.4", "shop", replicas=2)
    )
    metrics.set('kube_pod_container_status_restarts_total{namespace="shop",pod="checkout-2"} 9')
    # increase() needs two samples in the window: wait for a few, so the graph has points to draw
    await prometheus.async_wait_for_query(
        'count_over_time(kube_pod_container_status_restarts_total{namespace="shop"}[15m]) >= 4'
    )


def thread_of(sandbox: Any, channel: str, message: dict[str, Any]) -> list[dict[str, Any]]:
    return sandbox.replies(channel, message["ts"])[1:]


async def run_diagnostics(sandbox: Any, who: Engineer, channel: str, runbook_message: dict[str, Any]) -> dict:
    await who.clicks(channel, runbook_message, "runbook_run")

    async def finished() -> dict[str, Any] | None:
        return next(
            (m for m in thread_of(sandbox, channel, runbook_message) if "checks ran" in texts(m)), None
        )

    return dict(await eventually(finished, timeout=60))


async def test_list_show_and_closest_matches(sandbox: Any, bot: Any) -> None:
    alice = Engineer(sandbox, "alice")
    await alice.types("#platform", "/runbook")
    listing = await alice.sees_reply("Runbooks")
    for name in ("high-error-rate", "pod-crash-loop", "service-down", "slow-database", "very-long-procedure"):
        assert f"`{name}`" in listing

    await alice.types("#platform", "/runbook crash")
    assert "Did you mean `pod-crash-loop`" in await alice.sees_reply("No runbook called `crash`")

    await alice.types("#platform", "/runbook pod-crash-loop bogus")
    assert "neither an incident ID" in await alice.sees_reply("bogus")


async def test_long_runbook_continues_in_the_thread(sandbox: Any, bot: Any) -> None:
    alice = Engineer(sandbox, "alice")
    await alice.types("#platform", "/runbook VERY_LONG_PROCEDURE")
    top = await message_with(sandbox, "#platform", "Very long procedure")
    assert "continues in the thread" in texts(top)
    assert "runbook_run" not in buttons(top)  # no diagnostics in this one

    async def whole_thread() -> list[dict[str, Any]] | None:
        replies = thread_of(sandbox, "#platform", top)
        return replies if replies and "Done." in texts(replies[-1]) else None

    replies = await eventually(whole_thread)
    everything = texts(top) + "".join(texts(m) for m in replies)
    for i in range(60):
        assert f"*Step {i}*" in everything
    assert "part 2 of" in texts(replies[0])
    for message in [top, *replies]:
        assert len(message["blocks"]) <= 50
        assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in message["blocks"])


async def test_run_diagnostics_updates_one_message_then_posts_results_and_a_graph(
    sandbox: Any,
    bot: Any,
    kube: KubeEmulator,
    shared_metrics_endpoint: MetricsEndpoint,
    shared_prometheus: PrometheusServer,
) -> None:
    await seed(kube, shared_metrics_endpoint, shared_prometheus)
    alice = Engineer(sandbox, "alice")
    await alice.types("#platform", "/runbook pod-crash-loop namespace=shop service=checkout")
    top = await message_with(sandbox, "#platform", "Pod crash loop")
    assert "runbook_run" in buttons(top)

    results = await run_diagnostics(sandbox, alice, "#platform", top)

    body = texts(results)
    assert "5/5 checks ran" in body
    assert "CrashLoopBackOff" in body and "OOMKilled" in body
    assert "rev 4 *(current)*" in body
    assert "×4" in body  # the grouped error line
    assert results.get("edited"), "the progress message is updated in place, not re-posted"
    diagnostics_messages = [m for m in thread_of(sandbox, "#platform", top) if "Diagnostics for" in texts(m)]
    assert len(diagnostics_messages) == 1

    async def graph() -> list[dict[str, Any]] | None:
        return [f for m in thread_of(sandbox, "#platform", top) for f in m.get("files", [])] or None

    [png] = await eventually(graph)
    assert png["mimetype"] == "image/png" and png["title"] == "Container restarts (15m)"
    stored = sandbox.core.workspace.files[png["id"]]
    assert stored.content.startswith(b"\x89PNG\r\n\x1a\n")


async def test_failures_are_lines_and_the_other_checks_still_report(sandbox: Any, bot: Any) -> None:
    alice = Engineer(sandbox, "alice")
    await alice.types("#platform", "/runbook high-error-rate namespace=nowhere service=ghost")
    top = await message_with(sandbox, "#platform", "High error rate")
    results = await run_diagnostics(sandbox, alice, "#platform", top)
    body = texts(results)
    assert "deployment nowhere/ghost: not found (404)" in body
    assert "Error ratio (5xx / all)" in body and "no data" in body  # Prometheus answered, with nothing
    assert "4/6 checks ran, *2 failed*" in body


async def test_runbook_into_the_war_room_and_remediation_permission(
    sandbox: Any,
    bot: Any,
    kube: KubeEmulator,
    shared_metrics_endpoint: MetricsEndpoint,
    shared_prometheus: PrometheusServer,
) -> None:
    await seed(kube, shared_metrics_endpoint, shared_prometheus)
    alice, bob, frank = Engineer(sandbox, "alice"), Engineer(sandbox, "bob"), Engineer(sandbox, "frank")
    await alice.types("#incidents", '/incident create critical "Checkout crashing" service=checkout')
    room = await channel_named(sandbox, "inc-1-")

    await alice.types("#general", "/runbook KubePodCrashLooping INC-1 namespace=shop")
    assert room["id"] in await alice.sees_reply("Posted *Pod crash loop*")
    top = await message_with(sandbox, room["name"], "Pod crash loop")
    results = await run_diagnostics(sandbox, alice, room["name"], top)
    assert {"runbook_remediate_rollout_restart", "runbook_scale", "runbook_remediate_rollout_undo"} <= set(
        buttons(results)
    )
    confirm = next(
        el["confirm"]
        for block in results["blocks"]
        if block["type"] == "actions"
        for el in block["elements"]
        if el.get("action_id") == "runbook_remediate_rollout_restart"
    )
    assert confirm["text"]["type"] == "plain_text"  # Slack's confirmation dialog takes no mrkdwn
    assert "restart every pod of checkout in shop" in confirm["text"]["text"]

    await frank.clicks(room["name"], results, "runbook_remediate_rollout_restart")
    await frank.sees_reply("You need the `remediate` permission")
    template = kube.get("apps/v1/deployments", "shop", "checkout")["spec"]["template"]
    assert "kubectl.kubernetes.io/restartedAt" not in template["metadata"].get("annotations", {})

    await bob.clicks(room["name"], results, "runbook_remediate_rollout_restart")
    await bob.sees_reply("rollout restart")

    async def restarted() -> bool:
        tpl = kube.get("apps/v1/deployments", "shop", "checkout")["spec"]["template"]
        return "kubectl.kubernetes.io/restartedAt" in tpl["metadata"].get("annotations", {})

    await eventually(restarted)
    await message_with(sandbox, room["name"], "Pod crash loop")
    outcome = await eventually(
        lambda: _first(
            m for m in thread_of(sandbox, room["name"], top) if "rollout restart of shop/checkout" in texts(m)
        )
    )
    assert sandbox.user_by_name("bob")["id"] in texts(outcome)

    timeline = await bot.ctx.store.timeline("INC-1")
    kinds = [(e.kind, e.actor) for e in timeline]
    assert ("runbook", sandbox.user_by_name("alice")["id"]) in kinds
    assert ("diagnostics", sandbox.user_by_name("alice")["id"]) in kinds
    assert ("remediation", sandbox.user_by_name("bob")["id"]) in kinds
    assert not any(
        e.kind == "remediation" and e.actor == sandbox.user_by_name("frank")["id"] for e in timeline
    )


async def _first(items: Any) -> Any:
    return next(iter(items), None)
