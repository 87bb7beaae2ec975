"""A restore that dies at any step continues when run again, and never loses data on the way.

Two ways to stop a run midway, both through real boto3 over HTTP against the in-process stand-in:

* **kill** (``Killer`` / ``KillChain``): the process dies right after an AWS call succeeded - AWS did
  the work, the run never saw the answer, no ``except`` in the code under test runs.  The chain
  tests kill a phase after its first mutating call that no earlier run made, run it again, kill it
  again, ... so every step of every table is a kill point once, in order; after each kill they check
  that nothing is lost (a table that is gone has an AVAILABLE safety backup and restore backup).
* **fault** (the stand-in's ``Fault``): one call of one step answers InternalServerError; that
  table's chain fails, the others go on, and the next run finishes it.

Plus: throttling on every DynamoDB call still completes, and the source is never deleted when the
restore backup does not hold the item count the journal recorded for its staging table.
"""
from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from dynamodb_restore_helpers import (
    JOURNAL,
    METADATA_TABLE,
    NAMESPACES_TABLE,
    USER_TABLE,
    Killed,
    Killer,
    Stage,
    build,
    failures,
    is_mutating,
    ok,
    point_after_writes,
    renamed,
    v1,
    v2,
    write_v2,
)

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import retrying
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_naming import backup_name, restore_point_label, staging_name
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_settings import diff
from standins.aws.faults import Fault
from standins.aws.inprocess import InProcessAws
from standins.aws.scalardb_tables import versions

InProc = Callable[..., InProcessAws]


# --- kill chains ----------------------------------------------------------------------------------
def _about(kwargs: dict[str, Any]) -> str:
    for key in ("TargetTableName", "TableName", "ResourceId", "ResourceArn"):
        if key in kwargs:
            return str(kwargs[key]).rsplit(":table/", 1)[-1]
    return "?"


# Calls made many times per table with the same effect on what a re-run finds: one kill point per
# (operation, table, journal entry kind) is enough, and keeps the chains short.
_COARSE = frozenset({"put_item", "delete_item", "register_scalable_target", "put_scaling_policy"})


def _identity(name: str, kwargs: dict[str, Any]) -> str:
    """Which kill point a mutating call is: a repeat of one that already was a kill point is let through."""
    if name in _COARSE:
        entry = str(((kwargs.get("Item") or {}).get("id") or {}).get("S", "")).split("#", 1)[0]
        return f"{name} {_about(kwargs)} {entry}"
    return f"{name} {sorted(kwargs.items())!r}"


