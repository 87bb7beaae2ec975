"""CustomResourceDefinitions the stand-in has from the start (the CloudNativePG operator's).

They are created as ordinary CRD objects, so ``kubectl get crd`` lists them and removing one
through the API removes the resource, exactly like CRDs a test applies itself.
"""
from __future__ import annotations

from typing import Any

# (group, kind, plural, scale paths or None): CloudNativePG and its Barman Cloud plugin.
PRELOADED: tuple[tuple[str, str, str, tuple[str, str] | None], ...] = (
    ("postgresql.cnpg.io", "Cluster", "clusters", (".spec.instances", ".status.instances")),
    ("postgresql.cnpg.io", "Backup", "backups", None),
    ("postgresql.cnpg.io", "ScheduledBackup", "scheduledbackups", None),
    ("postgresql.cnpg.io", "Pooler", "poolers", (".spec.instances", ".status.instances")),
    ("postgresql.cnpg.io", "Database", "databases", None),
    ("barmancloud.cnpg.io", "ObjectStore", "objectstores", None),
)


def crd_manifest(group: str, kind: str, plural: str, scale: tuple[str, str] | None = None,
                 version: str = "v1", namespaced: bool = True) -> dict[str, Any]:
    """A minimal but valid CRD: one served/stored version, schema open, status subresource."""
    subresources: dict[str, Any] = {"status": {}}
    if scale:
        subresources["scale"] = {"specReplicasPath": scale[0], "statusReplicasPath": scale[1]}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": kind.lower()},
            "scope": "Namespaced" if namespaced else "Cluster",
            "versions": [{
                "name": version, "served": True, "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                "subresources": subresources,
            }],
        },
    }


def preloaded_crds() -> list[dict[str, Any]]:
    return [crd_manifest(group, kind, plural, scale) for group, kind, plural, scale in PRELOADED]
