"""OpenAPI v3 documents, just enough for kubectl and helm to choose their code paths.

Clients read ``/openapi/v3`` to learn (a) that the server validates fields itself (a PATCH
operation tagged with the kind's ``x-kubernetes-group-version-kind`` that takes a
``fieldValidation`` query parameter) and (b) which patch types a kind accepts. Without these
documents they fall back to ``/openapi/v2``, which is protobuf-only, so the stand-in serves v3
and answers v2 with 404.

The documents do not list ``application/strategic-merge-patch+json`` even for built-in kinds
(the server accepts it): kubectl would then build its client-side-apply patch from these schemas,
which are too thin for that, and warn. Without it kubectl uses the merge keys compiled into it
for built-in kinds, exactly what it would get from a real server's full schemas.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from .resources import Registry, ResourceType

PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json")
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _schema_name(rt: ResourceType, version: str) -> str:
    if rt.builtin:
        package = "core" if not rt.group else rt.group.split(".")[0]
        return f"io.k8s.api.{package}.{version}.{rt.kind}"
    return ".".join(reversed(rt.group.split("."))) + f".{version}.{rt.kind}"


def _query(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": {"type": "string"}, "uniqueItems": True}


def _operations(rt: ResourceType, version: str) -> dict[str, Any]:
    gvk = {"group": rt.group, "version": version, "kind": rt.kind}
    ref = {"$ref": f"#/components/schemas/{_schema_name(rt, version)}"}
    response = {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}}}
    write_params = [_query("dryRun", "dry run"), _query("fieldManager", "field manager"),
                    _query("fieldValidation", "instructs the server how to handle unknown or duplicate fields")]

    def op(action: str, params: list[dict[str, Any]], body: dict[str, Any] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"operationId": f"{action}{rt.kind}", "parameters": params, "responses": response,
                               "x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk}
        if body is not None:
            out["requestBody"] = body
        return out

    json_body = {"content": {"*/*": {"schema": ref}}, "required": True}
    patch_body = {"content": {t: {"schema": {"type": "object"}} for t in PATCH_TYPES}, "required": True}
    return {
        "item": {"get": op("get", []), "put": op("put", write_params, json_body),
                 "patch": op("patch", [*write_params, _query("force", "force apply")], patch_body),
                 "delete": op("delete", [_query("dryRun", "dry run"), _query("propagationPolicy", "propagation")])},
        "collection": {"get": op("list", [_query("labelSelector", "selector"), _query("fieldSelector", "selector")]),
                       "post": op("post", write_params, json_body)},
    }


def _kind_schema(rt: ResourceType, version: str) -> dict[str, Any]:
    return {
        "type": "object",
        "x-kubernetes-group-version-kind": [{"group": rt.group, "version": version, "kind": rt.kind}],
        "properties": {
            "apiVersion": {"type": "string"}, "kind": {"type": "string"},
            "metadata": {"allOf": [{"$ref": f"#/components/schemas/{OBJECT_META}"}], "default": {}},
            "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
    }


def group_version_document(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {
        OBJECT_META: {"type": "object", "properties": {
            "name": {"type": "string"}, "namespace": {"type": "string"}, "generateName": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            "finalizers": {"type": "array", "items": {"type": "string"}, "x-kubernetes-patch-strategy": "merge"},
            "ownerReferences": {"type": "array", "items": {"type": "object"}, "x-kubernetes-patch-merge-key": "uid",
                                "x-kubernetes-patch-strategy": "merge"},
        }},
    }
    for rt in registry.all():
        if rt.group != group or version not in rt.versions:
            continue
        prefix = "/" + gv_path(group, version) + ("/namespaces/{namespace}" if rt.namespaced else "")
        ops = _operations(rt, version)
        paths[f"{prefix}/{rt.plural}"] = ops["collection"]
        paths[f"{prefix}/{rt.plural}/{{name}}"] = ops["item"]
        schemas[_schema_name(rt, version)] = _kind_schema(rt, version)
    if not paths:
        return None
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes (stand-in)", "version": "v1.35.0"},
            "paths": paths, "components": {"schemas": schemas}}


def document_hash(doc: dict[str, Any]) -> str:
    return hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:64].upper()


def root_document(registry: Registry) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for group, versions in registry.group_versions().items():
        for version in versions:
            doc = group_version_document(registry, group, version)
            if doc is not None:
                path = gv_path(group, version)
                paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={document_hash(doc)}"}
    return {"paths": paths}
