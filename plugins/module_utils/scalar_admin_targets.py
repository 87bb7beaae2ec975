# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Find the Scalar Admin endpoints of a helm release the way scalar-admin-for-kubernetes does.

Pods: label ``app.kubernetes.io/instance=<release>`` whose ``app.kubernetes.io/app`` is the
product's (others, e.g. Envoy, are skipped; another Scalar product in the same release is an
error). Port: the one Service ending in ``-headless`` with those labels, its port named after the
product (``scalardl-admin``...), and that port's ``targetPort`` (a number, or a name looked up in
the pod's container ports). Pods are called by pod IP.

A snapshot (pod names, summed container restart counts, pod IPs, the Deployment's
resourceVersion) taken before and after a pause tells whether the pods changed during it: a pod
that restarted came back unpaused, so the window would not be transactionally consistent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.k8s_client import ApiException, Urllib3HTTPError, api_message, k8s_client
from ansible_collections.scalarops.pitr.plugins.module_utils.scalar_admin_pause import Node
from ansible_collections.scalarops.pitr.plugins.module_utils.scalar_products import PRODUCTS, ScalarProduct

INSTANCE_LABEL = "app.kubernetes.io/instance"
APP_LABEL = "app.kubernetes.io/app"


class TargetError(ValueError):
    """The release's pods, Service or Deployment are not what a Scalar chart makes."""


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    product: ScalarProduct

    def __str__(self) -> str:
        return f"release {self.namespace}/{self.name} ({self.product.name})"


@dataclass(frozen=True)
class Snapshot:
    """What must not change during a pause: pod name -> (restarts, IP), and the Deployment."""

    pods: dict[str, tuple[int, str]]
    deployment: str
    deployment_version: str
    deployment_generation: int

    def changes(self, later: Snapshot) -> list[str]:
        out = []
        gone, new = sorted(set(self.pods) - set(later.pods)), sorted(set(later.pods) - set(self.pods))
        if gone:
            out.append(f"pods gone: {', '.join(gone)}")
        if new:
            out.append(f"new pods: {', '.join(new)}")
        for name in sorted(set(self.pods) & set(later.pods)):
            (restarts, ip), (restarts_after, ip_after) = self.pods[name], later.pods[name]
            if restarts_after != restarts:
                out.append(f"pod {name} restarted (restart count {restarts} -> {restarts_after})")
            if ip_after != ip:
                out.append(f"pod {name} changed IP ({ip} -> {ip_after})")
        if later.deployment_version != self.deployment_version:
            out.append(f"Deployment {self.deployment} was updated (resourceVersion {self.deployment_version} -> "
                       f"{later.deployment_version}, generation {self.deployment_generation} -> {later.deployment_generation})")
        return out


def _selector(release: Release) -> str:
    return f"{INSTANCE_LABEL}={release.name},{APP_LABEL}={release.product.app_label}"


