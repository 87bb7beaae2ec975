# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The chain of steps each table goes through, per mode and phase.

Every chain starts by looking at AWS (``dynamodb_lookup``) and skips what is already done, so the
same call finishes an interrupted run: a staging table that exists is not restored again, a backup
being created is waited for, a source already replaced by its restore is not deleted again.  Each
step that does work is logged with its start time and duration for the report.

Safety rules of the same-name (``in_place``) procedure, enforced here and not left to the caller:

* the source table is deleted only after (1) its restore backup is AVAILABLE, (2) that backup's
  item count equals the count of the staging table it was taken from (recorded in the journal
  before the staging table was deleted) and (3) a safety backup of the source itself is AVAILABLE;
* deletion protection is turned off only right before that delete, and back on by the settings.
"""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import error_code
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_api import Call
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_journal import Journal
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_lookup import (
    AVAILABLE,
    describe,
    describe_backup,
    find_backup,
    item_count,
    restored_from_backup,
    restored_from_table,
    table_status,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_prefix import rename_indexes, rewrite_keys
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_restore_plan import TablePlan
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_settings import TableSettings, apply, capture, diff, restore_overrides
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_wait import Poller

# Transient refusals of the backup APIs: another backup/restore of the same table or backup is still
# in progress (DynamoDB allows one at a time), or the table is still being created.
BACKUP_BUSY = ("BackupInUseException", "TableInUseException")


class RestoreStepError(RuntimeError):
    """A step refused to go on because going on could lose data; the message says what and why."""


@dataclass
class TableLog:
    """What happened to one table: the steps that did work, each with its timing."""

    table: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    current: str = ""

    def run(self, name: str, func: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``func`` as the step ``name`` and log it (also when it fails)."""
        self.current = name
        started_at = _dt.datetime.now(_dt.timezone.utc)
        started = time.monotonic()
        status = "failed"
        try:
            value = func(*args, **kwargs)
            status = "ok"
            return value
        finally:
            self.steps.append({
                "step": name, "status": status, "started": started_at.isoformat(timespec="milliseconds"),
                "seconds": round(time.monotonic() - started, 3),
            })
            self.current = ""

    def note(self, name: str, detail: Any = None) -> None:
        """A step that needed nothing (already done), logged so the report shows why it was skipped."""
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")
        entry: dict[str, Any] = {"step": name, "status": "already done", "started": now, "seconds": 0.0}
        if detail is not None:
            entry["detail"] = detail
        self.steps.append(entry)


@dataclass
class Context:
    """Shared by the workers of one phase: clients, the journal, the restore point and how to wait."""

    dynamodb: Any
    autoscaling: Any
    journal: Journal
    restore_point: _dt.datetime
    call: Call
    poller: Poller

    def wait_gone(self, table: str) -> None:
        """Until the name is free (``describe`` already answers None while the table is still DELETING)."""
        self.poller.until(lambda: table_status(self.dynamodb, table, self.call), lambda status: status is None, f"table {table} to be deleted")

    def wait_backup(self, arn: str) -> dict[str, Any]:
        return self.poller.until(
            lambda: describe_backup(self.dynamodb, arn, self.call), lambda found: found["BackupDetails"]["BackupStatus"] == AVAILABLE,
            f"backup {arn.rsplit('/', 1)[-1]} to be AVAILABLE",
        )

    def create_backup(self, table: str, name: str) -> dict[str, Any]:
        return self.poller.retry_while(BACKUP_BUSY, self.dynamodb.create_backup, call=self.call, TableName=table, BackupName=name)["BackupDetails"]

    def settings_of(self, source: str, capture_from_source: bool) -> TableSettings:
        """The source's settings from the journal, captured (and recorded) first if still possible."""
        recorded = self.journal.settings(source)
        if recorded is not None:
            return recorded
        if not capture_from_source:
            return self.journal.require_settings(source)
        captured = capture(self.dynamodb, self.autoscaling, source, self.call)
        self.journal.record_settings(captured)
        return self.journal.require_settings(source)  # the first write wins: use whatever is recorded


# --- in_place -------------------------------------------------------------------------------------
def _require_in_place_names(plan: TablePlan) -> None:
    if not (plan.staging and plan.restore_backup and plan.safety_backup):
        raise RestoreStepError(f"table {plan.source}: the plan has no staging/backup names (only in_place plans have them)")


