"""DynamoDB point-in-time recovery through the AWS stand-in, with AWS's semantics.

moto alone fills a restored table with the source's *current* items whatever RestoreDateTime says;
the stand-in keeps an item history (``standins.aws.pitr``).  The first half runs every scenario
twice through the ``target`` fixture: on the moto child process (the ``aws`` fixture, or a real
account when ``PITR_TEST_AWS_*`` is set) and on ``InProcessAws``.  Every assertion there holds on
AWS too, but there it is slow: each scenario waits for LatestRestorableDateTime (about 5 minutes
behind now) and each restore takes minutes; writes are spaced by seconds (PITR's resolution)
instead of 50 ms.  The second half checks stand-in-only controls: the restore lag, wildcard
faults, thread safety and the scoping of the item history.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from fixtures.aws import aws_is_standin
from fixtures.common import require_standin
from standins.aws import DEFAULT_ACCOUNT_ID, Fault, InProcessAws, start_moto
from standins.aws.target import AwsTarget

KEYS = [{"AttributeName": "pk", "KeyType": "HASH"}]
ATTRS = [{"AttributeName": "pk", "AttributeType": "S"}]


@pytest.fixture(params=["server", "inproc"], name="target")
def target_fixture(request: pytest.FixtureRequest) -> AwsTarget:
    """The moto child process (or the real endpoint), then the in-process stand-in."""
    if request.param == "server":
        return request.getfixturevalue("aws")
    return request.getfixturevalue("aws_inproc")().target


# --- helpers -------------------------------------------------------------------------------------
def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def settle(aws: AwsTarget) -> None:
    """Separate two writes in time: 50 ms on the stand-in, 2 s on AWS (PITR restores to the second)."""
    time.sleep(0.05 if aws.is_standin else 2.0)


def resolution(aws: AwsTarget) -> timedelta:
    """How exactly a restore point comes back: the stand-in answers in milliseconds."""
    return timedelta(milliseconds=2) if aws.is_standin else timedelta(seconds=1)


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def make_table(aws: AwsTarget, prefix: str) -> str:
    name = aws.unique(prefix)
    ddb = aws.client("dynamodb")
    ddb.create_table(TableName=name, KeySchema=KEYS, AttributeDefinitions=ATTRS, BillingMode="PAY_PER_REQUEST")
    aws.defer(drop_table, aws, name)
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig=aws.waiter_config())
    return name


def drop_table(aws: AwsTarget, name: str) -> None:
    ddb = aws.client("dynamodb")
    try:
        status = ddb.describe_table(TableName=name)["Table"]["TableStatus"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return
        raise
    if status != "ACTIVE":  # AWS refuses to delete a table that is still being restored
        ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig=aws.waiter_config())
    ddb.delete_table(TableName=name)


def enable_pitr(aws: AwsTarget, table: str, **spec: Any) -> dict[str, Any]:
    """Turn PITR on; returns the PointInTimeRecoveryDescription of UpdateContinuousBackups' answer."""
    answer = aws.client("dynamodb").update_continuous_backups(
        TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True, **spec})
    return dict(answer["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"])


def window(aws: AwsTarget, table: str) -> dict[str, Any]:
    answer = aws.client("dynamodb").describe_continuous_backups(TableName=table)
    return dict(answer["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"])


def wait_restorable(aws: AwsTarget, tables: list[str], when: datetime) -> None:
    """Wait until every table's LatestRestorableDateTime has passed ``when`` (at once on the stand-in)."""
    config = aws.waiter_config()
    for _attempt in range(int(config["MaxAttempts"])):
        if all(window(aws, table).get("LatestRestorableDateTime", when - timedelta(1)) >= when for table in tables):
            return
        time.sleep(config["Delay"])
    raise TimeoutError(f"LatestRestorableDateTime of {tables} never passed {when}")


