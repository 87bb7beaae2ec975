"""A small ScalarDB deployment on DynamoDB, laid out the way ScalarDB's DynamoAdmin creates one.

Used by the tests, the demo and the benchmark.  For each table: key ``concatenatedPartitionKey``
(B), optional ``concatenatedClusteringKey`` (B), a GSI per secondary index called
``<prefix><namespace>.<table>.global_index.<column>``, PROVISIONED capacity with Application Auto
Scaling targets and target-tracking policies named ``table/<table>-read`` etc., PITR on, plus an
entry in ``<prefix>scalardb.metadata`` (key ``table`` = the prefixed table name) and the prefixed
namespace in ``<prefix>scalardb.namespaces``.  The coordinator table ``<prefix>coordinator.state``
is created through the same path, as ScalarDB does.  Items carry an ``id`` and a ``version``
attribute so tests can tell which state a table holds.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

RU = 10
SCALING = (("read", "ReadCapacityUnits", "DynamoDBReadCapacityUtilization"), ("write", "WriteCapacityUnits", "DynamoDBWriteCapacityUtilization"))

DEFAULT_LAYOUT: dict[str, dict[str, list[str]]] = {
    # namespace -> table -> secondary index columns
    "sample": {"accounts": ["email"], "orders": []},
    "inventory": {"items": ["sku"]},
}


@dataclass
class Deployment:
    """What ``create_deployment`` made: every DynamoDB table name, and the user tables."""

    prefix: str
    tables: list[str] = field(default_factory=list)  # every table of the deployment (metadata, namespaces, coordinator, user)
    user_tables: list[str] = field(default_factory=list)
    indexes: dict[str, list[str]] = field(default_factory=dict)  # table -> GSI names

    @property
    def metadata_table(self) -> str:
        return f"{self.prefix}scalardb.metadata"

    @property
    def namespaces_table(self) -> str:
        return f"{self.prefix}scalardb.namespaces"


def _autoscaling(scaling: Any, table: str, index: str | None = None) -> None:
    resource = f"table/{table}" if index is None else f"table/{table}/index/{index}"
    kind = "table" if index is None else "index"
    for name, unit, metric in SCALING:
        dimension = f"dynamodb:{kind}:{unit}"
        scaling.register_scalable_target(ServiceNamespace="dynamodb", ResourceId=resource, ScalableDimension=dimension, MinCapacity=1, MaxCapacity=RU)
        scaling.put_scaling_policy(
            PolicyName=f"{resource}-{'' if index is None else 'index-'}{name}", ServiceNamespace="dynamodb", ResourceId=resource,
            ScalableDimension=dimension, PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 70.0, "ScaleInCooldown": 60, "ScaleOutCooldown": 60,
                "PredefinedMetricSpecification": {"PredefinedMetricType": metric},
            },
        )


def create_table(ddb: Any, scaling: Any, name: str, index_columns: Iterable[str] = (), clustering: bool = True, pitr: bool = True,
                 tags: Mapping[str, str] | None = None) -> list[str]:
    """One ScalarDB-style table; returns its GSI names."""
    attributes = [{"AttributeName": "concatenatedPartitionKey", "AttributeType": "B"}]
    keys = [{"AttributeName": "concatenatedPartitionKey", "KeyType": "HASH"}]
    if clustering:
        attributes.append({"AttributeName": "concatenatedClusteringKey", "AttributeType": "B"})
        keys.append({"AttributeName": "concatenatedClusteringKey", "KeyType": "RANGE"})
    indexes = []
    for column in index_columns:
        attributes.append({"AttributeName": column, "AttributeType": "S"})
        indexes.append({
            "IndexName": f"{name}.global_index.{column}", "KeySchema": [{"AttributeName": column, "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"}, "ProvisionedThroughput": {"ReadCapacityUnits": RU, "WriteCapacityUnits": RU},
        })
    extra: dict[str, Any] = {"GlobalSecondaryIndexes": indexes} if indexes else {}
    if tags:
        extra["Tags"] = [{"Key": key, "Value": value} for key, value in tags.items()]
    ddb.create_table(TableName=name, AttributeDefinitions=attributes, KeySchema=keys,
                     ProvisionedThroughput={"ReadCapacityUnits": RU, "WriteCapacityUnits": RU}, **extra)
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    if pitr:
        ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    if scaling is not None:
        _autoscaling(scaling, name)
        for index in indexes:
            _autoscaling(scaling, name, index["IndexName"])
    return [index["IndexName"] for index in indexes]


def put_items(ddb: Any, table: str, count: int, version: str, index_columns: Iterable[str] = ()) -> None:
    """``count`` items ``id``=0..count-1 with ``version``; one write per item (small tables only)."""
    columns = list(index_columns)
    for number in range(count):
        item: dict[str, Any] = {
            "concatenatedPartitionKey": {"B": f"{table}/{number}".encode()},
            "concatenatedClusteringKey": {"B": b"0"},
            "id": {"N": str(number)},
            "version": {"S": version},
        }
        for column in columns:
            item[column] = {"S": f"{column}-{number}"}
        ddb.put_item(TableName=table, Item=item)


def create_deployment(ddb: Any, scaling: Any, prefix: str = "", layout: Mapping[str, Mapping[str, list[str]]] | None = None,
                      items: int = 3, version: str = "v1", tags: Mapping[str, str] | None = None) -> Deployment:
    """The deployment: metadata and namespaces tables, the coordinator table, user tables with items."""
    layout = DEFAULT_LAYOUT if layout is None else layout
    made = Deployment(prefix=prefix)
    _create_string_keyed(ddb, made.metadata_table, "table")
    made.tables.append(made.metadata_table)
    _create_string_keyed(ddb, made.namespaces_table, "namespace_name")
    made.tables.append(made.namespaces_table)
    full_layout = {**{namespace: dict(tables) for namespace, tables in layout.items()}, "coordinator": {"state": []}}
    for namespace, tables in full_layout.items():
        ddb.put_item(TableName=made.namespaces_table, Item={"namespace_name": {"S": f"{prefix}{namespace}"}})
        for table, columns in tables.items():
            name = f"{prefix}{namespace}.{table}"
            made.indexes[name] = create_table(ddb, scaling, name, columns, clustering=namespace != "coordinator", tags=tags)
            ddb.put_item(TableName=made.metadata_table, Item={
                "table": {"S": name}, "partitionKey": {"L": [{"S": "id"}]},
                "columns": {"M": {"id": {"S": "int"}, "version": {"S": "text"}, **{column: {"S": "text"} for column in columns}}},
                **({"secondaryIndex": {"SS": list(columns)}} if columns else {}),
            })
            made.tables.append(name)
            if namespace != "coordinator":
                made.user_tables.append(name)
                put_items(ddb, name, items, version, columns)
    made.tables.sort()
    made.user_tables.sort()
    return made


def _create_string_keyed(ddb: Any, name: str, key: str) -> None:
    ddb.create_table(TableName=name, AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": key, "KeyType": "HASH"}], ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})


def versions(ddb: Any, table: str) -> dict[int, str]:
    """``id`` -> ``version`` of every item of a user table (consistent scan)."""
    found: dict[int, str] = {}
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = ddb.scan(**kwargs)
        for item in page.get("Items", []):
            found[int(item["id"]["N"])] = item["version"]["S"]
        if not page.get("LastEvaluatedKey"):
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def table_names(ddb: Any) -> set[str]:
    """Every table name in the account and region (all pages)."""
    names: set[str] = set()
    kwargs: dict[str, Any] = {}
    while True:
        page = ddb.list_tables(**kwargs)
        names.update(page["TableNames"])
        if not page.get("LastEvaluatedTableName"):
            return names
        kwargs["ExclusiveStartTableName"] = page["LastEvaluatedTableName"]


def user_backups(ddb: Any) -> dict[str, dict[str, Any]]:
    """Every user backup by name (its BackupSummary; all pages)."""
    found: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {"BackupType": "USER"}
    while True:
        page = ddb.list_backups(**kwargs)
        found.update({summary["BackupName"]: summary for summary in page.get("BackupSummaries", [])})
        if not page.get("LastEvaluatedBackupArn"):
            return found
        kwargs["ExclusiveStartBackupArn"] = page["LastEvaluatedBackupArn"]
