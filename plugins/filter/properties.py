# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Filters: read and edit the Java properties strings of ScalarDB/ScalarDL Helm values.

Thin wrappers around module_utils/java_properties.py (documented in the sidecar YAML file of
each filter): they check what Jinja hands them and turn the core's errors into
AnsibleFilterError messages that name the filter and the key.
"""

from __future__ import annotations

from typing import Any, Callable

from ansible.errors import AnsibleFilterError

from ansible_collections.scalarops.pitr.plugins.module_utils.java_properties import (
    PropertiesDocument,
    PropertiesError,
    edit,
    to_property_text,
)


def _text(filter_name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise AnsibleFilterError(f"{filter_name}: the input must be a properties text (a string), not {type(value).__name__}")
    return value


def _keys(filter_name: str, keys: Any) -> list[str]:
    if isinstance(keys, str):
        return [keys]
    if isinstance(keys, (list, tuple)) and all(isinstance(key, str) for key in keys):
        return list(keys)
    raise AnsibleFilterError(f"{filter_name}: keys must be a string or a list of strings")


def _mapping(filter_name: str, mapping: Any) -> dict:
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise AnsibleFilterError(f"{filter_name}: the properties to set must be a dictionary, not {type(mapping).__name__}")
    return mapping


def _edit(filter_name: str, text: Any, updates: Any, removals: Any, missing_ok: bool) -> tuple[str, list]:
    try:
        return edit(
            _text(filter_name, text),
            set=_mapping(filter_name, updates),
            remove=None if removals is None else _keys(filter_name, removals),
            missing_ok=bool(missing_ok),
        )
    except PropertiesError as exc:
        raise AnsibleFilterError(f"{filter_name}: {exc}") from exc


def properties_set(text: str, mapping: dict) -> str:
    """Set keys in place (new keys at the end); every other line stays as it was."""
    return _edit("properties_set", text, mapping, None, False)[0]


def properties_remove(text: str, keys: str | list[str], missing_ok: bool = False) -> str:
    """Remove keys with all their lines; a missing key is an error unless missing_ok."""
    return _edit("properties_remove", text, None, keys, missing_ok)[0]


def properties_edit(
    text: str,
    set: dict | None = None,  # same name as in module_utils.java_properties.edit
    remove: str | list[str] | None = None,
    missing_ok: bool = False,
) -> dict[str, Any]:
    """Remove then set keys; return the text and the (masked) changes, for a diff in the output."""
    new_text, changes = _edit("properties_edit", text, set, remove, missing_ok)
    return {"text": new_text, "changed": bool(changes), "changes": [change._asdict() for change in changes]}


def properties_get(text: str, key: str, default: Any = None) -> Any:
    """The value Java reads for key (the last duplicate), else default."""
    try:
        return PropertiesDocument(_text("properties_get", text)).get(to_property_text(key, "key"), default)
    except PropertiesError as exc:
        raise AnsibleFilterError(f"properties_get: {exc}") from exc


def properties_to_dict(text: str) -> dict[str, str]:
    """Every property as Java reads it."""
    try:
        return PropertiesDocument(_text("properties_to_dict", text)).as_dict()
    except PropertiesError as exc:
        raise AnsibleFilterError(f"properties_to_dict: {exc}") from exc


def properties_env_refs(text_or_value: str) -> list[str]:
    """Environment variables referenced as ${env:NAME} outside comments (a whole text or one value)."""
    try:
        return PropertiesDocument(_text("properties_env_refs", text_or_value)).env_refs()
    except PropertiesError as exc:
        raise AnsibleFilterError(f"properties_env_refs: {exc}") from exc


class FilterModule:
    """Java properties filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "properties_set": properties_set,
            "properties_remove": properties_remove,
            "properties_edit": properties_edit,
            "properties_get": properties_get,
            "properties_to_dict": properties_to_dict,
            "properties_env_refs": properties_env_refs,
        }
