"""The DynamoDB deployment restore core (``dynamodb_restore.run_phase``), end to end.

Real boto3 over HTTP against the in-process moto stand-in, on a ScalarDB-like deployment (metadata,
namespaces and coordinator tables, user tables with a GSI, auto scaling, PITR, plus TTL, tags and
deletion protection).  What AWS holds afterwards is what is asserted: items, tables, backups,
settings (``dynamodb_settings.capture`` before and after), the journal.

These tests need the stand-in (they restore to a point milliseconds old, which AWS only allows
minutes later, and use delays and faults), so against a real endpoint they skip with that reason.
Crash/resume, throttling and bad input live in ``test_dynamodb_restore_resume.py`` and
``test_dynamodb_restore_preflight.py``.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from dynamodb_restore_helpers import (
    JOURNAL,
    METADATA_TABLE,
    NAMESPACES_TABLE,
    PREFIX,
    TARGET_PREFIX,
    USER_TABLE,
    Stage,
    build,
    ok,
    options,
    point_after_writes,
    renamed,
    v1,
    v2,
    write_v2,
)

from ansible_collections.scalarops.pitr.plugins.module_utils.concurrency import Deadline
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_naming import backup_name
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_restore import PREFIX_PROPERTY, Progress, Request, run_phase
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_settings import diff
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_wait import Poller
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import to_iso
from standins.aws.faults import Fault
from standins.aws.inprocess import InProcessAws
from standins.aws.scalardb_tables import DEFAULT_LAYOUT, create_deployment, versions

InProc = Callable[..., InProcessAws]


def restore_backup_into(stage: Stage, backup: str, target: str) -> dict[int, str]:
    """Restore the backup called ``backup`` into a new table ``target``; return its items."""
    arn = stage.backups()[backup]["BackupArn"]
    stage.ddb.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
    stage.ddb.get_waiter("table_exists").wait(TableName=target, WaiterConfig={"Delay": 0.05, "MaxAttempts": 200})
    return versions(stage.ddb, target)


def test_in_place_full_cycle(aws_inproc: InProc) -> None:
    """prepare while the application writes, cutover, verify: the tables hold the restore point's
    items under their own names, with every setting back; the replaced state is in safety backups."""
    stage = build(aws_inproc(restore_seconds=0.2, backup_seconds=0.1), layout=DEFAULT_LAYOUT)  # namespaces with several tables
    request = stage.request()
    before_tables = stage.table_names()
    write_v2(stage)  # after the restore point, before the prepare: the restore must not see it

    prepared = ok(stage.run(request, "prepare"))
    assert prepared["changed"] is True
    assert stage.staging_tables() == set(), "prepare deletes its staging tables"
    assert {f"{t}-restore-{prepared['restore_point_label']}" for t in stage.tables} <= set(stage.backups())
    for table in stage.user_tables:
        assert stage.versions(table) == v2(), "prepare must not touch the sources"
    # The application keeps running until the cutover.
    stage.ddb.delete_item(TableName=USER_TABLE, Key={"concatenatedPartitionKey": {"B": f"{USER_TABLE}/0".encode()}, "concatenatedClusteringKey": {"B": b"0"}})

    cut = ok(stage.run(request, "cutover"))
    assert cut["changed"] is True
    verified = ok(stage.run(request, "verify"))
    assert verified["changed"] is False

    # Items: the restore point's, under the same names.
    assert stage.table_names() == before_tables | {JOURNAL}
    for table in stage.user_tables:
        assert stage.versions(table) == v1(), table
    assert stage.staging_tables() == set()
    # Every table really is the restore (not the old table left in place).
    for entry in cut["tables"]:
        summary = stage.ddb.describe_table(TableName=entry["source"])["Table"].get("RestoreSummary") or {}
        assert summary.get("SourceBackupArn") == stage.backups()[entry["restore_backup"]]["BackupArn"]
    # Settings: PITR, auto scaling, TTL, tags, deletion protection as before.
    after = stage.settings(stage.tables)
    for table in stage.tables:
        assert diff(stage.before[table], after[table]) == [], table
        assert after[table].pitr and after[table].tags == stage.before[table].tags
    assert after[USER_TABLE].deletion_protection and after[USER_TABLE].ttl_attribute == "expire_at"
    assert after[USER_TABLE].scalable_targets and after[USER_TABLE].scaling_policies
    # Safety backups: one per table, holding the tables as the cutover found them.
    backups = stage.backups()
    for table in stage.tables:
        assert backups[backup_name(table, stage.point, "safety")]["BackupStatus"] == "AVAILABLE"
    assert restore_backup_into(stage, backup_name(USER_TABLE, stage.point, "safety"), "check.safety") == {1: "v2", 2: "v2"}

    # Every phase again: nothing to do.
    for phase in ("prepare", "cutover", "verify"):
        again = ok(stage.run(request, phase))
        assert again["changed"] is False, (phase, [(e["source"], e["steps"]) for e in again["tables"]])
    for table in stage.user_tables:
        assert stage.versions(table) == v1()


def test_in_place_twice(aws_inproc: InProc) -> None:
    """A deployment restored in place once (its tables are now restores of backups) can be restored
    in place again, to a later point: the second restore captures the settings of the tables as
    they are now and never mistakes them for tables it already replaced."""
    stage = build(aws_inproc())
    first = stage.request()
    for phase in ("prepare", "cutover", "verify"):
        ok(stage.run(first, phase))
    write_v2(stage)  # the application runs on the restored tables and writes again
    second_point = point_after_writes()
    for table in stage.user_tables:
        stage.ddb.delete_item(TableName=table, Key={"concatenatedPartitionKey": {"B": f"{table}/0".encode()}, "concatenatedClusteringKey": {"B": b"0"}})
    second = stage.request(point=second_point)
    for phase in ("prepare", "cutover", "verify"):
        ok(stage.run(second, phase))
    for table in stage.user_tables:
        assert stage.versions(table) == v2(), table
    assert stage.staging_tables() == set()
    after = stage.settings(stage.tables)
    assert all(diff(stage.before[t], after[t]) == [] for t in stage.tables)


def gsi_names(stage: Stage, table: str) -> set[str]:
    return {index["IndexName"] for index in stage.ddb.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])}


def keys_of(stage: Stage, table: str, key: str) -> set[str]:
    return {item[key]["S"] for item in stage.ddb.scan(TableName=table, ConsistentRead=True)["Items"]}


def test_new_prefix_full_cycle(aws_inproc: InProc) -> None:
    """Every table restored under the new prefix, made usable for ScalarDB there (index names, the
    metadata and namespaces keys), the sources untouched, and the property to switch returned."""
    stage = build(aws_inproc(restore_seconds=0.2, backup_seconds=0.1), layout=DEFAULT_LAYOUT)
    write_v2(stage)  # after the restore point: the targets must not see it
    request = stage.request("new_prefix")
    source_keys = {METADATA_TABLE: keys_of(stage, METADATA_TABLE, "table"), NAMESPACES_TABLE: keys_of(stage, NAMESPACES_TABLE, "namespace_name")}
    source_tables = stage.table_names()

    results = {phase: ok(stage.run(request, phase)) for phase in ("prepare", "cutover", "verify")}
    assert results["prepare"]["changed"] is True
    assert results["cutover"]["changed"] is False and results["verify"]["changed"] is False
    for result in results.values():
        assert result["properties"] == {PREFIX_PROPERTY: TARGET_PREFIX}

    targets = {renamed(table) for table in stage.tables}
    assert stage.table_names() == source_tables | targets | {JOURNAL}
    assert stage.backups() == {}, "new_prefix takes no backups"
    for table in stage.user_tables:
        assert versions(stage.ddb, renamed(table)) == v1(), f"{renamed(table)} holds the items as of the restore point"
        assert stage.versions(table) == v2(), f"{table} (the source) is untouched"
    # ScalarDB names: GSIs after the new table name, metadata and namespaces keys with the new prefix.
    for table, indexes in stage.deployment.indexes.items():
        assert gsi_names(stage, renamed(table)) == {renamed(index) for index in indexes}
        assert gsi_names(stage, table) == set(indexes)
    assert keys_of(stage, renamed(METADATA_TABLE), "table") == {renamed(name) for name in source_keys[METADATA_TABLE]}
    assert keys_of(stage, renamed(NAMESPACES_TABLE), "namespace_name") == {renamed(name) for name in source_keys[NAMESPACES_TABLE]}
    assert keys_of(stage, METADATA_TABLE, "table") == source_keys[METADATA_TABLE]
    assert all(name.startswith(PREFIX) for name in source_keys[NAMESPACES_TABLE])
    # Settings: the targets have the sources' (indexes and policies renamed); the sources are unchanged.
    after = stage.settings(stage.tables)
    for table in stage.tables:
        assert after[table] == stage.before[table], f"source {table} changed"
        target = stage.settings([renamed(table)])[renamed(table)]
        assert diff(stage.before[table], target) == [], table
        assert target.pitr
    # The metadata rows other than the key come along unchanged.
    row = stage.ddb.get_item(TableName=renamed(METADATA_TABLE), Key={"table": {"S": renamed(USER_TABLE)}})["Item"]
    assert row["secondaryIndex"] == {"SS": ["email"]}

    for phase in ("prepare", "cutover", "verify"):
        assert ok(stage.run(request, phase))["changed"] is False, phase


def journal_point(stage: Stage) -> set[str]:
    """The "latest" points the journal remembers."""
    items = stage.ddb.scan(TableName=JOURNAL, ConsistentRead=True)["Items"]
    return {item["restore_point"]["S"] for item in items if item["id"]["S"].startswith("point#")}


def test_use_latest_point_is_remembered_until_verified(aws_inproc: InProc) -> None:
    """With no restore point, the latest common point is chosen once: a re-run after a failed prepare
    reuses it (same staging and backup names, same items), and a successful verify forgets it."""
    aws = aws_inproc()
    stage = build(aws)
    request = stage.request(point=None)
    aws.add_fault(Fault("CreateBackup", code="InternalServerError", times=1))
    first = stage.run(request, "prepare")
    assert first["tables_failed"] == 1 and first["use_latest"] is True
    point = first["restore_point"]
    assert point > to_iso(stage.point)
    assert journal_point(stage) == {point}
    write_v2(stage)  # now "latest" would hold v2: only the remembered point gives v1

    again = ok(stage.run(request, "prepare"))
    assert again["restore_point"] == point
    assert [e["staging"] for e in again["tables"]] == [e["staging"] for e in first["tables"]]
    ok(stage.run(request, "cutover"))
    assert journal_point(stage) == {point}
    ok(stage.run(request, "verify"))
    assert journal_point(stage) == set(), "a successful verify forgets the point"
    for table in stage.user_tables:
        assert stage.versions(table) == v1()
    assert stage.run(request, "preflight")["restore_point"] > point, "a new restore picks a new latest point"


def test_no_wait_returns_in_progress_and_a_later_call_finishes(aws_inproc: InProc) -> None:
    """wait=False: start what can start and return; tables still restoring are "in_progress"
    (not failed); calling again continues from what AWS shows until every table is done."""
    aws = aws_inproc(restore_seconds=0.3, backup_seconds=0.2)
    stage = build(aws)
    request = stage.request()
    no_wait = {"wait": False, "poller": Poller(deadline=Deadline(0), first_delay=0.02, max_delay=0.2)}

    first = stage.run(request, "prepare", **no_wait)
    assert first["tables_failed"] == 0, first
    assert first["tables_in_progress"] == len(stage.tables)
    assert {entry["status"] for entry in first["tables"]} == {"in_progress"}
    assert all(entry["waiting_for"].endswith("to be ACTIVE") for entry in first["tables"])
    assert len(stage.staging_tables()) == len(stage.tables), "the restores were started"
    waits: set[str] = set()
    calls = 1
    result = first
    while result["tables_in_progress"]:
        assert calls < 40, result
        time.sleep(0.1)  # the restores and backups take 0.3 and 0.2 s
        result = stage.run(request, "prepare", **no_wait)
        assert result["tables_failed"] == 0, result
        waits |= {entry["waiting_for"].split(" ", 1)[0] for entry in result["tables"] if entry["status"] == "in_progress"}
        calls += 1
    assert "backup" in waits, "some call found a backup still being created"
    assert stage.staging_tables() == set()
    result = stage.run(request, "cutover", **no_wait)  # the cutover too: safety backups, then restores, each left running
    while result["tables_in_progress"]:
        assert calls < 80 and result["tables_failed"] == 0, result
        time.sleep(0.1)
        result = stage.run(request, "cutover", **no_wait)
        calls += 1
    ok(result)
    ok(stage.run(request, "verify"))
    for table in stage.user_tables:
        assert stage.versions(table) == v1()


def test_progress_reports_counts_and_running_steps(aws_inproc: InProc) -> None:
    """The callback gets done/total and each running table's current step, while the phase runs."""
    stage = build(aws_inproc(restore_seconds=0.3, backup_seconds=0.2), layout=DEFAULT_LAYOUT)
    seen: list[Progress] = []
    ok(stage.run(stage.request(), "prepare", on_progress=seen.append, progress_interval=0.05, concurrency=3))

    total = len(stage.tables)
    assert seen and all(p.total == total and p.phase == "prepare" for p in seen)
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    assert seen[-1].done == total and seen[-1].failed == 0
    heartbeats = [p for p in seen if p.running]
    assert heartbeats, "no progress while tables were running"
    assert all(len(p.running) <= 3 for p in seen), "concurrency 3: at most 3 tables at a time"
    steps = {step for p in heartbeats for step in p.running.values()}
    assert steps <= {"capture settings", "restore to staging", "wait for staging", "back up staging", "wait for backup", "delete staging"}
    assert "wait for staging" in steps
    assert set().union(*(p.running for p in heartbeats)) <= set(stage.tables)
    assert all(p.to_dict()["elapsed"] >= 0 for p in seen)


