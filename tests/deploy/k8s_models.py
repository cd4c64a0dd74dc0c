"""Validate rendered manifests against the Kubernetes API models of the official Python client.

Every key must be a field of the model (a typo is an error, not silently dropped), every value of
the field's type, recursively; then the client deserialises the object, which enforces required
fields and enums (client-side validation).
"""

from __future__ import annotations

import re
from typing import Any

from kubernetes import client
from kubernetes.client import models

KINDS = {
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("v1", "Service"): "V1Service",
    ("v1", "ServiceAccount"): "V1ServiceAccount",
    ("v1", "Secret"): "V1Secret",
    ("apps/v1", "Deployment"): "V1Deployment",
    ("policy/v1", "PodDisruptionBudget"): "V1PodDisruptionBudget",
    ("networking.k8s.io/v1", "NetworkPolicy"): "V1NetworkPolicy",
    ("rbac.authorization.k8s.io/v1", "Role"): "V1Role",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "V1ClusterRole",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "V1RoleBinding",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "V1ClusterRoleBinding",
}
_LIST = re.compile(r"^[lL]ist\[(.+)\]$")
_DICT = re.compile(r"^(?:dict\(([^,]+), (.+)\)|Dict\[([^,]+), (.+)\])$")
_PRIMITIVE: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "datetime": (str,),
    "date": (str,),
    "object": (object,),
    "bytes": (str, bytes),
}


class Invalid(Exception):
    pass


def check(value: Any, type_name: str, path: str) -> None:
    if value is None:
        return
    if m := _LIST.match(type_name):
        if not isinstance(value, list):
            raise Invalid(f"{path}: expected a list, got {type(value).__name__}")
        for i, item in enumerate(value):
            check(item, m.group(1), f"{path}[{i}]")
        return
    if m := _DICT.match(type_name):
        if not isinstance(value, dict):
            raise Invalid(f"{path}: expected a mapping, got {type(value).__name__}")
        item_type = m.group(2) or m.group(4)
        for k, v in value.items():
            check(v, item_type, f"{path}.{k}")
        return
    if type_name in _PRIMITIVE:
        ok = _PRIMITIVE[type_name]
        if (type_name == "int" and isinstance(value, bool)) or not isinstance(value, ok):
            raise Invalid(f"{path}: expected {type_name}, got {type(value).__name__} {value!r}")
        return
    klass = getattr(models, type_name)
    if not isinstance(value, dict):
        raise Invalid(f"{path}: expected a {type_name} mapping, got {type(value).__name__}")
    by_json = {json_key: attr for attr, json_key in klass.attribute_map.items()}
    for key, item in value.items():
        if key not in by_json:
            raise Invalid(f"{path}.{key}: not a field of {type_name}")
        check(item, klass.openapi_types[by_json[key]], f"{path}.{key}")


def validate(manifest: dict[str, Any]) -> Any:
    """Returns the client's model object; raises ``Invalid`` or ValueError."""
    key = (manifest.get("apiVersion"), manifest.get("kind"))
    if key not in KINDS:
        raise Invalid(f"no Kubernetes model for {key}")
    name = KINDS[key]
    check(manifest, name, manifest["kind"])
    api = client.ApiClient()
    return api._ApiClient__deserialize(manifest, name)  # the client's own deserialiser


def validate_service_monitor(manifest: dict[str, Any]) -> None:
    """The Prometheus Operator CRD has no client model: check the fields it requires."""
    if manifest.get("apiVersion") != "monitoring.coreos.com/v1" or manifest.get("kind") != "ServiceMonitor":
        raise Invalid("not a ServiceMonitor")
    check(manifest["metadata"], "V1ObjectMeta", "ServiceMonitor.metadata")
    spec = manifest["spec"]
    check(spec["selector"], "V1LabelSelector", "ServiceMonitor.spec.selector")
    if not spec.get("endpoints"):
        raise Invalid("ServiceMonitor.spec.endpoints is empty")
    allowed = {"port", "path", "interval", "scrapeTimeout", "scheme", "honorLabels", "relabelings"}
    for ep in spec["endpoints"]:
        unknown = set(ep) - allowed
        if unknown:
            raise Invalid(f"ServiceMonitor endpoint fields {unknown}")
