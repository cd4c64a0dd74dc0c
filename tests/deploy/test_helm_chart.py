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


def _env(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in doc["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_the_three_store_shapes() -> None:
    from bot.core.redis_factory import parse_redis_url

    secret = {"name": "redis-auth", "key": "password", "sentinelPasswordKey": "sentinel-password"}
    shapes = {
        "single": ({"externalUrl": "rediss://cache.internal:6380/0"}, "single"),
        "sentinel": (
            {
                "external": {
                    "shape": "sentinel",
                    "sentinel": {"hosts": ["s-0.s:26379", "s-1.s:26379", "s-2.s:26379"], "db": 2},
                    "passwordSecret": secret,
                }
            },
            "sentinel",
        ),
        "cluster": (
            {
                "external": {
                    "shape": "cluster",
                    "cluster": {"hosts": ["rc-0.rc:6379", "rc-1.rc:6379"]},
                    "tls": {"enabled": True, "caSecret": "redis-ca"},
                    "passwordSecret": secret,
                }
            },
            "cluster",
        ),
    }
    urls = {}
    for name, (redis_values, mode) in shapes.items():
        docs = render({"redis": redis_values})
        validate_all(docs)
        (dep,) = by_kind(docs, "Deployment")
        env = _env(dep)
        url = env["REDIS_URL"]["value"]
        target = parse_redis_url(url)  # the URL the chart writes is one the bot reads
        assert target.mode == mode and target.password is None and "@" not in url
        urls[name] = url
        if name != "single":
            assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
                "name": "redis-auth",
                "key": "password",
            }
            assert env["REDIS_SENTINEL_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "sentinel-password"
        else:
            assert "REDIS_PASSWORD" not in env  # by default the password is a key of existingSecret
    assert urls == {
        "single": "rediss://cache.internal:6380/0",
        "sentinel": "redis+sentinel://s-0.s:26379,s-1.s:26379,s-2.s:26379/mymaster/2",
        "cluster": "rediss+cluster://rc-0.rc:6379,rc-1.rc:6379",
    }
    # TLS with a private CA: the Secret is mounted and REDIS_TLS_CA_FILE names the file in it
    (dep,) = by_kind(render({"redis": shapes["cluster"][0]}), "Deployment")
    pod = dep["spec"]["template"]["spec"]
    ca_file = _env(dep)["REDIS_TLS_CA_FILE"]["value"]
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if ca_file.startswith(m["mountPath"] + "/"))
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["secret"]["secretName"] == "redis-ca" and ca_file.endswith("/ca.crt")


@pytest.mark.parametrize(
    ("external", "message"),
    [
        ({"shape": "sentinel"}, "sentinel.hosts"),
        ({"shape": "cluster"}, "cluster.hosts"),
        ({"shape": "memcached"}, "must be single, sentinel or cluster"),
    ],
)
def test_a_store_shape_without_its_hosts_says_what_is_missing(external: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmError) as err:
        render({"redis": {"external": external}})
    assert message in str(err.value)


def test_the_web_worker_split() -> None:
    assert not [d for d in by_kind(render(), "Deployment") if d["metadata"]["name"].endswith("-worker")]
    docs = render(
        {
            "worker": {"enabled": True, "replicaCount": 3},
            "redis": {"external": {"shape": "cluster", "cluster": {"hosts": ["rc-0.rc:6379"]}}},
        }
    )
    validate_all(docs)
    deps = {d["metadata"]["name"]: d for d in by_kind(docs, "Deployment")}
    assert set(deps) == {"chatops", "chatops-worker"}
    web, worker = deps["chatops"], deps["chatops-worker"]
    web_c = web["spec"]["template"]["spec"]["containers"][0]
    worker_c = worker["spec"]["template"]["spec"]["containers"][0]
    assert _env(web)["CHATOPS_ROLE"]["value"] == "web"
    assert web_c["args"][:2] == ["chatops", "serve"]
    assert worker_c["args"][:2] == ["chatops", "worker"]
    assert "CHATOPS_ROLE" not in _env(worker)  # `chatops worker` sets its role itself
    assert worker["spec"]["replicas"] == 3
    # same store, secrets and policy on both halves
    assert (
        _env(worker)["REDIS_URL"]
        == _env(web)["REDIS_URL"]
        == {
            "name": "REDIS_URL",
            "value": "redis+cluster://rc-0.rc:6379",
        }
    )
    assert worker["spec"]["template"]["spec"]["volumes"] == web["spec"]["template"]["spec"]["volumes"]
    # the worker's probes and metrics on its own port
    port = worker_c["ports"][0]
    assert worker_c["args"][-2:] == ["--port", str(port["containerPort"])]
    assert worker_c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    assert worker_c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    # the Service (Slack, the intake) reaches web pods only; each half has its own PDB
    worker_labels = worker["spec"]["template"]["metadata"]["labels"]
    (svc,) = by_kind(docs, "Service")
    assert not set(svc["spec"]["selector"].items()) <= set(worker_labels.items())
    assert set(svc["spec"]["selector"].items()) <= set(web["spec"]["template"]["metadata"]["labels"].items())
    web_sel = web["spec"]["selector"]["matchLabels"]
    assert not set(web_sel.items()) <= set(worker_labels.items())  # the Deployments never share pods
    pdbs = {
        p["metadata"]["name"]: p["spec"]["selector"]["matchLabels"]
        for p in by_kind(docs, "PodDisruptionBudget")
    }
    assert pdbs == {"chatops": web_sel, "chatops-worker": worker["spec"]["selector"]["matchLabels"]}
