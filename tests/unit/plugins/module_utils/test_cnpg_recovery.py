"""The pure parts of the CloudNativePG recovery (module_utils/cnpg_recovery, cnpg_archive): rendering the recovery Cluster in
both archive modes, time formats, spec cleaning and merging, status reading, backup.info and WAL arithmetic."""
from __future__ import annotations

import datetime as _dt

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.cnpg_archive import (
    BaseBackup,
    choose_backup,
    parse_backup_info,
    required_wals,
    wal_name,
    wal_position,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.cnpg_recovery import (
    MODE_IN_TREE,
    MODE_PLUGIN,
    PLUGIN_NAME,
    CnpgRestoreError,
    StoreSettings,
    archive_server_name,
    backup_mode,
    clean_spec,
    cluster_status,
    deep_merge,
    empty_archive_problem,
    format_target_time,
    is_healthy,
    parse_target_time,
    render_cluster,
    sanitize_name,
)

UTC = _dt.timezone.utc
STORE = {"destinationPath": "s3://cnpg/clusters", "endpointURL": "https://gateway.storjshare.io",
         "s3Credentials": {"accessKeyId": {"name": "s3", "key": "ID"}, "secretAccessKey": {"name": "s3", "key": "KEY"}},
         "wal": {"compression": "gzip"}}


def test_target_time_is_written_as_rfc3339_utc_and_needs_a_zone() -> None:
    assert format_target_time(_dt.datetime(2026, 11, 20, 19, 30, tzinfo=_dt.timezone(_dt.timedelta(hours=9)))) == "2026-11-20T10:30:00Z"
    assert format_target_time(_dt.datetime(2026, 11, 20, 10, 30, 0, 5000, tzinfo=UTC)) == "2026-11-20T10:30:00.005000Z"
    assert parse_target_time("2026-11-20T10:30:00Z") == _dt.datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
    assert parse_target_time("") is None and parse_target_time(None) is None and parse_target_time("latest") is None
    with pytest.raises(CnpgRestoreError, match="has no time zone"):
        parse_target_time("2026-11-20 10:30:00")


def test_names_merge_and_clean() -> None:
    assert sanitize_name("Postgres_V17.backup") == "postgres-v17-backup" and sanitize_name("___") == "recovery-source"
    assert len(sanitize_name("a" * 80)) == 63
    merged = deep_merge({"instances": 3, "storage": {"size": "10Gi", "storageClass": "fast"}, "resources": {"cpu": 1}},
                        {"instances": 1, "storage": {"size": "20Gi"}, "resources": None})
    assert merged == {"instances": 1, "storage": {"size": "20Gi", "storageClass": "fast"}}
    spec = {"instances": 3, "bootstrap": {"recovery": {"source": "old"}}, "replica": {"enabled": False, "source": "primary-dc"},
            "externalClusters": [{"name": "old"}, {"name": "primary-dc"}, {"name": "publisher"}]}
    assert clean_spec(spec) == {"instances": 3, "externalClusters": [{"name": "publisher"}]}
    assert clean_spec({"bootstrap": {"initdb": {}}, "externalClusters": []}) == {}


def test_backup_mode_and_server_name_defaults() -> None:
    in_tree = {"backup": {"barmanObjectStore": dict(STORE)}}
    plugin = {"plugins": [{"name": "other"}, {"name": PLUGIN_NAME, "isWALArchiver": True, "parameters": {"barmanObjectName": "s"}}]}
    assert (backup_mode(in_tree), archive_server_name(in_tree, "pg")) == (MODE_IN_TREE, "pg")
    assert archive_server_name({"backup": {"barmanObjectStore": {**STORE, "serverName": "pg-v17"}}}, "pg") == "pg-v17"
    assert (backup_mode(plugin), archive_server_name(plugin, "pg")) == (MODE_PLUGIN, "pg")
    assert (backup_mode({"instances": 1}), archive_server_name({"instances": 1}, "pg")) == (None, None)


def test_render_in_tree() -> None:
    spec = {"instances": 3, "backup": {"barmanObjectStore": {**STORE, "serverName": "pg"}, "retentionPolicy": "30d"}}
    target = _dt.datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
    manifest = render_cluster("db", "pg", spec, {"app": "db"}, StoreSettings(MODE_IN_TREE, dict(STORE)), "pg-backup", "pg", target)
    assert manifest["metadata"] == {"name": "pg", "namespace": "db", "labels": {"app": "db"}, "annotations": {
        "scalarops.pitr/restored-from": "pg-backup", "scalarops.pitr/target-time": "2026-11-20T10:30:00Z",
        "scalarops.pitr/managed-by": "scalarops.pitr"}}
    assert manifest["spec"] == {
        "instances": 3,
        "backup": {"barmanObjectStore": {**STORE, "serverName": "pg"}, "retentionPolicy": "30d"},
        "externalClusters": [{"name": "pg-backup", "barmanObjectStore": {**STORE, "serverName": "pg-backup"}}],
        "bootstrap": {"recovery": {"source": "pg-backup", "recoveryTarget": {"targetTime": "2026-11-20T10:30:00Z"}}},
    }
    assert spec["backup"]["barmanObjectStore"]["serverName"] == "pg"  # the template is not modified


def test_render_plugin_to_the_end_of_the_archive() -> None:
    spec = {"instances": 1, "plugins": [{"name": PLUGIN_NAME, "isWALArchiver": True, "parameters": {"barmanObjectName": "store"}}],
            "externalClusters": [{"name": "publisher"}, {"name": "pg-v17"}]}
    manifest = render_cluster("db", "pg2", spec, {}, StoreSettings(MODE_PLUGIN, dict(STORE), "store"), "pg-v17", "pg2-x", None)
    assert "labels" not in manifest["metadata"] and manifest["metadata"]["annotations"]["scalarops.pitr/target-time"] == "latest"
    assert manifest["spec"]["bootstrap"] == {"recovery": {"source": "pg-v17"}}
    assert manifest["spec"]["externalClusters"] == [
        {"name": "publisher"},
        {"name": "pg-v17", "plugin": {"name": PLUGIN_NAME, "parameters": {"barmanObjectName": "store", "serverName": "pg-v17"}}}]
    assert manifest["spec"]["plugins"][0]["parameters"] == {"barmanObjectName": "store", "serverName": "pg2-x"}


def test_status_health_and_expected_empty_archive() -> None:
    cluster = {"spec": {"instances": 3}, "status": {"phase": "Cluster in healthy state", "readyInstances": 3}}
    assert is_healthy(cluster) and cluster_status(cluster) == {"phase": "Cluster in healthy state", "instances": 3, "ready_instances": 3}
    assert not is_healthy({"spec": {"instances": 3}, "status": {"phase": "Cluster in healthy state", "readyInstances": 2}})
    assert cluster_status(None) == {"phase": None, "instances": None, "ready_instances": None}
    assert empty_archive_problem(cluster) is None
    stuck = {"status": {"phase": "Setting up primary", "conditions": [
        {"type": "Ready", "status": "False", "reason": "X", "message": "WAL archive check failed: Expected empty archive"}]}}
    assert "Expected empty archive" in (empty_archive_problem(stuck) or "")
    assert empty_archive_problem({"status": {"phaseReason": "expected empty archive"}}) == "expected empty archive"
    assert empty_archive_problem({"status": {"conditions": [{"type": "Ready", "status": "True", "message": "Expected empty archive"}]}}) is None


def test_backup_info_and_wal_arithmetic() -> None:
    info = parse_backup_info("backup_id=20261120T100003\nstatus=DONE\nerror=None\nend_time=2026-11-20 10:00:05.181329+00:00\nbroken\n")
    assert info == {"backup_id": "20261120T100003", "status": "DONE", "error": None, "end_time": "2026-11-20 10:00:05.181329+00:00"}
    assert wal_position("0000000200000001000000FF") == (2, 0x1FF)
    assert wal_name(2, 0x200) == "000000020000000200000000"  # 256 segments of 16 MiB per log file
    assert wal_name(1, 0x41, 1024 * 1024 * 1024) == "000000010000001000000001"  # 4 segments of 1 GiB per log file
    backup = BaseBackup("b", "DONE", None, _dt.datetime(2026, 11, 20, tzinfo=UTC), "0000000100000001000000FE", "000000010000000200000001", 1)
    assert required_wals(backup) == ["0000000100000001000000FE", "0000000100000001000000FF", "000000010000000200000000",
                                     "000000010000000200000001"]
    early = BaseBackup("a", "DONE", None, _dt.datetime(2026, 11, 19, tzinfo=UTC), None, None, 1)
    failed = BaseBackup("c", "FAILED", None, _dt.datetime(2026, 11, 21, tzinfo=UTC), None, None, 1)
    assert choose_backup([early, backup, failed], None) is backup
    assert choose_backup([early, backup, failed], _dt.datetime(2026, 11, 19, 12, tzinfo=UTC)) is early
    assert choose_backup([early, backup], _dt.datetime(2026, 11, 18, tzinfo=UTC)) is None
