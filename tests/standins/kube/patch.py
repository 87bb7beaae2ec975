"""The four PATCH flavours: JSON merge (RFC 7386), JSON patch (RFC 6902), strategic merge and apply.

Strategic merge is simplified: maps merge recursively, ``null`` deletes, lists of objects merge by
the merge key the real schema declares for well-known fields (containers by ``name``, volume
mounts by ``mountPath``...), other lists are replaced. The directives kubectl and helm send
(``$patch``, ``$retainKeys``, ``$setElementOrder/...``, ``$deleteFromPrimitiveList/...``) are
understood. Server-side apply is a strategic merge of the applied configuration plus removal of
the fields the same field manager applied last time and no longer applies (no conflicts).
"""
from __future__ import annotations

import copy
from typing import Any

# field name -> merge key, from the Kubernetes API schema (patchMergeKey).
MERGE_KEYS: dict[str, str] = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "volumes": "name",
    "env": "name", "imagePullSecrets": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
    "conditions": "type", "ownerReferences": "uid", "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey", "resourceClaims": "name",
}
MERGED_PRIMITIVE_LISTS = frozenset({"finalizers"})
_DELETE = object()


class PatchError(ValueError):
    """A patch that cannot be applied (422, or 409 for a failed ``test``)."""

    def __init__(self, message: str, code: int = 422) -> None:
        super().__init__(message)
        self.code = code


def json_merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge(result.get(key), value)
    return result


def _merge_key(field: str, items: list[Any]) -> str | None:
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    if field == "ports":  # container ports merge by containerPort, service ports by port
        key = "containerPort" if all("containerPort" in i for i in items if "$patch" not in i) else "port"
    else:
        key = MERGE_KEYS.get(field, "")
    return key if key and all(key in i for i in items) else None


def _merge_list(field: str, target: list[Any], patch: list[Any]) -> list[Any]:
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [copy.deepcopy(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    if field in MERGED_PRIMITIVE_LISTS and all(not isinstance(i, (dict, list)) for i in patch):
        return list(target) + [i for i in patch if i not in target]
    key = _merge_key(field, patch)
    if key is None or (target and _merge_key(field, target) != key):
        return [strategic_merge(None, i) if isinstance(i, dict) else copy.deepcopy(i) for i in patch]
    result = [copy.deepcopy(i) for i in target]
    for item in patch:
        index = next((n for n, cur in enumerate(result) if cur.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
        elif index is None:
            result.append(strategic_merge(None, item))
        else:
            result[index] = strategic_merge(result[index], item)
    return result


def strategic_merge(target: Any, patch: Any, field: str = "") -> Any:
    """Strategic merge ``patch`` into ``target`` (``field``: the name of the value being merged)."""
    if isinstance(patch, list):
        return _merge_list(field, target if isinstance(target, list) else [], patch)
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "delete":
        return _DELETE
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if not k.startswith("$")}
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            result[name] = [i for i in result.get(name) or [] if i not in value]
        elif key.startswith("$"):
            continue  # $setElementOrder/..., $retainKeys: order and pruning hints we can skip
        elif value is None:
            result.pop(key, None)
        else:
            merged = strategic_merge(result.get(key), value, key)
            if merged is _DELETE:
                result.pop(key, None)
            else:
                result[key] = merged
    if isinstance(patch.get("$retainKeys"), list):
        result = {k: v for k, v in result.items() if k in patch["$retainKeys"]}
    return result


# ---- JSON patch ---------------------------------------------------------------------------
def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> Any:
    node = doc
    for part in parts[:-1]:
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise PatchError(f"path /{'/'.join(parts)} does not exist") from exc
    return node


def _get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent = _parent(doc, parts)
    try:
        return parent[int(parts[-1])] if isinstance(parent, list) else parent[parts[-1]]
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise PatchError(f"path {path} does not exist") from exc


def _remove(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    parent = _parent(doc, parts)
    try:
        return parent.pop(int(parts[-1])) if isinstance(parent, list) else parent.pop(parts[-1])
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise PatchError(f"unable to remove nonexistent path {path}") from exc


def _add(doc: Any, path: str, value: Any, replace: bool = False) -> Any:
    parts = _pointer(path)
    if not parts:
        return copy.deepcopy(value)
    parent = _parent(doc, parts)
    last = parts[-1]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if index > len(parent) or (replace and index >= len(parent)):
            raise PatchError(f"index out of range in {path}")
        if replace:
            parent[index] = copy.deepcopy(value)
        else:
            parent.insert(index, copy.deepcopy(value))
    elif isinstance(parent, dict):
        if replace and last not in parent:
            raise PatchError(f"unable to replace nonexistent path {path}")
        parent[last] = copy.deepcopy(value)
    else:
        raise PatchError(f"path {path} does not exist")
    return doc


def json_patch(doc: Any, ops: Any) -> Any:
    if not isinstance(ops, list):
        raise PatchError("a JSON patch must be a list of operations", code=400)
    doc = copy.deepcopy(doc)
    for op in ops:
        kind, path = op.get("op"), op.get("path", "")
        if kind == "add":
            doc = _add(doc, path, op.get("value"))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            doc = _add(doc, path, op.get("value"), replace=True)
        elif kind == "move":
            doc = _add(doc, path, _remove(doc, op["from"]))
        elif kind == "copy":
            doc = _add(doc, path, _get(doc, op["from"]))
        elif kind == "test":
            if _get(doc, path) != op.get("value"):
                raise PatchError(f"the test operation on {path} failed", code=422)
        else:
            raise PatchError(f"unknown JSON patch operation {kind!r}", code=400)
    return doc


# ---- server-side apply (simplified) -------------------------------------------------------
def prune(obj: Any, previous: Any, applied: Any, field: str = "") -> None:
    """Remove from ``obj`` what ``previous`` applied and ``applied`` no longer does (in place)."""
    if isinstance(obj, dict) and isinstance(previous, dict) and isinstance(applied, dict):
        for key, old in previous.items():
            if key not in applied:
                obj.pop(key, None)
            elif key in obj:
                prune(obj[key], old, applied[key], key)
    elif isinstance(obj, list) and isinstance(previous, list) and isinstance(applied, list):
        key = _merge_key(field, previous + applied)
        if key is None:
            return
        wanted = {i[key]: i for i in applied}
        for old in previous:
            if old[key] not in wanted:
                obj[:] = [i for i in obj if not (isinstance(i, dict) and i.get(key) == old[key])]
            else:
                for cur in obj:
                    if isinstance(cur, dict) and cur.get(key) == old[key]:
                        prune(cur, old, wanted[old[key]], field)


def apply_config(live: dict[str, Any] | None, applied: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    result = strategic_merge(copy.deepcopy(live) if live else {}, applied)
    if previous:
        prune(result, previous, applied)
    return result
