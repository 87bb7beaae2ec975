# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""A small DynamoDB table that keeps what a restore cannot find again in AWS by itself.

Almost all restore state is read back from AWS: staging tables, backups and restored tables have
deterministic names and a ``RestoreSummary`` saying where they came from.  Two things are not:

* the **settings** a restored table loses (``dynamodb_settings.TableSettings``).  A same-name
  restore deletes the source table; if the run dies between that delete and re-applying the
  settings, a re-run could no longer read them from the source;
* the **item count** of a staging table, which the cutover compares with the backup before it
  deletes anything - the staging table itself is gone by then.

So they are written here, once, before anything changes (the first write wins: a re-run after the
source was replaced must not overwrite the original settings with the replacement's).  The journal
is one PAY_PER_REQUEST table (default ``scalarops-pitr-journal``, key ``id``), created on first use,
outside every ScalarDB namespace so no deployment discovery ever lists it.  Entries are small
(a few KB) and keyed by restore point, so restores to different points never share one.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import error_code
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_api import Call, direct, pages
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_naming import check_name
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_settings import TableSettings
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_wait import Poller

DEFAULT_JOURNAL_TABLE = "scalarops-pitr-journal"
KEY = "id"


class JournalError(RuntimeError):
    """The journal is missing an entry a step needs; the message says which and why it matters."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Journal:
    """Entries of one restore point (``label``: ``dynamodb_naming.restore_point_label``)."""

    def __init__(self, dynamodb: Any, name: str, label: str, call: Call = direct, poller: Poller | None = None) -> None:
        self.dynamodb = dynamodb
        self.name = check_name(name, "journal table name")
        self.label = label
        self.call = call
        self.poller = poller or Poller()
        self._ready = False

    # --- the table --------------------------------------------------------------------------
    def exists(self) -> bool:
        try:
            self.call(self.dynamodb.describe_table, TableName=self.name)
        except Exception as exc:  # pylint: disable=broad-exception-caught  # only "not found" is an answer
            if error_code(exc) == "ResourceNotFoundException":
                return False
            raise
        return True

    def ensure(self) -> bool:
        """Create the journal table if it does not exist and wait until usable; True if created."""
        if self._ready:
            return False
        created = False
        if not self.exists():
            try:
                self.call(
                    self.dynamodb.create_table, TableName=self.name, BillingMode="PAY_PER_REQUEST",
                    KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": KEY, "AttributeType": "S"}],
                    Tags=[{"Key": "scalarops-pitr", "Value": "journal"}],
                )
                created = True
            except Exception as exc:  # pylint: disable=broad-exception-caught  # a concurrent run created it first
                if error_code(exc) != "ResourceInUseException":
                    raise
        self.poller.wait_active(self.dynamodb, self.name, self.call)
        self._ready = True
        return created

    # --- entries ----------------------------------------------------------------------------
    def _id(self, kind: str, table: str) -> str:
        return f"{kind}#{self.label}#{table}"

    def _get(self, kind: str, table: str) -> dict[str, Any] | None:
        if not self._ready and not self.exists():
            return None
        item = self.call(self.dynamodb.get_item, TableName=self.name, Key={KEY: {"S": self._id(kind, table)}}, ConsistentRead=True).get("Item")
        return item or None

    def _put_once(self, kind: str, table: str, attributes: dict[str, Any]) -> bool:
        """Write the entry unless it exists; True if this call wrote it."""
        self.ensure()
        item = {KEY: {"S": self._id(kind, table)}, "written": {"S": _now()}, **attributes}
        try:
            self.call(self.dynamodb.put_item, TableName=self.name, Item=item, ConditionExpression="attribute_not_exists(#k)",
                      ExpressionAttributeNames={"#k": KEY})
        except Exception as exc:  # pylint: disable=broad-exception-caught  # the first write wins
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def settings(self, table: str) -> TableSettings | None:
        """The settings captured from ``table`` before the restore changed anything, if recorded."""
        item = self._get("settings", table)
        if item is None:
            return None
        return TableSettings.from_dict(json.loads(item["settings"]["S"]))

    def tables(self) -> list[str]:
        """Every table whose settings are recorded for this restore point (the tables its prepare began).

        What a re-run of an interrupted same-name cutover restores when the metadata table that
        lists the deployment's tables is itself one of the tables deleted and not yet restored.
        """
        if not self._ready and not self.exists():
            return []
        start = f"settings#{self.label}#"
        scan = pages(self.call, self.dynamodb.scan, "ExclusiveStartKey", "LastEvaluatedKey", TableName=self.name, ConsistentRead=True,
                     FilterExpression="begins_with(#k, :start)", ExpressionAttributeNames={"#k": KEY}, ExpressionAttributeValues={":start": {"S": start}})
        return sorted(item[KEY]["S"][len(start):] for page in scan for item in page.get("Items", []))

    def record_settings(self, settings: TableSettings) -> bool:
        return self._put_once("settings", settings.table, {"settings": {"S": json.dumps(settings.to_dict(), sort_keys=True)}})

    def staging_count(self, table: str) -> int | None:
        """The item count DynamoDB reported for ``table``'s staging table when its backup was taken."""
        item = self._get("staging", table)
        return int(item["item_count"]["N"]) if item else None

    def record_staging_count(self, table: str, staging: str, count: int) -> bool:
        return self._put_once("staging", table, {"staging_table": {"S": staging}, "item_count": {"N": str(int(count))}})

    def point(self, key: str) -> str | None:
        """The restore point (ISO) an unfinished "latest" restore chose, so a re-run reuses its names."""
        item = self._get("point", key)
        return item["restore_point"]["S"] if item else None

    def remember_point(self, key: str, restore_point: str) -> bool:
        return self._put_once("point", key, {"restore_point": {"S": restore_point}})

    def forget_point(self, key: str) -> None:
        if self._ready or self.exists():
            self.call(self.dynamodb.delete_item, TableName=self.name, Key={KEY: {"S": self._id("point", key)}})

    def require_settings(self, table: str) -> TableSettings:
        found = self.settings(table)
        if found is None:
            raise JournalError(
                f"no settings of {table} for restore point {self.label} in the journal table {self.name}: "
                "run the prepare phase first (it records them before anything changes)"
            )
        return found
