"""The RDS instance / Aurora cluster restore core (``rds_restore.run_phase``) against the AWS stand-in.

Real boto3 over HTTP against moto with the stand-in's RDS point-in-time semantics (``standins.aws.rds_pitr``):
a restored instance or cluster gets AWS's defaults for everything the request leaves out, so what
the target carries after ``prepare`` is what the core copied.  Everything is read back through
DescribeDBInstances / DescribeDBClusters, never from the core's own result alone.

Covered: every phase of an instance and a cluster restore, Aurora reader counts, resuming a run that
died or lost an answer (one restore call in total), ``use_latest``, bad input refused before anything
changes, check mode, retiring the source, throttling.  Restore points seconds old exist only in the
stand-in, so every test here is stand-in only.
"""
from __future__ import annotations

import datetime as _dt
import functools
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError
from rds_restore_helpers import (
    Source,
    cluster_ids,
    cluster_settings,
    fast_options,
    instance_ids,
    instance_settings,
    make_cluster_source,
    make_instance_source,
    make_network,
    point_after_creation,
    tags,
)

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import retrying
from ansible_collections.scalarops.pitr.plugins.module_utils.rds_naming import (
    MANAGED_BY,
    TAG_LATEST,
    TAG_MANAGED_BY,
    TAG_POINT,
    TAG_SOURCE,
    TAG_STATE,
    default_target,
    ownership_tags,
    point_label,
    point_tag,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.rds_resources import CLUSTER, INSTANCE, Kind, direct
from ansible_collections.scalarops.pitr.plugins.module_utils.rds_restore import PreflightFailed, RestoreFailed, run_phase
from ansible_collections.scalarops.pitr.plugins.module_utils.rds_restore_plan import Request
from fixtures.common import require_standin
from standins.aws.faults import Fault
from standins.aws.inprocess import InProcessAws
from standins.aws.target import AwsTarget

pytestmark = pytest.mark.standin_only

InProc = Callable[..., InProcessAws]
STANDIN_ONLY = "restore points seconds old (AWS's LatestRestorableTime trails by about 5 minutes)"
RESTORE_OPS = {INSTANCE.name: "RestoreDBInstanceToPointInTime", CLUSTER.name: "RestoreDBClusterToPointInTime"}


class Died(Exception):
    """The run stopped right after an AWS call succeeded (a killed process: the answer was never used)."""


def run(rds: Any, request: Request, phase: str, call: Callable[..., Any] = direct, **options: Any) -> dict[str, Any]:
    return run_phase(rds, request, phase, fast_options(**options), call=call)


def die_after(operation: str, times: int = 1) -> Callable[..., Any]:
    """A ``call`` that raises ``Died`` after the ``times``-th successful call of ``operation`` (a boto3 method name)."""
    seen = {"count": 0}

    def call(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        result = func(*args, **kwargs)
        if getattr(func, "__name__", "") == operation:
            seen["count"] += 1
            if seen["count"] == times:
                raise Died(operation)
        return result

    return call


def lose_first_answer(operation: str, before: Callable[[], None] | None = None) -> Callable[..., Any]:
    """A ``call`` (with the production retries around it) whose first ``operation`` reaches AWS but whose answer is lost."""
    lost = {"done": False}

    def lossy(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if getattr(func, "__name__", "") == operation and not lost["done"]:
            lost["done"] = True
            if before is not None:
                before()
            func(*args, **kwargs)
            raise ConnectionClosedError(endpoint_url="http://stand-in")
        return func(*args, **kwargs)

    def call(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return retrying(lossy, func, *args, base_delay=0.0, **kwargs)

    return call


def described_instance(rds: Any, identifier: str) -> dict[str, Any]:
    return rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]


def described_cluster(rds: Any, identifier: str) -> dict[str, Any]:
    return rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]


def ours(description: dict[str, Any], source: str, point: _dt.datetime, state: str) -> bool:
    found = tags(description)
    return (found.get(TAG_MANAGED_BY), found.get(TAG_SOURCE), found.get(TAG_POINT), found.get(TAG_STATE)) == (
        MANAGED_BY, source, point_tag(point), state)


@pytest.fixture(name="stand_in")
def stand_in_fixture(aws: AwsTarget) -> AwsTarget:
    require_standin(aws.is_standin, STANDIN_ONLY)
    return aws


def instance_stage(target: AwsTarget | InProcessAws, identifier: str = "scalardb-mysql", retention: int = 7) -> tuple[Any, Source]:
    rds = target.client("rds", max_attempts=1)
    return rds, make_instance_source(rds, make_network(target.client("ec2"), rds), identifier, retention)


def cluster_stage(target: AwsTarget | InProcessAws, identifier: str = "scalardb-aurora", readers: int = 2) -> tuple[Any, Source]:
    rds = target.client("rds", max_attempts=1)
    return rds, make_cluster_source(rds, make_network(target.client("ec2"), rds), identifier, readers)


# --- the phases ---------------------------------------------------------------------------------------
def test_instance_restore_carries_every_source_setting_and_switches_to_the_new_endpoint(stand_in: AwsTarget) -> None:
    rds, source = instance_stage(stand_in)
    point = point_after_creation()
    request = Request(INSTANCE, source.identifier, restore_point=point)
    target = default_target(source.identifier, point)

    checked = run(rds, request, "preflight")
    assert (checked["changed"], checked["would_change"], checked["status"], checked["target"]) == (
        False, True, "checked", {"identifier": target, "exists": False})
    window = checked["preflight"]["restorable_window"]
    assert _dt.datetime.fromisoformat(window["earliest"]) <= point <= _dt.datetime.fromisoformat(window["latest"])
    assert target not in instance_ids(rds), "preflight created something"

    prepared = run(rds, request, "prepare")
    assert (prepared["changed"], prepared["restore_called"], prepared["status"]) == (True, True, "prepared")
    restored = described_instance(rds, target)
    assert instance_settings(restored) == source.settings, "the target lacks source settings"
    assert restored["Engine"] == "mysql" and restored["DBInstanceStatus"] == "available"
    assert ours(restored, source.identifier, point, "prepared")
    # What the restore request cannot carry (monitoring, Performance Insights) came with a Modify call.
    assert {"MonitoringInterval", "MonitoringRoleArn", "EnablePerformanceInsights"} <= set(prepared["settings_applied"])

    again = run(rds, request, "prepare")
    assert (again["changed"], again["restore_called"], again["settings_applied"]) == (False, False, [])
    assert [step["step"] for step in again["steps"] if step["changed"]] == []

    cutover = run(rds, request, "cutover")
    source_host = described_instance(rds, source.identifier)["Endpoint"]["Address"]
    assert cutover["changed"] is False
    assert cutover["endpoint_switch"] == {"from_hosts": [source_host], "to_host": restored["Endpoint"]["Address"], "to_port": 5433,
                                          "source": f"RDS DB instance {source.identifier}"}

    with pytest.raises(RestoreFailed) as refused:
        run(rds, request, "verify", require_reachable=True)
    assert f"'{target}' is not reachable from here at {restored['Endpoint']['Address']}:5433: does not resolve" in str(refused.value)
    assert tags(described_instance(rds, target))[TAG_STATE] == "prepared", "a failed verify marked the target verified"

    verified = run(rds, request, "verify")
    reach = verified["reachability"]
    assert (verified["status"], reach["resolved"], reach["reachable"]) == ("verified", False, False)
    assert reach["error"].startswith("does not resolve")
    assert ours(described_instance(rds, target), source.identifier, point, "verified")

    after = run(rds, request, "prepare")
    assert (after["changed"], after["target"]["state"]) == (False, "verified"), "a prepare after verify took the state back"
    assert instance_ids(rds) == {source.identifier, target}


def test_aurora_restore_gets_the_cluster_settings_a_writer_and_the_source_readers(stand_in: AwsTarget) -> None:
    rds, source = cluster_stage(stand_in)
    point = point_after_creation()
    request = Request(CLUSTER, source.identifier, restore_point=point)
    target = default_target(source.identifier, point)

    prepared = run(rds, request, "prepare")
    assert (prepared["changed"], prepared["restore_called"], prepared["status"]) == (True, True, "prepared")
    cluster = described_cluster(rds, target)
    assert cluster_settings(cluster) == source.settings
    assert ours(cluster, source.identifier, point, "prepared")
    members = {member["DBInstanceIdentifier"]: member["IsClusterWriter"] for member in cluster["DBClusterMembers"]}
    assert members == {f"{target}-1": True, f"{target}-2": False, f"{target}-3": False}
    for number in (1, 2, 3):
        member = described_instance(rds, f"{target}-{number}")
        assert (member["DBClusterIdentifier"], member["DBInstanceClass"], member["DBParameterGroups"][0]["DBParameterGroupName"]) == (
            target, "db.r6g.xlarge", "app-aurora-pg16-instance")
        assert tags(member)[TAG_SOURCE] == source.identifier and tags(member)["role"] == "member"
    assert run(rds, request, "prepare")["changed"] is False

    switch = run(rds, request, "cutover")["endpoint_switch"]
    described = described_cluster(rds, source.identifier)
    member_hosts = {described_instance(rds, member)["Endpoint"]["Address"] for member in source.members}
    assert set(switch["from_hosts"]) == {described["Endpoint"], described["ReaderEndpoint"]} | member_hosts
    assert (switch["to_host"], switch["to_port"]) == (cluster["Endpoint"], 5433)
    assert run(rds, request, "verify")["target"]["state"] == "verified"


def test_aurora_reader_count_chooses_how_many_readers_the_restore_gets(stand_in: AwsTarget) -> None:
    rds, source = cluster_stage(stand_in)
    point = point_after_creation()
    for target, readers in (("aurora-one-reader", 1), ("aurora-writer-only", 0)):
        result = run(rds, Request(CLUSTER, source.identifier, target=target, restore_point=point, reader_count=readers), "prepare")
        assert result["status"] == "prepared"
        members = described_cluster(rds, target)["DBClusterMembers"]
        assert sorted((member["DBInstanceIdentifier"], member["IsClusterWriter"]) for member in members) == [
            (f"{target}-{number}", number == 1) for number in range(1, readers + 2)]
    # More readers than the source has: the extra ones copy the writer (planned only).
    plan = run(rds, Request(CLUSTER, source.identifier, target="aurora-more", restore_point=point, reader_count=3), "preflight")
    assert [member["template"] for member in plan["preflight"]["members"]] == [source.members[0], source.members[1], source.members[2],
                                                                               source.members[0]]


# --- resume ---------------------------------------------------------------------------------------------
def test_prepare_without_wait_then_again_restores_once(aws_inproc: InProc) -> None:
    aws = aws_inproc()
    rds, source = instance_stage(aws)
    time.sleep(1.05)  # the source is older than the delay set next: only what is created from now on reports "creating"
    aws.delays.rds_seconds = 1.0
    point = point_after_creation()
    request = Request(INSTANCE, source.identifier, restore_point=point)
    target = default_target(source.identifier, point)

    started = run(rds, request, "prepare", wait=False)
    assert (started["status"], started["restore_called"], started["target"]["status"]) == ("in_progress", True, "creating")
    assert tags(described_instance(rds, target))[TAG_STATE] == "restoring"
    finished = run(rds, request, "prepare")
    assert (finished["status"], finished["restore_called"]) == ("prepared", False)
    assert instance_settings(described_instance(rds, target)) == source.settings
    assert aws.calls["RestoreDBInstanceToPointInTime"] == 1


@pytest.mark.parametrize("kind", [INSTANCE, CLUSTER], ids=lambda kind: kind.name)
def test_a_run_that_died_after_the_restore_call_is_finished_by_the_next_without_a_second_restore(aws_inproc: InProc, kind: Kind) -> None:
    aws = aws_inproc()
    rds, source = instance_stage(aws) if kind is INSTANCE else cluster_stage(aws)
    point = point_after_creation()
    request = Request(kind, source.identifier, restore_point=point)
    target = default_target(source.identifier, point)
    aws.behaviour.reset_counters()
    operation = "restore_db_instance_to_point_in_time" if kind is INSTANCE else "restore_db_cluster_to_point_in_time"

    with pytest.raises(Died):
        run(rds, request, "prepare", call=die_after(operation))
    if kind is CLUSTER:
        # As if the restore had not carried these (AWS documents the engine's default port for a restored cluster):
        # the next run must apply them with ModifyDBCluster, which names the port Port, not DBPortNumber.
        rds.modify_db_cluster(DBClusterIdentifier=target, Port=5432, DeletionProtection=False, ApplyImmediately=True)
    finished = run(rds, request, "prepare")
    assert (finished["status"], finished["restore_called"]) == ("prepared", False)
    if kind is INSTANCE:
        assert instance_settings(described_instance(rds, target)) == source.settings
        assert ours(described_instance(rds, target), source.identifier, point, "prepared")
    else:
        assert cluster_settings(described_cluster(rds, target)) == source.settings
        assert finished["settings_applied"] == ["DeletionProtection", "Port"]
        assert len(described_cluster(rds, target)["DBClusterMembers"]) == 3
    assert aws.calls[RESTORE_OPS[kind.name]] == 1
    assert aws.calls["CreateDBInstance"] == (3 if kind is CLUSTER else 0)


def test_aurora_members_are_created_once_each_across_a_run_that_died_between_them(aws_inproc: InProc) -> None:
    aws = aws_inproc()
    rds, source = cluster_stage(aws)
    point = point_after_creation()
    request = Request(CLUSTER, source.identifier, restore_point=point)
    target = default_target(source.identifier, point)
    aws.behaviour.reset_counters()

    with pytest.raises(Died):
        run(rds, request, "prepare", call=die_after("create_db_instance", times=2))
    assert {member["DBInstanceIdentifier"] for member in described_cluster(rds, target)["DBClusterMembers"]} == {f"{target}-1", f"{target}-2"}
    finished = run(rds, request, "prepare")
    assert (finished["status"], finished["restore_called"]) == ("prepared", False)
    assert [step["resource"] for step in finished["steps"] if step["step"] == "create instance"] == [f"{target}-3"]
    members = {member["DBInstanceIdentifier"]: member["IsClusterWriter"] for member in described_cluster(rds, target)["DBClusterMembers"]}
    assert members == {f"{target}-1": True, f"{target}-2": False, f"{target}-3": False}
    assert (aws.calls["RestoreDBClusterToPointInTime"], aws.calls["CreateDBInstance"]) == (1, 3)


@pytest.mark.parametrize("kind", [INSTANCE, CLUSTER], ids=lambda kind: kind.name)
def test_a_lost_restore_answer_is_retried_and_the_existing_target_adopted_by_its_tags(aws_inproc: InProc, kind: Kind) -> None:
    aws = aws_inproc()
    rds, source = instance_stage(aws) if kind is INSTANCE else cluster_stage(aws, readers=1)
    point = point_after_creation()
    request = Request(kind, source.identifier, restore_point=point)
    target = default_target(source.identifier, point)
    aws.behaviour.reset_counters()
    operation = "restore_db_instance_to_point_in_time" if kind is INSTANCE else "restore_db_cluster_to_point_in_time"

    result = run(rds, request, "prepare", call=lose_first_answer(operation))
    assert result["status"] == "prepared"
    assert aws.calls[RESTORE_OPS[kind.name]] == 2, "the retry after the lost answer"
    assert result["steps"][0]["step"] == "restore", "adopted: the step is recorded once"
    description = described_instance(rds, target) if kind is INSTANCE else described_cluster(rds, target)
    assert ours(description, source.identifier, point, "prepared")


def test_a_target_someone_else_created_meanwhile_is_never_adopted(aws_inproc: InProc) -> None:
    aws = aws_inproc()
    rds, source = instance_stage(aws)
    point = point_after_creation()
    target = default_target(source.identifier, point)

    def squat() -> None:
        rds.create_db_instance(DBInstanceIdentifier=target, Engine="postgres", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
                               MasterUsername="other", MasterUserPassword="OtherPassw0rd")

    aws.behaviour.reset_counters()
    with pytest.raises(RestoreFailed) as refused:
        run(rds, Request(INSTANCE, source.identifier, restore_point=point), "prepare",
            call=lose_first_answer("restore_db_instance_to_point_in_time", before=squat))
    assert f"'{target}' already exists and was not created by scalarops.pitr" in str(refused.value)
    squatter = described_instance(rds, target)
    assert (squatter["Engine"], tags(squatter)) == ("postgres", {}), "the other instance was changed"
    assert aws.calls["ModifyDBInstance"] == 0 and aws.calls["AddTagsToResource"] == 0


# --- use_latest -----------------------------------------------------------------------------------------
def _next_second() -> None:
    now = time.time()
    time.sleep(1.02 - (now - int(now)))


def test_use_latest_takes_whole_seconds_and_reuses_the_point_until_verified(aws_inproc: InProc) -> None:
    aws = aws_inproc()
    rds, source = instance_stage(aws)
    _next_second()  # LatestRestorableTime in whole seconds is after the creation
    request = Request(INSTANCE, source.identifier, use_latest=True)

    first = run(rds, request, "prepare")
    point = _dt.datetime.fromisoformat(first["restore_point"])
    assert first["preflight"]["restore_point"]["source"] == "latest" and point.microsecond == 0
    latest = _dt.datetime.fromisoformat(first["preflight"]["restorable_window"]["latest"])
    assert latest - _dt.timedelta(seconds=1) < point <= latest
    target = first["target"]["identifier"]
    assert target == default_target(source.identifier, point)
    described = described_instance(rds, target)
    assert aws.rds_restore_points[described["DBInstanceArn"]] == point, "the restore call used another point"
    assert tags(described)[TAG_LATEST] == "true"

    _next_second()  # LatestRestorableTime moved on: a re-run must still continue the same restore
    for phase in ("preflight", "prepare", "verify"):
        again = run(rds, request, phase)
        assert (again["restore_point"], again["preflight"]["restore_point"]["source"], again["target"]["identifier"]) == (
            first["restore_point"], "reused", target), phase
        assert again["restore_called"] is False
    assert tags(described_instance(rds, target))[TAG_STATE] == "verified"

    _next_second()
    fresh = run(rds, request, "prepare")
    assert fresh["preflight"]["restore_point"]["source"] == "latest" and fresh["restore_called"] is True
    assert _dt.datetime.fromisoformat(fresh["restore_point"]) > point and fresh["target"]["identifier"] != target
    assert aws.calls["RestoreDBInstanceToPointInTime"] == 2


# --- bad input ----------------------------------------------------------------------------------------------
def _refused(rds: Any, request: Request, *needles: str) -> list[str]:
    with pytest.raises(PreflightFailed) as failed:
        run(rds, request, "prepare")
    problems = failed.value.plan.problems
    for needle in needles:
        assert any(needle in problem for problem in problems), (needle, problems)
    return problems


def _just_now() -> _dt.datetime:
    """A moment in the past, but only by less than the 1 s lag: after LatestRestorableTime when looked at within 0.9 s."""
    return _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(milliseconds=100)


def test_bad_input_is_refused_by_preflight_with_the_problem_named_and_nothing_created(aws_inproc: InProc) -> None:
    aws = aws_inproc()
    rds, source = instance_stage(aws)
    ec2 = aws.client("ec2")
    cluster = make_cluster_source(rds, make_network(ec2, rds, "aurora-subnets"), readers=1)
    rds.create_db_instance(DBInstanceIdentifier="no-backups", Engine="postgres", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
                           MasterUsername="postgres", MasterUserPassword="Passw0rdPassw0rd", BackupRetentionPeriod=0)
    point = point_after_creation()
    other_point = point - _dt.timedelta(milliseconds=20)
    rds.create_db_instance(DBInstanceIdentifier="not-ours", Engine="mysql", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
                           MasterUsername="admin", MasterUserPassword="Passw0rdPassw0rd")
    rds.create_db_instance(DBInstanceIdentifier="ours-elsewhen", Engine="mysql", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
                           MasterUsername="admin", MasterUserPassword="Passw0rdPassw0rd",
                           Tags=ownership_tags(source.identifier, other_point, False, "prepared"))
    rds.create_db_instance(DBInstanceIdentifier="aurora-taken-1", Engine="mysql", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
                           MasterUsername="admin", MasterUserPassword="Passw0rdPassw0rd")
    created = time.monotonic()
    _next_second()
    rds.create_db_instance(DBInstanceIdentifier="brand-new", Engine="postgres", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
                           MasterUsername="postgres", MasterUserPassword="Passw0rdPassw0rd", BackupRetentionPeriod=1)
    before = (instance_ids(rds), cluster_ids(rds))
    aws.behaviour.reset_counters()
    src = source.identifier

    # Within the second it was created in: LatestRestorableTime in whole seconds is before the creation.
    _refused(rds, Request(INSTANCE, "brand-new", use_latest=True), "taken in whole seconds is before its earliest restorable time")
    _refused(rds, Request(INSTANCE, src, restore_point=point - _dt.timedelta(hours=1)),
             "is outside its restorable window", "before the earliest restorable time")
    _refused(rds, Request(INSTANCE, "nothing-here", restore_point=point), "RDS DB instance 'nothing-here' not found in this region")
    _refused(rds, Request(INSTANCE, "bad_name", restore_point=point), "'bad_name' is not a valid RDS identifier")
    _refused(rds, Request(INSTANCE, src, target="not-ours", restore_point=point),
             "'not-ours' already exists and was not created by scalarops.pitr")
    _refused(rds, Request(INSTANCE, src, target="ours-elsewhen", restore_point=point),
             f"already exists but holds a restore of '{src}' at '{point_tag(other_point)}', not of '{src}' at '{point_tag(point)}'")
    _refused(rds, Request(INSTANCE, src, target=src, restore_point=point), "is the source itself")
    _refused(rds, Request(INSTANCE, cluster.identifier, restore_point=point), "is an Aurora DB cluster, not an RDS DB instance")
    _refused(rds, Request(CLUSTER, src, restore_point=point), "is an RDS DB instance, not an Aurora DB cluster")
    _refused(rds, Request(INSTANCE, cluster.members[0], restore_point=point), f"belongs to the DB cluster '{cluster.identifier}'")
    _refused(rds, Request(INSTANCE, "no-backups", restore_point=point), "has automated backups turned off (BackupRetentionPeriod 0)")
    _refused(rds, Request(CLUSTER, cluster.identifier, target="aurora-taken", restore_point=point),
             "'aurora-taken-1' already exists outside the target cluster 'aurora-taken'")
    _refused(rds, Request(INSTANCE, src), "give exactly one of restore_point and restore_use_latest")
    _refused(rds, Request(INSTANCE, src, restore_point=point, reader_count=1), "reader_count is for Aurora clusters only")
    # Several problems at once are all named.
    assert len(_refused(rds, Request(INSTANCE, "no-backups", target="not-ours", restore_point=point - _dt.timedelta(hours=1)))) == 3

    time.sleep(max(0.0, 1.2 - (time.monotonic() - created)))  # older than the lag set next, so a LatestRestorableTime exists
    aws.pitr_lag_seconds = 1.0  # LatestRestorableTime is now 1 s ago (AWS: up to about 5 minutes)
    _refused(rds, Request(INSTANCE, src, restore_point=_just_now()), "is outside its restorable window", "LatestRestorableTime trails the present")
    _refused(rds, Request(CLUSTER, cluster.identifier, restore_point=_just_now()), "is outside its restorable window")
    aws.pitr_lag_seconds = 3600  # younger than the lag: nothing restorable yet
    _refused(rds, Request(INSTANCE, src, restore_point=point), "reports no LatestRestorableTime: nothing is restorable yet")
    _refused(rds, Request(INSTANCE, src, use_latest=True), "reports no LatestRestorableTime: nothing is restorable yet")

    assert (instance_ids(rds), cluster_ids(rds)) == before, "a refused restore created something"
    mutating = {op: count for op, count in aws.calls.items() if not op.startswith(("Describe", "List"))}
    assert mutating == {}, "preflight only reads"


def test_check_mode_plans_the_steps_and_changes_nothing(aws_inproc: InProc) -> None:
    aws = aws_inproc()
    rds, source = cluster_stage(aws, readers=2)
    instance = make_instance_source(rds, make_network(aws.client("ec2"), rds, "instance-subnets"))
    point = point_after_creation()
    before = (instance_ids(rds), cluster_ids(rds))
    aws.behaviour.reset_counters()

    planned = run(rds, Request(CLUSTER, source.identifier, restore_point=point), "prepare", check_mode=True)
    target = default_target(source.identifier, point)
    assert (planned["changed"], planned["status"], planned["restore_called"]) == (True, "planned", False)
    assert [(step["step"], step["resource"], step.get("role")) for step in planned["steps"]] == [
        ("restore", target, None), ("create instance", f"{target}-1", "writer"), ("create instance", f"{target}-2", "reader"),
        ("create instance", f"{target}-3", "reader")]
    assert all(step["planned"] for step in planned["steps"])
    single = run(rds, Request(INSTANCE, instance.identifier, restore_point=point), "prepare", check_mode=True)
    assert [step["step"] for step in single["steps"]] == ["restore"] and single["target"]["exists"] is False

    assert (instance_ids(rds), cluster_ids(rds)) == before
    assert {op for op in aws.calls if not op.startswith(("Describe", "List"))} == set()


# --- retire -----------------------------------------------------------------------------------------------------
def test_retire_refuses_before_verify_then_deletes_the_instance_keeping_a_final_snapshot(stand_in: AwsTarget) -> None:
    rds, source = instance_stage(stand_in)
    point = point_after_creation()
    request = Request(INSTANCE, source.identifier, restore_point=point)
    run(rds, request, "prepare")
    with pytest.raises(RestoreFailed) as refused:
        run(rds, request, "retire")
    assert f"refusing to retire RDS DB instance '{source.identifier}'" in str(refused.value) and "is not verified" in str(refused.value)
    run(rds, request, "verify")

    planned = run(rds, request, "retire", check_mode=True)
    assert (planned["status"], planned["changed"]) == ("planned", True) and source.identifier in instance_ids(rds)

    retired = run(rds, request, "retire")
    assert (retired["status"], retired["changed"]) == ("retired", True)
    assert source.identifier not in instance_ids(rds) and default_target(source.identifier, point) in instance_ids(rds)
    snapshots = rds.describe_db_snapshots(DBInstanceIdentifier=source.identifier, SnapshotType="manual")["DBSnapshots"]
    assert retired["final_snapshot"] == f"{source.identifier}-final-{point_label(point)}"
    assert [item["DBSnapshotIdentifier"] for item in snapshots] == [retired["final_snapshot"]]

    again = run(rds, request, "retire")
    assert (again["status"], again["changed"], again["final_snapshot"]) == ("retired", False, retired["final_snapshot"])


def test_retire_deletes_the_source_cluster_and_its_instances_keeping_a_final_cluster_snapshot(stand_in: AwsTarget) -> None:
    rds, source = cluster_stage(stand_in, readers=1)
    point = point_after_creation()
    request = Request(CLUSTER, source.identifier, restore_point=point, reader_count=0)
    for phase in ("prepare", "verify"):
        run(rds, request, phase)
    retired = run(rds, request, "retire")
    assert retired["status"] == "retired"
    assert source.identifier not in cluster_ids(rds) and not set(source.members) & instance_ids(rds)
    target = default_target(source.identifier, point)
    assert target in cluster_ids(rds) and f"{target}-1" in instance_ids(rds), "retire touched the restore"
    snapshots = rds.describe_db_cluster_snapshots(DBClusterIdentifier=source.identifier, SnapshotType="manual")["DBClusterSnapshots"]
    assert [item["DBClusterSnapshotIdentifier"] for item in snapshots] == [retired["final_snapshot"]]
    assert run(rds, request, "retire")["changed"] is False


def test_retire_run_again_while_the_source_is_being_deleted_changes_nothing(aws_inproc: InProc) -> None:
    aws = aws_inproc()
    rds, source = instance_stage(aws)
    point = point_after_creation()
    request = Request(INSTANCE, source.identifier, restore_point=point)
    for phase in ("prepare", "verify"):
        run(rds, request, phase)

    def deleting(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """AWS's answers while the source's deletion runs (moto deletes at once): the source reports "deleting"."""
        answer = func(*args, **kwargs)
        for instance in answer.get("DBInstances", []) if isinstance(answer, dict) else []:
            if instance["DBInstanceIdentifier"] == source.identifier:
                instance["DBInstanceStatus"] = "deleting"
        return answer

    aws.behaviour.reset_counters()
    again = run(rds, request, "retire", call=deleting)
    assert (again["status"], again["changed"]) == ("retired", False)
    assert aws.calls["DeleteDBInstance"] == 0 and aws.calls["ModifyDBInstance"] == 0


# --- throttling -------------------------------------------------------------------------------------------------
def test_throttling_on_every_third_rds_call_still_completes_with_retries(aws_inproc: InProc) -> None:
    aws = aws_inproc()
    rds, source = cluster_stage(aws, readers=1)
    instance = make_instance_source(rds, make_network(aws.client("ec2"), rds, "instance-subnets"))
    point = point_after_creation()
    aws.add_fault(Fault("*", service="rds", code="Throttling", message="Rate exceeded", every=3))
    call = functools.partial(retrying, base_delay=0.001)

    for kind, identifier in ((INSTANCE, instance.identifier), (CLUSTER, source.identifier)):
        request = Request(kind, identifier, restore_point=point)
        assert run(rds, request, "prepare", call=call)["status"] == "prepared"
        assert run(rds, request, "verify", call=call)["status"] == "verified"
    throttled = sum(count for (operation, code), count in aws.errors.items() if code == "Throttling")
    assert throttled >= 10, aws.errors
    aws.clear_faults()
    assert instance_settings(described_instance(rds, default_target(instance.identifier, point))) == instance.settings
    assert len(described_cluster(rds, default_target(source.identifier, point))["DBClusterMembers"]) == 2