def put(aws: AwsTarget, table: str, **values: str) -> None:
    for key, value in values.items():
        aws.client("dynamodb").put_item(TableName=table, Item={"pk": {"S": key}, "v": {"S": value}})


def contents(aws: AwsTarget, table: str) -> dict[str, str]:
    pages = aws.client("dynamodb").get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
    return {item["pk"]["S"]: item["v"]["S"] for page in pages for item in page["Items"]}


def restore(aws: AwsTarget, source: str, **point: Any) -> tuple[str, dict[str, Any]]:
    """Restore ``source`` into a new table at ``point``; wait for ACTIVE; returns (name, the answer's TableDescription)."""
    name = aws.unique("rst")
    aws.defer(drop_table, aws, name)
    ddb = aws.client("dynamodb")
    answer = ddb.restore_table_to_point_in_time(SourceTableName=source, TargetTableName=name, **point)
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig=aws.waiter_config())
    return name, answer["TableDescription"]


def table_exists(aws: AwsTarget, name: str) -> bool:
    try:
        aws.client("dynamodb").describe_table(TableName=name)
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return False
        raise


# --- AWS semantics, on both stand-ins (and a real account) -----------------------------------------------
def test_restore_holds_the_items_of_its_point(target: AwsTarget) -> None:
    aws = target
    source = make_table(aws, "src")
    enable_pitr(aws, source)
    put(aws, source, a="v1", b="v1", c="v1")
    settle(aws)
    t1 = utcnow()
    settle(aws)
    put(aws, source, a="v2", b="v2", c="v2")
    aws.client("dynamodb").delete_item(TableName=source, Key={"pk": {"S": "c"}})
    settle(aws)
    t2 = utcnow()
    wait_restorable(aws, [source], t2)

    at_t1, described = restore(aws, source, RestoreDateTime=t1)
    assert contents(aws, at_t1) == {"a": "v1", "b": "v1", "c": "v1"}
    assert abs(described["RestoreSummary"]["RestoreDateTime"] - t1) <= resolution(aws)  # the point, not the creation time

    latest, described = restore(aws, source, UseLatestRestorableTime=True)
    assert contents(aws, latest) == {"a": "v2", "b": "v2"}
    assert described["RestoreSummary"]["RestoreDateTime"] >= t2 - resolution(aws)
    assert contents(aws, source) == {"a": "v2", "b": "v2"}  # the source is untouched


def test_restore_outside_the_window_or_without_pitr_is_refused(target: AwsTarget) -> None:
    aws = target
    ddb = aws.client("dynamodb")
    source = make_table(aws, "src")
    put(aws, source, a="v1")
    never = aws.unique("never")
    aws.defer(drop_table, aws, never)
    with pytest.raises(ddb.exceptions.PointInTimeRecoveryUnavailableException):
        ddb.restore_table_to_point_in_time(SourceTableName=source, TargetTableName=never, UseLatestRestorableTime=True)

    enable_pitr(aws, source)
    earliest = window(aws, source)["EarliestRestorableDateTime"]
    too_early = (earliest - timedelta(hours=1)).replace(microsecond=0)
    too_late = (utcnow() + timedelta(hours=1)).replace(microsecond=0)
    for when in (too_early, too_late):
        with pytest.raises(ddb.exceptions.InvalidRestoreTimeException) as refused:
            ddb.restore_table_to_point_in_time(SourceTableName=source, TargetTableName=never, RestoreDateTime=when)
        if aws.is_standin:  # AWS's wording, then what a person needs to pick a better time
            message = refused.value.response["Error"]["Message"]
            assert message.startswith("An invalid restore time was specified. RestoreDateTime must be between EarliestRestorableDateTime")
            assert f"table {source}" in message
            assert f"RestoreDateTime {when.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%S')}.000Z" in message
            assert "EarliestRestorableDateTime 20" in message and "LatestRestorableDateTime 20" in message
    assert not table_exists(aws, never)


