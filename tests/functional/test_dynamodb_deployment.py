"""Discovery of a ScalarDB deployment's DynamoDB tables, through real boto3 over HTTP.

The deployment is built the way ScalarDB's DynamoAdmin builds it: a ``<prefix>scalardb.metadata``
table keyed by ``table`` (S) holding the prefixed full name of every table, a
``<prefix>scalardb.namespaces`` table keyed by ``namespace_name``, the ``<prefix>coordinator.state``
table (registered in the metadata like any table) and the user tables.
"""
from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_deployment import DeploymentError, discover_tables
from fixtures.aws import aws_is_standin
from fixtures.common import require_standin
from standins.aws.target import AwsTarget

USER_TABLES = ["app.orders", "app.customers", "bank.accounts"]
SCALARDB_KEYS = {
    "KeySchema": [{"AttributeName": "concatenatedPartitionKey", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "concatenatedPartitionKey", "AttributeType": "B"}],
}


def create(aws: AwsTarget, name: str, key: str | None = None) -> None:
    """A table shaped like ScalarDB's (``key``: the string partition key of a metadata table)."""
    ddb = aws.client("dynamodb")
    shape: dict[str, Any] = SCALARDB_KEYS if key is None else {
        "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"}],
    }
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **shape)
    aws.defer(ddb.delete_table, TableName=name)
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig=aws.waiter_config())


def build_deployment(aws: AwsTarget, prefix: str, registered: list[str], existing: list[str]) -> None:
    """Metadata naming ``registered`` (+ coordinator), the namespaces table, and the ``existing`` user tables."""
    ddb = aws.client("dynamodb")
    create(aws, f"{prefix}scalardb.metadata", key="table")
    create(aws, f"{prefix}scalardb.namespaces", key="namespace_name")
    create(aws, f"{prefix}coordinator.state")
    for name in [*registered, "coordinator.state"]:
        ddb.put_item(
            TableName=f"{prefix}scalardb.metadata",
            Item={
                "table": {"S": prefix + name},
                "columns": {"M": {"id": {"S": "int"}, "v": {"S": "text"}}},
                "partitionKey": {"L": [{"S": "id"}]},
            },
        )
    for namespace in sorted({name.split(".")[0] for name in registered} | {"scalardb", "coordinator"}):
        ddb.put_item(TableName=f"{prefix}scalardb.namespaces", Item={"namespace_name": {"S": prefix + namespace}})
    for name in existing:
        create(aws, prefix + name)


@pytest.mark.parametrize("prefix", ["", "p1_"])
def test_discovers_exactly_the_deployment(aws: AwsTarget, prefix: str) -> None:
    prefix = prefix if aws.is_standin else aws.unique("ddb") + "-" + prefix
    build_deployment(aws, prefix, USER_TABLES, USER_TABLES)
    if aws.is_standin:
        # Noise that must not be picked up: another deployment's table and an unrelated table.
        create(aws, "other_app.orders")
        create(aws, "unrelated")

    found = discover_tables(aws.client("dynamodb"), prefix=prefix)

    expected = sorted(prefix + name for name in [*USER_TABLES, "coordinator.state", "scalardb.metadata", "scalardb.namespaces"])
    assert found.tables == expected
    assert found.missing == []
    assert found.metadata_table == f"{prefix}scalardb.metadata"
    assert found.to_dict()["tables"] == expected


def test_metadata_scan_follows_pagination(aws: AwsTarget) -> None:
    """Many registered tables: the Scan must read every page (moto pages at 1 MB; Limit forces pages here)."""
    require_standin(aws_is_standin(), "a fresh account with a known set of tables")
    names = [f"ns{i}.t{i}" for i in range(30)]
    build_deployment(aws, "", names, [])
    calls: list[dict[str, Any]] = []

    def small_pages(func: Any, *args: Any, **kwargs: Any) -> Any:
        if func.__name__ == "scan":
            kwargs["Limit"] = 7
        calls.append({"op": func.__name__, **kwargs})
        return func(*args, **kwargs)

    found = discover_tables(aws.client("dynamodb"), call=small_pages)

    assert sum(1 for call in calls if call["op"] == "scan") >= 5
    assert found.missing == sorted(names)  # registered but never created
    assert found.tables == ["coordinator.state", "scalardb.metadata", "scalardb.namespaces"]


def test_missing_metadata_table_names_it_and_the_prefix(aws: AwsTarget) -> None:
    prefix = "p1_" if aws.is_standin else aws.unique("ddb") + "-p1_"
    other = "p2_" if aws.is_standin else aws.unique("ddb") + "-p2_"
    build_deployment(aws, other, ["app.orders"], ["app.orders"])

    with pytest.raises(DeploymentError) as info:
        discover_tables(aws.client("dynamodb"), prefix=prefix)

    message = str(info.value)
    assert f"no ScalarDB metadata table {prefix}scalardb.metadata" in message
    assert "is scalar.db.dynamo.namespace.prefix right?" in message
    assert f"{other}scalardb.metadata" in message  # the hint names the metadata table that does exist


def test_registered_but_absent_tables_are_reported_not_raised(aws: AwsTarget) -> None:
    prefix = "p1_" if aws.is_standin else aws.unique("ddb") + "-p1_"
    build_deployment(aws, prefix, USER_TABLES, ["app.orders"])

    found = discover_tables(aws.client("dynamodb"), prefix=prefix)

    assert found.missing == [f"{prefix}app.customers", f"{prefix}bank.accounts"]
    assert f"{prefix}app.orders" in found.tables
    assert f"{prefix}app.customers" not in found.tables


def test_custom_system_and_coordinator_namespaces(aws: AwsTarget) -> None:
    """scalar.db.system_namespace_name and the coordinator namespace are configurable."""
    require_standin(aws_is_standin(), "a fresh account with a known set of tables")
    create(aws, "sys.metadata", key="table")
    create(aws, "coord2.state")
    create(aws, "app.orders")
    aws.client("dynamodb").put_item(TableName="sys.metadata", Item={"table": {"S": "app.orders"}})

    found = discover_tables(aws.client("dynamodb"), system_namespace="sys", coordinator_namespace="coord2")

    assert found.tables == ["app.orders", "coord2.state", "sys.metadata"]
    with pytest.raises(DeploymentError, match="no ScalarDB metadata table scalardb.metadata"):
        discover_tables(aws.client("dynamodb"))