def prepare_in_place(ctx: Context, plan: TablePlan, log: TableLog) -> dict[str, Any]:
    """PITR source -> staging, back the staging table up, delete it; the source is untouched."""
    _require_in_place_names(plan)
    source = describe(ctx.dynamodb, plan.source, ctx.call)
    backup = find_backup(ctx.dynamodb, plan.staging, plan.restore_backup, ctx.call)
    # Still the table this restore started from unless this restore's own backup replaced it.  Being
    # restored from *a* backup proves nothing: a deployment restored in place before is all restores.
    original = source is not None and not (backup is not None and restored_from_backup(source, backup["BackupArn"]))
    settings = log.run("capture settings", ctx.settings_of, plan.source, original)
    if backup is None:
        staging = describe(ctx.dynamodb, plan.staging, ctx.call)
        if staging is None:
            if not original:
                raise RestoreStepError(f"table {plan.source}: neither the staging table {plan.staging} nor the backup {plan.restore_backup} exists, "
                                       f"and {plan.source} is no longer the original table: nothing to restore from")
            log.run("restore to staging", ctx.call, ctx.dynamodb.restore_table_to_point_in_time, SourceTableName=plan.source,
                    TargetTableName=plan.staging, RestoreDateTime=ctx.restore_point, **restore_overrides(settings))
        elif not restored_from_table(staging, plan.source):
            raise RestoreStepError(f"table {plan.staging} exists but was not restored from {plan.source}: not touching it")
        staging = log.run("wait for staging", ctx.poller.wait_active, ctx.dynamodb, plan.staging, ctx.call)
        ctx.journal.record_staging_count(plan.source, plan.staging, item_count(staging))
        backup = log.run("back up staging", ctx.create_backup, plan.staging, plan.restore_backup)
    else:
        log.note("restore to staging", f"backup {plan.restore_backup} exists")
    details = log.run("wait for backup", ctx.wait_backup, backup["BackupArn"])
    _check_backup_count(ctx, plan, details)
    if describe(ctx.dynamodb, plan.staging, ctx.call) is not None:
        log.run("delete staging", _delete, ctx, plan.staging)
    return {"backup_arn": backup["BackupArn"], "item_count": _backup_count(details)}


def _backup_count(details: dict[str, Any]) -> int:
    return int((details.get("SourceTableDetails") or {}).get("ItemCount", 0))


def _check_backup_count(ctx: Context, plan: TablePlan, details: dict[str, Any]) -> None:
    expected = ctx.journal.staging_count(plan.source)
    have = _backup_count(details)
    if expected is None:
        raise RestoreStepError(f"table {plan.source}: the journal has no item count of the staging table {plan.staging}, "
                               f"so the backup {plan.restore_backup} cannot be verified")
    if expected != have:
        raise RestoreStepError(f"table {plan.source}: the backup {plan.restore_backup} holds {have} items but the staging table "
                               f"{plan.staging} had {expected}: not using it (delete the backup and re-run to take it again)")


def _delete(ctx: Context, table: str) -> None:
    try:
        ctx.call(ctx.dynamodb.delete_table, TableName=table)
    except Exception as exc:  # pylint: disable=broad-exception-caught  # gone already is what we want
        if error_code(exc) != "ResourceNotFoundException":
            raise


def cutover_in_place(ctx: Context, plan: TablePlan, log: TableLog) -> dict[str, Any]:
    """Safety backup of the source, delete it, restore the restore backup under its name, re-apply settings."""
    _require_in_place_names(plan)
    settings = ctx.journal.require_settings(plan.source)
    backup = find_backup(ctx.dynamodb, plan.staging, plan.restore_backup, ctx.call)
    if backup is None:
        raise RestoreStepError(f"table {plan.source}: the backup {plan.restore_backup} does not exist: run the prepare phase first")
    details = log.run("check restore backup", ctx.wait_backup, backup["BackupArn"])
    _check_backup_count(ctx, plan, details)
    source = describe(ctx.dynamodb, plan.source, ctx.call)
    if source is not None and not restored_from_backup(source, backup["BackupArn"]):
        safety = find_backup(ctx.dynamodb, plan.source, plan.safety_backup, ctx.call)
        if safety is None:
            safety = log.run("safety backup", ctx.create_backup, plan.source, plan.safety_backup)
        log.run("wait for safety backup", ctx.wait_backup, safety["BackupArn"])
        if source.get("DeletionProtectionEnabled"):
            log.run("deletion protection off", _protection_off, ctx, plan.source)
        log.run("delete source", _delete, ctx, plan.source)
        source = None
    if source is None:
        log.run("wait for delete", ctx.wait_gone, plan.source)  # also when a killed run left the delete going on
        log.run("restore from backup", ctx.poller.retry_while, BACKUP_BUSY, ctx.dynamodb.restore_table_from_backup, call=ctx.call,
                TargetTableName=plan.source, BackupArn=backup["BackupArn"], **restore_overrides(settings))
    else:
        log.note("restore from backup", f"{plan.source} already restored from {plan.restore_backup}")
    restored = log.run("wait for restore", ctx.poller.wait_active, ctx.dynamodb, plan.source, ctx.call)
    changes = log.run("re-apply settings", apply, ctx.dynamodb, ctx.autoscaling, plan.source, settings, ctx.call, ctx.poller)
    return {"settings_changes": changes, "item_count": item_count(restored)}