def test_windows_of_tables_created_a_second_apart_overlap(target: AwsTarget) -> None:
    """The restore of a whole deployment needs one point inside every table's window."""
    aws = target
    first = make_table(aws, "first")
    enable_pitr(aws, first)
    put(aws, first, before="x")
    time.sleep(1.0)
    second = make_table(aws, "second")
    enable_pitr(aws, second)
    settle(aws)
    put(aws, first, after="x")
    put(aws, second, after="x")
    wait_restorable(aws, [first, second], utcnow())

    windows = [window(aws, table) for table in (first, second)]
    assert windows[1]["EarliestRestorableDateTime"] - windows[0]["EarliestRestorableDateTime"] >= timedelta(seconds=0.9)
    common = max(w["EarliestRestorableDateTime"] for w in windows)
    assert common <= min(w["LatestRestorableDateTime"] for w in windows)
    restored = [restore(aws, table, RestoreDateTime=common)[0] for table in (first, second)]
    assert [contents(aws, table) for table in restored] == [{"before": "x"}, {}]


def test_every_kind_of_write_is_in_the_history(target: AwsTarget) -> None:
    aws = target
    ddb = aws.client("dynamodb")
    source = make_table(aws, "src")
    enable_pitr(aws, source)
    quoted = f'"{source}"'

    def item(key: str, value: str) -> dict[str, Any]:
        return {"pk": {"S": key}, "v": {"S": value}}

    def failed_transaction() -> None:
        with pytest.raises(ddb.exceptions.TransactionCanceledException):
            ddb.transact_write_items(TransactItems=[
                {"Put": {"TableName": source, "Item": item("p9", "9")}},
                {"ConditionCheck": {"TableName": source, "Key": {"pk": {"S": "p2"}}, "ConditionExpression": "attribute_exists(pk)"}},
            ])

    writes: list[Callable[[], Any]] = [
        lambda: ddb.batch_write_item(RequestItems={source: [{"PutRequest": {"Item": item(k, "1")}} for k in ("p1", "p2", "p3")]}),
        lambda: ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": source, "Item": item("p4", "2")}},
            {"Update": {"TableName": source, "Key": {"pk": {"S": "p1"}}, "UpdateExpression": "SET v = :v", "ExpressionAttributeValues": {":v": {"S": "2"}}}},
            {"Delete": {"TableName": source, "Key": {"pk": {"S": "p2"}}}},
        ]),
        failed_transaction,  # moto swaps the table object for its pre-transaction copy: the history must follow
        lambda: ddb.update_item(TableName=source, Key={"pk": {"S": "p3"}}, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"S": "3"}}),
        lambda: ddb.execute_statement(Statement=f"INSERT INTO {quoted} VALUE {{'pk': 'p5', 'v': '4'}}"),
        lambda: ddb.execute_statement(Statement=f"UPDATE {quoted} SET v='5' WHERE pk='p4'"),
        lambda: ddb.batch_execute_statement(Statements=[
            {"Statement": f"INSERT INTO {quoted} VALUE {{'pk': 'p6', 'v': '6'}}"},
            {"Statement": f"UPDATE {quoted} SET v='6' WHERE pk='p5'"},
        ]),
        lambda: ddb.execute_transaction(TransactStatements=[
            {"Statement": f"INSERT INTO {quoted} VALUE {{'pk': 'p7', 'v': '7'}}"},
            {"Statement": f"DELETE FROM {quoted} WHERE pk='p6'"},
        ]),
        lambda: ddb.execute_statement(Statement=f"DELETE FROM {quoted} WHERE pk='p1'"),
        lambda: ddb.batch_write_item(RequestItems={source: [{"DeleteRequest": {"Key": {"pk": {"S": "p3"}}}}]}),
    ]
    seen: list[tuple[datetime, dict[str, str]]] = []
    for write in writes:
        write()
        settle(aws)
        seen.append((utcnow(), contents(aws, source)))
        settle(aws)
    assert len({str(state) for _when, state in seen}) == len(writes) - 1  # every write but the failed one changed something
    wait_restorable(aws, [source], seen[-1][0])

    for when, expected in seen:
        restored, _described = restore(aws, source, RestoreDateTime=when)
        assert contents(aws, restored) == expected, f"restore to {when.isoformat()}"


