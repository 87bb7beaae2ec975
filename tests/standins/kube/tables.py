"""Server-side printing: ``meta.k8s.io/v1`` Tables for ``kubectl get`` (Accept ``as=Table``).

kubectl asks the server to render rows; the columns here follow the real ones for the kinds
people look at (pods, deployments, services, jobs...) and fall back to NAME/AGE.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable

Cell = Callable[[dict[str, Any]], Any]


def _get(obj: dict[str, Any], *path: str, default: Any = None) -> Any:
    for part in path:
        obj = obj.get(part) if isinstance(obj, dict) else None
        if obj is None:
            return default
    return obj


def age(obj: dict[str, Any]) -> str:
    stamp = _get(obj, "metadata", "creationTimestamp")
    if not stamp:
        return "<unknown>"
    created = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    seconds = int((dt.datetime.now(dt.timezone.utc) - created).total_seconds())
    if seconds < 120:
        return f"{max(seconds, 0)}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60}s" if seconds < 600 else f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{(seconds % 3600) // 60}m"
    return f"{seconds // 86400}d"


def _ports(obj: dict[str, Any]) -> str:
    out = []
    for port in _get(obj, "spec", "ports", default=[]):
        node = f":{port['nodePort']}" if port.get("nodePort") else ""
        out.append(f"{port.get('port')}{node}/{port.get('protocol', 'TCP')}")
    return ",".join(out) or "<none>"


def _pod_ready(obj: dict[str, Any]) -> str:
    statuses = _get(obj, "status", "containerStatuses", default=[])
    total = len(_get(obj, "spec", "containers", default=[]))
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def _pod_status(obj: dict[str, Any]) -> str:
    for status in _get(obj, "status", "containerStatuses", default=[]):
        state = status.get("state") or {}
        if state.get("terminated") or state.get("waiting"):
            return (state.get("terminated") or state.get("waiting") or {}).get("reason", "")
    return _get(obj, "status", "phase", default="")


def _job_status(obj: dict[str, Any]) -> str:
    for cond in _get(obj, "status", "conditions", default=[]):
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return cond["type"]
    return "Running" if _get(obj, "status", "active") else "Pending"


def _external_ip(obj: dict[str, Any]) -> str:
    ingress = _get(obj, "status", "loadBalancer", "ingress", default=[])
    if ingress:
        return ",".join(i.get("ip") or i.get("hostname", "") for i in ingress)
    return "<pending>" if _get(obj, "spec", "type") == "LoadBalancer" else "<none>"


def _n(*path: str) -> Cell:
    return lambda o: _get(o, *path, default=0)


COLUMNS: dict[str, list[tuple[str, str, int, Cell]]] = {
    "Pod": [("Ready", "string", 0, _pod_ready), ("Status", "string", 0, _pod_status),
            ("Restarts", "string", 0, lambda o: str(sum(s.get("restartCount", 0) for s in _get(o, "status", "containerStatuses", default=[])))),
            ("IP", "string", 1, lambda o: _get(o, "status", "podIP", default="<none>")),
            ("Node", "string", 1, lambda o: _get(o, "spec", "nodeName", default="<none>"))],
    "Deployment": [("Ready", "string", 0, lambda o: f"{_get(o, 'status', 'readyReplicas', default=0)}/{_get(o, 'spec', 'replicas', default=0)}"),
                   ("Up-to-date", "integer", 0, _n("status", "updatedReplicas")),
                   ("Available", "integer", 0, _n("status", "availableReplicas"))],
    "ReplicaSet": [("Desired", "integer", 0, _n("spec", "replicas")), ("Current", "integer", 0, _n("status", "replicas")),
                   ("Ready", "integer", 0, _n("status", "readyReplicas"))],
    "StatefulSet": [("Ready", "string", 0, lambda o: f"{_get(o, 'status', 'readyReplicas', default=0)}/{_get(o, 'spec', 'replicas', default=0)}")],
    "Service": [("Type", "string", 0, lambda o: _get(o, "spec", "type", default="")),
                ("Cluster-IP", "string", 0, lambda o: _get(o, "spec", "clusterIP", default="<none>")),
                ("External-IP", "string", 0, _external_ip), ("Port(s)", "string", 0, _ports)],
    "Job": [("Status", "string", 0, _job_status),
            ("Completions", "string", 0, lambda o: f"{_get(o, 'status', 'succeeded', default=0)}/{_get(o, 'spec', 'completions', default=1)}")],
    "Secret": [("Type", "string", 0, lambda o: o.get("type", "")), ("Data", "integer", 0, lambda o: len(o.get("data") or {}))],
    "ConfigMap": [("Data", "integer", 0, lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}))],
    "Namespace": [("Status", "string", 0, lambda o: _get(o, "status", "phase", default=""))],
    "PersistentVolumeClaim": [("Status", "string", 0, lambda o: _get(o, "status", "phase", default="")),
                              ("Volume", "string", 0, lambda o: _get(o, "spec", "volumeName", default="")),
                              ("Capacity", "string", 0, lambda o: _get(o, "status", "capacity", "storage", default=""))],
    "Node": [("Status", "string", 0, lambda o: "Ready"), ("Version", "string", 0, lambda o: _get(o, "status", "nodeInfo", "kubeletVersion"))],
}


def wants_table(accept: str) -> bool:
    return "as=table" in accept.replace(" ", "").lower()


def _row_object(obj: dict[str, Any], include: str) -> dict[str, Any] | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def to_table(kind: str, objects: list[dict[str, Any]], resource_version: str, include: str = "Metadata") -> dict[str, Any]:
    extra = COLUMNS.get(kind, [])
    columns = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
    columns += [{"name": n, "type": t, "format": "", "description": n, "priority": p} for n, t, p, _fn in extra]
    columns.append({"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0})
    rows = []
    for obj in objects:
        cells = [obj["metadata"]["name"], *[column[3](obj) for column in extra], age(obj)]
        row: dict[str, Any] = {"cells": cells}
        if (row_obj := _row_object(obj, include)) is not None:
            row["object"] = row_obj
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": resource_version},
            "columnDefinitions": columns, "rows": rows}
