"""Unit tests of the restore_report_text filter on a CloudNativePG report (scalarops.pitr.cnpg_restore, backend cnpg)."""
from __future__ import annotations

import copy

from ansible_collections.scalarops.pitr.plugins.filter.restore_report import restore_report_text

MODULE_RESULT = {
    "cluster": {"namespace": "database", "name": "postgres-v17"},
    "recovery": {"server_name": "postgres-v17-backup", "new_server_name": "postgres-v17", "target_time": "2026-11-21T09:30:00Z",
                 "source_mode": "plugin", "backup_id": "20261121T000003", "backup_end_time": "2026-11-21T00:00:05+00:00"},
    "archive": {"bucket": "cloudnative-pg", "prefix": "", "base_backups": 7, "wal_files": 1520},
    "existing": "foreign", "plan": {"remove": True, "create": True}, "removed": False, "created": False,
    "status": {"phase": None, "instances": None, "ready_instances": None},
}
REPORT = {
    "backend": "cnpg",
    "status": "succeeded",
    "started": "2026-11-21T10:00:00+00:00",
    "ended": "2026-11-21T10:12:00+00:00",
    "restore_point": {"time": "2026-11-21T09:30:00+00:00", "end_of_archive": False},
    "cluster": {"namespace": "database", "source": "postgres-v17", "target": "postgres-v17", "replace": True,
                "archive_strategy": "move_folder"},
    "workloads": [{"kind": "Deployment", "name": "web", "namespace": "shop"}],
    "downtime": {"stopped_at": "2026-11-21T10:01:00+00:00", "started_at": "2026-11-21T10:11:00+00:00"},
    "timeline": [],
    "phases": {
        "start": {"workloads": [{"kind": "Deployment", "name": "web", "namespace": "shop", "replicas": 3}]},
        "recover": {**MODULE_RESULT, "created": True, "existing": "absent",
                    "status": {"phase": "Cluster in healthy state", "instances": 3, "ready_instances": 3}},
        "move": {"bucket": "cloudnative-pg", "source": "postgres-v17/", "target": "postgres-v17-backup/", "objects": 1527,
                 "bytes": 3 * 1024 ** 3, "copied": 1527, "already_copied": 0, "verified": 1527, "deleted": 1527, "state": "source_deleted"},
        "remove": {**MODULE_RESULT, "removed": True, "saved_configmap": "postgres-v17-pitr-removed"},
        "stop": {"workloads": [{"kind": "Deployment", "name": "web", "namespace": "shop", "replicas": 3}]},
        "preflight": {**MODULE_RESULT, "strategy": "move_folder", "workloads": ["Deployment shop/web: exists, 3 replicas"],
                      "recovery": {**MODULE_RESULT["recovery"], "inspected_server_name": "postgres-v17"},
                      "archive": {**MODULE_RESULT["archive"], "pending_move": True},
                      "move_plan": {"bucket": "cloudnative-pg", "source": "postgres-v17/", "target": "postgres-v17-backup/",
                                    "objects": 1527, "bytes": 3 * 1024 ** 3, "plan": {"to_copy": 1527, "to_delete": 1527}}},
    },
}


