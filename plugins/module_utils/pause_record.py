# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The pause record: what a Scalar Admin pause window was, kept for the restore that uses it.

pause_scalar.yml writes it twice - as a ConfigMap in the cluster (found from any machine, later)
and as a local JSON file - and every restore accepts it as ``restore_pause_record``: the record
itself, the path of its file, or its ConfigMap as ``namespace/name``.
"""

from __future__ import annotations

import json
import os
import re

from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import (
    UTC,
    PauseWindow,
    RestorePointError,
)

KIND = "ScalarPauseRecord"
VERSION = 1
DATA_KEY = "record.json"
LABEL = "scalarops.io/pause-record"
_CONFIGMAP_REF = re.compile(r"^(?:(?P<namespace>[a-z0-9]([-a-z0-9]*[a-z0-9])?)/)?(?P<name>[a-z0-9]([-.a-z0-9]*[a-z0-9])?)$")


def record_id(window):
    """A name for the record that sorts by time, e.g. scalarops-pitr-pause-20261121t093000123z (a valid Kubernetes name)."""
    start = window.start.astimezone(UTC)
    return f"scalarops-pitr-pause-{start:%Y%m%dt%H%M%S}{start.microsecond // 1000:03d}z"


def build(window, releases, nodes, pause_duration, clock_skew_margin):
    """The record of a pause ``window`` (a PauseWindow) over ``releases`` and their ``nodes``."""
    return {
        "kind": KIND,
        "version": VERSION,
        "id": record_id(window),
        "window": window.as_dict(),
        "releases": [{key: r.get(key) for key in ("name", "namespace", "product")} for r in releases],
        "nodes": nodes,
        "pause_duration": pause_duration,
        "clock_skew_margin": clock_skew_margin,
    }


def configmap(record, namespace):
    """The ConfigMap that keeps ``record`` in the cluster."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": record["id"],
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "scalarops.pitr", LABEL: "true"},
            "annotations": {"scalarops.io/pause-midpoint": record["window"]["midpoint"]},
        },
        "data": {DATA_KEY: json.dumps(record, indent=2, sort_keys=True)},
    }


def parse(record, source="restore_pause_record"):
    """Check a record (a dict) and return its PauseWindow."""
    if not isinstance(record, dict) or record.get("kind") != KIND:
        raise RestorePointError(f"{source}: not a pause record (expected kind {KIND}, written by pause_scalar.yml)")
    if record.get("version") != VERSION:
        raise RestorePointError(f"{source}: pause record version {record.get('version')!r} is not supported (expected {VERSION})")
    return PauseWindow.from_mapping(record.get("window"), f"{source}.window")


def configmap_ref(value):
    """(namespace or None, name) when ``value`` reads as a ConfigMap reference, else None."""
    match = _CONFIGMAP_REF.match(value or "")
    return (match.group("namespace"), match.group("name")) if match else None


def load(value, read_configmap):
    """The record ``value`` names: the record itself, a JSON file, or a ConfigMap ``[namespace/]name``.

    ``read_configmap(namespace, name)`` returns the ConfigMap's data dict or None; it is only called
    for a reference, so reading a file needs no Kubernetes access.
    """
    if isinstance(value, dict):
        return value
    text = str(value or "").strip()
    if not text:
        raise RestorePointError("restore_pause_record is empty")
    if os.path.isfile(text):
        try:
            with open(text, encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError) as exc:
            raise RestorePointError(f"restore_pause_record: cannot read {text}: {exc}") from None
    ref = configmap_ref(text)
    if ref is None:
        raise RestorePointError(
            f"restore_pause_record: {text!r} is neither a file nor a ConfigMap reference ([namespace/]name)"
        )
    data = read_configmap(*ref)
    if data is None:
        raise RestorePointError(
            f"restore_pause_record: no file {text!r} and no ConfigMap {text} in the cluster "
            f"(pause_scalar.yml names both in its output)"
        )
    try:
        return json.loads(data[DATA_KEY])
    except (KeyError, TypeError, ValueError):
        raise RestorePointError(f"restore_pause_record: ConfigMap {text} holds no valid {DATA_KEY}") from None
