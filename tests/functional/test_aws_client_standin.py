"""The shared AWS core (aws_client + concurrency) against the in-process moto stand-in.

Faults injected by the stand-in (throttling, limits, access denied) reach our code as the same
botocore errors AWS would cause; the stand-in's call counters prove how often each call was really
sent, so "it succeeded" also means "it succeeded because we retried".
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError, NoCredentialsError

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import (
    RETRY_BASE_DELAY_ENV,
    AwsConnection,
    AwsError,
    describe_error,
    error_code,
    retrying,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.concurrency import Deadline, run_bounded, wait_until
from standins.aws.faults import Fault

if TYPE_CHECKING:
    from standins.aws.inprocess import InProcessAws

KEY_SCHEMA = [{"AttributeName": "pk", "KeyType": "HASH"}]
ATTRIBUTES = [{"AttributeName": "pk", "AttributeType": "S"}]
DENIED = "User: arn:aws:iam::123456789012:user/pitr is not authorized to perform: dynamodb:DescribeTable on resource: orders"


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented switch that keeps backoff short against a stand-in."""
    monkeypatch.setenv(RETRY_BASE_DELAY_ENV, "0.001")


def connect(aws: InProcessAws, **extra: Any) -> AwsConnection:
    params = {"region": aws.region, "endpoint_url": aws.url, "access_key": "testing", "secret_key": "testing", "validate_certs": True}
    params.update(extra)
    return AwsConnection(params)


def create_table(ddb: Any, name: str) -> None:
    retrying(ddb.create_table, TableName=name, KeySchema=KEY_SCHEMA, AttributeDefinitions=ATTRIBUTES, BillingMode="PAY_PER_REQUEST")


def table_status(ddb: Any, name: str) -> str:
    return retrying(ddb.describe_table, TableName=name)["Table"]["TableStatus"]