def test_deployment_without_prefix(aws_inproc: InProc) -> None:
    """ScalarDB's default: no namespace prefix.  new_prefix gives every name (tables, indexes, metadata
    and namespaces keys) the new prefix; in_place then restores the unprefixed tables under their names."""
    aws = aws_inproc()
    ddb, scaling = aws.client("dynamodb"), aws.client("application-autoscaling")
    deployment = create_deployment(ddb, scaling, prefix="", layout={"sample": {"accounts": ["email"]}}, items=3)
    point = point_after_writes()
    for table in deployment.user_tables:
        ddb.delete_item(TableName=table, Key={"concatenatedPartitionKey": {"B": f"{table}/0".encode()}, "concatenatedClusteringKey": {"B": b"0"}})

    for mode, target_prefix in (("new_prefix", "r_"), ("in_place", None)):
        request = Request(mode=mode, restore_point=point, prefix="", target_prefix=target_prefix)
        for phase in ("prepare", "cutover", "verify"):
            ok(run_phase(aws.client("dynamodb", max_attempts=1), scaling, request, phase, options()))

    assert versions(ddb, "r_sample.accounts") == v1() == versions(ddb, "sample.accounts")
    assert {index["IndexName"] for index in ddb.describe_table(TableName="r_sample.accounts")["Table"]["GlobalSecondaryIndexes"]} == {
        "r_sample.accounts.global_index.email"}
    assert {item["table"]["S"] for item in ddb.scan(TableName="r_scalardb.metadata")["Items"]} == {"r_sample.accounts", "r_coordinator.state"}
    assert {item["namespace_name"]["S"] for item in ddb.scan(TableName="r_scalardb.namespaces")["Items"]} == {"r_sample", "r_coordinator"}
    assert {item["table"]["S"] for item in ddb.scan(TableName="scalardb.metadata")["Items"]} == {"sample.accounts", "coordinator.state"}
