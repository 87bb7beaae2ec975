# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Run a Kubernetes Job to the end with the ``kubernetes`` client: replace, wait, read its log.

Plain Python. Waiting honours a real deadline and polls with backoff (a Job can run for minutes;
hammering the API server helps no one). A Job's pod template is immutable, so re-running a Job
of the same name means deleting the old one first and waiting until it is gone.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.concurrency import Deadline
from ansible_collections.scalarops.pitr.plugins.module_utils.k8s_client import (
    ApiException,
    KubeError,
    Urllib3HTTPError,
    api_message,
    k8s_client,
)

# Answers worth retrying while waiting: throttling and a busy or restarting API server.
_TRANSIENT = (0, 429, 500, 502, 503, 504)
_REQUEST_TIMEOUT = 30


@dataclass
class JobOutcome:
    """How a Job ended (or did not): ``succeeded``, ``failed`` or ``timed_out``."""

    status: str
    reason: str = ""
    message: str = ""
    job: Any = None


def _fail(action: str, exc: Exception) -> KubeError:
    status = getattr(exc, "status", "")
    return KubeError(f"{action}: {status} {api_message(exc)}".replace(":  ", ": "))


class JobRunner:
    """Create, wait for, inspect and delete Jobs and their ConfigMaps/Secrets in one namespace."""

    def __init__(self, api_client: Any, namespace: str, sleep: Callable[[float], None] = time.sleep) -> None:
        self.core = k8s_client.CoreV1Api(api_client)
        self.batch = k8s_client.BatchV1Api(api_client)
        self.namespace = namespace
        self._sleep = sleep

    # ---- objects --------------------------------------------------------------------------
    def read_job(self, name: str) -> Any | None:
        try:
            return self.batch.read_namespaced_job(name, self.namespace, _request_timeout=_REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise _fail(f"read Job {self.namespace}/{name}", exc) from None

    def delete_job(self, name: str, deadline: Deadline) -> bool:
        """Delete the Job (its pods go with it) and wait until the name is free; False if there was none."""
        try:
            self.batch.delete_namespaced_job(name, self.namespace, propagation_policy="Background", _request_timeout=_REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise _fail(f"delete Job {self.namespace}/{name}", exc) from None
        delay = 0.2
        while self.read_job(name) is not None:
            if deadline.expired():
                raise KubeError(f"Job {self.namespace}/{name} is still being deleted; try again later")
            self._sleep(min(delay, deadline.remaining()))
            delay = min(delay * 2, 2.0)
        return True

    def delete(self, kind: str, name: str) -> None:
        """Delete a ConfigMap or Secret; a missing one is fine."""
        call = self.core.delete_namespaced_config_map if kind == "ConfigMap" else self.core.delete_namespaced_secret
        try:
            call(name, self.namespace, _request_timeout=_REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status != 404:
                raise _fail(f"delete {kind} {self.namespace}/{name}", exc) from None

    def replace_object(self, kind: str, body: dict[str, Any]) -> None:
        """Create a ConfigMap or Secret, replacing one left by an earlier run."""
        name = body["metadata"]["name"]
        create = self.core.create_namespaced_config_map if kind == "ConfigMap" else self.core.create_namespaced_secret
        replace = self.core.replace_namespaced_config_map if kind == "ConfigMap" else self.core.replace_namespaced_secret
        try:
            create(self.namespace, body, _request_timeout=_REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status != 409:
                raise _fail(f"create {kind} {self.namespace}/{name}", exc) from None
            try:
                replace(name, self.namespace, body, _request_timeout=_REQUEST_TIMEOUT)
            except ApiException as exc2:
                raise _fail(f"replace {kind} {self.namespace}/{name}", exc2) from None

    def read_secret_env(self, name: str) -> dict[str, str]:
        """A Secret's keys and values as environment variables, as ``envFrom`` sets them in a pod."""
        try:
            secret = self.core.read_namespaced_secret(name, self.namespace, _request_timeout=_REQUEST_TIMEOUT)
        except ApiException as exc:
            raise _fail(f"read Secret {self.namespace}/{name}", exc) from None
        return {key: base64.b64decode(value).decode("utf-8", "replace") for key, value in (secret.data or {}).items()}

    def create_job(self, body: dict[str, Any]) -> Any:
        try:
            return self.batch.create_namespaced_job(self.namespace, body, _request_timeout=_REQUEST_TIMEOUT)
        except ApiException as exc:
            raise _fail(f"create Job {self.namespace}/{body['metadata']['name']}", exc) from None

    def adopt(self, kind: str, name: str, job: Any) -> None:
        """Make the Job own a ConfigMap/Secret, so deleting the Job (kubectl or cleanup) deletes it too."""
        owner = {"apiVersion": "batch/v1", "kind": "Job", "name": job.metadata.name, "uid": job.metadata.uid}
        patch = {"metadata": {"ownerReferences": [owner]}}
        call = self.core.patch_namespaced_config_map if kind == "ConfigMap" else self.core.patch_namespaced_secret
        try:
            call(name, self.namespace, patch, _request_timeout=_REQUEST_TIMEOUT)
        except ApiException as exc:
            raise _fail(f"set the owner of {kind} {self.namespace}/{name}", exc) from None

    # ---- waiting ---------------------------------------------------------------------------
    @staticmethod
    def finished(job: Any) -> JobOutcome | None:
        """The Job's final outcome from its conditions, or None while it runs."""
        for condition in (job.status and job.status.conditions) or []:
            if condition.status != "True":
                continue
            if condition.type == "Complete":
                return JobOutcome("succeeded", condition.reason or "", condition.message or "", job)
            if condition.type == "Failed":
                return JobOutcome("failed", condition.reason or "", condition.message or "", job)
        return None

    def wait(self, name: str, deadline: Deadline, first_delay: float = 0.5, max_delay: float = 10.0) -> JobOutcome:
        """Poll the Job until Complete or Failed, or until the deadline (``timed_out``)."""
        delay = first_delay
        last = None
        trouble = ""
        while True:
            try:
                last = self.batch.read_namespaced_job(name, self.namespace, _request_timeout=_REQUEST_TIMEOUT)
            except ApiException as exc:
                if exc.status == 404:
                    raise KubeError(f"Job {self.namespace}/{name} disappeared while waiting for it") from None
                if exc.status not in _TRANSIENT:
                    raise _fail(f"read Job {self.namespace}/{name}", exc) from None
                trouble = f"last API answer: {exc.status} {api_message(exc)}"
            except Urllib3HTTPError as exc:  # connection trouble: keep trying until the deadline
                trouble = f"last API error: {exc}"
            else:
                trouble = ""
                outcome = self.finished(last)
                if outcome is not None:
                    return outcome
            if deadline.expired():
                return JobOutcome("timed_out", message=trouble, job=last)
            self._sleep(min(delay, deadline.remaining()))
            delay = min(delay * 1.5, max_delay)

    # ---- pods and logs ---------------------------------------------------------------------
    def pods(self, job: Any) -> list[Any]:
        """The Job's pods (by owner uid, newest last)."""
        selector = ",".join(f"{k}={v}" for k, v in ((job.spec.selector and job.spec.selector.match_labels) or {}).items())
        try:
            found = self.core.list_namespaced_pod(self.namespace, label_selector=selector or None, _request_timeout=_REQUEST_TIMEOUT)
        except ApiException as exc:
            raise _fail(f"list the pods of Job {self.namespace}/{job.metadata.name}", exc) from None
        owned = [p for p in found.items if any(ref.uid == job.metadata.uid for ref in p.metadata.owner_references or [])]
        return sorted(owned, key=lambda p: p.metadata.creation_timestamp.timestamp() if p.metadata.creation_timestamp else 0.0)

    def log_tail(self, pod: Any, container: str | None, lines: int) -> str:
        """The last ``lines`` lines of a pod's log ('' if the container has not started)."""
        try:
            # kubernetes 36 returns the repr of the bytes with preloaded content
            # (kubernetes-client/python#2596): read the raw response and decode it ourselves.
            response = self.core.read_namespaced_pod_log(
                pod.metadata.name, self.namespace, container=container, tail_lines=lines,
                _preload_content=False, _request_timeout=_REQUEST_TIMEOUT,
            )
            return response.data.decode("utf-8", errors="replace")
        except ApiException as exc:
            if exc.status in (400, 404):  # container still creating, or the pod already gone
                return ""
            raise _fail(f"read the log of pod {self.namespace}/{pod.metadata.name}", exc) from None

    @staticmethod
    def describe_pod(pod: Any) -> str:
        """One line on why a pod is where it is, e.g. 'Pending (ImagePullBackOff: ...)'."""
        phase = (pod.status and pod.status.phase) or "Unknown"
        details = []
        for status in (pod.status and pod.status.container_statuses) or []:
            state = status.state
            if state and state.waiting and state.waiting.reason:
                details.append(f"{status.name} {state.waiting.reason}: {state.waiting.message or ''}".strip().rstrip(":"))
            elif state and state.terminated:
                term = state.terminated
                details.append(f"{status.name} exited {term.exit_code} ({term.reason or ''})")
        return f"{pod.metadata.name} {phase}" + (f" ({'; '.join(details)})" if details else "")
