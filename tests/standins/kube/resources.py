"""The resource table of the Kubernetes API stand-in and the discovery documents built from it.

Every served resource is one ``ResourceType``. Built-in kinds are listed in ``BUILTIN``; custom
resources are registered from ``CustomResourceDefinition`` objects (the stand-in preloads the
CloudNativePG CRDs the same way, see ``crds.py``), so adding a custom resource never needs code.
Objects are stored per (group, plural) whatever version a client asks for: versions of one
resource share their storage and are not converted (our resources are version-agnostic).
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class ResourceType:
    """One resource: where it is served and how it behaves."""

    group: str
    versions: tuple[str, ...]  # served versions, preferred (storage) version first
    kind: str
    plural: str
    singular: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    subresources: frozenset[str] = frozenset()  # "status", "scale", "log"
    categories: tuple[str, ...] = ()
    builtin: bool = True  # built-in kinds accept strategic merge patches, custom resources do not
    scale_paths: tuple[str, str, str] = ("spec.replicas", "status.replicas", "status.selector")
    review: bool = False  # create-only "review" kinds (access reviews): answered, never stored

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def group_resource(self) -> str:
        """``deployments.apps`` / ``secrets``: how error messages name the resource."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def group_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind

    def api_version(self, version: str | None = None) -> str:
        version = version or self.versions[0]
        return f"{self.group}/{version}" if self.group else version

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources


def _rt(group: str, version: str | tuple[str, ...], kind: str, plural: str, *, namespaced: bool = True,
        short: tuple[str, ...] = (), sub: tuple[str, ...] = (), cat: tuple[str, ...] = ()) -> ResourceType:
    versions = (version,) if isinstance(version, str) else version
    return ResourceType(group, versions, kind, plural, kind.lower(), namespaced, short, frozenset(sub), cat)


