"""The Helm chart, rendered by Helm itself (helm-python-sdk: Helm's Go SDK as a library) and every
manifest validated against the Kubernetes API models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.k8s_models import Invalid, check, validate, validate_service_monitor

helm = pytest.importorskip("helm_python", reason="helm-python-sdk (dev dependency) renders the chart")

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "chatops"


def render(values: dict[str, Any] | None = None, namespace: str = "ops") -> list[dict[str, Any]]:
    with helm.Chart.load(str(CHART)) as chart:
        files = chart.render(values or {}, name="chatops", namespace=namespace)
    docs = []
    for path, text in files.items():
        if not path.endswith(".yaml"):
            continue
        docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def validate_all(docs: list[dict[str, Any]]) -> None:
    for doc in docs:
        if doc["kind"] == "ServiceMonitor":
            validate_service_monitor(doc)
        else:
            validate(doc)


def test_default_render() -> None:
    docs = render()
    validate_all(docs)
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == sorted(
        [
            "ConfigMap",
            "Deployment",
            "PodDisruptionBudget",
            "Service",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
        ]
    )
    (dep,) = by_kind(docs, "Deployment")
    spec = dep["spec"]
    assert spec["replicas"] >= 2
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["args"][:2] == ["chatops", "serve"]
    env = {e["name"]: e for e in container["env"]}
    # secrets by reference only: a Secret volume read through CHATOPS_SECRETS_DIR, no literal token
    assert not any(name.startswith("SLACK_") and "TOKEN" in name for name in env)
    assert "SLACK_SIGNING_SECRET" not in env
    secret_dir = env["CHATOPS_SECRETS_DIR"]["value"]
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == secret_dir)
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["secret"]["secretName"] == "chatops-slack"
    assert env["REDIS_URL"]["value"] == "redis://redis:6379/0"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["serviceAccountName"] == by_kind(docs, "ServiceAccount")[0]["metadata"]["name"]
    (pdb,) = by_kind(docs, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"] == spec["selector"]["matchLabels"]
    assert pdb["spec"]["minAvailable"] < spec["replicas"]  # a drain never takes the bot down


def test_default_rbac_is_read_only_and_never_reads_secrets() -> None:
    docs = render()
    (role,) = by_kind(docs, "ClusterRole")
    verbs = {v for rule in role["rules"] for v in rule["verbs"]}
    assert verbs <= {"get", "list", "watch"}
    resources = {r for rule in role["rules"] for r in rule["resources"]}
    assert "secrets" not in resources
    assert {"pods", "pods/log", "events", "deployments"} <= resources
    (binding,) = by_kind(docs, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"][0]["namespace"] == "ops"


def test_remediation_is_a_separate_role() -> None:
    docs = render({"rbac": {"remediation": {"enabled": True}}})
    validate_all(docs)
    roles = {r["metadata"]["name"]: r for r in by_kind(docs, "ClusterRole")}
    assert set(roles) == {"chatops-read", "chatops-remediate"}
    write = {v for rule in roles["chatops-remediate"]["rules"] for v in rule["verbs"]}
    assert {"patch", "delete"} <= write
    read = {v for rule in roles["chatops-read"]["rules"] for v in rule["verbs"]}
    assert read <= {"get", "list", "watch"}
    assert len(by_kind(docs, "ClusterRoleBinding")) == 2


def test_namespaced_rbac() -> None:
    docs = render(
        {"rbac": {"scope": "namespace", "namespaces": ["shop", "payments"], "remediation": {"enabled": True}}}
    )
    validate_all(docs)
    assert not by_kind(docs, "ClusterRole")
    roles = by_kind(docs, "Role")
    assert sorted((r["metadata"]["namespace"], r["metadata"]["name"]) for r in roles) == [
        ("payments", "chatops-read"),
        ("payments", "chatops-remediate"),
        ("shop", "chatops-read"),
        ("shop", "chatops-remediate"),
    ]
    for rb in by_kind(docs, "RoleBinding"):
        assert rb["subjects"] == [{"kind": "ServiceAccount", "name": "chatops", "namespace": "ops"}]
    read = next(r for r in roles if r["metadata"]["name"] == "chatops-read")
    assert "nodes" not in {x for rule in read["rules"] for x in rule["resources"]}  # cluster-scoped


def test_optional_parts() -> None:
    docs = render(
        {
            "replicaCount": 3,
            "serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus"}},
            "networkPolicy": {
                "enabled": True,
                "ingressFrom": [{"namespaceSelector": {"matchLabels": {"name": "ingress-nginx"}}}],
                "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}],
            },
            "podDisruptionBudget": {"minAvailable": 2},
            "mode": "socket",
            "policy": {"channels": {"announcements": "incidents"}},
        }
    )
    validate_all(docs)
    (sm,) = by_kind(docs, "ServiceMonitor")
    assert sm["spec"]["endpoints"][0]["path"] == "/metrics"
    assert sm["metadata"]["labels"]["release"] == "kube-prometheus"
    (np,) = by_kind(docs, "NetworkPolicy")
    assert np["spec"]["policyTypes"] == ["Ingress", "Egress"]
    (dep,) = by_kind(docs, "Deployment")
    assert dep["spec"]["replicas"] == 3
    assert dep["spec"]["template"]["spec"]["containers"][0]["args"][:2] == ["chatops", "socket"]
    (cm,) = by_kind(docs, "ConfigMap")
    assert yaml.safe_load(cm["data"]["policy.yml"]) == {"channels": {"announcements": "incidents"}}


def test_redis_dependency() -> None:
    meta = yaml.safe_load((CHART / "Chart.yaml").read_text())
    (dep,) = meta["dependencies"]
    assert dep["name"] == "redis" and dep["condition"] == "redis.enabled"
    assert "bitnami" in dep["repository"]
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["redis"]["enabled"] is False  # external Redis by default
    # enabled: the bot reaches the subchart's master with the password from its Secret
    docs = render({"redis": {"enabled": True}})
    validate_all(docs)
    (dep_doc,) = by_kind(docs, "Deployment")
    env = {e["name"]: e for e in dep_doc["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "chatops-redis",
        "key": "redis-password",
    }
    assert env["REDIS_URL"]["value"] == "redis://:$(REDIS_PASSWORD)@chatops-redis-master:6379/0"


def test_a_secret_reference_is_required() -> None:
    with pytest.raises(helm.HelmError) as err:
        render({"existingSecret": ""})
    assert "existingSecret" in str(err.value)


def test_the_validator_catches_mistakes() -> None:
    (dep,) = by_kind(render(), "Deployment")
    dep["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}  # a typo
    with pytest.raises(Invalid, match="readinesProbe"):
        validate(dep)
    with pytest.raises(Invalid, match="replicas"):
        check({"spec": {"replicas": "two"}}, "V1Deployment", "Deployment")
    with pytest.raises(ValueError):
        validate({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"ports": [{}]}})


def test_helm_lint() -> None:
    result = helm.lint(str(CHART))
    assert result["total_charts_linted"] == 1
    assert result["errors"] == []
    # severity 2 = warning, 3 = error; the only warning: the optional redis subchart is not vendored
    serious = [m for m in result["messages"] if m["severity"] >= 2]
    assert [m["error"] for m in serious] == ["chart directory is missing these dependencies: redis"]
