"""The connection half of the Kubernetes client: one named cluster's lazily built API client, the
request timeouts, and the mapping of every client exception to one clear
:class:`~integrations.failures.Failure` line. :mod:`integrations.kubernetes` builds the queries on it,
:mod:`integrations.kube_remediation` the guarded changes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from integrations.failures import Failure, FailureKind, one_line
from integrations.kube_models import ClusterSpec
from integrations.kube_parsing import owned_by

log = logging.getLogger(__name__)

T = TypeVar("T")


class KubeConnection:
    """One named cluster. Build it from a :class:`ClusterSpec`; the API client is created lazily."""

    def __init__(self, spec: ClusterSpec) -> None:
        self.spec = spec
        self.source = f"kubernetes:{spec.name}"
        self._api: k8s.ApiClient | None = None
        self._lock = threading.Lock()

    # -- plumbing
    def _api_client(self) -> k8s.ApiClient:
        with self._lock:
            if self._api is None:
                configuration = k8s.Configuration()
                if self.spec.in_cluster:
                    k8s_config.load_incluster_config(client_configuration=configuration)
                else:
                    k8s_config.load_kube_config(
                        config_file=self.spec.kubeconfig,
                        context=self.spec.context,
                        client_configuration=configuration,
                        persist_config=False,
                    )
                configuration.retries = 1
                if self.spec.verify_ssl is not None:
                    configuration.verify_ssl = self.spec.verify_ssl
                self._api = k8s.ApiClient(configuration)
            return self._api

    def close(self) -> None:
        with self._lock:
            if self._api is not None:
                self._api.close()
                self._api = None

    @property
    def _timeout(self) -> tuple[float, float]:
        return (min(5.0, self.spec.timeout), self.spec.timeout)

    def _core(self) -> k8s.CoreV1Api:
        return k8s.CoreV1Api(self._api_client())

    def _apps(self) -> k8s.AppsV1Api:
        return k8s.AppsV1Api(self._api_client())

    def _custom(self) -> k8s.CustomObjectsApi:
        return k8s.CustomObjectsApi(self._api_client())

    def failure_for(self, exc: BaseException, what: str) -> Failure:
        """Turn a client exception into one clear line (also used by the remediation callers)."""
        src = self.source
        if isinstance(exc, MetricsUnavailableError):
            return Failure(
                src, FailureKind.UNAVAILABLE, f"{what}: metrics-server not available (no metrics.k8s.io API)"
            )
        if isinstance(exc, ApiException):
            message = _api_message(exc)
            if exc.status == 403:
                return Failure(src, FailureKind.FORBIDDEN, f"{what}: forbidden (403): {message}")
            if exc.status == 401:
                return Failure(
                    src, FailureKind.UNAUTHORIZED, f"{what}: unauthorized (401): check the credentials"
                )
            if exc.status == 404:
                return Failure(src, FailureKind.NOT_FOUND, f"{what}: not found (404): {message}")
            if exc.status in (None, 0):
                return Failure(src, FailureKind.ERROR, f"{what}: unexpected answer: {message}")
            return Failure(src, FailureKind.ERROR, f"{what}: API error {exc.status}: {message}")
        if isinstance(exc, ConfigException):
            return Failure(src, FailureKind.CONFIG, f"{what}: bad cluster configuration: {one_line(exc)}")
        cause = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) else exc
        if isinstance(cause, urllib3.exceptions.NewConnectionError | ConnectionRefusedError):
            return Failure(src, FailureKind.UNREACHABLE, f"{what}: cluster unreachable at {self._host()}")
        if isinstance(cause, TimeoutError | urllib3.exceptions.TimeoutError):
            return Failure(src, FailureKind.TIMEOUT, f"{what}: timed out after {self.spec.timeout:g}s")
        if isinstance(cause, urllib3.exceptions.HTTPError | ConnectionError | OSError):
            return Failure(src, FailureKind.UNREACHABLE, f"{what}: cluster unreachable at {self._host()}")
        return Failure(src, FailureKind.ERROR, f"{what}: {type(exc).__name__}: {one_line(exc)}")

    def _host(self) -> str:
        api = self._api
        return api.configuration.host if api is not None else "(not configured)"

    async def _run(self, what: str, fn: Callable[[], T]) -> T | Failure:
        try:
            return await asyncio.wait_for(asyncio.to_thread(fn), timeout=self.spec.timeout + 2.0)
        except Exception as exc:
            failure = self.failure_for(exc, what)
            log.warning(
                "kubernetes query failed: %s", failure.line(), exc_info=failure.kind is FailureKind.ERROR
            )
            return failure

    # -- queries

    def _deployment_and_replicasets(self, namespace: str, name: str) -> tuple[Any, list[Any]]:
        apps = self._apps()
        dep = apps.read_namespaced_deployment(name, namespace, _request_timeout=self._timeout)
        match = (dep.spec.selector.match_labels or {}) if dep.spec and dep.spec.selector else {}
        selector = ",".join(f"{k}={v}" for k, v in sorted(match.items())) or None
        rss = apps.list_namespaced_replica_set(
            namespace, label_selector=selector, _request_timeout=self._timeout
        )
        uid = dep.metadata.uid if dep.metadata else None
        owned = [rs for rs in rss.items if owned_by(rs, "Deployment", name, uid)]
        return dep, owned


class MetricsUnavailableError(Exception):
    """metrics.k8s.io is not served (no metrics-server)."""


def _api_message(exc: ApiException) -> str:
    body = exc.body
    if isinstance(body, bytes):
        body = body.decode(errors="replace")
    if body:
        try:
            data = json.loads(body)
            if isinstance(data, dict) and data.get("message"):
                return one_line(data["message"], 200)
        except ValueError:
            return one_line(body, 200)
    return one_line(exc.reason or "no details", 200)