def _address(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


class TargetFinder:
    """Reads pods, Services and Deployments through the ``kubernetes`` client."""

    def __init__(self, api_client: Any) -> None:
        self.core = k8s_client.CoreV1Api(api_client)
        self.apps = k8s_client.AppsV1Api(api_client)

    def _list(self, what: str, call: Any, release: Release, selector: str) -> list[Any]:
        try:
            return call(release.namespace, label_selector=selector).items
        except ApiException as exc:
            raise TargetError(f"{release}: cannot list {what} (needs get/list on {what}): {exc.status} {api_message(exc)}") from None
        except Urllib3HTTPError as exc:
            raise TargetError(f"{release}: cannot reach the Kubernetes API to list {what}: {exc}") from None

    def pods(self, release: Release) -> list[Any]:
        """The release's pods of its product; pods of another Scalar product are an error."""
        others = {p.app_label: p.name for p in PRODUCTS.values() if p.app_label != release.product.app_label}
        kept, mixed = [], []
        for pod in self._list("pods", self.core.list_namespaced_pod, release, f"{INSTANCE_LABEL}={release.name}"):
            app = (pod.metadata.labels or {}).get(APP_LABEL)
            if app == release.product.app_label:
                kept.append(pod)
            elif app in others:
                mixed.append(f"{pod.metadata.name} ({others[app]})")
        if mixed:
            raise TargetError(f"{release}: the release also has pods of another Scalar product: {', '.join(sorted(mixed))}; "
                              "give each product's release separately with its own product")
        if not kept:
            raise TargetError(f"{release}: no pods with labels {_selector(release)}; "
                              "check the release name, namespace and product (is the release scaled to 0?)")
        for pod in kept:
            phase = pod.status.phase if pod.status else None
            if pod.metadata.deletion_timestamp or phase != "Running" or not pod.status.pod_ip:
                raise TargetError(f"{release}: pod {pod.metadata.name} is not running (phase {phase}, IP {pod.status.pod_ip if pod.status else None}); "
                                  "wait until the release is ready: a pod that starts during the pause would not be paused")
        return sorted(kept, key=lambda p: p.metadata.name)

    def admin_port(self, release: Release) -> Any:
        """The ``targetPort`` of the headless Service's admin port (int, or a container port name)."""
        services = [s for s in self._list("services", self.core.list_namespaced_service, release, _selector(release))
                    if s.metadata.name.endswith("-headless")]
        if len(services) != 1:
            found = ", ".join(sorted(s.metadata.name for s in services)) or "none"
            raise TargetError(f"{release}: expected exactly one Service ending in -headless with labels {_selector(release)}, found {found}")
        service = services[0]
        name = release.product.admin_port_name
        for port in service.spec.ports or []:
            if port.name == name:
                return port.target_port if port.target_port not in (None, "") else port.port
        names = ", ".join(sorted(p.name or "(unnamed)" for p in service.spec.ports or [])) or "none"
        raise TargetError(f"{release}: admin port not found: Service {service.metadata.name} has no port named {name!r} "
                          f"(its ports: {names})")

    def deployment(self, release: Release) -> Any:
        found = self._list("deployments", self.apps.list_namespaced_deployment, release, _selector(release))
        if len(found) != 1:
            names = ", ".join(sorted(d.metadata.name for d in found)) or "none"
            raise TargetError(f"{release}: expected exactly one Deployment with labels {_selector(release)}, found {names}")
        return found[0]

    def snapshot(self, release: Release, pods: list[Any] | None = None) -> Snapshot:
        pods = self.pods(release) if pods is None else pods
        deployment = self.deployment(release)
        return Snapshot(
            pods={p.metadata.name: (sum(c.restart_count or 0 for c in p.status.container_statuses or []), p.status.pod_ip)
                  for p in pods},
            deployment=deployment.metadata.name,
            deployment_version=deployment.metadata.resource_version,
            deployment_generation=deployment.metadata.generation or 0,
        )

    def nodes(self, release: Release) -> tuple[list[Node], Snapshot]:
        """The release's admin endpoints and the snapshot to compare after the pause."""
        pods = self.pods(release)
        target_port = self.admin_port(release)
        snapshot = self.snapshot(release, pods)
        nodes = []
        for pod in pods:
            port = target_port if isinstance(target_port, int) else _container_port(pod, target_port, release)
            nodes.append(Node(address=_address(pod.status.pod_ip, port), pod=pod.metadata.name, release=release.name,
                              namespace=release.namespace, product=release.product.name))
        return nodes, snapshot


def _container_port(pod: Any, name: str, release: Release) -> int:
    if str(name).isdigit():
        return int(name)
    for container in pod.spec.containers or []:
        for port in container.ports or []:
            if port.name == name:
                return port.container_port
    raise TargetError(f"{release}: admin port not found: the headless Service's targetPort {name!r} names no container port "
                      f"of pod {pod.metadata.name}")
