# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Restore every table of a ScalarDB/ScalarDL deployment on DynamoDB to one point in time.

One entry point, ``run_phase``, for the phases the restore role calls at the right moments:

* ``preflight`` - read-only: tables, names, state, every problem (``dynamodb_restore_plan``);
* ``prepare``   - while the application runs: the restores that do not need downtime;
* ``cutover``   - while it is stopped: the same-name swap (``in_place``) or nothing but a check
  (``new_prefix``: the role switches ``scalar.db.dynamo.namespace.prefix``);
* ``verify``    - the restored tables exist, came from the restore and carry the source's settings.

Each phase begins with a preflight, so bad input fails before anything changes in every phase and
a re-run of any phase continues from what AWS shows.  Tables run concurrently (``run_bounded``:
each worker takes the next table as soon as its chain ends), every call is retried on throttling
with jittered backoff, and progress is reported as tables finish and at least every
``progress_interval`` seconds.
"""

from __future__ import annotations

import datetime as _dt
import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import retrying
from ansible_collections.scalarops.pitr.plugins.module_utils.concurrency import WaitTimeout, run_bounded
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_api import Call
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_deployment import key_values
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_journal import DEFAULT_JOURNAL_TABLE, Journal
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_lookup import describe
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_naming import restore_point_label
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_restore_plan import (
    IN_PLACE,
    NEW_PREFIX,
    REPLACED,
    RESTORED,
    Preflight,
    Request,
    TablePlan,
    preflight,
    special_tables,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_restore_steps import (
    Context,
    PrefixMove,
    TableLog,
    cutover_in_place,
    prepare_in_place,
    prepare_new_prefix,
    verify_table,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_wait import Poller
from ansible_collections.scalarops.pitr.plugins.module_utils.progress_file import Progress
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import parse_timestamp, to_iso

PHASES = ("preflight", "prepare", "cutover", "verify")
PREFIX_PROPERTY = "scalar.db.dynamo.namespace.prefix"
IN_PROGRESS = "in_progress"
DEFAULT_CONCURRENCY = 10  # AWS allows 50 concurrent restores per account: leave room for everyone else

# What each phase does to a table, for check mode and the report.
PLANNED_STEPS = {
    (IN_PLACE, "prepare"): ["capture settings", "restore to staging", "back up staging", "delete staging"],
    (IN_PLACE, "cutover"): ["safety backup", "deletion protection off (if on)", "delete source", "restore from backup", "re-apply settings"],
    (NEW_PREFIX, "prepare"): ["capture settings", "restore to target", "rename indexes", "rewrite keys (metadata tables)", "re-apply settings"],
    (NEW_PREFIX, "cutover"): [],
}


class PreflightFailed(RuntimeError):
    """Preflight found problems; nothing was changed.  ``result`` holds the full preflight."""

    def __init__(self, result: Preflight) -> None:
        self.result = result
        super().__init__("; ".join(result.problems))


@dataclass
class Options:
    """How to run (the module's non-request options)."""

    concurrency: int = DEFAULT_CONCURRENCY
    journal_table: str = DEFAULT_JOURNAL_TABLE
    poller: Poller = field(default_factory=Poller)
    check_mode: bool = False
    progress_interval: float = 30.0
    wait: bool = True  # False: start what can start, return; tables still waiting end "in_progress"


def latest_key(request: Request) -> str:
    """The journal key of an unfinished "latest" restore of this deployment in this mode."""
    tables = ",".join(sorted(request.tables)) if request.tables else "deployment"
    return f"{request.mode}:{request.prefix}:{request.target_prefix or ''}:{tables}"


def retrying_call(on_retry: Callable[[int, float, BaseException], None] | None = None) -> Call:
    """The ``call`` every step uses: throttling and connection errors retried with full-jitter backoff."""
    return functools.partial(retrying, on_retry=on_retry)


class _Run:
    """One phase over all tables."""

    def __init__(self, dynamodb: Any, autoscaling: Any, request: Request, options: Options, call: Call,
                 on_progress: Callable[[Progress], None] | None) -> None:
        self.dynamodb, self.autoscaling, self.request, self.options, self.call = dynamodb, autoscaling, request, options, call
        self.on_progress = on_progress
        self.logs: dict[str, TableLog] = {}
        self.failed = 0
        self.lock = threading.Lock()

    def preflight(self) -> tuple[Preflight, Journal]:
        remembered: _dt.datetime | None = None
        latest_journal = Journal(self.dynamodb, self.options.journal_table, "latest", self.call, self.options.poller)
        if self.request.restore_point is None:
            point = latest_journal.point(latest_key(self.request))
            remembered = parse_timestamp(point) if point else None
        result = preflight(self.dynamodb, self.request, self.call, self.options.concurrency, remembered, self.recorded_tables)
        if not result.ok:
            raise PreflightFailed(result)
        if result.restore_point is None:  # no tables at all would also end here; preflight reports that
            raise PreflightFailed(result)
        return result, latest_journal

    def recorded_tables(self, restore_point: _dt.datetime) -> list[str]:
        """The tables whose settings the journal holds for ``restore_point`` (read-only)."""
        return Journal(self.dynamodb, self.options.journal_table, restore_point_label(restore_point), self.call, self.options.poller).tables()

    def context(self, restore_point: _dt.datetime) -> Context:
        journal = Journal(self.dynamodb, self.options.journal_table, restore_point_label(restore_point), self.call, self.options.poller)
        return Context(self.dynamodb, self.autoscaling, journal, restore_point, self.call, self.options.poller)

    def each(self, phase: str, plans: list[TablePlan], work: Callable[[TablePlan, TableLog], dict[str, Any]]) -> list[dict[str, Any]]:
        """Run ``work`` for every plan, bounded; one result dict per table, in plan order."""
        self.logs = {plan.source: TableLog(plan.source) for plan in plans}
        self.failed = 0

        def worker(plan: TablePlan) -> dict[str, Any]:
            try:
                return work(plan, self.logs[plan.source])
            except Exception:
                with self.lock:
                    self.failed += 1
                raise

        def progress(done: int, total: int, elapsed: float, _running: int) -> None:
            if self.on_progress is not None:
                running = {name: log.current for name, log in self.logs.items() if log.current}
                with self.lock:
                    failed = self.failed
                self.on_progress(Progress(phase, done, total, elapsed, running, failed))

        outcomes = run_bounded(plans, worker, max(1, self.options.concurrency), on_progress=progress, progress_interval=self.options.progress_interval)
        results = []
        for outcome in outcomes:
            plan: TablePlan = outcome.item
            entry: dict[str, Any] = {
                "source": plan.source, "target": plan.target, "status": outcome.status,
                "seconds": round(outcome.duration, 3) if outcome.duration is not None else None,
                "steps": self.logs[plan.source].steps,
            }
            if plan.staging:
                entry.update(staging=plan.staging, restore_backup=plan.restore_backup, safety_backup=plan.safety_backup)
            if outcome.value:
                entry.update(outcome.value)
            if isinstance(outcome.error, WaitTimeout) and not self.options.wait:
                entry["status"] = IN_PROGRESS  # not a failure: the next run continues from what AWS shows
                entry["waiting_for"] = outcome.error.what
            elif outcome.error is not None:
                entry["error"] = str(outcome.error)
                if isinstance(outcome.error, WaitTimeout):
                    entry["error"] += " (nothing is lost: run the same phase again to continue)"
            results.append(entry)
        return results

    def prefix_move(self, plans: list[TablePlan]) -> PrefixMove:
        """new_prefix: the keys of ScalarDB's metadata and namespaces tables that change, read from the sources."""
        move = PrefixMove(self.request.prefix, self.request.target_prefix or "")
        sources = {plan.source for plan in plans}
        for table, key in special_tables(self.request).items():
            if table not in sources:
                continue
            names = key_values(self.dynamodb, table, key, self.call)
            move.key_renames[table] = {name: move.new_prefix + name[len(move.old_prefix):] for name in sorted(names) if name.startswith(move.old_prefix)}
            move.key_attributes[table] = key
        return move


def run_phase(
    dynamodb: Any,
    autoscaling: Any,
    request: Request,
    phase: str,
    options: Options | None = None,
    call: Call | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> dict[str, Any]:
    """Run one phase; return the result (JSON-serialisable).  Raises ``PreflightFailed`` on bad input.

    Per-table failures do not stop the other tables; they are in ``tables[].error`` and counted in
    ``tables_failed`` - the caller decides (the module fails the task, after every table had its chance).
    """
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {', '.join(PHASES)}, got {phase!r}")
    options = options or Options()
    run = _Run(dynamodb, autoscaling, request, options, call or retrying_call(), on_progress)
    pre, latest_journal = run.preflight()
    if pre.restore_point is None:  # run.preflight raises first; this keeps the type checker and readers sure
        raise PreflightFailed(pre)
    result: dict[str, Any] = {
        "phase": phase, "mode": request.mode, "restore_point": to_iso(pre.restore_point),
        "restore_point_label": restore_point_label(pre.restore_point),
        "use_latest": request.restore_point is None, "namespace_prefix": request.prefix, "target_prefix": request.target_prefix,
        "journal_table": options.journal_table, "changed": False, "tables_failed": 0, "tables_in_progress": 0, "tables": [],
        "preflight": pre.to_dict(),
    }
    if request.mode == NEW_PREFIX:
        result["properties"] = {PREFIX_PROPERTY: request.target_prefix}
    if phase == "preflight" or options.check_mode:
        planned = PLANNED_STEPS.get((request.mode, phase), []) if phase != "preflight" else []
        result["tables"] = [{**plan.to_dict(), "planned_steps": planned if _pending(plan, phase) else []} for plan in pre.plans]
        result["changed"] = any(entry["planned_steps"] for entry in result["tables"])  # check mode: what would change
        return result
    ctx = run.context(pre.restore_point)
    if request.restore_point is None and phase == "prepare":
        latest_journal.remember_point(latest_key(request), to_iso(pre.restore_point))
    work: Callable[[TablePlan, TableLog], dict[str, Any]]
    if phase == "prepare" and request.mode == IN_PLACE:
        def work(plan: TablePlan, log: TableLog) -> dict[str, Any]:
            return prepare_in_place(ctx, plan, log)
    elif phase == "prepare":
        move = run.prefix_move(pre.plans)

        def work(plan: TablePlan, log: TableLog) -> dict[str, Any]:
            return prepare_new_prefix(ctx, plan, log, move)
    elif phase == "cutover" and request.mode == IN_PLACE:
        def work(plan: TablePlan, log: TableLog) -> dict[str, Any]:
            return cutover_in_place(ctx, plan, log)
    elif phase == "cutover":
        def work(plan: TablePlan, log: TableLog) -> dict[str, Any]:
            return _check_prepared(ctx, plan, log)
    else:
        def work(plan: TablePlan, log: TableLog) -> dict[str, Any]:
            return verify_table(ctx, plan, log, request.mode == IN_PLACE)
    result["tables"] = run.each(phase, pre.plans, work)
    result["tables_failed"] = sum(1 for entry in result["tables"] if entry["status"] not in ("ok", IN_PROGRESS))
    result["tables_in_progress"] = sum(1 for entry in result["tables"] if entry["status"] == IN_PROGRESS)
    result["problems"] = [problem for entry in result["tables"] for problem in entry.get("problems", [])]
    result["changed"] = any(_changed(entry) for entry in result["tables"])
    done = not result["tables_failed"] and not result["tables_in_progress"] and not result["problems"]
    if phase == "verify" and done and request.restore_point is None:
        latest_journal.forget_point(latest_key(request))
    return result


# Steps that always change something when they run (the others only read, or report their changes).
_CHANGING_STEPS = frozenset({"restore to staging", "back up staging", "delete staging", "safety backup", "deletion protection off",
                             "delete source", "restore from backup", "restore to target"})


def _pending(plan: TablePlan, phase: str) -> bool:
    """Whether ``phase`` still has work for this table, as far as preflight can tell (check mode)."""
    if phase == "prepare":
        return not plan.prepared
    if phase == "cutover":
        return plan.state not in (REPLACED, RESTORED)
    return False


def _changed(entry: dict[str, Any]) -> bool:
    ran = any(step["step"] in _CHANGING_STEPS and step["status"] != "already done" for step in entry.get("steps", []))
    return ran or bool(entry.get("settings_changes"))


def _check_prepared(ctx: Context, plan: TablePlan, log: TableLog) -> dict[str, Any]:
    """new_prefix cutover: every target must be there and ACTIVE before the properties switch."""
    found = describe(ctx.dynamodb, plan.target, ctx.call)
    if found is None:
        raise RuntimeError(f"table {plan.target} does not exist: run the prepare phase first")
    log.run("check target", ctx.poller.wait_active, ctx.dynamodb, plan.target, ctx.call)
    return {}


__all__ = ["PHASES", "PREFIX_PROPERTY", "Options", "PreflightFailed", "Progress", "Request", "run_phase"]
