"""Remediation from the diagnostics message: only actions the policy allows, only for the people it
names (here by user ID), each recorded; scale through a select, roll back to the previous revision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.runbooks import workflow
from tests.conftest import eventually
from tests.harness.kubernetes import KubeEmulator, deployment, replicaset
from tests.incidents.story import Engineer, buttons, message_with, texts

REPO_RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"


@pytest.fixture
def bot_policy(kube: KubeEmulator) -> str:
    return yaml.safe_dump(
        {
            "runbooks": {"paths": [str(REPO_RUNBOOKS)]},
            "kubernetes": {
                "clusters": [{"name": "test", "kubeconfig": str(kube.kubeconfig), "context": "test"}],
                "remediation": {"enabled": True, "actions": ["scale", "rollout_undo"], "max_replicas": 6},
            },
            "permissions": {"remediate": ["U0CAROL003"]},
        }
    )


def element(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    return next(
        el
        for block in message["blocks"]
        if block["type"] == "actions"
        for el in block["elements"]
        if el.get("action_id") == action_id
    )


async def test_scale_and_roll_back_by_the_named_user_only(sandbox: Any, bot: Any, kube: KubeEmulator) -> None:
    kube.put("apps/v1/deployments", deployment("checkout", "shop", replicas=2, ready=2, revision=4))
    kube.put("apps/v1/replicasets", replicaset("checkout", 3, "registry.local/checkout:1.3", "shop"))
    kube.put(
        "apps/v1/replicasets", replicaset("checkout", 4, "registry.local/checkout:1.4", "shop", replicas=2)
    )
    carol, dave = Engineer(sandbox, "carol"), Engineer(sandbox, "dave")
    await carol.types("#platform", "/runbook service-down service=checkout namespace=shop")
    top = await message_with(sandbox, "#platform", "Service down")
    await carol.clicks("#platform", top, "runbook_run")

    async def results() -> dict[str, Any] | None:
        return next(
            (m for m in sandbox.replies("#platform", top["ts"])[1:] if "checks ran" in texts(m)), None
        )

    message = dict(await eventually(results, timeout=60))
    assert "runbook_remediate_rollout_restart" not in buttons(message)  # not in the policy's allow-list
    select = element(message, "runbook_scale")
    values = {o["text"]["text"]: o["value"] for o in select["options"]}
    assert list(values) == ["0 replicas", "1 replica", "3 replicas", "4 replicas"]  # around 2, ≤ max 6
    assert select["confirm"]["title"]["text"] == "Scale the deployment?"

    await dave.clicks("#platform", message, "runbook_scale", selected_option=values["4 replicas"])
    await dave.sees_reply("You need the `remediate` permission")
    assert kube.get("apps/v1/deployments", "shop", "checkout")["spec"]["replicas"] == 2

    await carol.clicks("#platform", message, "runbook_scale", selected_option=values["4 replicas"])
    await carol.sees_reply("replicas 2 → 4")
    assert kube.get("apps/v1/deployments", "shop", "checkout")["spec"]["replicas"] == 4

    await carol.clicks("#platform", message, "runbook_remediate_rollout_undo")
    await carol.sees_reply("revision 4 → 3 (registry.local/checkout:1.3)")
    image = kube.get("apps/v1/deployments", "shop", "checkout")["spec"]["template"]["spec"]["containers"][0][
        "image"
    ]
    assert image == "registry.local/checkout:1.3"

    thread = "\n".join(texts(m) for m in sandbox.replies("#platform", top["ts"]))
    assert "<@U0CAROL003> scale of shop/checkout on test: replicas 2 → 4" in thread
    assert "<@U0CAROL003> rollout undo of shop/checkout on test" in thread


async def test_actions_outside_the_policy_are_refused(bot: Any, kube: KubeEmulator) -> None:
    kube.put("apps/v1/deployments", deployment("checkout", "shop"))
    with pytest.raises(workflow.RemediationRefused, match="`rollout_restart` is not enabled"):
        await workflow.remediate(
            bot.ctx,
            actor="U0CAROL003",
            action="rollout_restart",
            cluster="test",
            namespace="shop",
            deployment="checkout",
            incident_id=None,
        )
    with pytest.raises(workflow.RemediationRefused, match="between 0 and 6"):
        await workflow.remediate(
            bot.ctx,
            actor="U0CAROL003",
            action="scale",
            cluster="test",
            namespace="shop",
            deployment="checkout",
            incident_id=None,
            replicas=60,
        )
    assert "kubectl.kubernetes.io/restartedAt" not in str(kube.get("apps/v1/deployments", "shop", "checkout"))
