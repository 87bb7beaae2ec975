"""Defaulting and validation the real API server applies to the kinds clients here write.

Defaults are applied to every incoming object (create and update), the way the API server's
defaulting runs on every decode; allocations (Service cluster IPs, node ports) only on create and
carried over on update. Validation covers what tests can trip over on a real cluster: names,
workload selectors, and immutable fields (a helm upgrade that changes a Job's pod template fails
on a real cluster, so it fails here too).
"""
from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
from typing import Any

from .errors import ApiError
from .resources import ResourceType

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_NAME_KINDS = frozenset({"Namespace", "Service"})
_CLUSTER_IPS = itertools.count(10)
_NODE_PORTS = itertools.count(30000)


def _child(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """``parent[key]`` as a dict, created when missing or null (charts often render ``metadata:``)."""
    value = parent.get(key)
    if not isinstance(value, dict):
        value = parent[key] = {}
    return value


def _default(obj: dict[str, Any], key: str, value: Any) -> Any:
    """Set ``obj[key]`` when missing or null (the API treats both as unset)."""
    if obj.get(key) is None:
        obj[key] = value
    return obj[key]


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    return _child(obj, "spec")


def _service(obj: dict[str, Any], old: dict[str, Any] | None) -> None:
    spec = _spec(obj)
    old_spec = (old or {}).get("spec") or {}
    _default(spec, "type", "ClusterIP")
    if spec["type"] != "ExternalName":
        if old_spec.get("clusterIP") and not spec.get("clusterIP"):
            spec["clusterIP"] = old_spec["clusterIP"]
        elif not spec.get("clusterIP"):
            n = next(_CLUSTER_IPS)
            spec["clusterIP"] = f"10.96.{n // 250}.{n % 250 + 1}"
        _default(spec, "clusterIPs", [spec["clusterIP"]])
        _default(spec, "ipFamilies", ["IPv4"])
        _default(spec, "ipFamilyPolicy", "SingleStack")
        _default(spec, "internalTrafficPolicy", "Cluster")
    _default(spec, "sessionAffinity", "None")
    old_ports = {p.get("port"): p for p in old_spec.get("ports") or []}
    for port in spec.get("ports") or []:
        _default(port, "protocol", "TCP")
        _default(port, "targetPort", port.get("port"))
        if spec["type"] in ("NodePort", "LoadBalancer") and not port.get("nodePort"):
            port["nodePort"] = old_ports.get(port.get("port"), {}).get("nodePort") or next(_NODE_PORTS)


def _pod_template(template: dict[str, Any]) -> None:
    pod = _child(template, "spec")
    _default(pod, "restartPolicy", "Always")
    _default(pod, "dnsPolicy", "ClusterFirst")
    _default(pod, "terminationGracePeriodSeconds", 30)
    _default(pod, "schedulerName", "default-scheduler")
    for container in (pod.get("containers") or []) + (pod.get("initContainers") or []):
        image = str(container.get("image", ""))
        _default(container, "imagePullPolicy", "Always" if image.endswith(":latest") or ":" not in image.rsplit("/", 1)[-1] else "IfNotPresent")
        _default(container, "terminationMessagePath", "/dev/termination-log")
        _default(container, "terminationMessagePolicy", "File")
        for port in container.get("ports") or []:
            _default(port, "protocol", "TCP")


def _workload(obj: dict[str, Any], kind: str) -> None:
    spec = _spec(obj)
    if kind in ("Deployment", "ReplicaSet", "StatefulSet"):
        _default(spec, "replicas", 1)
    if kind != "ReplicaSet":
        _default(spec, "revisionHistoryLimit", 10)
    if kind == "Deployment":
        if not (spec.get("strategy") or {}).get("type"):
            spec["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
        _default(spec, "progressDeadlineSeconds", 600)
    elif kind == "StatefulSet":
        if not (spec.get("updateStrategy") or {}).get("type"):
            spec["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
        _default(spec, "podManagementPolicy", "OrderedReady")
    elif kind == "DaemonSet":
        _default(spec, "updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    _pod_template(_child(spec, "template"))


def _job(obj: dict[str, Any], old: dict[str, Any] | None) -> None:
    spec = _spec(obj)
    for key, value in (("parallelism", 1), ("completions", 1), ("backoffLimit", 6), ("completionMode", "NonIndexed"),
                       ("suspend", False), ("podReplacementPolicy", "TerminatingOrFailed")):
        _default(spec, key, value)
    uid = obj["metadata"].get("uid", "")
    template = _child(spec, "template")
    _default(_child(template, "spec"), "restartPolicy", "Never")  # a Job's pods never restart in place
    _pod_template(template)
    if not spec.get("manualSelector"):
        labels = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": obj["metadata"]["name"],
                  "controller-uid": uid, "job-name": obj["metadata"]["name"]}
        tmeta = _child(template, "metadata")
        tmeta["labels"] = {**(tmeta.get("labels") or {}), **labels}
        if not spec.get("selector"):
            spec["selector"] = (old or {}).get("spec", {}).get("selector") or {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}


def _secret(obj: dict[str, Any]) -> None:
    _default(obj, "type", "Opaque")
    string_data = obj.pop("stringData", None) or {}
    if string_data:
        data = _default(obj, "data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data


def apply_defaults(rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
    """Fill the defaults the real API server would, in place (``old``: None on create)."""
    kind = rt.kind if rt.builtin else ""
    if kind == "Namespace":
        _default(_spec(obj), "finalizers", ["kubernetes"])
        _child(obj["metadata"], "labels")["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        _default(_child(obj, "status"), "phase", "Active")
    elif kind == "Service":
        _service(obj, old)
    elif kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        _workload(obj, kind)
    elif kind == "Job":
        _job(obj, old)
    elif kind == "CronJob":
        for key, value in (("concurrencyPolicy", "Allow"), ("suspend", False), ("successfulJobsHistoryLimit", 3),
                           ("failedJobsHistoryLimit", 1)):
            _default(_spec(obj), key, value)
    elif kind == "Secret":
        _secret(obj)
    elif kind == "Pod":
        _pod_template(obj)
        _default(_child(obj, "status"), "phase", "Pending")
    elif kind == "PersistentVolumeClaim":
        _default(_spec(obj), "volumeMode", "Filesystem")
        _default(_child(obj, "status"), "phase", "Pending")


# ---- validation -----------------------------------------------------------------------------
def _invalid(rt: ResourceType, name: str, causes: list[tuple[str, str]]) -> ApiError:
    text = "; ".join(f"{f}: {m}" for f, m in causes) if len(causes) < 2 else "[" + ", ".join(f"{f}: {m}" for f, m in causes) + "]"
    return ApiError(422, "Invalid", f'{rt.group_kind} "{name}" is invalid: {text}',
                    {"name": name, "group": rt.group, "kind": rt.kind,
                     "causes": [{"reason": "FieldValueInvalid", "message": m, "field": f} for f, m in causes]})


def _immutable(value: Any) -> str:
    return f"Invalid value: {json.dumps(value, sort_keys=True)}: field is immutable"


def _check_name(rt: ResourceType, name: str) -> list[tuple[str, str]]:
    pattern, limit = (DNS_LABEL, 63) if rt.kind in LABEL_NAME_KINDS and rt.builtin else (DNS_SUBDOMAIN, 253)
    if len(name) > limit or not pattern.match(name):
        return [("metadata.name", f'Invalid value: "{name}": a lowercase RFC 1123 name must consist of lower case '
                 "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character")]
    return []


def _check_workload(obj: dict[str, Any], old: dict[str, Any] | None) -> list[tuple[str, str]]:
    spec = obj.get("spec") or {}
    selector = spec.get("selector") or {}
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        return [("spec.selector", "Required value")]
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return [("spec.template.metadata.labels", f"Invalid value: {json.dumps(labels)}: `selector` does not match template `labels`")]
    if old is not None and (old.get("spec") or {}).get("selector") != selector:
        return [("spec.selector", _immutable(selector))]
    return []


def _check_data(obj: dict[str, Any], old: dict[str, Any] | None, kind: str) -> list[tuple[str, str]]:
    causes = []
    if kind == "Secret":
        for key, value in (obj.get("data") or {}).items():
            try:
                base64.b64decode(value or "", validate=True)
            except (binascii.Error, ValueError, TypeError):
                causes.append((f"data[{key}]", "Invalid value: illegal base64 data"))
    if old is not None and old.get("immutable") and (old.get("data") != obj.get("data") or old.get("binaryData") != obj.get("binaryData")):
        causes.append(("data", "Forbidden: field is immutable when `immutable` is set"))
    return causes


def validate(rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
    """Raise 422 Invalid like the real API server for the checks we emulate."""
    name = obj["metadata"]["name"]
    causes = _check_name(rt, name) if old is None else []
    kind = rt.kind if rt.builtin else ""
    spec = obj.get("spec") or {}
    old_spec = (old or {}).get("spec") or {}
    if kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        causes += _check_workload(obj, old)
    elif kind == "Job" and old is not None:
        for key in ("template", "selector", "completions"):
            if spec.get(key) != old_spec.get(key):
                causes.append((f"spec.{key}", _immutable(spec.get(key))))
                break
    elif kind == "Service" and old is not None:
        if old_spec.get("clusterIP") and spec.get("clusterIP") != old_spec.get("clusterIP"):
            causes.append(("spec.clusterIP", _immutable(spec.get("clusterIP"))))
    elif kind in ("Secret", "ConfigMap"):
        causes += _check_data(obj, old, kind)
    if causes:
        raise _invalid(rt, name, causes)