def test_cnpg_report_names_the_clusters_folders_backup_move_and_steps_in_order() -> None:
    text = restore_report_text(REPORT)
    lines = text.splitlines()
    assert lines[0] == "Restore (cnpg): SUCCEEDED"
    assert lines[1] == "Restore point: 2026-11-21T09:30:00+00:00"
    assert "Downtime: 10 min 00 s" in text
    assert "Cluster: database/postgres-v17 -> database/postgres-v17 (replaces the old cluster); archive strategy move_folder" in text
    assert "Applications: Deployment shop/web" in text
    assert ("preflight: database/postgres-v17 recovers from s3://cloudnative-pg/postgres-v17-backup/ (once postgres-v17/ is moved there) "
            "(plugin) and archives to postgres-v17/") in text
    assert "    base backup 20261121T000003 (ended 2026-11-21T00:00:05+00:00); the archive holds 7 base backups and 1520 WAL files" in text
    assert "    plan: delete the existing Cluster (not created by scalarops.pitr); create the recovery Cluster" in text
    assert "    Deployment shop/web: exists, 3 replicas" in text
    assert "    move planned: s3://cloudnative-pg/postgres-v17/ -> postgres-v17-backup/: 1527 objects (3.0 GiB), 1527 to copy" in text
    assert "remove: deleted the Cluster database/postgres-v17 and its PVCs (its manifest saved in the ConfigMap postgres-v17-pitr-removed)" in text
    assert ("move: s3://cloudnative-pg/postgres-v17/ -> postgres-v17-backup/: 1527 objects (3.0 GiB), 1527 copied now, 0 copied before, "
            "1527 verified, 1527 deleted (source_deleted)") in text
    assert "recover: database/postgres-v17 created; phase 'Cluster in healthy state', ready instances 3 of 3" in text
    assert "stop: Deployment shop/web (3 replicas)" in text
    order = [next(index for index, line in enumerate(lines) if line.startswith(f"{name}:"))
             for name in ("preflight", "stop", "remove", "move", "recover", "start")]
    assert order == sorted(order), "the steps in the order they run"


def test_cnpg_failure_end_of_archive_and_a_skipped_move() -> None:
    report = copy.deepcopy(REPORT)
    report.update(status="failed", failed_phase="recover", restore_point={"time": None, "end_of_archive": True},
                  downtime={"stopped_at": "2026-11-21T10:01:00+00:00", "started_at": None},
                  error="the Cluster database/postgres-v17 is not healthy after 3600s: last phase 'Setting up primary'")
    report["phases"]["move"] = {"skipped_reason": "the recovery Cluster exists: an earlier run moved the folder"}
    report["phases"]["recover"] = {**MODULE_RESULT, "existing": "recovery", "msg": report["error"],
                                   "status": {"phase": "Setting up primary", "instances": 3, "ready_instances": 0}}
    del report["phases"]["start"]
    text = restore_report_text(report)
    assert "Restore point: the end of the archive (the last archived WAL)" in text
    assert "Downtime: workloads stopped at 2026-11-21T10:01:00+00:00 and NOT started again" in text
    assert "Failed in recover: the Cluster database/postgres-v17 is not healthy" in text
    assert "move: skipped - the recovery Cluster exists: an earlier run moved the folder" in text
    assert "recover: database/postgres-v17 found (this restore's own); phase 'Setting up primary', ready instances 0 of 3" in text
    assert "  error: the Cluster database/postgres-v17 is not healthy after 3600s" in text


def test_a_preflight_that_failed_before_the_module_ran_still_renders() -> None:
    report = copy.deepcopy(REPORT)
    report.update(status="failed", failed_phase="preflight", error="1 workload(s) not found: Deployment shop/web",
                  phases={"preflight": {"strategy": "new_server_name", "workloads": [], "move_plan": {}}})
    text = restore_report_text(report)
    assert "preflight: the Clusters and the archive were not checked" in text and "Failed in preflight: 1 workload(s) not found" in text


def test_a_preflight_the_module_refused_names_the_cluster_and_the_error() -> None:
    refused = {"cluster": {"namespace": "database", "name": "postgres-v17"}, "msg": "a Cluster database/postgres-v17 exists",
               "recovery": {"server_name": None, "new_server_name": None, "source_mode": None, "backup_id": None},
               "archive": {"bucket": None, "prefix": None}, "plan": {}, "workloads": ["Deployment shop/web: exists, 3 replicas"]}
    report = dict(REPORT, status="failed", failed_phase="preflight", error=refused["msg"], phases={"preflight": refused})
    lines = restore_report_text(report).splitlines()
    at = lines.index("preflight: database/postgres-v17")
    assert lines[at + 1:at + 3] == ["    Deployment shop/web: exists, 3 replicas", "  error: a Cluster database/postgres-v17 exists"]
