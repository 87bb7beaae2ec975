"""Object helpers of the fake controller: names, hashes, owner references, conditions, statuses.

Also the annotations tests use to steer it (all under ``standins.scalarops.io/``).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shlex
from typing import Any

PREFIX = "standins.scalarops.io/"
LOG_ANNOTATION = PREFIX + "log"
FAIL_ANNOTATION = PREFIX + "fail"
DURATION_ANNOTATION = PREFIX + "duration"
POD_IP_ANNOTATION = PREFIX + "pod-ip"
PODS_ANNOTATION = PREFIX + "pods"
NODE_NAME = "standin-node"
KEYS: dict[str, tuple[str, str]] = {
    "deployments": ("apps", "deployments"), "replicasets": ("apps", "replicasets"),
    "statefulsets": ("apps", "statefulsets"), "daemonsets": ("apps", "daemonsets"),
    "jobs": ("batch", "jobs"), "pods": ("", "pods"), "services": ("", "services"),
    "endpoints": ("", "endpoints"), "pvcs": ("", "persistentvolumeclaims"), "namespaces": ("", "namespaces"),
    "serviceaccounts": ("", "serviceaccounts"), "configmaps": ("", "configmaps"),
    "crds": ("apiextensions.k8s.io", "customresourcedefinitions"),
}


def now() -> str:
    """The current time as the API writes timestamps (RFC 3339, seconds, UTC)."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def shell_echo_output(argv: list[str]) -> str | None:
    """What ``sh -c "echo a; echo b; exit 0"`` prints, so simple Jobs log what they would for real."""
    if len(argv) < 3 or argv[0].rsplit("/", 1)[-1] not in ("sh", "bash") or argv[1] != "-c":
        return None
    lines = []
    for part in re.split(r";|&&", argv[2]):
        try:
            words = shlex.split(part)
        except ValueError:
            return None
        if words and words[0] == "echo":
            lines.append(" ".join(words[1:]))
        elif words and words[0] not in ("exit", "true", "set"):
            return None
    return "".join(line + "\n" for line in lines)


def semantic(value: Any) -> Any:
    """Drop empty maps/lists: typed clients send ``resources: {}`` where others send nothing."""
    if isinstance(value, dict):
        items = {k: semantic(v) for k, v in value.items()}
        return {k: v for k, v in items.items() if v not in ({}, [], None)}
    if isinstance(value, list):
        return [semantic(v) for v in value]
    return value


def template_hash(template: dict[str, Any]) -> str:
    """The pod-template-hash: equal for semantically equal templates, as the real controller's."""
    digest = hashlib.sha256(json.dumps(semantic(template), sort_keys=True).encode()).hexdigest()
    return "".join(c for c in digest if c.isalnum())[:10]


def owner_ref(obj: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def owned_by(obj: dict[str, Any], owner: dict[str, Any]) -> bool:
    return any(r.get("uid") == owner["metadata"]["uid"] for r in obj["metadata"].get("ownerReferences") or [])


def condition(ctype: str, status: str, reason: str, message: str, old: list[dict[str, Any]] | None,
              update_time: bool = True) -> dict[str, Any]:
    """A condition that keeps its timestamps while its status does not change."""
    previous = next((c for c in old or [] if c.get("type") == ctype), None)
    stamp = now()
    cond = {"type": ctype, "status": status, "reason": reason, "message": message, "lastTransitionTime": stamp}
    if update_time:
        cond["lastUpdateTime"] = stamp
    if previous and previous.get("status") == status:
        cond["lastTransitionTime"] = previous.get("lastTransitionTime", stamp)
        if update_time and previous.get("reason") == reason:
            cond["lastUpdateTime"] = previous.get("lastUpdateTime", stamp)
    return cond


def nonzero(status: dict[str, Any]) -> dict[str, Any]:
    """Drop zero counters, as the real API omits them (``omitempty``)."""
    return {k: v for k, v in status.items() if v not in (0, None)}


def _job_condition(ctype: str, reason: str, message: str, stamp: str) -> dict[str, Any]:
    return {"type": ctype, "status": "True", "reason": reason, "message": message, "lastProbeTime": stamp,
            "lastTransitionTime": stamp}


def finished_job_status(failure: str | None, started: str, finished: str) -> dict[str, Any]:
    """A Job's status once its only Pod ended: Failed (``failure`` is its message) or Complete."""
    base = {"startTime": started, "ready": 0, "terminating": 0, "uncountedTerminatedPods": {}}
    if failure is not None:
        reason, message = "BackoffLimitExceeded", "Job has reached the specified backoff limit"
        return {**base, "failed": 1, "conditions": [_job_condition("FailureTarget", reason, message, finished),
                                                    _job_condition("Failed", reason, message, finished)]}
    reason, message = "CompletionsReached", "Reached expected number of succeeded pods"
    return {**base, "completionTime": finished, "succeeded": 1,
            "conditions": [_job_condition("SuccessCriteriaMet", reason, message, finished),
                           _job_condition("Complete", reason, message, finished)]}


def finished_pod_status(pod: dict[str, Any], failure: str | None, started: str, finished: str) -> dict[str, Any]:
    """A Job Pod's status once its containers exited (1 with ``failure`` as the message, else 0)."""
    terminated: dict[str, Any] = {"exitCode": 1 if failure is not None else 0, "reason": "Error" if failure is not None else "Completed",
                                  "startedAt": started, "finishedAt": finished}
    if failure:
        terminated["message"] = failure
    statuses = [{"name": c.get("name", "job"), "image": c.get("image", ""), "imageID": "", "ready": False,
                 "restartCount": 0, "started": False, "state": {"terminated": terminated}}
                for c in (pod.get("spec") or {}).get("containers") or []]
    return {"phase": "Failed" if failure is not None else "Succeeded", "startTime": started, "podIP": "127.0.0.1",
            "hostIP": "127.0.0.1", "containerStatuses": statuses}
