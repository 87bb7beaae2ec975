"""One emulated cluster: registry + store + API + controller, its initial contents, and test hooks.

A fresh cluster has what a new real cluster shows clients: the namespaces ``default``,
``kube-system``, ``kube-public`` and ``kube-node-lease``, one Ready node, a default
StorageClass, and the preloaded CRDs (CloudNativePG). ``reset()`` returns to that state.
Fault injection (``Faults``) answers chosen requests with an error, and deny rules (``authz``)
refuse chosen verbs with 403, for tests of error paths.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

from .api import Api
from .authz import Authorizer
from .controller import Controller
from .crds import preloaded_crds
from .objects import NODE_NAME, now
from .resources import Registry, ResourceType
from .store import Store

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


@dataclass
class Fault:
    """Answer ``times`` requests whose method and path match with ``code`` and ``message``."""

    method: str
    path: re.Pattern[str]
    code: int
    message: str
    times: int = 1


@dataclass
class Faults:
    items: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, spec: dict[str, Any]) -> None:
        fault = Fault(method=str(spec.get("method", "*")).upper(), path=re.compile(spec.get("path", ".*")),
                      code=int(spec.get("code", 500)), message=str(spec.get("message", "injected fault")),
                      times=int(spec.get("times", 1)))
        with self.lock:
            self.items.append(fault)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()

    def take(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.items:
                if fault.method in ("*", method) and fault.path.search(path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.items.remove(fault)
                    return fault
        return None


class Cluster:
    """Everything behind the HTTP server."""

    def __init__(self) -> None:
        self.registry = Registry()
        self.store = Store()
        self.api = Api(self.registry, self.store)
        self.controller = Controller(self.api)
        self.store.hooks.append(self.controller)
        self.faults = Faults()
        self.authz = Authorizer()
        self.bootstrap()

    def _rt(self, group: str, plural: str) -> ResourceType:
        rt = self.registry.by_key((group, plural))
        assert rt is not None
        return rt

    def bootstrap(self) -> None:
        namespaces = self._rt("", "namespaces")
        for name in DEFAULT_NAMESPACES:
            self.api.create(namespaces, None, {"metadata": {"name": name}})
        self.api.create(self._rt("", "nodes"), None, {
            "metadata": {"name": NODE_NAME, "labels": {"kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux",
                                                       "node-role.kubernetes.io/control-plane": ""}},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                       "message": "kubelet is posting ready status", "lastHeartbeatTime": now(),
                                       "lastTransitionTime": now()}],
                       "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": NODE_NAME}],
                       "capacity": {"cpu": "2", "memory": "8Gi", "pods": "110"},
                       "allocatable": {"cpu": "2", "memory": "8Gi", "pods": "110"},
                       "nodeInfo": {"kubeletVersion": "v1.35.0", "architecture": "amd64", "operatingSystem": "linux",
                                    "containerRuntimeVersion": "standin://1", "osImage": "stand-in",
                                    "kernelVersion": "", "kubeProxyVersion": "", "machineID": "", "systemUUID": "",
                                    "bootID": ""}}}, keep_status=True)
        self.api.create(self._rt("storage.k8s.io", "storageclasses"), None, {
            "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "standins.scalarops.io/none", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"})
        crds = self._rt("apiextensions.k8s.io", "customresourcedefinitions")
        for crd in preloaded_crds():
            self.api.create(crds, None, crd)

    def reset(self) -> None:
        """Back to a fresh cluster (custom resources registered by tests are forgotten too)."""
        with self.store.cond:
            self.controller.stop()
            self.store.clear()
            for rt in self.registry.all():
                if not rt.builtin:
                    self.registry.remove(rt.key)
            self.faults.clear()
            self.authz.clear()
            self.bootstrap()
