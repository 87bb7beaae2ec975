"""REST semantics of the Kubernetes API on top of the store: create, read, list, update, patch, delete.

This is where the rules clients rely on live: namespaces must exist, names are unique, status
is only written through the ``status`` subresource (for kinds that have one), ``generation``
moves only when the spec does, a no-op update does not bump resourceVersion, a stale
resourceVersion conflicts, ``scale`` is a view of ``spec.replicas``, deletes cascade to
dependents through ownerReferences, and deleting a namespace deletes its contents.
"""
from __future__ import annotations

import copy
import json
import random
import string
import uuid
from typing import Any

import yaml

from . import patch as patches
from .defaults import apply_defaults, validate
from .errors import ApiError, already_exists, bad_request, conflict, not_found, success, unsupported_media_type
from .objects import LOG_ANNOTATION, now
from .protobuf import ProtobufError, decode
from .resources import Registry, ResourceType
from .selectors import SelectorError, make_filter, selector_string
from .store import Store

NAMESPACES = ("", "namespaces")
PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
GENERATION_KINDS = frozenset({"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod",
                              "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress", "NetworkPolicy",
                              "CustomResourceDefinition"})
# Kinds whose dependents the API orphans when a client names no propagation policy (legacy defaults).
ORPHAN_BY_DEFAULT = frozenset({("batch", "jobs")})


