"""Bad input to the DynamoDB restore: a clear error before anything changes.

Each case runs the ``prepare`` phase (the first that changes anything) through real boto3 against
the in-process stand-in and asserts the message *and* that AWS is exactly as before: same tables,
same backups, no journal table.
"""
from __future__ import annotations

import datetime as _dt
from collections.abc import Callable

import pytest
from dynamodb_restore_helpers import JOURNAL, PREFIX, TARGET_PREFIX, USER_TABLE, Stage, build, renamed

from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_naming import staging_name
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_restore import PreflightFailed, Request
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import to_iso
from standins.aws.inprocess import InProcessAws

InProc = Callable[..., InProcessAws]
ORDERS = f"{PREFIX}sample.orders"


def window(stage: Stage, table: str) -> tuple[str, str]:
    pitr = stage.ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    return to_iso(pitr["EarliestRestorableDateTime"]), to_iso(pitr["LatestRestorableDateTime"])


def _outside_window(stage: Stage) -> tuple[Request, list[str]]:
    point = stage.point - _dt.timedelta(days=2)  # before PITR was enabled on any table
    earliest, _latest = window(stage, USER_TABLE)
    return stage.request(point=point), [f"table {USER_TABLE}: restore point {to_iso(point)} is outside its restorable window {earliest} .. "]


def _in_future(stage: Stage) -> tuple[Request, list[str]]:
    point = stage.point + _dt.timedelta(hours=1)
    return stage.request(point=point), [f"table {USER_TABLE}: restore point {to_iso(point)} is outside its restorable window"]


def _pitr_off(stage: Stage) -> tuple[Request, list[str]]:
    stage.ddb.update_continuous_backups(TableName=ORDERS, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})
    return stage.request(), [f"table {ORDERS} has point-in-time recovery off"]


def _table_missing(stage: Stage) -> tuple[Request, list[str]]:
    return stage.request(tables=[USER_TABLE, f"{PREFIX}nope.gone"]), [f"table {PREFIX}nope.gone does not exist"]


def _registered_table_missing(stage: Stage) -> tuple[Request, list[str]]:
    stage.ddb.delete_table(TableName=ORDERS)
    return stage.request(), [f"table {ORDERS} does not exist"]


def _staging_taken(stage: Stage) -> tuple[Request, list[str]]:
    name = staging_name(USER_TABLE, stage.point)
    stage.ddb.create_table(TableName=name, AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                           KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    return stage.request(), [f"table {name} (the staging table of {USER_TABLE}) already exists and was not restored from {USER_TABLE}"]


def _staging_restored_from_another_table(stage: Stage) -> tuple[Request, list[str]]:
    name = staging_name(USER_TABLE, stage.point)
    stage.ddb.restore_table_to_point_in_time(SourceTableName=ORDERS, TargetTableName=name, RestoreDateTime=stage.point)
    return stage.request(), [f"table {name} (the staging table of {USER_TABLE}) already exists and was not restored from {USER_TABLE}"]


def _target_taken(stage: Stage) -> tuple[Request, list[str]]:
    name = renamed(USER_TABLE)
    stage.ddb.create_table(TableName=name, AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                           KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    return stage.request("new_prefix"), [f"table {name} already exists and was not restored from {USER_TABLE}"]


def _same_prefix(stage: Stage) -> tuple[Request, list[str]]:
    return stage.request("new_prefix", target_prefix=PREFIX), [f"target_prefix {PREFIX!r} is the prefix in use"]


def _no_target_prefix(stage: Stage) -> tuple[Request, list[str]]:
    return Request(mode="new_prefix", restore_point=stage.point, prefix=PREFIX), ["mode new_prefix needs target_prefix"]


def _target_prefix_in_place(stage: Stage) -> tuple[Request, list[str]]:
    return stage.request(target_prefix=TARGET_PREFIX), ["target_prefix is only used with mode new_prefix"]


def _empty_tables(stage: Stage) -> tuple[Request, list[str]]:
    return stage.request(tables=[]), ["tables is empty"]


def _wrong_prefix(stage: Stage) -> tuple[Request, list[str]]:
    return Request(mode="in_place", restore_point=stage.point, prefix="q_"), [
        "no ScalarDB metadata table q_scalardb.metadata", f"metadata tables that do exist: {PREFIX}scalardb.metadata"]


def _unknown_mode(stage: Stage) -> tuple[Request, list[str]]:
    return Request(mode="sideways", restore_point=stage.point, prefix=PREFIX), ["mode must be one of in_place, new_prefix"]


def _several(stage: Stage) -> tuple[Request, list[str]]:
    """Every problem at once, not only the first."""
    stage.ddb.update_continuous_backups(TableName=ORDERS, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})
    return stage.request(tables=[USER_TABLE, ORDERS, f"{PREFIX}nope.gone"]), [
        f"table {ORDERS} has point-in-time recovery off", f"table {PREFIX}nope.gone does not exist"]


CASES: dict[str, Callable[[Stage], tuple[Request, list[str]]]] = {
    "outside-window": _outside_window,
    "in-the-future": _in_future,
    "pitr-off": _pitr_off,
    "table-missing": _table_missing,
    "registered-table-missing": _registered_table_missing,
    "staging-name-taken": _staging_taken,
    "staging-restored-from-another-table": _staging_restored_from_another_table,
    "target-name-taken": _target_taken,
    "same-prefix": _same_prefix,
    "no-target-prefix": _no_target_prefix,
    "target-prefix-in-place": _target_prefix_in_place,
    "empty-tables": _empty_tables,
    "wrong-prefix": _wrong_prefix,
    "unknown-mode": _unknown_mode,
    "several-problems": _several,
}


def _snapshot(stage: Stage) -> tuple[set[str], set[str]]:
    return stage.table_names(), set(stage.backups())


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_fails_before_anything_changes(aws_inproc: InProc, case: str) -> None:
    stage = build(aws_inproc(), layout={"sample": {"accounts": ["email"], "orders": []}})
    request, expected = CASES[case](stage)
    before = _snapshot(stage)

    for phase in ("prepare", "cutover"):
        with pytest.raises(PreflightFailed) as failed:
            stage.run(request, phase)
        message = str(failed.value)
        for part in expected:
            assert part in message, message
        assert failed.value.result.problems, "the full preflight is attached"
    assert _snapshot(stage) == before
    assert JOURNAL not in stage.table_names()


def test_preflight_phase_reports_the_plan_and_changes_nothing(aws_inproc: InProc) -> None:
    stage = build(aws_inproc())
    before = _snapshot(stage)
    for mode in ("in_place", "new_prefix"):
        result = stage.run(stage.request(mode), "preflight")
        assert result["changed"] is False and result["tables_failed"] == 0
        plans = {plan["source"]: plan for plan in result["tables"]}
        assert set(plans) == set(stage.tables)
        if mode == "in_place":
            assert plans[USER_TABLE]["staging"] == staging_name(USER_TABLE, stage.point)
            assert plans[USER_TABLE]["state"] == "original"
        else:
            assert plans[USER_TABLE]["target"] == renamed(USER_TABLE) and plans[USER_TABLE]["state"] == "pending"
            assert result["properties"] == {"scalar.db.dynamo.namespace.prefix": TARGET_PREFIX}
        assert plans[USER_TABLE]["window"]["earliest"] <= to_iso(stage.point) <= plans[USER_TABLE]["window"]["latest"]
    check = stage.run(stage.request(), "prepare", check_mode=True)
    assert check["changed"] is True  # Ansible's check-mode convention: it would change something
    assert all(entry["planned_steps"] for entry in check["tables"])
    assert _snapshot(stage) == before