def _protection_off(ctx: Context, table: str) -> None:
    ctx.poller.wait_active(ctx.dynamodb, table, ctx.call)
    ctx.call(ctx.dynamodb.update_table, TableName=table, DeletionProtectionEnabled=False)
    ctx.poller.wait_active(ctx.dynamodb, table, ctx.call)


# --- new_prefix ------------------------------------------------------------------------------------
@dataclass
class PrefixMove:
    """new_prefix only: the ScalarDB names that change with the prefix."""

    old_prefix: str
    new_prefix: str
    key_renames: dict[str, dict[str, str]] = field(default_factory=dict)  # special table (source name) -> {old key: new key}
    key_attributes: dict[str, str] = field(default_factory=dict)  # special table (source name) -> its key attribute


def prepare_new_prefix(ctx: Context, plan: TablePlan, log: TableLog, move: PrefixMove) -> dict[str, Any]:
    """PITR source -> target, rename its ScalarDB indexes and keys, re-apply the source's settings."""
    settings = ctx.settings_of(plan.source, True)
    target = describe(ctx.dynamodb, plan.target, ctx.call)
    if target is None:
        log.run("restore to target", ctx.call, ctx.dynamodb.restore_table_to_point_in_time, SourceTableName=plan.source,
                TargetTableName=plan.target, RestoreDateTime=ctx.restore_point, **restore_overrides(settings))
    elif not restored_from_table(target, plan.source):
        raise RestoreStepError(f"table {plan.target} exists but was not restored from {plan.source}: not touching it")
    else:
        log.note("restore to target", f"{plan.target} exists")
    restored = log.run("wait for target", ctx.poller.wait_active, ctx.dynamodb, plan.target, ctx.call)
    changes = log.run("rename indexes", rename_indexes, ctx.dynamodb, plan.target, plan.source, ctx.call, ctx.poller)
    if plan.source in move.key_renames:
        changes += log.run("rewrite keys", rewrite_keys, ctx.dynamodb, plan.target, move.key_attributes[plan.source], move.key_renames[plan.source], ctx.call)
    changes += log.run("re-apply settings", apply, ctx.dynamodb, ctx.autoscaling, plan.target, settings, ctx.call, ctx.poller)
    return {"settings_changes": changes, "item_count": item_count(restored)}


# --- verify ----------------------------------------------------------------------------------------
def verify_table(ctx: Context, plan: TablePlan, log: TableLog, in_place: bool) -> dict[str, Any]:
    """The restored table exists, is ACTIVE, came from the restore and has the source's settings."""
    settings = ctx.journal.require_settings(plan.source)
    found = describe(ctx.dynamodb, plan.target, ctx.call)
    problems: list[str] = []
    if found is None:
        problems.append(f"table {plan.target} does not exist")
    else:
        if in_place:
            _require_in_place_names(plan)
            backup = find_backup(ctx.dynamodb, plan.staging, plan.restore_backup, ctx.call)
            if backup is None or not restored_from_backup(found, backup["BackupArn"]):
                problems.append(f"table {plan.target} was not restored from the backup {plan.restore_backup}")
            if find_backup(ctx.dynamodb, plan.source, plan.safety_backup, ctx.call) is None:
                problems.append(f"the safety backup {plan.safety_backup} of {plan.source} is missing")
            if describe(ctx.dynamodb, plan.staging, ctx.call) is not None:
                problems.append(f"the staging table {plan.staging} is still there")
        elif not restored_from_table(found, plan.source):
            problems.append(f"table {plan.target} was not restored from {plan.source}")
        actual = log.run("compare settings", capture, ctx.dynamodb, ctx.autoscaling, plan.target, ctx.call)
        problems += [f"table {plan.target}: {line}" for line in diff(settings, actual)]
    return {"problems": problems, "item_count": item_count(found) if found else None}