# --- stand-in only: lag, thread safety, scoping, wildcard faults -------------------------------------------
def test_written_tables_of_each_write_call() -> None:
    """Which tables get a snapshot before a call runs: named ones, PartiQL's targets, "any" when unparseable."""
    require_standin(aws_is_standin(), "the stand-in's own bookkeeping")
    from standins.aws.pitr import written_table_names  # pylint: disable=import-outside-toplevel  # imports moto (~1 s)

    assert written_table_names("PutItem", {"TableName": "a"}) == ["a"]
    assert written_table_names("BatchWriteItem", {"RequestItems": {"a": [], "b": []}}) == ["a", "b"]
    assert written_table_names("TransactWriteItems", {"TransactItems": [{"Put": {"TableName": "a"}}, {"Delete": {"TableName": "b"}}]}) == ["a", "b"]
    statements = [{"Statement": "INSERT INTO \"a\" VALUE {'pk': '1'}"}, {"Statement": "DELETE FROM \"b\" WHERE pk='1'"}]
    assert written_table_names("BatchExecuteStatement", {"Statements": statements}) == ["a", "b"]
    assert written_table_names("ExecuteTransaction", {"TransactStatements": statements}) == ["a", "b"]
    assert written_table_names("ExecuteStatement", {"Statement": "  SELECT * FROM \"a\""}) == []  # reads write nothing
    assert written_table_names("ExecuteStatement", {"Statement": "DELETE FROM \"a\" WHERE pk=?"}) is None  # moto's parser gives up: any table
    assert written_table_names("Scan", {"TableName": "a"}) == []


