# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Which DynamoDB tables make up a ScalarDB/ScalarDL deployment.

What ScalarDB's ``DynamoAdmin`` does (checked against scalar-labs/scalardb,
``core/src/main/java/com/scalar/db/storage/dynamo/DynamoAdmin.java``):

* every namespace is prefixed with ``scalar.db.dynamo.namespace.prefix``; a table is
  ``<prefix><namespace>.<table>``;
* the metadata table is ``<prefix><system namespace>.metadata`` (system namespace:
  ``scalar.db.system_namespace_name``, default ``scalardb``; older releases called it
  ``scalar.db.dynamo.table_metadata.namespace``).  Its partition key ``table`` (a string) holds the
  *prefixed* full name of each table, i.e. the DynamoDB table name itself; the other attributes are
  ``columns``, ``partitionKey``, ``clusteringKey``, ``clusteringOrders``, ``secondaryIndex``;
* ScalarDB 4 adds ``<prefix><system namespace>.namespaces`` (partition key ``namespace_name``);
* the Consensus Commit coordinator table ``<prefix><coordinator namespace>.state`` is created
  through the same admin, so it is registered in the metadata like any table; so are ScalarDL's
  tables (``scalar.asset``, ``scalar.contract``, ...), which is why nothing here hard-codes them.

So the deployment is: every table named in the metadata, plus the metadata and namespaces tables,
plus the coordinator table when it exists.  Tables named in the metadata but absent from DynamoDB
are reported, not raised: preflight decides, and names them all in one message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_api import Call, direct, pages
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_naming import check_prefix

METADATA_TABLE = "metadata"
METADATA_ATTR_TABLE = "table"
NAMESPACES_TABLE = "namespaces"
NAMESPACES_ATTR_NAME = "namespace_name"
COORDINATOR_TABLE = "state"
DEFAULT_SYSTEM_NAMESPACE = "scalardb"
DEFAULT_COORDINATOR_NAMESPACE = "coordinator"


class DeploymentError(RuntimeError):
    """The deployment cannot be found as configured; the message says what to check."""


@dataclass(frozen=True)
class Deployment:
    """The tables of one deployment, as found in DynamoDB."""

    prefix: str
    metadata_table: str
    tables: list[str] = field(default_factory=list)  # sorted, unique: every existing table of the deployment
    missing: list[str] = field(default_factory=list)  # named in the metadata, absent from DynamoDB

    def to_dict(self) -> dict[str, Any]:
        return {"prefix": self.prefix, "metadata_table": self.metadata_table, "tables": list(self.tables), "missing": list(self.missing)}


def metadata_table_name(prefix: str = "", system_namespace: str = DEFAULT_SYSTEM_NAMESPACE) -> str:
    return f"{prefix}{system_namespace}.{METADATA_TABLE}"


def namespaces_table_name(prefix: str = "", system_namespace: str = DEFAULT_SYSTEM_NAMESPACE) -> str:
    return f"{prefix}{system_namespace}.{NAMESPACES_TABLE}"


def coordinator_table_name(prefix: str = "", coordinator_namespace: str = DEFAULT_COORDINATOR_NAMESPACE) -> str:
    return f"{prefix}{coordinator_namespace}.{COORDINATOR_TABLE}"


def list_all_tables(dynamodb: Any, call: Call = direct) -> set[str]:
    """Every table name in the client's account and region (ListTables, all pages)."""
    names: set[str] = set()
    for page in pages(call, dynamodb.list_tables, "ExclusiveStartTableName", "LastEvaluatedTableName"):
        names.update(page.get("TableNames", []))
    return names


def key_values(dynamodb: Any, table: str, key: str, call: Call = direct) -> set[str]:
    """The non-empty string values of attribute ``key`` in every item of ``table`` (a consistent Scan, all pages)."""
    scan = pages(call, dynamodb.scan, "ExclusiveStartKey", "LastEvaluatedKey", TableName=table, ProjectionExpression="#k",
                 ExpressionAttributeNames={"#k": key}, ConsistentRead=True)
    return {value for page in scan for item in page.get("Items", []) if (value := item.get(key, {}).get("S"))}


def registered_tables(dynamodb: Any, metadata_table: str, call: Call = direct) -> set[str]:
    """The table names held in a ScalarDB metadata table."""
    return key_values(dynamodb, metadata_table, METADATA_ATTR_TABLE, call)


def discover_tables(
    dynamodb: Any,
    prefix: str = "",
    system_namespace: str = DEFAULT_SYSTEM_NAMESPACE,
    coordinator_namespace: str = DEFAULT_COORDINATOR_NAMESPACE,
    call: Call = direct,
) -> Deployment:
    """Find the tables of the deployment whose namespaces carry ``prefix``.

    Raises ``DeploymentError`` when the metadata table does not exist (naming it, and naming other
    metadata tables that do exist, which usually means the prefix is wrong).
    """
    check_prefix(prefix, "scalar.db.dynamo.namespace.prefix")
    for value, what in ((system_namespace, "system namespace"), (coordinator_namespace, "coordinator namespace")):
        if not value or not isinstance(value, str):
            raise DeploymentError(f"{what} must be a non-empty string, got {value!r}")
    metadata = metadata_table_name(prefix, system_namespace)
    existing = list_all_tables(dynamodb, call)
    if metadata not in existing:
        suffix = f"{system_namespace}.{METADATA_TABLE}"
        others = sorted(name for name in existing if name.endswith(suffix))
        hint = f"; metadata tables that do exist: {', '.join(others)}" if others else ""
        raise DeploymentError(
            f"no ScalarDB metadata table {metadata}: is scalar.db.dynamo.namespace.prefix right? "
            f"(prefix {prefix!r}, system namespace {system_namespace!r}){hint}"
        )
    named = registered_tables(dynamodb, metadata, call)
    wanted = named | {metadata}
    # Neither of these is in the metadata itself; both are optional (namespaces table from ScalarDB 4,
    # coordinator only with Consensus Commit), so they belong to the deployment only if they exist.
    for optional in (namespaces_table_name(prefix, system_namespace), coordinator_table_name(prefix, coordinator_namespace)):
        if optional in existing:
            wanted.add(optional)
    return Deployment(
        prefix=prefix,
        metadata_table=metadata,
        tables=sorted(wanted & existing),
        missing=sorted(wanted - existing),
    )
