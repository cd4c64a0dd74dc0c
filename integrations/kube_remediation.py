"""The three guarded remediations (rollout restart, scale, rollout undo): they change the cluster, so
only code that has checked the policy and the clicker's permission may call them."""

from __future__ import annotations

from datetime import UTC, datetime

from integrations.failures import Failure, FailureKind
from integrations.kube_connection import KubeConnection
from integrations.kube_models import RemediationResult
from integrations.kube_parsing import images_of, revision_of

RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"


class KubeRemediation(KubeConnection):
    # -- remediation (callers must have checked the policy and the clicker's permission)
    async def rollout_restart(self, namespace: str, name: str) -> RemediationResult | Failure:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT_ANNOTATION: stamp}}}}}

        def action() -> RemediationResult:
            self._apps().patch_namespaced_deployment(name, namespace, body, _request_timeout=self._timeout)
            return RemediationResult(
                self.spec.name, namespace, name, "rollout restart", f"restartedAt={stamp}"
            )

        return await self._run(f"rollout restart of {namespace}/{name}", action)

    async def scale(self, namespace: str, name: str, replicas: int) -> RemediationResult | Failure:
        if replicas < 0:
            return Failure(
                self.source, FailureKind.BAD_QUERY, f"scale {namespace}/{name}: replicas must be ≥ 0"
            )

        def action() -> RemediationResult:
            apps = self._apps()
            dep = apps.read_namespaced_deployment(name, namespace, _request_timeout=self._timeout)
            before = int((dep.spec.replicas if dep.spec else 0) or 0)
            apps.patch_namespaced_deployment(
                name, namespace, {"spec": {"replicas": replicas}}, _request_timeout=self._timeout
            )
            return RemediationResult(
                self.spec.name, namespace, name, "scale", f"replicas {before} → {replicas}"
            )

        return await self._run(f"scale of {namespace}/{name}", action)

    async def rollout_undo(self, namespace: str, name: str) -> RemediationResult | Failure:
        """Roll back to the previous ReplicaSet revision (what ``kubectl rollout undo`` does)."""

        def action() -> RemediationResult | Failure:
            dep, replicasets = self._deployment_and_replicasets(namespace, name)
            by_rev = sorted(
                ((rev, rs) for rs in replicasets if (rev := revision_of(rs)) is not None),
                key=lambda pair: pair[0],
                reverse=True,
            )
            current = revision_of(dep) or (by_rev[0][0] if by_rev else None)
            older = [(rev, rs) for rev, rs in by_rev if current is None or rev < current]
            if not older:
                return Failure(
                    self.source,
                    FailureKind.NOT_FOUND,
                    f"rollout undo of {namespace}/{name}: no previous revision",
                )
            rev, rs = older[0]
            template = self._api_client().sanitize_for_serialization(rs.spec.template)
            labels = template.get("metadata", {}).get("labels", {})
            labels.pop("pod-template-hash", None)
            body = self._api_client().sanitize_for_serialization(dep)
            body["spec"]["template"] = template
            self._apps().replace_namespaced_deployment(name, namespace, body, _request_timeout=self._timeout)
            images = ", ".join(images_of(rs.spec.template)) or "?"
            return RemediationResult(
                self.spec.name, namespace, name, "rollout undo", f"revision {current} → {rev} ({images})"
            )

        return await self._run(f"rollout undo of {namespace}/{name}", action)