def test_inproc_restore_lag(aws_inproc: Callable[..., InProcessAws]) -> None:
    aws = aws_inproc(pitr_lag_seconds=1.0, restore_seconds=0.2)
    target = aws.target
    ddb = aws.client("dynamodb", max_attempts=1)
    source = make_table(target, "src")
    enabled = enable_pitr(target, source)
    # Right after enabling, Latest (now - 1 s) is before Earliest: nothing can be restored yet.
    gap = (enabled["EarliestRestorableDateTime"] - enabled["LatestRestorableDateTime"]).total_seconds()
    assert 0.9 < gap <= 1.0
    with pytest.raises(ddb.exceptions.InvalidRestoreTimeException) as too_soon:
        ddb.restore_table_to_point_in_time(SourceTableName=source, TargetTableName="never", UseLatestRestorableTime=True)
    assert "nothing is restorable yet" in too_soon.value.response["Error"]["Message"]

    put(target, source, a="v1")
    settle(target)
    t1 = utcnow()
    wait_restorable(target, [source], t1)  # about a second
    put(target, source, a="v2")
    lagging = ddb.restore_table_to_point_in_time(SourceTableName=source, TargetTableName="lagging", UseLatestRestorableTime=True)["TableDescription"]
    assert lagging["TableStatus"] == "CREATING"  # the delay model still applies to PITR restores
    point = lagging["RestoreSummary"]["RestoreDateTime"]
    assert t1 <= point < utcnow() - timedelta(seconds=0.9)
    with pytest.raises(ddb.exceptions.InvalidRestoreTimeException):
        ddb.restore_table_to_point_in_time(SourceTableName=source, TargetTableName="never", RestoreDateTime=utcnow())
    ddb.get_waiter("table_exists").wait(TableName="lagging", WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    assert contents(target, "lagging") == {"a": "v1"}  # the last second is not restorable yet

    aws.pitr_lag_seconds = 0.0  # applies at once
    current, _described = restore(target, source, UseLatestRestorableTime=True)
    assert contents(target, current) == {"a": "v2"}


def test_inproc_concurrent_writers_and_restore_points(aws_inproc: Callable[..., InProcessAws]) -> None:
    """Writes from several threads: a restore to t has every write answered before t, none sent after t."""
    aws = aws_inproc()
    target = aws.target
    ddb = aws.client("dynamodb", max_attempts=1)
    source = make_table(target, "src")
    enable_pitr(target, source)
    writers, writes = 4, 20
    log: dict[str, list[tuple[datetime, datetime]]] = {f"w{n}": [] for n in range(writers)}  # per key: (sent, answered) of value i

    def writer(key: str) -> None:
        for value in range(writes):
            sent = utcnow()
            ddb.put_item(TableName=source, Item={"pk": {"S": key}, "v": {"S": str(value)}})
            log[key].append((sent, utcnow()))

    threads = [threading.Thread(target=writer, args=(key,)) for key in log]
    started = utcnow()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    finished = utcnow()

    for step in range(1, 6):
        when = started + (finished - started) * step / 6
        restored, _described = restore(target, source, RestoreDateTime=when)
        state = contents(target, restored)
        for key, times in log.items():
            done = [i for i, (_sent, answered) in enumerate(times) if answered < when]
            pending = [i for i, (sent, _answered) in enumerate(times) if sent > when]
            value = int(state[key]) if key in state else -1
            low = max(done, default=-1)
            high = min(pending, default=writes)
            assert low <= value < high, f"{key} at {when.isoformat()}: {value} not in [{low}, {high})"


def test_inproc_history_is_scoped_to_the_table_and_its_pitr_era(aws_inproc: Callable[..., InProcessAws]) -> None:
    # pylint: disable=import-outside-toplevel  # moto's models are only needed by the in-process tests
    from moto.moto_api._internal.models import MotoAPIBackend

    original_reset = MotoAPIBackend.__dict__["reset"]
    aws = aws_inproc()
    target = aws.target
    ddb = aws.client("dynamodb", max_attempts=1)
    history = aws.behaviour.pitr.history
    source = make_table(target, "src")
    plain = make_table(target, "plain")
    put(target, plain, a="x")
    assert len(history) == 0  # no PITR, no history
    enable_pitr(target, source)
    put(target, source, a="v1", b="v1")
    assert history.snapshot_count(moto_tables(aws)[source]) == 2

    aws.reset()  # moto's reset forgets the history too
    assert len(history) == 0
    ddb.create_table(TableName=source, KeySchema=KEYS, AttributeDefinitions=ATTRS, BillingMode="PAY_PER_REQUEST")  # same name, new table
    enable_pitr(target, source)
    assert history.snapshot_count(moto_tables(aws)[source]) == 0
    put(target, source, a="v1")
    settle(target)
    t1 = utcnow()
    ddb.update_continuous_backups(TableName=source, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})
    assert len(history) == 0  # turning PITR off drops the continuous backups, as on AWS
    settle(target)
    enable_pitr(target, source)
    put(target, source, a="v2")
    with pytest.raises(ddb.exceptions.InvalidRestoreTimeException):  # t1 belongs to the previous PITR era
        ddb.restore_table_to_point_in_time(SourceTableName=source, TargetTableName="old-era", RestoreDateTime=t1)
    aws.stop()
    assert MotoAPIBackend.__dict__["reset"] is original_reset  # uninstalled with the other patches


def moto_tables(aws: InProcessAws) -> dict[str, Any]:
    """moto's table objects by name (in-process only)."""
    # pylint: disable=import-outside-toplevel
    from moto.dynamodb.models import dynamodb_backends

    return dict(dynamodb_backends[DEFAULT_ACCOUNT_ID][aws.region].tables)


