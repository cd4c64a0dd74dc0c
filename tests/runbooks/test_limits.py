"""Runbook messages within Slack's limits, end to end through the sandbox: diagnostics results that
carry ~24k characters go out as pages (the first replaces the progress message, the rest continue in
the thread) without one refused call; the Scale menu of a deployment with long names keeps its option
values within Slack's 150 characters (the names kept in Redis under a key) and still scales."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.runbooks import workflow
from sandbox.blocks import MAX_MESSAGE_BLOCK_TEXT, message_text_chars
from tests.conftest import eventually
from tests.harness.kubernetes import KubeEmulator, deployment, event
from tests.incidents.story import Engineer, message_with, texts

REFUSALS = ("msg_blocks_too_long", "msg_too_long", "invalid_blocks", "invalid_arguments")
NAMESPACE = "n" * 60 + "-ns"  # Kubernetes allows 63
DEPLOYMENT = "checkout-" + "d" * 190  # and 253 for a deployment's name
CHECKS = [f"Warning events {n}" for n in range(1, 9)]


def refusals(sandbox: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for method, outcomes in sandbox.core.stats_json()["methods"].items():
        for outcome, count in outcomes.items():
            if outcome in REFUSALS:
                out[f"{method} {outcome}"] = count
    return out


@pytest.fixture
def runbooks_dir(tmp_path: Path) -> Path:
    diagnostics: list[dict[str, Any]] = [
        {"name": name, "type": "events", "params": {"namespace": NAMESPACE}} for name in CHECKS
    ]
    diagnostics.append(
        {
            "name": "Deployment status",
            "type": "deployment",
            "params": {"namespace": NAMESPACE, "name": DEPLOYMENT},
        }
    )
    front = yaml.safe_dump({"title": "Noisy namespace", "diagnostics": diagnostics})
    directory = tmp_path / "runbooks"
    directory.mkdir()
    (directory / "noisy.md").write_text(f"---\n{front}---\n# Noisy namespace\n\nLook at the events.\n")
    return directory


@pytest.fixture
def bot_policy(kube: KubeEmulator, runbooks_dir: Path) -> str:
    return yaml.safe_dump(
        {
            "runbooks": {"paths": [str(runbooks_dir)]},
            "kubernetes": {
                "clusters": [{"name": "test", "kubeconfig": str(kube.kubeconfig), "context": "test"}],
                "remediation": {"enabled": True, "actions": ["scale"], "max_replicas": 6},
            },
            "permissions": {"remediate": ["U0CAROL003"]},
        }
    )


def seed(kube: KubeEmulator) -> None:
    for n in range(8):  # eight long warnings, each check lists them all: ~3k characters a result
        message = f"Back-off {n} restarting failed container & <retry> " + "x" * 1_000
        kube.put(
            "v1/events",
            event(f"ev-{n}", NAMESPACE, obj=f"pod-{n}", reason="BackOff", message=message, count=n + 2),
        )
    kube.put("apps/v1/deployments", deployment(DEPLOYMENT, NAMESPACE, replicas=2, ready=1))


async def test_diagnostics_results_of_24k_characters_continue_in_the_thread(
    sandbox: Any, bot: Any, kube: KubeEmulator
) -> None:
    seed(kube)
    carol = Engineer(sandbox, "carol")
    await carol.types("#incidents", "/runbook noisy")
    top = await message_with(sandbox, "#incidents", "Noisy namespace")
    await carol.clicks("#incidents", top, "runbook_run")

    async def pages() -> list[dict[str, Any]] | None:
        thread = sandbox.replies("#incidents", top["ts"])[1:]
        parts = [
            m for m in thread if "checks ran" in texts(m) or "— diagnostics for Noisy namespace" in texts(m)
        ]
        last = parts[-1] if parts else None
        return parts if last is not None and "Part" in texts(last) and _complete(parts) else None

    found = await eventually(pages, timeout=60)
    first, rest = found[0], found[1:]
    assert rest, "the results did not fit one message, so they continue in the thread"
    assert "9/9 checks ran" in texts(first)
    assert f"in the thread below ({len(rest)} more)" in texts(first)
    for n, page in enumerate(rest, start=2):
        assert f"Part {n} of {len(found)} — diagnostics for Noisy namespace" in texts(page)
    for page in found:
        assert message_text_chars(page["blocks"]) <= MAX_MESSAGE_BLOCK_TEXT
    # together more than Slack takes in one message: one chat.update would have been refused
    assert sum(message_text_chars(p["blocks"]) for p in found) > 2 * MAX_MESSAGE_BLOCK_TEXT
    everything = "\n".join(texts(p) for p in found)
    for name in [*CHECKS, "Deployment status"]:
        assert everything.count(f"*{name}*") == 1, name  # every result once, in runbook order
    order = [everything.index(f"*{name}*") for name in [*CHECKS, "Deployment status"]]
    assert order == sorted(order)
    assert "&amp; &lt;retry&gt;" in everything  # escaped once
    assert "runbook_scale" in [
        el.get("action_id") for b in first["blocks"] if b["type"] == "actions" for el in b["elements"]
    ]  # the remediation stays on the message that replaced the progress line
    assert refusals(sandbox) == {}


def _complete(parts: list[dict[str, Any]]) -> bool:
    """All the pages the first one announces are there."""
    head = texts(parts[0])
    if "in the thread below (" not in head:
        return False
    more = int(head.split("in the thread below (")[1].split(" more)")[0])
    return len(parts) == more + 1


async def test_the_scale_menu_keeps_option_values_within_150_characters_for_long_names(
    sandbox: Any, bot: Any, kube: KubeEmulator
) -> None:
    seed(kube)
    carol = Engineer(sandbox, "carol")
    await carol.types("#incidents", "/runbook noisy")
    top = await message_with(sandbox, "#incidents", "Noisy namespace")
    await carol.clicks("#incidents", top, "runbook_run")

    async def results() -> dict[str, Any] | None:
        return next(
            (m for m in sandbox.replies("#incidents", top["ts"])[1:] if "checks ran" in texts(m)), None
        )

    message = await eventually(results, timeout=60)
    select = next(
        el
        for b in message["blocks"]
        if b["type"] == "actions"
        for el in b["elements"]
        if el.get("action_id") == "runbook_scale"
    )
    values = {o["text"]["text"]: o["value"] for o in select["options"]}
    assert all(len(v) <= 150 for v in values.values()), values
    inline = json.dumps({"a": "scale", "c": "test", "n": NAMESPACE, "d": DEPLOYMENT, "i": None})
    assert len(inline) > 150  # what the value would have been
    ref = json.loads(values["4 replicas"])["t"]
    stored = await bot.ctx.redis.get(workflow.target_key(bot.ctx, ref))
    assert json.loads(stored) == {"c": "test", "n": NAMESPACE, "d": DEPLOYMENT, "i": None}
    ttl = await bot.ctx.redis.ttl(workflow.target_key(bot.ctx, ref))
    assert 0 < ttl <= workflow.TARGET_TTL_SECONDS
    # the confirmation names them in plain text, clipped to Slack's 300
    assert select["confirm"]["text"]["type"] == "plain_text"
    assert len(select["confirm"]["text"]["text"]) <= 300

    await carol.clicks("#incidents", message, "runbook_scale", selected_option=values["4 replicas"])
    await carol.sees_reply("replicas 2 → 4")
    assert kube.get("apps/v1/deployments", NAMESPACE, DEPLOYMENT)["spec"]["replicas"] == 4

    # a menu whose stored target is gone answers so, and changes nothing
    await bot.ctx.redis.delete(workflow.target_key(bot.ctx, ref))
    await carol.clicks("#incidents", message, "runbook_scale", selected_option=values["3 replicas"])
    await carol.sees_reply("This menu has expired; run the diagnostics again")
    assert kube.get("apps/v1/deployments", NAMESPACE, DEPLOYMENT)["spec"]["replicas"] == 4
    assert refusals(sandbox) == {}
