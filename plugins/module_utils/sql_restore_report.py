# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The report of a SQL dump restore (the ``sql_dump_restore`` role), assembled from what its phases returned.

Plain Python (the ``sql_restore_report`` filter is its Ansible face). Takes the results of the
preflight check and of the restore - from ``sql_dump`` on the control node or ``sql_restore_job`` in
the cluster, successful or failed - and the applications' stop and start, and returns one dict in the
spirit of the restore_flow report: status, dump, database, tables with row counts, sequences reset,
downtime and the timeline of phases. Only fields known to carry no secret are copied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}
_DUMP_FIELDS = ("path", "writer", "compressed", "database", "server_version", "created", "tool")
_JOB_FIELDS = ("job_name", "namespace", "image", "status", "secret", "log_tail", "cleaned_up")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _ran(result: Mapping[str, Any]) -> bool:
    """A registered result of a task that ran (not skipped, not empty)."""
    return bool(result) and not result.get("skipped")


def _status(inputs: Mapping[str, Any]) -> str:
    if inputs.get("failure"):
        return "failed"
    return "planned" if inputs.get("check_mode") else "succeeded"


def _dump(via: str, checked: Mapping[str, Any], outcome: Mapping[str, Any]) -> dict[str, Any]:
    """The dump used: the control node's check/restore name the file and its header; a Job names its path in the volume."""
    if via == "job":
        source = outcome if outcome.get("dump") else checked
        return {"path": source.get("dump"), "picked": source.get("picked"), "writer": source.get("writer"), "in_volume": True}
    info = _mapping(outcome.get("dump")) or _mapping(checked.get("dump"))
    dump = {key: info.get(key) for key in _DUMP_FIELDS if key in info}
    dump["path"] = outcome.get("src") or checked.get("src") or info.get("path")
    dump["picked"] = checked.get("picked") or outcome.get("picked")
    return dump


def _tables(expected: Mapping[str, Any] | None, counts: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    names = sorted(set(expected or {}) | set(counts or {}))
    return [{"table": name, "rows": (counts or {}).get(name), "expected": (expected or {}).get(name)} for name in names]


def _seconds(start: Any, end: Any) -> float | None:
    try:
        first, last = float(start or 0), float(end or 0)
    except (TypeError, ValueError):
        return None
    return round(last - first, 1) if first and last else None


def build(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The report; ``inputs`` as the role passes them (see the filter's documentation)."""
    via = str(inputs.get("via") or "control_node")
    engine = str(inputs.get("engine") or "")
    checked, outcome = _mapping(inputs.get("checked")), _mapping(inputs.get("outcome"))
    checked = checked if _ran(checked) else {}
    outcome = outcome if _ran(outcome) else {}
    port = inputs.get("port") or DEFAULT_PORTS.get(engine)
    endpoint = outcome.get("endpoint") or checked.get("endpoint") or (inputs.get("database") if engine == "sqlite" else f"{inputs.get('host')}:{port}")
    expected = outcome.get("expected_counts") or checked.get("expected_counts")
    counts = outcome.get("row_counts")
    report: dict[str, Any] = {
        "backend": "sql_dump",
        "status": _status(inputs),
        "failed_phase": inputs.get("failed_phase") or None,
        "error": inputs.get("failure") or None,
        "started": inputs.get("started"),
        "ended": inputs.get("ended"),
        "via": via,
        "engine": engine,
        "database": inputs.get("database"),
        "endpoint": endpoint,
        "server_version": outcome.get("server_version") or checked.get("server_version"),
        "dump": _dump(via, checked, outcome),
        "clean": bool(inputs.get("clean")),
        "cleaned": outcome.get("cleaned") if "cleaned" in outcome else None,
        # what the database held before: the control node lists the objects, a Job counts them
        "objects_before": len(checked["dropped"]) if isinstance(checked.get("dropped"), list) else checked.get("objects"),
        "counts_from": outcome.get("counts_from") or checked.get("counts_from"),
        "verified": bool(outcome.get("verified")),
        "tables": _tables(expected, counts),
        "mismatches": outcome.get("mismatches") or {},
        "sequences": outcome.get("sequences") or [],
        "applications": {"stopped": list(inputs.get("stopped") or []), "started": list(inputs.get("started_apps") or [])},
        "downtime": {
            "stopped_at": inputs.get("stopped_at") or None,
            "started_at": inputs.get("started_at") or None,
            "seconds": _seconds(inputs.get("stopped_epoch"), inputs.get("started_epoch")),
        },
        "timeline": list(inputs.get("timeline") or []),
    }
    # the restore Job and the check Job (null from the control node, or when it did not run)
    report["job"] = {key: outcome.get(key) for key in _JOB_FIELDS} if via == "job" and outcome else None
    report["check_job"] = {key: checked.get(key) for key in _JOB_FIELDS} if via == "job" and checked else None
    return report
