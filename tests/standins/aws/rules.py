"""What DynamoDB refuses while a restore or backup is still in progress.

Only meaningful with delays (otherwise nothing is ever in progress).  Each rule mirrors a
documented AWS behaviour, so code that forgets to wait for ACTIVE/AVAILABLE fails here as it
would in AWS:

* item reads/writes on a CREATING table - ResourceNotFoundException ("...or its status might
  not be ACTIVE");
* DeleteTable / UpdateTable on a CREATING table - ResourceInUseException;
* CreateBackup of a CREATING table - TableInUseException;
* CreateBackup of a table whose previous backup is still being created, RestoreTableFromBackup
  or DeleteBackup of a backup still being created - BackupInUseException;
* more concurrent restores than the account limit (50 in AWS) - LimitExceededException.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moto.dynamodb.models import dynamodb_backends

from .delays import Delays, backup_creating, table_restoring
from .faults import InjectedError

ITEM_OPERATIONS = frozenset({"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan"})
TABLE_CHANGES = frozenset({"DeleteTable", "UpdateTable"})
RESTORES = frozenset({"RestoreTableToPointInTime", "RestoreTableFromBackup"})
BACKUP_IN_USE = "There is another ongoing conflicting backup control plane operation on the table. " \
    "The backup is either being created, deleted or restored to a table."


def _table_name(value: Any) -> str:
    # Most operations accept a table ARN as TableName: arn:aws:dynamodb:region:account:table/NAME
    text = str(value or "")
    return text.rsplit("/", 1)[-1] if text.startswith("arn:") else text


def dynamodb_rejection(
    operation: str,
    params: Mapping[str, Any],
    account: str,
    region: str,
    delays: Delays,
    max_concurrent_restores: int | None,
) -> InjectedError | None:
    """The error AWS would answer for this call given what is still in progress, else None."""
    if operation not in ITEM_OPERATIONS | TABLE_CHANGES | RESTORES | {"CreateBackup", "DeleteBackup"}:
        return None
    backend = dynamodb_backends[account][region]
    name = _table_name(params.get("TableName"))
    table = backend.tables.get(name)
    restoring = table is not None and table_restoring(table, delays)
    if operation in ITEM_OPERATIONS and restoring:
        return InjectedError("ResourceNotFoundException", "Requested resource not found")
    if operation in TABLE_CHANGES and restoring:
        return InjectedError("ResourceInUseException", f"Attempt to change a resource which is still in use: Table is being created: {name}")
    if operation == "CreateBackup" and table is not None:
        if restoring:
            return InjectedError("TableInUseException", f"Table is being created: {name}")
        if any(b.table.name == name and backup_creating(b, delays) for b in backend.backups.values()):
            return InjectedError("BackupInUseException", BACKUP_IN_USE)
    if operation in {"RestoreTableFromBackup", "DeleteBackup"}:
        backup = backend.backups.get(str(params.get("BackupArn")))
        if backup is not None and backup_creating(backup, delays):
            return InjectedError("BackupInUseException", BACKUP_IN_USE)
    if operation in RESTORES and max_concurrent_restores is not None:
        in_progress = sum(1 for t in backend.tables.values() if table_restoring(t, delays))
        if in_progress >= max_concurrent_restores:
            return InjectedError(
                "LimitExceededException",
                f"There is a limit of {max_concurrent_restores} concurrent table restores per account; {in_progress} are in progress",
            )
    return None
