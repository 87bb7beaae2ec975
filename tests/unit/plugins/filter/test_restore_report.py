"""Unit tests of the restore_report_text filter: what an operator reads after a restore."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.scalarops.pitr.plugins.filter.restore_report import restore_report_text

REPORT = {
    "backend": "dynamodb",
    "status": "succeeded",
    "started": "2026-11-21T09:00:00.000000+00:00",
    "ended": "2026-11-21T09:05:30.000000+00:00",
    "restore_point": {"time": "2026-11-21T08:30:05.000+00:00", "use_latest": False,
                      "pause_window": {"start": "2026-11-21T08:30:00.000+00:00", "end": "2026-11-21T08:30:10.000+00:00"}},
    "downtime": {"stopped_at": "2026-11-21T09:02:00.000000+00:00", "started_at": "2026-11-21T09:03:15.500000+00:00"},
    "properties_set": {"scalar.db.dynamo.namespace.prefix": "r_"},
    "phases": {
        "prepare": {"tables_failed": 1, "msg": "prepare: 1 of 2 tables failed", "tables": [
            {"source": "ns.a", "target": "r_ns.a", "status": "ok", "seconds": 42.0,
             "steps": [{"step": "restore to target", "status": "ok", "seconds": 40.0},
                       {"step": "re-apply settings", "status": "already done", "seconds": 0.0}]},
            {"source": "ns.b", "target": "r_ns.b", "status": "failed", "seconds": 1.0, "steps": [],
             "error": "RestoreTableToPointInTime failed: AccessDenied"},
        ]},
    },
}


def test_summary_names_point_window_downtime_tables_steps_and_errors() -> None:
    text = restore_report_text(REPORT)
    lines = text.splitlines()
    assert lines[0] == "Restore (dynamodb): SUCCEEDED"
    assert "2026-11-21T08:30:05.000+00:00 (midpoint of the pause window 2026-11-21T08:30:00.000+00:00 .. 2026-11-21T08:30:10.000+00:00)" in lines[1]
    assert "(5 min 30 s)" in lines[2]
    assert lines[3] == "Downtime: 75.5 s (stopped 2026-11-21T09:02:00.000000+00:00, started 2026-11-21T09:03:15.500000+00:00)"
    assert "Properties switched: scalar.db.dynamo.namespace.prefix=r_" in text
    assert "prepare: 2 tables, 1 failed" in text
    assert "  ns.a -> r_ns.a: ok 42.0 s" in text
    assert "    restore to target 40.0 s; re-apply settings 0.0 s (already done)" in text
    assert "    error: RestoreTableToPointInTime failed: AccessDenied" in text


def test_workloads_left_stopped_are_called_out() -> None:
    report = dict(REPORT, status="failed", downtime={"stopped_at": "2026-11-21T09:02:00+00:00", "started_at": None},
                  error="cutover failed", failed_phase="cutover")
    text = restore_report_text(report)
    assert "Downtime: workloads stopped at 2026-11-21T09:02:00+00:00 and NOT started again" in text
    assert "Failed in cutover: cutover failed" in text


def test_not_a_report_is_refused() -> None:
    with pytest.raises(AnsibleFilterError, match="expects the report dict"):
        restore_report_text(["not", "a", "report"])  # type: ignore[arg-type]