def dig(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def put_path(obj: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        obj = obj.setdefault(part, {})
    obj[parts[-1]] = value


def parse_body(body: bytes, content_type: str) -> Any:
    """JSON, YAML (apply patches) or protobuf (client-go typed clients) request bodies."""
    media = content_type.split(";")[0].strip().lower()
    try:
        if media == "application/vnd.kubernetes.protobuf":
            return decode(body)
        if media.endswith("yaml"):
            return yaml.safe_load(body.decode() or "{}")
        return json.loads(body.decode() or "null")
    except ProtobufError as exc:
        raise ApiError(415, "UnsupportedMediaType", str(exc)) from exc
    except (ValueError, yaml.YAMLError) as exc:
        raise bad_request(f"the body of the request could not be decoded: {exc}") from exc


def drop_nulls(value: Any) -> Any:
    """Nulls decode to unset fields in the real server (Go zero values), so they never come back."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def _tracks_generation(rt: ResourceType) -> bool:
    return not rt.builtin or rt.kind in GENERATION_KINDS


def _spec_part(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class Api:
    """The operations behind every REST verb; the HTTP layer only parses and serialises."""

    def __init__(self, registry: Registry, store: Store) -> None:
        self.registry = registry
        self.store = store

    # ---- helpers ----------------------------------------------------------------------------
    @staticmethod
    def present(rt: ResourceType, obj: dict[str, Any], version: str | None = None) -> dict[str, Any]:
        """An object as served at ``version`` (versions share storage; only apiVersion differs)."""
        out = {"apiVersion": rt.api_version(version), "kind": rt.kind}
        out.update({k: v for k, v in obj.items() if k not in ("apiVersion", "kind")})
        return out

    def _require(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.store.get(rt.key, namespace if rt.namespaced else "", name)
        if obj is None:
            raise not_found(rt, name)
        return obj

    def _namespace_exists(self, namespace: str) -> None:
        ns = self.store.get(NAMESPACES, "", namespace)
        if ns is None:
            raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found',
                           {"name": namespace, "kind": "namespaces"})
        if (ns.get("status") or {}).get("phase") == "Terminating":
            raise ApiError(403, "Forbidden", f"unable to create new content in namespace {namespace} because it is being terminated")

    # ---- read -------------------------------------------------------------------------------
    def get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        return self._require(rt, namespace, name)

    def list(self, rt: ResourceType, version: str, namespace: str | None, query: dict[str, str]) -> dict[str, Any]:
        try:
            matches = make_filter(query.get("labelSelector"), query.get("fieldSelector"))
        except SelectorError as exc:
            raise bad_request(str(exc)) from exc
        with self.store.cond:  # list and resourceVersion from the same instant
            rv = self.store.resource_version
            items = [self.present(rt, o, version) for o in self.store.list(rt.key, namespace) if matches(o)]
        return {"kind": f"{rt.kind}List", "apiVersion": rt.api_version(version),
                "metadata": {"resourceVersion": str(rv)}, "items": items}

    def pod_log(self, rt: ResourceType, namespace: str, name: str, query: dict[str, str]) -> str:
        pod = self._require(rt, namespace, name)
        text = ((pod["metadata"].get("annotations") or {}).get(LOG_ANNOTATION)) or ""
        if query.get("tailLines"):
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-int(query["tailLines"]):]) if int(query["tailLines"]) > 0 else ""
        return text

    # ---- create -----------------------------------------------------------------------------
    def create(self, rt: ResourceType, namespace: str | None, body: Any, *, dry_run: bool = False,
               keep_status: bool = False) -> dict[str, Any]:
        """Create ``body``; ``keep_status`` is for the fake controller, which writes status itself."""
        if not isinstance(body, dict):
            raise bad_request("the body of a create must be an object")
        obj = drop_nulls(body)
        if obj.get("kind") and obj["kind"] != rt.kind:
            raise bad_request(f"the API version in the data ({obj.get('apiVersion')}) does not match the expected API "
                              f"version ({rt.api_version()}) or kind {obj['kind']} is not {rt.kind}")
        md = obj.setdefault("metadata", {})
        if rt.namespaced:
            if md.get("namespace") and namespace and md["namespace"] != namespace:
                raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
            md["namespace"] = namespace or md.get("namespace") or "default"
            self._namespace_exists(md["namespace"])
        else:
            md.pop("namespace", None)
        if not md.get("name"):
            if not md.get("generateName"):
                raise ApiError(422, "Invalid", f'{rt.kind} "" is invalid: metadata.name: Required value: name or generateName is required')
            md["name"] = md["generateName"] + "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
        if self.store.get(rt.key, md.get("namespace", ""), md["name"]) is not None:
            raise already_exists(rt, md["name"])
        if rt.has_status and not keep_status:
            obj.pop("status", None)
        for field in ("resourceVersion", "selfLink", "deletionTimestamp", "managedFields"):
            md.pop(field, None)
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = now()
        if _tracks_generation(rt):
            md["generation"] = 1
        obj["apiVersion"], obj["kind"] = rt.api_version(), rt.kind
        apply_defaults(rt, obj, None)
        validate(rt, obj, None)
        if dry_run:
            return obj
        return self.store.put(rt.key, obj)

    # ---- update -----------------------------------------------------------------------------
    def commit_update(self, rt: ResourceType, old: dict[str, Any], new: Any, sub: str | None = None,
                      *, dry_run: bool = False) -> dict[str, Any]:
        """Replace ``old`` by ``new`` (the whole object, or only its status for ``sub='status'``)."""
        if not isinstance(new, dict):
            raise bad_request("the body of an update must be an object")
        new = drop_nulls(new)
        old_md = old["metadata"]
        new_md = new.setdefault("metadata", {})
        if new_md.get("name", old_md["name"]) != old_md["name"]:
            raise bad_request(f"the name of the object ({new_md.get('name')}) does not match the name on the URL ({old_md['name']})")
        if new_md.get("resourceVersion") and new_md["resourceVersion"] != old_md.get("resourceVersion"):
            raise conflict(rt, old_md["name"])
        if sub == "status":
            result = copy.deepcopy(old)
            if new.get("status") is None:
                result.pop("status", None)
            else:
                result["status"] = copy.deepcopy(new["status"])
        else:
            result = copy.deepcopy(new)
            if rt.has_status:
                if "status" in old:
                    result["status"] = copy.deepcopy(old["status"])
                else:
                    result.pop("status", None)
            result["metadata"] = {k: v for k, v in result["metadata"].items() if k not in ("managedFields", "selfLink")}
        md = result["metadata"]
        for field in ("uid", "creationTimestamp", "namespace", "name", "deletionTimestamp", "generation"):
            if field in old_md:
                md[field] = old_md[field]
            else:
                md.pop(field, None)
        md["resourceVersion"] = old_md.get("resourceVersion")
        result["apiVersion"], result["kind"] = rt.api_version(), rt.kind
        if sub != "status":
            apply_defaults(rt, result, old)
            validate(rt, result, old)
        if _tracks_generation(rt) and _spec_part(result) != _spec_part(old):
            md["generation"] = int(old_md.get("generation") or 1) + 1
        if result == old or dry_run:
            return result  # a no-op update keeps its resourceVersion and emits no watch event
        return self.store.put(rt.key, result)

    def update(self, rt: ResourceType, namespace: str, name: str, sub: str | None, body: Any,
               *, dry_run: bool = False) -> dict[str, Any]:
        old = self._require(rt, namespace, name)
        if sub == "scale":
            return self._update_scale(rt, old, body, dry_run)
        return self.commit_update(rt, old, body, sub, dry_run=dry_run)

    # ---- scale subresource ------------------------------------------------------------------
    def scale_of(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        spec_path, status_path, selector_path = rt.scale_paths
        md = obj["metadata"]
        selector = selector_string(dig(obj, "spec.selector")) if rt.builtin else (dig(obj, selector_path) or "")
        status: dict[str, Any] = {"replicas": dig(obj, status_path) or 0}
        if selector:
            status["selector"] = selector
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {k: md[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in md},
                "spec": {"replicas": dig(obj, spec_path) or 0}, "status": status}

    def _update_scale(self, rt: ResourceType, old: dict[str, Any], scale: Any, dry_run: bool) -> dict[str, Any]:
        if not isinstance(scale, dict):
            raise bad_request("the body of a scale update must be a Scale object")
        rv = (scale.get("metadata") or {}).get("resourceVersion")
        if rv and rv != old["metadata"].get("resourceVersion"):
            raise conflict(rt, old["metadata"]["name"])
        replicas = (scale.get("spec") or {}).get("replicas", 0)
        if not isinstance(replicas, int) or replicas < 0:
            raise ApiError(422, "Invalid", f'Scale.autoscaling "{old["metadata"]["name"]}" is invalid: spec.replicas: '
                           f"Invalid value: {replicas}: must be greater than or equal to 0")
        new = copy.deepcopy(old)
        put_path(new, rt.scale_paths[0], replicas)
        return self.scale_of(rt, self.commit_update(rt, old, new, dry_run=dry_run))

    # ---- patch ------------------------------------------------------------------------------
    def patch(self, rt: ResourceType, namespace: str | None, name: str, sub: str | None, content_type: str,
              body: bytes, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        media = content_type.split(";")[0].strip().lower()
        dry_run = query.get("dryRun") == "All"
        ns = namespace or ""
        old = self.store.get(rt.key, ns if rt.namespaced else "", name)
        data = parse_body(body, content_type)
        if media == "application/apply-patch+yaml":
            return self._apply(rt, namespace, name, sub, old, data, query.get("fieldManager", ""), dry_run)
        if old is None:
            raise not_found(rt, name)
        base = self.scale_of(rt, old) if sub == "scale" else old
        try:
            if media == "application/json-patch+json":
                new = patches.json_patch(base, data)
            elif media == "application/merge-patch+json":
                new = patches.json_merge(base, data)
            elif media == "application/strategic-merge-patch+json" and rt.builtin:
                new = patches.strategic_merge(base, data)
            else:
                raise unsupported_media_type(content_type)
        except patches.PatchError as exc:
            raise ApiError(exc.code, "Invalid" if exc.code == 422 else "BadRequest", str(exc)) from exc
        if sub == "scale":
            return 200, self._update_scale(rt, old, new, dry_run)
        return 200, self.commit_update(rt, old, new, sub, dry_run=dry_run)

    def _apply(self, rt: ResourceType, namespace: str | None, name: str, sub: str | None, old: dict[str, Any] | None,
               applied: Any, manager: str, dry_run: bool) -> tuple[int, dict[str, Any]]:
        """Server-side apply, simplified: merge, prune what this manager stopped applying, no conflicts."""
        if not manager:
            raise bad_request("PATCH /apply requests require fieldManager to be set")
        if not isinstance(applied, dict):
            raise bad_request("an apply patch must be an object")
        md = applied.get("metadata") or {}
        if md.get("name", name) != name:
            raise bad_request(f"the name of the object ({md.get('name')}) does not match the name on the URL ({name})")
        slot = (rt.key, (namespace or "") if rt.namespaced else "", name, manager)
        if old is None:
            if sub:
                raise not_found(rt, name)
            created = self.create(rt, namespace, {**applied, "metadata": {**md, "name": name}}, dry_run=dry_run)
            if not dry_run:
                self.store.applied[slot] = copy.deepcopy(applied)
            return 201, created
        if sub == "scale":
            return 200, self._update_scale(rt, old, patches.apply_config(self.scale_of(rt, old), applied, None), dry_run)
        new = patches.apply_config(old, applied, self.store.applied.get(slot))
        result = self.commit_update(rt, old, new, sub, dry_run=dry_run)
        if not dry_run:
            self.store.applied[slot] = copy.deepcopy(applied)
        return 200, result

    # ---- delete -----------------------------------------------------------------------------
    def delete(self, rt: ResourceType, namespace: str | None, name: str, options: dict[str, Any],
               query: dict[str, str]) -> dict[str, Any]:
        obj = self._require(rt, namespace or "", name)
        dry_run = query.get("dryRun") == "All" or "All" in (options.get("dryRun") or [])
        policy = query.get("propagationPolicy") or options.get("propagationPolicy")
        if not policy:
            orphan = options.get("orphanDependents")
            policy = "Orphan" if orphan or (orphan is None and rt.key in ORPHAN_BY_DEFAULT) else "Background"
        if rt.key == NAMESPACES:
            if name in PROTECTED_NAMESPACES:
                raise ApiError(403, "Forbidden", f'namespaces "{name}" is forbidden: this namespace may not be deleted')
            if dry_run:
                return obj
            return self._delete_namespace(rt, obj)
        if not dry_run:
            self.delete_tree(rt, obj, policy)
        return obj if rt.kind == "Pod" else success(rt, name, obj["metadata"]["uid"])

    def delete_tree(self, rt: ResourceType, obj: dict[str, Any], policy: str = "Background") -> None:
        """Delete ``obj``, then orphan or delete (recursively) whatever it owns."""
        md = obj["metadata"]
        if self.store.remove(rt.key, md.get("namespace", ""), md["name"]) is None:
            return
        for key, dep in self.store.iter_all():
            refs = dep["metadata"].get("ownerReferences") or []
            if not any(ref.get("uid") == md["uid"] for ref in refs):
                continue
            dep_rt = self.registry.by_key(key)
            if dep_rt is None:
                continue
            if policy == "Orphan":
                dep["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != md["uid"]] or None
                if dep["metadata"]["ownerReferences"] is None:
                    del dep["metadata"]["ownerReferences"]
                self.store.put(key, dep)
            else:
                self.delete_tree(dep_rt, dep)

    def _delete_namespace(self, rt: ResourceType, ns: dict[str, Any]) -> dict[str, Any]:
        name = ns["metadata"]["name"]
        ns["metadata"]["deletionTimestamp"] = now()
        ns.setdefault("status", {})["phase"] = "Terminating"
        terminating = self.store.put(rt.key, ns)
        for key, obj in self.store.iter_all():
            dep_rt = self.registry.by_key(key)
            if dep_rt is not None and dep_rt.namespaced and obj["metadata"].get("namespace") == name:
                self.delete_tree(dep_rt, obj)
        self.store.remove(rt.key, "", name)
        return terminating

    def delete_collection(self, rt: ResourceType, version: str, namespace: str | None, query: dict[str, str]) -> dict[str, Any]:
        listed = self.list(rt, version, namespace, query)
        for item in listed["items"]:
            current = self.store.get(rt.key, item["metadata"].get("namespace", ""), item["metadata"]["name"])
            if current is not None and query.get("dryRun") != "All":
                self.delete_tree(rt, current, query.get("propagationPolicy") or "Background")
        return listed