class KillChain:
    """Hands out one ``call`` per run; each kills its run right after the first mutating call that
    no earlier run of the chain made (repeats are let through: they are how a re-run finishes a step)."""

    def __init__(self) -> None:
        self.done: set[str] = set()
        self.kills: list[tuple[str, str]] = []  # (operation, table) of each kill, in order
        self._lock = threading.Lock()

    def call(self) -> Callable[..., Any]:
        state = {"dead": False}

        def call(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            with self._lock:
                if state["dead"]:
                    raise Killed("the process is gone")
            value = retrying(func, *args, **kwargs)
            name = getattr(func, "__name__", "")
            if is_mutating(name):
                identity = _identity(name, kwargs)
                with self._lock:
                    if identity not in self.done and not state["dead"]:
                        self.done.add(identity)
                        state["dead"] = True
                        self.kills.append((name, _about(kwargs)))
                        raise Killed(f"after {name} on {_about(kwargs)}")
            return value

        return call


def nothing_lost(stage: Stage) -> None:
    """in_place: every table of the deployment exists, or both its backups are AVAILABLE."""
    names = stage.table_names()
    backups = stage.backups()
    for table in stage.tables:
        if table in names:
            continue
        for kind in ("safety", "restore"):
            name = backup_name(table, stage.point, kind)
            assert backups.get(name, {}).get("BackupStatus") == "AVAILABLE", f"{table} is gone and its {kind} backup {name} is not AVAILABLE"


def run_chain(stage: Stage, request: Any, phase: str, chain: KillChain, concurrency: int, check: Callable[[Stage], None] | None = None) -> dict[str, Any]:
    """Run ``phase`` again and again, killed each time after a new step, until a run finishes."""
    for _attempt in range(300):
        try:
            result = stage.run(request, phase, call=chain.call(), concurrency=concurrency)
        except Killed:
            if check is not None:
                check(stage)
            continue
        assert result["tables_failed"] == 0, (chain.kills[-1:], failures(result))
        return dict(ok(result))
    raise AssertionError(f"{phase} never finished; kills: {chain.kills}")


IN_PLACE_PREPARE_KILLS = {"restore_table_to_point_in_time", "create_table", "put_item", "create_backup", "delete_table"}
# Not auto scaling: its targets and policies are keyed by the table's name and the stand-in keeps them
# across DeleteTable, so the same-name restore finds them in place and apply() has nothing to do
# (re-applying them is killed in the new_prefix chain, whose targets have new names).
IN_PLACE_CUTOVER_KILLS = {"create_backup", "update_table", "delete_table", "restore_table_from_backup", "update_continuous_backups",
                          "update_time_to_live", "tag_resource"}
NEW_PREFIX_PREPARE_KILLS = {"restore_table_to_point_in_time", "create_table", "put_item", "delete_item", "update_table", "update_continuous_backups",
                            "update_time_to_live", "tag_resource", "register_scalable_target", "put_scaling_policy"}


@pytest.mark.parametrize("concurrency", [1, 4], ids=["sequential", "parallel"])
def test_in_place_killed_after_every_step_resumes(aws_inproc: InProc, concurrency: int) -> None:
    """Sequential, with the point chosen as "latest": every step of every table is a kill point once
    (the first right after the point is remembered).  Parallel: the cutover is killed amid several
    tables' chains at once (which steps is up to the threads)."""
    stage = build(aws_inproc(), protect=(USER_TABLE, METADATA_TABLE))
    request = stage.request(point=None if concurrency == 1 else "stage")
    chain = KillChain()

    if concurrency == 1:
        prepared = run_chain(stage, request, "prepare", chain, concurrency)
        stage.point = _dt.datetime.fromisoformat(prepared["restore_point"])
    else:
        ok(stage.run(request, "prepare", concurrency=concurrency))
    prepare_kills = list(chain.kills)
    write_v2(stage)
    run_chain(stage, request, "cutover", chain, concurrency, check=nothing_lost)
    cutover_kills = chain.kills[len(prepare_kills):]
    ok(stage.run(request, "verify"))

    if concurrency == 1:
        assert {op for op, _table in prepare_kills} >= IN_PLACE_PREPARE_KILLS
        assert {op for op, _table in cutover_kills} >= IN_PLACE_CUTOVER_KILLS
        assert {table for op, table in cutover_kills if op == "delete_table"} == set(stage.tables), "killed right after deleting each source"
    else:
        assert len(cutover_kills) >= len(stage.tables), chain.kills
    for table in stage.user_tables:
        assert stage.versions(table) == v1()
    assert stage.staging_tables() == set()
    after = stage.settings(stage.tables)
    assert all(diff(stage.before[t], after[t]) == [] for t in stage.tables), {t: diff(stage.before[t], after[t]) for t in stage.tables}
    arn = stage.backups()[backup_name(USER_TABLE, stage.point, "safety")]["BackupArn"]
    stage.ddb.restore_table_from_backup(TargetTableName="check.safety", BackupArn=arn)
    assert versions(stage.ddb, "check.safety") == v2(), "the safety backup holds the state replaced by the cutover"


def test_new_prefix_killed_after_every_step_resumes(aws_inproc: InProc) -> None:
    stage = build(aws_inproc(), protect=(USER_TABLE,))
    request = stage.request("new_prefix")
    chain = KillChain()
    write_v2(stage)

    run_chain(stage, request, "prepare", chain, 1)
    run_chain(stage, request, "cutover", chain, 1)
    ok(stage.run(request, "verify"))

    kills = {op for op, _table in chain.kills}
    assert kills >= NEW_PREFIX_PREPARE_KILLS
    assert ("delete_item", renamed(METADATA_TABLE)) in chain.kills, "killed between moving a metadata key and deleting the old one"
    for table in stage.user_tables:
        assert versions(stage.ddb, renamed(table)) == v1()
        assert stage.versions(table) == v2()
    targets = [renamed(table) for table in stage.tables]
    assert {item["table"]["S"] for item in stage.ddb.scan(TableName=renamed(METADATA_TABLE))["Items"]} == {renamed(t) for t in stage.user_tables} | {
        renamed(t) for t in stage.tables if t.endswith("coordinator.state")}
    assert {item["namespace_name"]["S"] for item in stage.ddb.scan(TableName=renamed(NAMESPACES_TABLE))["Items"]} == {"r_sample", "r_coordinator"}
    after = stage.settings(targets)
    assert all(diff(stage.before[t], after[renamed(t)]) == [] for t in stage.tables)
    assert stage.settings(stage.tables) == stage.before, "the sources are never changed"


# --- one failing call per step --------------------------------------------------------------------
def _staging(stage: Stage) -> str:
    return staging_name(USER_TABLE, stage.point)


# (mode, phase, operation, the request parameters that pick the call that fails; {}: the first of any table)
FAULTS: list[tuple[str, str, str, Callable[[Stage], dict[str, Any]]]] = [
    ("in_place", "prepare", "RestoreTableToPointInTime", lambda s: {"TargetTableName": _staging(s)}),
    ("in_place", "prepare", "CreateBackup", lambda s: {"TableName": _staging(s)}),
    ("in_place", "cutover", "CreateBackup", lambda s: {"TableName": USER_TABLE}),
    ("in_place", "cutover", "UpdateTable", lambda s: {"TableName": USER_TABLE}),  # deletion protection off
    ("in_place", "cutover", "DeleteTable", lambda s: {"TableName": USER_TABLE}),
    ("in_place", "cutover", "RestoreTableFromBackup", lambda s: {"TargetTableName": USER_TABLE}),
    ("in_place", "cutover", "TagResource", lambda s: {}),
    ("new_prefix", "prepare", "UpdateTable", lambda s: {"TableName": renamed(USER_TABLE)}),  # the renamed index
    ("new_prefix", "prepare", "PutItem", lambda s: {"TableName": renamed(METADATA_TABLE)}),
]


@pytest.mark.parametrize(("mode", "phase", "operation", "match"), FAULTS, ids=[f"{m}-{p}-{o}" for m, p, o, _match in FAULTS])
def test_failed_step_is_finished_by_the_next_run(aws_inproc: InProc, mode: str, phase: str, operation: str,
                                                 match: Callable[[Stage], dict[str, Any]]) -> None:
    """One call fails (InternalServerError, not retried): that table's chain stops, the others finish;
    the next run completes it, with the restore point's items and nothing left behind.  Two tables
    (explicitly listed, to keep it quick): the one the fault hits and the metadata table."""
    aws = aws_inproc()
    stage = build(aws)
    tables = [USER_TABLE, METADATA_TABLE]
    request = stage.request(mode, tables=tables)
    phases = ["prepare", "cutover"]
    for earlier in phases[:phases.index(phase)]:
        ok(stage.run(request, earlier))
        if mode == "in_place":
            write_v2(stage)
    aws.add_fault(Fault(operation, code="InternalServerError", message="injected", times=1, match=match(stage) or None))

    failed = stage.run(request, phase)
    assert aws.errors[(operation, "InternalServerError")] == 1, "the fault did not fire"
    assert failed["tables_failed"] == 1, failures(failed)
    assert "injected" in " ".join(failures(failed))
    aws.clear_faults()
    ok(stage.run(request, phase))
    if phase == "prepare":
        if mode == "in_place":
            write_v2(stage)
        ok(stage.run(request, "cutover"))
    ok(stage.run(request, "verify"))

    for table in stage.user_tables:
        assert versions(stage.ddb, table if mode == "in_place" else renamed(table)) == v1()
    assert stage.staging_tables() == set()
    if mode == "in_place":
        nothing_lost(stage)
        assert {backup_name(t, stage.point, "safety") for t in tables} <= set(stage.backups())
    after = stage.settings(tables if mode == "in_place" else [renamed(t) for t in tables])
    assert all(diff(stage.before[t], after[t if mode == "in_place" else renamed(t)]) == [] for t in tables)


# --- the item count guard ---------------------------------------------------------------------------
def test_source_is_never_deleted_when_the_backup_count_does_not_match(aws_inproc: InProc) -> None:
    stage = build(aws_inproc())
    request = stage.request()
    ok(stage.run(request, "prepare"))
    entry = {"id": {"S": f"staging#{restore_point_label(stage.point)}#{USER_TABLE}"}}
    recorded = stage.ddb.get_item(TableName=JOURNAL, Key=entry, ConsistentRead=True)["Item"]
    assert recorded["item_count"] == {"N": "3"}
    stage.ddb.update_item(TableName=JOURNAL, Key=entry, UpdateExpression="SET item_count = :n", ExpressionAttributeValues={":n": {"N": "4"}})
    before = stage.ddb.describe_table(TableName=USER_TABLE)["Table"]

    result = stage.run(request, "cutover")
    assert result["tables_failed"] == 1
    (error,) = [entry["error"] for entry in result["tables"] if entry.get("error")]
    assert USER_TABLE in error and "holds 3 items" in error and "had 4" in error, error
    still = stage.ddb.describe_table(TableName=USER_TABLE)["Table"]
    assert still["TableArn"] == before["TableArn"] and "RestoreSummary" not in still, "the source must still be the original table"
    assert stage.versions(USER_TABLE) == {n: "v1" for n in range(3)}
    assert backup_name(USER_TABLE, stage.point, "safety") not in stage.backups(), "nothing was done to it, not even the safety backup"
    # The other tables were cut over: one bad table does not hold the rest back.
    assert sum(1 for entry in result["tables"] if entry["status"] == "ok") == len(stage.tables) - 1


# --- throttling -----------------------------------------------------------------------------------------
def test_throttling_on_every_dynamodb_call_still_completes(aws_inproc: InProc, monkeypatch: pytest.MonkeyPatch) -> None:
    """30% of all DynamoDB calls (any operation) answer ThrottlingException; the restore retries and completes.

    Probability rather than every-other-call: with workers in parallel, every=2 lets one call fail
    many times in a row by bad luck of interleaving, which would test luck, not the retries.
    """
    monkeypatch.setenv("SCALAROPS_PITR_RETRY_BASE_DELAY", "0.002")
    aws = aws_inproc(restore_seconds=0.1, backup_seconds=0.05, seed=7)
    stage = build(aws)
    request = stage.request()
    # Plus one certain throttle of each call that starts a long operation (with 4 tables, 30% could miss one).
    certain = [Fault(op, times=1) for op in ("RestoreTableToPointInTime", "CreateBackup", "DeleteTable", "RestoreTableFromBackup", "UpdateTable")]
    for phase in ("prepare", "cutover", "verify"):
        for fault in [*certain, Fault("*", service="dynamodb", probability=0.3)]:
            aws.add_fault(fault)
        result = stage.run(request, phase)
        aws.clear_faults()
        ok(result)
        if phase == "prepare":
            write_v2(stage)
    throttled = {op for (op, code), count in aws.errors.items() if code == "ThrottlingException" and count}
    # The certain ones, and the reads made 28+ times (0.7**28: each escapes the 30% with odds below 1e-4).
    assert {fault.operation for fault in certain} | {"DescribeTable", "ListBackups", "DescribeBackup"} <= throttled, throttled
    assert sum(count for (_op, code), count in aws.errors.items() if code == "ThrottlingException") > 50
    for table in stage.user_tables:
        assert stage.versions(table) == v1()
    after = stage.settings(stage.tables)
    assert all(diff(stage.before[t], after[t]) == [] for t in stage.tables)


# --- a delete that takes time ----------------------------------------------------------------------------
class SlowDelete:
    """The restore's DynamoDB client, with AWS's DELETING period that moto does not have: after
    DeleteTable the table answers DescribeTable with TableStatus DELETING ``describes`` more times,
    and a restore into its name meanwhile fails with TableAlreadyExistsException, as in AWS."""

    def __init__(self, client: Any, describes: int) -> None:
        self._client, self._describes = client, describes
        self.deleting: dict[str, dict[str, Any]] = {}  # table -> {"left": describes still DELETING, "description": ...}
        self.refused: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def delete_table(self, **kwargs: Any) -> Any:
        answer = self._client.delete_table(**kwargs)
        self.deleting[kwargs["TableName"]] = {"left": self._describes, "description": {**answer["TableDescription"], "TableStatus": "DELETING"}}
        return answer

    def describe_table(self, **kwargs: Any) -> Any:
        state = self.deleting.get(kwargs["TableName"])
        if state and state["left"] > 0:
            state["left"] -= 1
            return {"Table": state["description"]}
        return self._client.describe_table(**kwargs)

    def restore_table_from_backup(self, **kwargs: Any) -> Any:
        state = self.deleting.get(kwargs["TargetTableName"])
        if state and state["left"] > 0:
            self.refused.append(kwargs["TargetTableName"])
            raise ClientError({"Error": {"Code": "TableAlreadyExistsException", "Message": f"Table already exists: {kwargs['TargetTableName']}"}},
                              "RestoreTableFromBackup")
        return self._client.restore_table_from_backup(**kwargs)


def test_cutover_restores_only_once_the_deleted_source_is_gone(aws_inproc: InProc) -> None:
    """The name of a deleted table is free only when DescribeTable no longer finds it, not while it
    says DELETING - also when a killed run left the delete going on."""
    stage = build(aws_inproc())
    request = stage.request(tables=[USER_TABLE, METADATA_TABLE])
    ok(stage.run(request, "prepare"))
    stage.core_ddb = slow = SlowDelete(stage.core_ddb, describes=3)
    ok(stage.run(request, "cutover"))
    assert slow.refused == [] and set(slow.deleting) == {USER_TABLE, METADATA_TABLE}

    stage.core_ddb = slow = SlowDelete(slow._client, describes=3)  # pylint: disable=protected-access
    write_v2(stage)
    second = stage.request(point=point_after_writes(), tables=[USER_TABLE])
    ok(stage.run(second, "prepare"))
    killer = Killer("delete_table", USER_TABLE)
    with pytest.raises(Killed):
        stage.run(second, "cutover", call=killer)
    assert USER_TABLE not in stage.table_names() and slow.deleting[USER_TABLE]["left"] == 3
    ok(stage.run(second, "cutover"))
    assert slow.refused == []
    ok(stage.run(second, "verify"))
    assert stage.versions(USER_TABLE) == v2()