def test_inproc_recovery_period_bounds_the_window(aws_inproc: Callable[..., InProcessAws]) -> None:
    aws = aws_inproc(pitr_lag_seconds=2.0)
    source = make_table(aws.target, "src")
    enable_pitr(aws.target, source, RecoveryPeriodInDays=1)
    table = moto_tables(aws)[source]
    enabled, _latest = aws.behaviour.pitr.window(table)
    later = enabled + 3 * 86400.0  # three days on, only the last day is restorable
    assert aws.behaviour.pitr.window(table, now=later) == (later - 86400.0, later - 2.0)
    assert window(aws.target, source)["RecoveryPeriodInDays"] == 1


def test_inproc_wildcard_fault_throttles_every_call_of_a_service(aws_inproc: Callable[..., InProcessAws]) -> None:
    aws = aws_inproc(faults=[Fault("*", service="dynamodb", code="ThrottlingException", every=2)])
    ddb = aws.client("dynamodb", max_attempts=1)
    rds = aws.client("rds", max_attempts=1)

    def outcome(call: Callable[[], Any]) -> str:
        try:
            call()
            return "ok"
        except ClientError as exc:
            return str(exc.response["Error"]["Code"])

    calls: list[Callable[[], Any]] = [ddb.list_tables, ddb.list_backups, lambda: ddb.describe_table(TableName="missing"), ddb.describe_limits]
    assert [outcome(call) for call in calls] == ["ok", "ThrottlingException", "ResourceNotFoundException", "ThrottlingException"]
    assert [outcome(rds.describe_db_instances) for _attempt in range(2)] == ["ok", "ok"]  # another service: untouched
    assert aws.errors == {("ListBackups", "ThrottlingException"): 1, ("DescribeLimits", "ThrottlingException"): 1}

    aws.clear_faults()
    aws.add_fault(Fault("*", service="dynamodb", code="ThrottlingException"))
    for call in (
        ddb.list_tables,
        lambda: ddb.put_item(TableName="any-table", Item={"pk": {"S": "a"}}),
        lambda: ddb.create_table(TableName="any-table", KeySchema=KEYS, AttributeDefinitions=ATTRS, BillingMode="PAY_PER_REQUEST"),
    ):
        with pytest.raises(ClientError) as throttled:
            call()
        assert error_code(throttled) == "ThrottlingException"
    aws.clear_faults()
    assert ddb.list_tables()["TableNames"] == []  # nothing throttled was carried out


def test_server_mode_child_pitr_lag_and_wildcard_fault(tmp_path: Path) -> None:
    """The CLI flags of ``python -m standins.aws``: --pitr-lag-seconds and a "*" fault in --faults-json."""
    require_standin(aws_is_standin(), "moto child process with a PITR lag and faults")
    running = start_moto(tmp_path, pitr_lag_seconds=300, faults=[Fault("*", service="dynamodb", match={"TableName": "hot-table"})])
    try:
        target = AwsTarget(endpoint_url=running.url, region=running.info["region"], is_standin=True)
        ddb = target.client("dynamodb", max_attempts=1)
        source = make_table(target, "src")
        enabled = enable_pitr(target, source)
        assert abs(enabled["LatestRestorableDateTime"] - (utcnow() - timedelta(seconds=300))) < timedelta(seconds=10)
        with pytest.raises(ddb.exceptions.InvalidRestoreTimeException):
            ddb.restore_table_to_point_in_time(SourceTableName=source, TargetTableName="never", UseLatestRestorableTime=True)
        for call in (
            lambda: ddb.create_table(TableName="hot-table", KeySchema=KEYS, AttributeDefinitions=ATTRS, BillingMode="PAY_PER_REQUEST"),
            lambda: ddb.describe_table(TableName="hot-table"),
            lambda: ddb.put_item(TableName="hot-table", Item={"pk": {"S": "a"}}),
        ):
            with pytest.raises(ClientError) as throttled:
                call()
            assert error_code(throttled) == "ThrottlingException"
        assert ddb.list_tables()["TableNames"] == [source]
    finally:
        running.stop()
