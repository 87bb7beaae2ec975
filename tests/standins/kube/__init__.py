"""A Kubernetes API emulator for tests: real helm, kubectl, Python client and kubernetes.core talk to it.

Start it with ``start_kube(state_dir)`` (or ``python -m standins.kube``, see ``__main__``); it
writes ``<state_dir>/kubeconfig`` (context ``standin``, plain http on 127.0.0.1, no auth).

Stand-in-only hooks (not part of the Kubernetes API):

* ``POST /_standin/reset``: forget everything, back to a fresh cluster;
* ``POST /_standin/faults`` with ``{"method": "PATCH", "path": "<regex>", "code": 500,
  "message": "...", "times": 1}``: answer the next matching requests with that error;
  ``DELETE /_standin/faults`` clears them;
* ``POST /_standin/deny`` with ``{"verb": "patch", "group": "apps", "resource": "deployments",
  "subresource": "", "namespace": ""}`` (empty = any): refuse matching requests with 403 and
  answer ``SelfSubjectAccessReview`` with ``allowed: false``; ``DELETE /_standin/deny`` clears;
* ``GET /_standin/objects``: every stored object, for debugging.

Annotations the fake controller understands (see ``controller.py``): on a Job's pod template
``standins.scalarops.io/fail: <log message>`` (the Job fails), ``standins.scalarops.io/log``
(the pod's log), ``standins.scalarops.io/duration: <seconds>``; on a Pod
``standins.scalarops.io/pod-ip``; any Pod's log is its ``standins.scalarops.io/log`` annotation.
"""
from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from standins._process import Running, spawn

from .kubeconfig import CONTEXT

NAME = "kube"


@dataclass
class KubeStandin:
    """A running stand-in and what a client needs to reach it."""

    running: Running
    kubeconfig: Path
    context: str = CONTEXT

    @property
    def url(self) -> str:
        return self.running.url

    @property
    def pidfile(self) -> Path:
        return self.running.pidfile

    def hook(self, method: str, hook: str, body: dict[str, Any] | None = None) -> Any:
        """Call a ``/_standin/<hook>`` test hook."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/_standin/{hook}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:  # nosec - local stand-in only
            return json.loads(response.read() or b"null")

    def reset(self) -> None:
        self.hook("POST", "reset")

    def inject_fault(self, method: str, path: str, code: int = 500, message: str = "injected fault", times: int = 1) -> None:
        self.hook("POST", "faults", {"method": method, "path": path, "code": code, "message": message, "times": times})

    def deny(self, verb: str = "", group: str = "", resource: str = "", namespace: str = "") -> None:
        """Refuse matching requests with 403 (and in access reviews) until the next reset."""
        self.hook("POST", "deny", {"verb": verb, "group": group, "resource": resource, "namespace": namespace})

    def stop(self) -> None:
        self.running.stop()


def start_kube(state_dir: str | os.PathLike[str], verbose: bool = False, env: dict[str, str] | None = None) -> KubeStandin:
    """Spawn the stand-in (``<state_dir>/kube.pid``, ``kube.log``) and write ``<state_dir>/kubeconfig``."""
    state_dir = Path(state_dir)
    kubeconfig = state_dir / "kubeconfig"
    args = ["--kubeconfig", str(kubeconfig)] + (["--verbose"] if verbose else [])
    running = spawn(NAME, "standins.kube", state_dir, args, env=env)
    return KubeStandin(running=running, kubeconfig=Path(running.info.get("kubeconfig", kubeconfig)))


__all__ = ["KubeStandin", "start_kube", "NAME", "CONTEXT"]