def test_throttled_calls_succeed_through_retrying(aws_inproc: Callable[..., InProcessAws]) -> None:
    aws = aws_inproc(faults=[
        Fault("DescribeTable", code="ThrottlingException", every=2),
        Fault("CreateTable", code="ThrottlingException", every=2),
        Fault("RestoreTableToPointInTime", code="LimitExceededException", message="Too many restores", times=3),
    ])
    ddb = connect(aws).client("dynamodb")

    create_table(ddb, "ns.orders")  # 1st CreateTable passes
    create_table(ddb, "ns.customers")  # 2nd is throttled, 3rd passes
    assert aws.calls["CreateTable"] == 3
    assert aws.errors[("CreateTable", "ThrottlingException")] == 1

    assert [table_status(ddb, name) for name in ("ns.orders", "ns.customers", "ns.orders")] == ["ACTIVE"] * 3
    assert aws.calls["DescribeTable"] == 5  # calls 2 and 4 throttled, each retried once
    assert aws.errors[("DescribeTable", "ThrottlingException")] == 2

    retrying(ddb.update_continuous_backups, TableName="ns.orders", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    retried: list[tuple[int, str | None]] = []
    answer = retrying(
        ddb.restore_table_to_point_in_time,
        SourceTableName="ns.orders", TargetTableName="ns.orders-staging", UseLatestRestorableTime=True,
        on_retry=lambda attempt, _delay, exc: retried.append((attempt, error_code(exc))),
    )
    assert answer["TableDescription"]["TableName"] == "ns.orders-staging"
    assert retried == [(1, "LimitExceededException"), (2, "LimitExceededException"), (3, "LimitExceededException")]
    assert aws.calls["RestoreTableToPointInTime"] == 4
    assert "ns.orders-staging" in aws.client("dynamodb").list_tables()["TableNames"]  # seen through an independent client


def test_clients_do_not_retry_by_themselves(aws_inproc: Callable[..., InProcessAws]) -> None:
    aws = aws_inproc(faults=[Fault("ListTables", code="ThrottlingException", times=1)])
    ddb = connect(aws).client("dynamodb")
    with pytest.raises(ClientError) as throttled:
        ddb.list_tables()
    assert error_code(throttled.value) == "ThrottlingException"
    assert aws.calls["ListTables"] == 1  # botocore sent it once: retrying is ours alone
    assert retrying(ddb.list_tables)["TableNames"] == []
    assert aws.calls["ListTables"] == 2


def test_retry_budget_exhausted_raises_the_aws_error(aws_inproc: Callable[..., InProcessAws]) -> None:
    aws = aws_inproc(faults=[Fault("ListTables", code="ThrottlingException", message="Rate exceeded")])
    ddb = connect(aws).client("dynamodb")
    with pytest.raises(ClientError) as exhausted:
        retrying(ddb.list_tables, retries=4)
    assert aws.calls["ListTables"] == 5
    assert describe_error(exhausted.value, "ListTables") == "ListTables failed: ThrottlingException: Rate exceeded"


def test_bounded_restores_retry_the_account_limit(aws_inproc: Callable[..., InProcessAws]) -> None:
    """Chains of restore + wait ACTIVE, three workers, the stand-in allowing two restores at a time."""
    aws = aws_inproc(restore_seconds=0.3, max_concurrent_restores=2)
    ddb = connect(aws).client("dynamodb")
    create_table(ddb, "source")
    retrying(ddb.update_continuous_backups, TableName="source", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    deadline = Deadline(30)

    def chain(target: str) -> str:
        retrying(ddb.restore_table_to_point_in_time, SourceTableName="source", TargetTableName=target,
                 UseLatestRestorableTime=True, base_delay=0.02, max_delay=0.2)
        return wait_until(lambda: table_status(ddb, target), deadline, initial_delay=0.05, max_delay=0.2,
                          what=f"table {target} ACTIVE", done=lambda status: status == "ACTIVE")

    targets = [f"restored-{n}" for n in range(4)]
    results = run_bounded(targets, chain, concurrency=3)
    assert [(r.status, r.value) for r in results] == [("ok", "ACTIVE")] * 4
    assert aws.errors[("RestoreTableToPointInTime", "LimitExceededException")] >= 1  # the third worker had to wait
    assert aws.calls["RestoreTableToPointInTime"] == 4 + aws.errors[("RestoreTableToPointInTime", "LimitExceededException")]
    assert set(targets) <= set(aws.client("dynamodb").list_tables()["TableNames"])


def test_access_denied_is_not_retried_and_names_the_permission(aws_inproc: Callable[..., InProcessAws]) -> None:
    aws = aws_inproc(faults=[Fault("DescribeTable", code="AccessDeniedException", message=DENIED)])
    ddb = connect(aws).client("dynamodb")
    with pytest.raises(ClientError) as denied:
        retrying(ddb.describe_table, TableName="orders")
    assert aws.calls["DescribeTable"] == 1
    message = describe_error(denied.value, "DescribeTable orders", service="dynamodb")
    assert message.startswith(f"DescribeTable orders failed: AccessDeniedException: {DENIED}")
    assert message.endswith("(the AWS identity in use needs the IAM permission dynamodb:DescribeTable on this resource)")
    assert "testing" not in message  # the (dummy) keys never appear


def test_no_region_is_a_clear_error_before_any_call(aws_inproc: Callable[..., InProcessAws], monkeypatch: pytest.MonkeyPatch) -> None:
    aws = aws_inproc()
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    with pytest.raises(AwsError) as info:
        connect(aws, region=None).client("dynamodb")
    assert str(info.value) == ("create dynamodb client failed: no AWS region: give the region option or set AWS_REGION "
                               "(or AWS_DEFAULT_REGION), or use a profile that has one")
    assert info.value.code == "NoRegionError"
    assert sum(aws.calls.values()) == 0


def test_no_credentials_says_where_they_come_from(aws_inproc: Callable[..., InProcessAws], monkeypatch: pytest.MonkeyPatch) -> None:
    aws = aws_inproc()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no 1 s metadata lookup off EC2
    ddb = connect(aws, access_key=None, secret_key=None).client("dynamodb")
    with pytest.raises(NoCredentialsError) as missing:
        retrying(ddb.list_tables)
    message = describe_error(missing.value, "ListTables")
    assert message.startswith("ListTables failed: no complete AWS credentials found: give access_key/secret_key")
    assert "AWS_PROFILE" in message
    assert sum(aws.calls.values()) == 0
