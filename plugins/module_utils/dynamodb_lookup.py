# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Read-only lookups the restore steps decide from: a table's description, a backup by name.

A restore never keeps its own notion of "where am I": each step looks at AWS and continues from
what it finds.  Whether a table is *ours* is read from its ``RestoreSummary`` - DynamoDB records
the source table (and backup) of every restored table - so a table that merely has the right name
is never mistaken for one the restore made.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import error_code
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_api import Call, direct, pages

AVAILABLE = "AVAILABLE"


def describe(dynamodb: Any, table: str, call: Call = direct) -> dict[str, Any] | None:
    """DescribeTable's ``Table``, or None when the table does not exist (or is being deleted)."""
    try:
        found = call(dynamodb.describe_table, TableName=table)["Table"]
    except Exception as exc:  # pylint: disable=broad-exception-caught  # only "not found" is an answer
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    return None if found.get("TableStatus") == "DELETING" else found


def table_status(dynamodb: Any, table: str, call: Call = direct) -> str | None:
    """The table's TableStatus, DELETING included; None once DynamoDB no longer knows the name.

    A DELETING table still holds its name: a restore into that name fails until it is gone.
    """
    try:
        return str(call(dynamodb.describe_table, TableName=table)["Table"].get("TableStatus"))
    except Exception as exc:  # pylint: disable=broad-exception-caught  # only "not found" is an answer
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise


def table_of_arn(arn: str) -> str:
    """``arn:aws:dynamodb:<region>:<account>:table/NAME[/backup/...]`` -> ``NAME``."""
    tail = str(arn or "").split(":table/", 1)
    return tail[1].split("/", 1)[0] if len(tail) == 2 else ""


def restored_from_table(description: dict[str, Any] | None, source: str) -> bool:
    """The table was restored (point in time) from the table called ``source``.

    Compared by name: a table's ARN is its name in the account and region, so the ARN of a source
    that was since replaced by a restore of itself is still the same.
    """
    summary = (description or {}).get("RestoreSummary") or {}
    return bool(summary) and not summary.get("SourceBackupArn") and table_of_arn(summary.get("SourceTableArn", "")) == source


def restored_from_backup(description: dict[str, Any] | None, backup_arn: str) -> bool:
    """The table was restored from the backup with ARN ``backup_arn``."""
    summary = (description or {}).get("RestoreSummary") or {}
    return summary.get("SourceBackupArn") == backup_arn


def item_count(description: dict[str, Any]) -> int:
    """DynamoDB's ItemCount (refreshed by AWS about every six hours, exact for a table just restored)."""
    return int(description.get("ItemCount", 0))


def find_backup(dynamodb: Any, table: str, name: str, call: Call = direct) -> dict[str, Any] | None:
    """The newest user backup of ``table`` called ``name`` (a BackupSummary), preferring AVAILABLE ones.

    ListBackups keeps listing the backups of a deleted table, which is what lets a re-run find the
    backup of a staging table that was already deleted.
    """
    found: list[dict[str, Any]] = []
    for page in pages(call, dynamodb.list_backups, "ExclusiveStartBackupArn", "LastEvaluatedBackupArn", TableName=table, BackupType="USER"):
        found += [summary for summary in page.get("BackupSummaries", []) if summary.get("BackupName") == name and summary.get("BackupStatus") != "DELETED"]
    if not found:
        return None
    found.sort(key=lambda summary: (summary.get("BackupStatus") == AVAILABLE, str(summary.get("BackupCreationDateTime", ""))))
    return found[-1]


def describe_backup(dynamodb: Any, arn: str, call: Call = direct) -> dict[str, Any]:
    """DescribeBackup's ``BackupDescription`` (``BackupDetails`` and ``SourceTableDetails``)."""
    return call(dynamodb.describe_backup, BackupArn=arn)["BackupDescription"]


def pitr_window(dynamodb: Any, table: str, call: Call = direct) -> dict[str, Any]:
    """The table's PointInTimeRecoveryDescription (status, earliest and latest restorable times)."""
    backups = call(dynamodb.describe_continuous_backups, TableName=table)["ContinuousBackupsDescription"]
    return backups.get("PointInTimeRecoveryDescription") or {}