ALL = ("all",)
BUILTIN: tuple[ResourceType, ...] = (
    _rt("", "v1", "Namespace", "namespaces", namespaced=False, short=("ns",), sub=("status",)),
    _rt("", "v1", "Node", "nodes", namespaced=False, short=("no",), sub=("status",)),
    _rt("", "v1", "PersistentVolume", "persistentvolumes", namespaced=False, short=("pv",), sub=("status",)),
    _rt("", "v1", "Pod", "pods", short=("po",), sub=("status", "log"), cat=ALL),
    _rt("", "v1", "Service", "services", short=("svc",), sub=("status",), cat=ALL),
    _rt("", "v1", "Endpoints", "endpoints", short=("ep",)),
    _rt("", "v1", "ConfigMap", "configmaps", short=("cm",)),
    _rt("", "v1", "Secret", "secrets"),
    _rt("", "v1", "ServiceAccount", "serviceaccounts", short=("sa",)),
    _rt("", "v1", "Event", "events", short=("ev",)),
    _rt("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short=("pvc",), sub=("status",)),
    _rt("", "v1", "ResourceQuota", "resourcequotas", short=("quota",), sub=("status",)),
    _rt("", "v1", "LimitRange", "limitranges", short=("limits",)),
    _rt("apps", "v1", "Deployment", "deployments", short=("deploy",), sub=("status", "scale"), cat=ALL),
    _rt("apps", "v1", "ReplicaSet", "replicasets", short=("rs",), sub=("status", "scale"), cat=ALL),
    _rt("apps", "v1", "StatefulSet", "statefulsets", short=("sts",), sub=("status", "scale"), cat=ALL),
    _rt("apps", "v1", "DaemonSet", "daemonsets", short=("ds",), sub=("status",), cat=ALL),
    _rt("apps", "v1", "ControllerRevision", "controllerrevisions"),
    _rt("batch", "v1", "Job", "jobs", sub=("status",), cat=ALL),
    _rt("batch", "v1", "CronJob", "cronjobs", short=("cj",), sub=("status",), cat=ALL),
    _rt("autoscaling", ("v2", "v1"), "HorizontalPodAutoscaler", "horizontalpodautoscalers", short=("hpa",), sub=("status",), cat=ALL),
    _rt("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short=("pdb",), sub=("status",)),
    _rt("networking.k8s.io", "v1", "Ingress", "ingresses", short=("ing",), sub=("status",)),
    _rt("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", short=("netpol",)),
    _rt("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    _rt("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    _rt("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced=False),
    _rt("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", namespaced=False),
    _rt("storage.k8s.io", "v1", "StorageClass", "storageclasses", namespaced=False, short=("sc",)),
    _rt("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", namespaced=False,
        short=("crd", "crds"), sub=("status",)),
    *(ResourceType(group, ("v1",), kind, plural, kind.lower(), False, review=True) for group, kind, plural in (
        ("authorization.k8s.io", "SelfSubjectAccessReview", "selfsubjectaccessreviews"),
        ("authorization.k8s.io", "SelfSubjectRulesReview", "selfsubjectrulesreviews"),
        ("authorization.k8s.io", "SubjectAccessReview", "subjectaccessreviews"),
        ("authentication.k8s.io", "SelfSubjectReview", "selfsubjectreviews"),
    )),
)


def resource_from_crd(crd: dict[str, Any]) -> ResourceType:
    """The resource a ``CustomResourceDefinition`` object defines (served versions only)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    served = [v for v in spec.get("versions") or [] if v.get("served", True)]
    storage = [v["name"] for v in served if v.get("storage")]
    versions = tuple(storage + [v["name"] for v in served if v["name"] not in storage])
    subresources: set[str] = set()
    scale_paths = ("spec.replicas", "status.replicas", "status.selector")
    for version in served:
        sub = version.get("subresources") or {}
        if "status" in sub:
            subresources.add("status")
        if "scale" in sub:
            subresources.add("scale")
            scale = sub["scale"] or {}
            scale_paths = (scale.get("specReplicasPath", ".spec.replicas").lstrip("."),
                           scale.get("statusReplicasPath", ".status.replicas").lstrip("."),
                           (scale.get("labelSelectorPath") or ".status.selector").lstrip("."))
    return ResourceType(
        group=spec.get("group", ""),
        versions=versions or ("v1",),
        kind=names.get("kind", ""),
        plural=names.get("plural", ""),
        singular=names.get("singular") or names.get("kind", "").lower(),
        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
        short_names=tuple(names.get("shortNames") or ()),
        subresources=frozenset(subresources),
        categories=tuple(names.get("categories") or ()),
        builtin=False,
        scale_paths=scale_paths,
    )


@dataclass
class Registry:
    """All served resources, thread-safe; custom resources come and go with their CRDs."""

    _by_key: dict[tuple[str, str], ResourceType] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for rt in BUILTIN:
            self._by_key[rt.key] = rt

    def add(self, rt: ResourceType) -> None:
        with self._lock:
            self._by_key[rt.key] = rt

    def remove(self, key: tuple[str, str]) -> None:
        with self._lock:
            rt = self._by_key.get(key)
            if rt is not None and not rt.builtin:
                del self._by_key[key]

    def all(self) -> list[ResourceType]:
        with self._lock:
            return list(self._by_key.values())

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        rt = self._by_key.get((group, plural))
        return rt if rt is not None and version in rt.versions else None

    def by_key(self, key: tuple[str, str]) -> ResourceType | None:
        return self._by_key.get(key)

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _sep, version = api_version.rpartition("/")
        for rt in self.all():
            if rt.group == group and rt.kind == kind and version in rt.versions:
                return rt
        return None

    # ---- discovery documents -------------------------------------------------------------
    def group_versions(self) -> dict[str, list[str]]:
        """group -> served versions, preferred first, in a stable order."""
        out: dict[str, list[str]] = {}
        for rt in self.all():
            versions = out.setdefault(rt.group, [])
            for version in rt.versions:
                if version not in versions:
                    versions.append(version)
        return out

    def api_group_list(self) -> dict[str, Any]:
        groups = []
        for group, versions in self.group_versions().items():
            if not group:
                continue
            gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
            groups.append({"name": group, "versions": gvs, "preferredVersion": gvs[0]})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def api_group(self, group: str) -> dict[str, Any] | None:
        for item in self.api_group_list()["groups"]:
            if item["name"] == group:
                return {"kind": "APIGroup", "apiVersion": "v1", **item}
        return None

    def resource_list(self, group: str, version: str) -> dict[str, Any] | None:
        resources: list[dict[str, Any]] = []
        for rt in self.all():
            if rt.group != group or version not in rt.versions:
                continue
            entry: dict[str, Any] = {
                "name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
                "kind": rt.kind, "verbs": ["create"] if rt.review else ALL_VERBS,
                "storageVersionHash": hashlib.sha256(rt.group_resource.encode()).hexdigest()[:12],
            }
            if rt.short_names:
                entry["shortNames"] = list(rt.short_names)
            if rt.categories:
                entry["categories"] = list(rt.categories)
            resources.append(entry)
            if "status" in rt.subresources:
                resources.append({"name": f"{rt.plural}/status", "singularName": "", "namespaced": rt.namespaced,
                                  "kind": rt.kind, "verbs": ["get", "patch", "update"]})
            if "scale" in rt.subresources:
                resources.append({"name": f"{rt.plural}/scale", "singularName": "", "namespaced": rt.namespaced,
                                  "group": "autoscaling", "version": "v1", "kind": "Scale",
                                  "verbs": ["get", "patch", "update"]})
            if "log" in rt.subresources:
                resources.append({"name": f"{rt.plural}/log", "singularName": "", "namespaced": rt.namespaced,
                                  "kind": rt.kind, "verbs": ["get"]})
        if not resources:
            return None
        group_version = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}
