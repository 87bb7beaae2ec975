"""DynamoDB point-in-time recovery as AWS does it, on top of moto's tables.

moto 5.2.x copies the source's *current* items on RestoreTableToPointInTime, ignores
RestoreDateTime, accepts any time and reports a window that never moves.  With ``Pitr`` in force
(``patches`` installs it with every ``Behaviour``):

* every item write to a table with PITR enabled is preceded by a snapshot (``history``), so the
  items at any moment since PITR was enabled can be rebuilt;
* RestoreTableToPointInTime fills the new table with the source's items at RestoreDateTime (or at
  LatestRestorableDateTime with UseLatestRestorableTime, or when neither is given), answers
  RestoreSummary.RestoreDateTime = that point, refuses a time outside the window with
  InvalidRestoreTimeException and a source without PITR with PointInTimeRecoveryUnavailableException,
  and accepts SourceTableArn as well as SourceTableName;
* DescribeContinuousBackups / UpdateContinuousBackups report EarliestRestorableDateTime = when PITR
  was enabled (no earlier than now minus RecoveryPeriodInDays) and LatestRestorableDateTime = now
  minus ``lag_seconds``.  AWS's lag is about 5 minutes; the default here is 0 so tests need not
  wait.  Right after enabling, until the lag has passed, Latest is before Earliest: nothing is
  restorable yet (a restore is refused), which is what a client must wait out on AWS too.

Times are compared with 1 ms of slack: clients send times truncated to milliseconds.

Still not reproduced: the restore overrides (BillingModeOverride, ProvisionedThroughputOverride,
index and SSE overrides are accepted and ignored, as moto does), restoring a *deleted* table by
its ARN, ItemCount/TableSizeBytes being refreshed only every ~6 hours (moto's are exact at once),
and ExportTableToPointInTime / incremental exports.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from moto.core.responses import ActionResult
from moto.dynamodb.exceptions import ResourceNotFoundException, SourceTableNotFoundException
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.dynamodb.parsing import partiql
from moto.dynamodb.responses import DynamoResult

from .faults import InjectedError
from .history import ItemHistory

SLACK_SECONDS = 0.001
DAY_SECONDS = 86400.0
SINGLE_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem"})
STATEMENT_LISTS = {"BatchExecuteStatement": "Statements", "ExecuteTransaction": "TransactStatements"}
PLAIN_WRITES = SINGLE_WRITES | frozenset({"BatchWriteItem", "TransactWriteItems"})  # the tables are named in the request
ITEM_WRITES = PLAIN_WRITES | frozenset({"ExecuteStatement"}) | frozenset(STATEMENT_LISTS)  # plus PartiQL
INVALID_TIME = "An invalid restore time was specified. RestoreDateTime must be between EarliestRestorableDateTime and LatestRestorableDateTime."


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_of(value: Any) -> float:
    """RestoreDateTime as moto parsed it (a naive UTC datetime) or a number, in epoch seconds."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    return float(value)


def enabled_at(table: Table) -> float | None:
    """When PITR was enabled on the table (moto's EarliestRestorableDateTime), or None if it is off."""
    description = table.continuous_backups.get("PointInTimeRecoveryDescription") or {}
    if description.get("PointInTimeRecoveryStatus") != "ENABLED" or description.get("EarliestRestorableDateTime") is None:
        return None
    return float(description["EarliestRestorableDateTime"])


def _statement_tables(statements: list[Any]) -> list[str] | None:
    """Tables the PartiQL statements write to; None when a statement cannot be parsed (then assume all)."""
    names: list[str] = []
    for statement in statements:
        text = str(statement or "").strip()
        if text.lower().startswith("select"):
            continue
        try:
            names.extend(partiql.get_query_metadata(text).get_table_names())
        except Exception:  # pylint: disable=broad-exception-caught  # the parser raises bare Exception/AssertionError
            return None
    return names


def written_table_names(operation: str, params: Mapping[str, Any]) -> list[str] | None:
    """Names (or ARNs) of the tables an item-writing call may change; None means "could be any"."""
    if operation in SINGLE_WRITES:
        return [str(params.get("TableName") or "")]
    if operation == "BatchWriteItem":
        return [str(name) for name in params.get("RequestItems") or {}]
    if operation == "TransactWriteItems":
        return [str(op.get("TableName") or "") for item in params.get("TransactItems") or [] for op in item.values() if isinstance(op, Mapping)]
    if operation == "ExecuteStatement":
        return _statement_tables([params.get("Statement")])
    if operation in STATEMENT_LISTS:
        return _statement_tables([entry.get("Statement") for entry in params.get(STATEMENT_LISTS[operation]) or []])
    return []


def _lookup(backend: DynamoDBBackend, name: str) -> Table | None:
    try:
        return backend.get_table(name)  # a name or an ARN
    except ResourceNotFoundException:
        return None


