# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Preflight of a DynamoDB deployment restore: which tables, which names, what state, what is wrong.

Read-only.  It finds the tables (the deployment's, from its ScalarDB metadata, or the ones the user
listed), derives every name the restore will create (``dynamodb_naming``), looks at what already
exists - a re-run after a crash finds its own staging tables, backups and restored tables and
continues - and collects *every* problem into one list, so the user fixes them all at once and
nothing has changed when they are reported:

* a table that does not exist, or has point-in-time recovery off;
* a restore point outside a table's restorable window (the table and the window are named);
* a name the restore must create that is taken by a table the restore did not make (read from the
  table's ``RestoreSummary``, never from the name alone);
* ``new_prefix`` equal to the prefix in use.

Two modes: ``in_place`` (the same-name procedure: PITR to a staging table, back it up, delete it;
at cutover delete the source and restore the backup under the source's name) and ``new_prefix``
(PITR every table under another ScalarDB namespace prefix; the cutover only switches
``scalar.db.dynamo.namespace.prefix``).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import error_code
from ansible_collections.scalarops.pitr.plugins.module_utils.concurrency import run_bounded
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_api import Call, direct
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_deployment import (
    DEFAULT_COORDINATOR_NAMESPACE,
    DEFAULT_SYSTEM_NAMESPACE,
    METADATA_ATTR_TABLE,
    NAMESPACES_ATTR_NAME,
    DeploymentError,
    coordinator_table_name,
    discover_tables,
    list_all_tables,
    metadata_table_name,
    namespaces_table_name,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_lookup import (
    AVAILABLE,
    describe,
    find_backup,
    pitr_window,
    restored_from_backup,
    restored_from_table,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_naming import (
    NamingError,
    backup_name,
    check_name,
    check_prefix,
    rename_with_prefix,
    staging_name,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import RestorePointError, check_within, to_iso

IN_PLACE = "in_place"
NEW_PREFIX = "new_prefix"
MODES = (IN_PLACE, NEW_PREFIX)

# What preflight found for a table (in_place: the source's name; new_prefix: the target).
ORIGINAL = "original"  # in_place: the source as it was; the restore has not touched it
REPLACED = "replaced"  # in_place: the source name already holds the restore (cutover done for it)
DELETED = "deleted"  # in_place: the source was deleted by an interrupted cutover; its backup restores it
PENDING = "pending"  # new_prefix: the target does not exist yet
RESTORED = "restored"  # new_prefix: the target exists, restored from the source (maybe still creating)


@dataclass
class TablePlan:
    """Every name one table's restore uses, and what preflight found."""

    source: str
    target: str  # in_place: the source's own name; new_prefix: the name under the target prefix
    staging: str | None = None  # in_place only
    restore_backup: str | None = None  # in_place only: the backup of the staging table
    safety_backup: str | None = None  # in_place only: the source's last state before it is deleted
    state: str = ORIGINAL
    prepared: bool = False  # in_place: the restore backup is AVAILABLE; new_prefix: the target exists
    window: dict[str, str | None] = field(default_factory=dict)  # earliest/latest restorable (ISO), when read

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Request:
    """What the user asked for (the module's options, checked)."""

    mode: str
    restore_point: _dt.datetime | None  # None: use the latest time every table can be restored to
    prefix: str = ""
    target_prefix: str | None = None
    tables: list[str] | None = None  # None: the deployment's tables
    system_namespace: str = DEFAULT_SYSTEM_NAMESPACE
    coordinator_namespace: str = DEFAULT_COORDINATOR_NAMESPACE

    def problems(self) -> list[str]:
        """What is wrong with the request itself (before any AWS call)."""
        found: list[str] = []
        if self.mode not in MODES:
            found.append(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        try:
            check_prefix(self.prefix, "namespace_prefix")
            if self.mode == NEW_PREFIX:
                if self.target_prefix is None:
                    found.append("mode new_prefix needs target_prefix (the scalar.db.dynamo.namespace.prefix of the restored tables)")
                else:
                    check_prefix(self.target_prefix, "target_prefix")
                    if self.target_prefix == self.prefix:
                        found.append(f"target_prefix {self.target_prefix!r} is the prefix in use: the restored tables would be the source tables")
            elif self.target_prefix:
                found.append("target_prefix is only used with mode new_prefix")
        except NamingError as exc:
            found.append(str(exc))
        for name in self.tables or []:
            try:
                check_name(name, "table")
            except NamingError as exc:
                found.append(str(exc))
        if self.tables is not None and not self.tables:
            found.append("tables is empty: list the tables to restore, or leave it out to restore the whole deployment")
        return found


@dataclass
class Preflight:
    """The outcome: the plans (sorted by source), the restore point and every problem found."""

    request: Request
    restore_point: _dt.datetime | None
    plans: list[TablePlan] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.request.mode,
            "restore_point": to_iso(self.restore_point) if self.restore_point else None,
            "namespace_prefix": self.request.prefix,
            "target_prefix": self.request.target_prefix,
            "tables": [plan.to_dict() for plan in self.plans],
            "problems": list(self.problems),
        }


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        value = _dt.datetime.fromtimestamp(value, tz=_dt.timezone.utc)
    return to_iso(value)


def _moment(value: Any) -> _dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return _dt.datetime.fromtimestamp(value, tz=_dt.timezone.utc)
    return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)


# The tables an earlier run recorded in the journal for a restore point (``Journal.tables``).
RecordedTables = Callable[[_dt.datetime], list[str]]


def _has_restore_backup(dynamodb: Any, table: str, moment: _dt.datetime, call: Call) -> bool:
    return find_backup(dynamodb, staging_name(table, moment), backup_name(table, moment, "restore"), call) is not None


def _table_names(dynamodb: Any, request: Request, call: Call, moment: _dt.datetime | None = None,
                 recorded: RecordedTables | None = None) -> tuple[list[str], list[str]]:
    """(tables to restore, missing ones).

    ``in_place`` with a known point: a table that is gone but has its restore backup was deleted by
    an interrupted cutover, and the re-run must restore it - it is neither missing nor, for the
    tables discovery only counts when they exist (namespaces, coordinator), forgotten.  When that
    table is the metadata table, the deployment's table list cannot be read from it any more; the
    tables the prepare recorded in the journal (``recorded``) are the list then.
    """
    resumable = request.mode == IN_PLACE and moment is not None
    candidates: set[str] = set()  # tables that may have been deleted by an interrupted cutover
    if request.tables is None:
        metadata = metadata_table_name(request.prefix, request.system_namespace)
        if resumable and moment is not None:
            candidates = {name for name in (recorded(moment) if recorded else []) if name.startswith(request.prefix)}
            candidates |= {metadata, namespaces_table_name(request.prefix, request.system_namespace),
                           coordinator_table_name(request.prefix, request.coordinator_namespace)}
        try:
            deployment = discover_tables(dynamodb, request.prefix, request.system_namespace, request.coordinator_namespace, call)
            names, missing = list(deployment.tables), list(deployment.missing)
        except Exception as exc:  # pylint: disable=broad-exception-caught  # re-raised unless a cutover deleted the metadata table
            # No metadata table, or one still being deleted (listed, but no longer readable).
            if not isinstance(exc, DeploymentError) and error_code(exc) != "ResourceNotFoundException":
                raise
            if not (resumable and moment is not None and _has_restore_backup(dynamodb, metadata, moment, call)):
                raise
            existing = list_all_tables(dynamodb, call)
            names, missing = sorted(candidates & existing), []
    else:
        existing = list_all_tables(dynamodb, call)
        wanted = sorted(set(request.tables))
        names, missing = [name for name in wanted if name in existing], [name for name in wanted if name not in existing]
    if resumable and moment is not None:
        deleted = {name for name in (candidates | set(missing)) - set(names) if _has_restore_backup(dynamodb, name, moment, call)}
        names, missing = sorted(set(names) | deleted), [name for name in missing if name not in deleted]
    return names, missing


def _names(request: Request, source: str, moment: _dt.datetime | None) -> TablePlan:
    if request.mode == NEW_PREFIX:
        return TablePlan(source=source, target=rename_with_prefix(source, request.prefix, request.target_prefix or ""), state=PENDING)
    if moment is None:  # names need the point; filled in once it is known
        return TablePlan(source=source, target=source)
    return TablePlan(
        source=source, target=source, staging=staging_name(source, moment),
        restore_backup=backup_name(source, moment, "restore"), safety_backup=backup_name(source, moment, "safety"),
    )


class _Inspector:  # pylint: disable=too-few-public-methods  # one preflight: clients and the problems list
    def __init__(self, dynamodb: Any, request: Request, call: Call) -> None:
        self.dynamodb, self.request, self.call = dynamodb, request, call

    def inspect(self, plan: TablePlan) -> list[str]:
        """Fill ``plan``'s state and window; return its problems."""
        problems: list[str] = []
        source = describe(self.dynamodb, plan.source, self.call)
        needs_pitr = True
        if self.request.mode == IN_PLACE:
            needs_pitr = self._in_place(plan, source, problems)
        else:
            target = describe(self.dynamodb, plan.target, self.call)
            if source is None:
                problems.append(f"table {plan.source} does not exist")
                return problems
            if target is not None:
                if not restored_from_table(target, plan.source):
                    problems.append(f"table {plan.target} already exists and was not restored from {plan.source} by this restore: "
                                    "choose another target_prefix or delete that table")
                    return problems
                plan.state, plan.prepared, needs_pitr = RESTORED, True, False
        if needs_pitr and source is not None:
            window = pitr_window(self.dynamodb, plan.source, self.call)
            if window.get("PointInTimeRecoveryStatus") != "ENABLED":
                problems.append(f"table {plan.source} has point-in-time recovery off: it cannot be restored to a point in time "
                                "(turn it on now to restore to later points; earlier points are lost)")
            else:
                plan.window = {"earliest": _iso(window.get("EarliestRestorableDateTime")), "latest": _iso(window.get("LatestRestorableDateTime"))}
        return problems

    def _in_place(self, plan: TablePlan, source: dict[str, Any] | None, problems: list[str]) -> bool:
        """State of a same-name restore; True when the source still has to be restored from PITR."""
        if not (plan.staging and plan.restore_backup):
            raise ValueError(f"table {plan.source}: an in_place plan without staging/backup names")
        backup = find_backup(self.dynamodb, plan.staging, plan.restore_backup, self.call)
        staging = describe(self.dynamodb, plan.staging, self.call)
        if staging is not None and not restored_from_table(staging, plan.source):
            problems.append(f"table {plan.staging} (the staging table of {plan.source}) already exists and was not restored "
                            f"from {plan.source}: delete or rename it")
        plan.prepared = backup is not None and backup.get("BackupStatus") == AVAILABLE
        if source is None:
            if backup is None:
                problems.append(f"table {plan.source} does not exist")
            else:
                plan.state = DELETED
            return False
        if backup is not None and restored_from_backup(source, backup["BackupArn"]):
            plan.state = REPLACED
            return False
        # PITR from the source is still ahead unless the staging table or its backup already exists.
        return backup is None and staging is None


def _check_windows(plans: list[TablePlan], moment: _dt.datetime) -> list[str]:
    problems: list[str] = []
    for plan in plans:
        if not plan.window:
            continue
        try:
            check_within(moment, _moment(_from_iso(plan.window.get("earliest"))), _moment(_from_iso(plan.window.get("latest"))), f"table {plan.source}")
        except RestorePointError as exc:
            problems.append(str(exc))
    return problems


def _from_iso(value: str | None) -> _dt.datetime | None:
    return _dt.datetime.fromisoformat(value) if value else None


def latest_common_point(plans: list[TablePlan]) -> _dt.datetime | None:
    """The latest moment every table that still needs PITR can be restored to (min of their latest)."""
    latest = [_from_iso(plan.window.get("latest")) for plan in plans if plan.window.get("latest")]
    return min(point for point in latest if point is not None) if latest else None


def preflight(
    dynamodb: Any, request: Request, call: Call = direct, concurrency: int = 10, remembered_point: _dt.datetime | None = None,
    recorded: RecordedTables | None = None,
) -> Preflight:
    """Inspect everything the restore will touch; never changes anything.

    With ``request.restore_point`` None (use the latest), ``remembered_point`` is the point an
    earlier, unfinished run of the same restore chose: a re-run must reuse it, since every name
    derives from it.  Otherwise the point is the latest common restorable time of the tables.
    ``recorded`` lists the tables the journal holds for a point (see ``_table_names``).
    """
    result = Preflight(request=request, restore_point=request.restore_point or remembered_point)
    result.problems = request.problems()
    if result.problems:
        return result
    try:
        names, result.missing = _table_names(dynamodb, request, call, result.restore_point, recorded)
    except (DeploymentError, NamingError) as exc:
        result.problems.append(str(exc))
        return result
    result.problems += [f"table {name} does not exist" for name in result.missing]
    if request.mode == NEW_PREFIX:
        result.plans = [_names(request, name, None) for name in names]
    else:
        result.plans = [_names(request, name, result.restore_point) for name in names]
    return _inspect_all(dynamodb, request, call, concurrency, result)


def _inspect_all(dynamodb: Any, request: Request, call: Call, concurrency: int, result: Preflight) -> Preflight:
    inspector = _Inspector(dynamodb, request, call)
    if request.mode == IN_PLACE and result.restore_point is None:
        # "latest": read every window first, then name the staging tables and backups after the point.
        for plan in result.plans:
            window = pitr_window(dynamodb, plan.source, call)
            if window.get("PointInTimeRecoveryStatus") == "ENABLED":
                plan.window = {"earliest": _iso(window.get("EarliestRestorableDateTime")), "latest": _iso(window.get("LatestRestorableDateTime"))}
        result.restore_point = latest_common_point(result.plans)
        if result.restore_point is not None:
            result.plans = [_names(request, plan.source, result.restore_point) for plan in result.plans]
    outcomes = run_bounded(result.plans, inspector.inspect, max(1, concurrency))
    for outcome in outcomes:
        if outcome.error is not None:
            raise outcome.error
        result.problems += outcome.value or []
    if result.restore_point is None:
        result.restore_point = latest_common_point(result.plans)
    if result.restore_point is None and result.plans and not result.problems:
        result.problems.append("no table reports a latest restorable time: is point-in-time recovery on?")
    if result.restore_point is not None:
        result.problems += _check_windows(result.plans, result.restore_point)
    names = {plan.source for plan in result.plans}
    for plan in result.plans:
        if plan.target != plan.source and plan.target in names:
            result.problems.append(f"table {plan.target} (the restore of {plan.source}) is itself a table of the deployment: choose another target_prefix")
    return result


def special_tables(request: Request) -> dict[str, str]:
    """ScalarDB's own tables whose items hold prefixed names, by source name -> key attribute."""
    return {
        metadata_table_name(request.prefix, request.system_namespace): METADATA_ATTR_TABLE,
        namespaces_table_name(request.prefix, request.system_namespace): NAMESPACES_ATTR_NAME,
    }
