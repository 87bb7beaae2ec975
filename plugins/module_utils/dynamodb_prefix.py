# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""What makes a table restored under another ScalarDB namespace prefix usable by ScalarDB.

ScalarDB (``DynamoAdmin``) writes the prefix into more than table names:

* a secondary index is a GSI called ``<prefix><namespace>.<table>.global_index.<column>``.  A
  restored table keeps its source's index names, so under the new prefix ScalarDB would query an
  index that does not exist.  ``rename_indexes`` creates each index under the new name (same key
  schema, projection and capacity; DynamoDB backfills it while the application still runs on the
  old tables) and then deletes the old one;
* the metadata table's key ``table`` holds each table's prefixed name, and the namespaces table's
  key ``namespace_name`` each prefixed namespace.  ``rewrite_keys`` re-keys those items to the new
  prefix: put the renamed item first, then delete the old one, so a crash in between leaves both
  and a re-run finishes the move.

Both are idempotent and only ever touch the restored tables, never the sources.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_api import Call, direct, pages
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_wait import Poller


def _new_index_name(index: str, old_table: str, new_table: str) -> str:
    return new_table + index[len(old_table):] if index.startswith(old_table + ".") else index


def _index_spec(index: dict[str, Any], name: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"IndexName": name, "KeySchema": index["KeySchema"], "Projection": index["Projection"]}
    throughput = index.get("ProvisionedThroughput") or {}
    if throughput.get("ReadCapacityUnits"):
        spec["ProvisionedThroughput"] = {"ReadCapacityUnits": throughput["ReadCapacityUnits"], "WriteCapacityUnits": throughput["WriteCapacityUnits"]}
    return spec


def rename_indexes(dynamodb: Any, table: str, old_table: str, call: Call = direct, poller: Poller | None = None) -> list[str]:
    """Give ``table``'s indexes named after ``old_table`` the same names after ``table``; return the changes.

    One index at a time (DynamoDB takes one index creation or deletion per UpdateTable, and the
    table must be ACTIVE in between).  Wait for the new index to be ACTIVE before the old one goes,
    so the table always has a complete index.
    """
    poller = poller or Poller()
    changes: list[str] = []
    if table == old_table:
        return changes
    description = poller.wait_active(dynamodb, table, call)
    attributes = {item["AttributeName"]: item for item in description.get("AttributeDefinitions", [])}
    indexes = {index["IndexName"]: index for index in description.get("GlobalSecondaryIndexes", [])}
    for old_name, index in sorted(indexes.items()):
        new_name = _new_index_name(old_name, old_table, table)
        if new_name == old_name:
            continue
        if new_name not in indexes:  # a re-run may find it created already
            keys = [attributes[key["AttributeName"]] for key in index["KeySchema"]]
            call(dynamodb.update_table, TableName=table, AttributeDefinitions=keys,
                 GlobalSecondaryIndexUpdates=[{"Create": _index_spec(index, new_name)}])
            changes.append(f"index {new_name} created")
        poller.wait_active(dynamodb, table, call)
        call(dynamodb.update_table, TableName=table, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": old_name}}])
        changes.append(f"index {old_name} deleted")
        poller.wait_active(dynamodb, table, call)
    return changes


def rewrite_keys(dynamodb: Any, table: str, key: str, renames: dict[str, str], call: Call = direct) -> list[str]:
    """Re-key the items of ``table`` whose string key ``key`` is in ``renames`` (old -> new); return the changes."""
    changes: list[str] = []
    scan = pages(call, dynamodb.scan, "ExclusiveStartKey", "LastEvaluatedKey", TableName=table, ConsistentRead=True)
    items = [item for page in scan for item in page.get("Items", [])]
    for item in items:
        old = item.get(key, {}).get("S")
        new = renames.get(old or "")
        if not old or not new or new == old:
            continue
        call(dynamodb.put_item, TableName=table, Item={**item, key: {"S": new}})
        call(dynamodb.delete_item, TableName=table, Key={key: {"S": old}})
        changes.append(f"{key} {old} -> {new}")
    return changes
