# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Plan how to stop and start plain Deployments/StatefulSets around a database restore.

Plain Python (the ``app_workloads_plan`` filter is its Ansible face; the ``app_workloads`` role
runs the plan with kubernetes.core). The replica count a workload had before it was stopped is
kept in an annotation on the workload itself, so a re-run from any machine after any failure
finds it, and a second stop never overwrites it with the 0 the first stop left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

ANNOTATION = "scalarops.pitr/replicas-before-stop"
KINDS = ("Deployment", "StatefulSet")
ACTIONS = ("check", "stop", "start")


def ref(kind: str, namespace: str, name: str) -> str:
    """``Deployment shop/web``: how messages name a workload."""
    return f"{kind} {namespace}/{name}"


def selector_string(selector: Mapping[str, Any] | None) -> str:
    """A workload's ``spec.selector`` as a label selector string (``a=b,tier in (x,y),!c``)."""
    parts = [f"{key}={value}" for key, value in sorted(((selector or {}).get("matchLabels") or {}).items())]
    for expression in (selector or {}).get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif operator == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif operator == "Exists":
            parts.append(str(key))
        elif operator == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


def _recorded(obj: Mapping[str, Any]) -> tuple[int | None, str | None]:
    """The recorded replica count (None when there is none) and a problem with the record, if any."""
    raw = ((obj.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION)
    if raw is None:
        return None, None
    text = str(raw).strip()
    if not text.isdigit():
        return None, f"its annotation {ANNOTATION} is {raw!r}, not a replica count; set it to the count to start with, or remove it"
    return int(text), None


def plan(action: str, workloads: Sequence[Mapping[str, Any]], found: Sequence[Mapping[str, Any] | None]) -> dict[str, Any]:
    """The steps of ``action`` for each workload, and every problem (missing workloads, broken records).

    ``found`` holds the live object of each workload (None when it does not exist), aligned with ``workloads``.
    A non-empty ``problems`` means nothing may change.
    """
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
    if len(workloads) != len(found):
        raise ValueError("workloads and the objects found must be aligned lists")
    missing: list[str] = []
    problems: list[str] = []
    steps: list[dict[str, Any]] = []
    for entry, obj in zip(workloads, found):
        kind = entry.get("kind") or "Deployment"
        name, namespace = str(entry.get("name")), str(entry.get("namespace"))
        where = ref(kind, namespace, name)
        if not obj:
            missing.append(where)
            continue
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        replicas = int(spec.get("replicas", 1))
        recorded, problem = _recorded(obj)
        if problem and action != "check":
            problems.append(f"{where}: {problem}")
        step: dict[str, Any] = {
            "kind": kind, "name": name, "namespace": namespace, "api_version": "apps/v1", "ref": where,
            "replicas": replicas, "ready": int(status.get("readyReplicas") or 0), "recorded": recorded,
            "selector": selector_string(spec.get("selector")), "record": None, "scale_to": None, "forget": False, "fact": None,
        }
        if action == "stop":
            if recorded is None:
                step["record"] = replicas
                step["summary"] = f"{where}: {replicas} -> 0 replicas (count recorded)"
            else:
                step["summary"] = f"{where}: {replicas} -> 0 replicas ({recorded} recorded by an earlier stop, kept)"
            step["scale_to"] = 0
            step["fact"] = {"kind": kind, "name": name, "namespace": namespace, "replicas": recorded if recorded is not None else replicas}
        elif action == "start":
            if recorded is None:
                step["summary"] = f"{where}: no recorded replica count ({ANNOTATION}); left alone at {replicas} replicas"
            else:
                step["scale_to"] = recorded
                step["forget"] = True
                step["fact"] = {"kind": kind, "name": name, "namespace": namespace, "replicas": recorded}
                step["summary"] = f"{where}: {replicas} -> {recorded} replicas (the recorded count)"
        else:
            note = f"; a stop would keep the count {recorded} recorded earlier" if recorded is not None else ""
            step["summary"] = f"{where}: exists, {replicas} replicas{note}"
        steps.append(step)
    if missing:
        problems.insert(0, f"{len(missing)} workload(s) not found: {', '.join(missing)}")
    return {"steps": steps, "missing": missing, "problems": problems}