class Pitr:
    """Point-in-time semantics in force: the item history and the restore lag (mutable)."""

    def __init__(self, lag_seconds: float = 0.0) -> None:
        if lag_seconds < 0:
            raise ValueError("pitr lag must be >= 0 seconds")
        self.lag_seconds = lag_seconds
        self.history = ItemHistory()

    # --- item history ---------------------------------------------------------------------------
    def tables_written(self, operation: str, params: Mapping[str, Any], account: str, region: str) -> list[Table]:
        """The PITR-enabled tables this call may write to (empty for every other call)."""
        if operation not in ITEM_WRITES:
            return []
        backend = dynamodb_backends[account][region]
        names = written_table_names(operation, params)
        found = [] if names is None else [_lookup(backend, name) for name in names]
        if names is None or (operation not in PLAIN_WRITES and None in found):
            # PartiQL that moto's parser cannot name: snapshot every PITR table (costly, always correct).
            found = list(backend.tables.values())
        unique = {id(table): table for table in found if table is not None and enabled_at(table) is not None}
        return list(unique.values())

    @contextmanager
    def writing(self, tables: list[Table]) -> Iterator[None]:
        """Snapshot ``tables`` and keep other writers and restores out until the write is done."""
        with self.history.lock:
            now = time.time()
            for table in tables:
                start = enabled_at(table)  # read again under the lock: PITR may just have been turned off
                if start is not None:
                    self.history.record(table, start, now)
            yield

    # --- the window -----------------------------------------------------------------------------
    def window(self, table: Table, now: float | None = None) -> tuple[float, float] | None:
        """(EarliestRestorableDateTime, LatestRestorableDateTime) in epoch seconds; None without PITR."""
        start = enabled_at(table)
        if start is None:
            return None
        now = time.time() if now is None else now
        days = table.continuous_backups["PointInTimeRecoveryDescription"].get("RecoveryPeriodInDays")
        earliest = max(start, now - float(days) * DAY_SECONDS) if days else start
        return earliest, now - self.lag_seconds

    def description(self, table: Table) -> dict[str, Any]:
        """The ContinuousBackupsDescription AWS would answer (moto's stored dict is left alone)."""
        described = dict(table.continuous_backups)
        pitr = dict(described.get("PointInTimeRecoveryDescription") or {})
        window = self.window(table)
        if window is not None:
            pitr["EarliestRestorableDateTime"], pitr["LatestRestorableDateTime"] = window
        described["PointInTimeRecoveryDescription"] = pitr
        return described

    # --- the handlers that replace moto's -------------------------------------------------------
    def handler_for(self, operation: str) -> Callable[[Any], ActionResult] | None:
        """This object's version of a DynamoHandler method, called with the handler, or None."""
        return {
            "DescribeContinuousBackups": self.describe_continuous_backups,
            "UpdateContinuousBackups": self.update_continuous_backups,
            "RestoreTableToPointInTime": self.restore_table_to_point_in_time,
        }.get(operation)

    def describe_continuous_backups(self, handler: Any) -> ActionResult:
        name = handler.body["TableName"]
        backend: DynamoDBBackend = handler.dynamodb_backend
        backend.describe_continuous_backups(name)  # moto's TableNotFoundException if missing
        return ActionResult({"ContinuousBackupsDescription": self.description(backend.get_table(name))})

    def update_continuous_backups(self, handler: Any) -> ActionResult:
        name = handler.body["TableName"]
        backend: DynamoDBBackend = handler.dynamodb_backend
        with self.history.lock:  # a write in flight records under the PITR era it started in
            backend.update_continuous_backups(name, handler.body["PointInTimeRecoverySpecification"])
            table = backend.get_table(name)
            if enabled_at(table) is None:
                self.history.forget(table)  # AWS drops the continuous backups when PITR is turned off
        return ActionResult({"ContinuousBackupsDescription": self.description(table)})

    def restore_table_to_point_in_time(self, handler: Any) -> ActionResult:
        body = handler.body
        backend: DynamoDBBackend = handler.dynamodb_backend
        source_name = str(body.get("SourceTableName") or body.get("SourceTableArn") or "")
        target_name = str(body.get("TargetTableName") or "")
        with self.history.lock:  # no write may slip between reading the history and the current items
            source = _lookup(backend, source_name)
            if source is None:
                raise SourceTableNotFoundException(source_name)
            now = time.time()
            window = self.window(source, now)
            if window is None:
                raise InjectedError("PointInTimeRecoveryUnavailableException",
                                    f"Point in time recovery has not yet been enabled for this source table: {source.name}")
            earliest, latest = window
            use_latest = bool(body.get("UseLatestRestorableTime")) or body.get("RestoreDateTime") is None
            point = latest if use_latest else epoch_of(body["RestoreDateTime"])
            if not earliest - SLACK_SECONDS <= point <= latest + SLACK_SECONDS:
                raise InjectedError("InvalidRestoreTimeException", _invalid_time_message(source.name, point, earliest, latest, self.lag_seconds))
            items = self.history.items_at(source, enabled_at(source) or earliest, point)
            restored = backend.restore_table_to_point_in_time(target_name, source.name)  # moto's own checks (target exists...)
            restored.items = items
            restored.restore_date_time = datetime.fromtimestamp(point, timezone.utc).replace(tzinfo=None)  # moto's naive UTC
            return DynamoResult(restored.describe())


def _invalid_time_message(table: str, point: float, earliest: float, latest: float, lag: float) -> str:
    detail = f"table {table}: RestoreDateTime {iso(point)}, EarliestRestorableDateTime {iso(earliest)}, LatestRestorableDateTime {iso(latest)}"
    if latest < earliest:
        detail += f" (PITR was enabled less than {lag:g} s ago: nothing is restorable yet)"
    return f"{INVALID_TIME} ({detail})"
