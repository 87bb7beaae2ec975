# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The phases of an RDS instance / Aurora cluster point-in-time restore.

* preflight - ``rds_restore_plan.preflight``: every check, nothing changed.
* prepare   - the whole restore, while the application still runs: the restore call (made once:
  a target already tagged as ours is continued, never restored again), then, once it is
  available, whatever the restore did not copy from the source (``rds_settings``), and for Aurora
  the writer and readers.  Marks the target ``prepared``.
* cutover   - nothing changes in AWS: it answers the endpoint switch for the workloads' JDBC URLs
  (the source's host names -> the target's endpoint and port).
* verify    - the target is available, answers on its endpoint where reachable; marks it ``verified``.
* retire    - optional, explicit: deletes the source after a verified restore, with a final
  snapshot and its automated backups kept.

Every phase is safe to run again; a run that died anywhere continues from what AWS shows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import error_code
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_wait import Poller
from ansible_collections.scalarops.pitr.plugins.module_utils.endpoint_probe import probe
from ansible_collections.scalarops.pitr.plugins.module_utils.progress_file import Progress
from ansible_collections.scalarops.pitr.plugins.module_utils.rds_naming import (
    STATE_PREPARED,
    STATE_RESTORING,
    STATE_VERIFIED,
    TAG_STATE,
    fit,
    ownership_problem,
    ownership_tags,
    point_label,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.rds_resources import (
    CLUSTER,
    INSTANCE,
    Call,
    Kind,
    describe,
    direct,
    instance_endpoint,
    status_of,
    tags_of,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.rds_restore_plan import Member, Plan, Request, preflight
from ansible_collections.scalarops.pitr.plugins.module_utils.rds_settings import (
    CLUSTER_FIXED,
    CLUSTER_RESTORE_PARAMS,
    INSTANCE_FIXED,
    INSTANCE_RESTORE_PARAMS,
    diff,
    modify_kwargs,
    restore_kwargs,
    settings_of_cluster,
    settings_of_instance,
    settings_of_member,
    tag_list,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_phase import (
    EndpointSwitchRun,
    PhaseOptions,
    PreflightFailed,
    RestoreFailed,
    check_phase,
    phase_result,
    require_clean,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import to_iso

PHASES = ("preflight", "prepare", "cutover", "verify", "retire")
AVAILABLE = "available"


@dataclass
class Options(PhaseOptions):
    """The RDS phases' options: the shared ones, and how long and how often to poll AWS."""

    poller: Poller = field(default_factory=Poller)


class _Run(EndpointSwitchRun):
    """One phase for one plan: records steps and timings, reports progress (the target and, for Aurora, its instances)."""

    def __init__(self, rds: Any, plan: Plan, options: Options, call: Call, on_progress: Callable[[Progress], None] | None,
                 phase: str) -> None:
        super().__init__(plan, options, on_progress, phase, total=1 + len(plan.members))
        self.rds, self.call = rds, call
        self.plan: Plan = plan
        self.options: Options = options
        self.finished: set[str] = set()

    # --- bookkeeping ---------------------------------------------------------------------------------------------
    def finish(self, identifier: str) -> None:
        self.finished.add(identifier)
        self.done = len(self.finished)

    def wait_available(self, kind: Kind, identifier: str, what: str) -> dict[str, Any]:
        def look() -> dict[str, Any] | None:
            found = describe(self.rds, kind, identifier, self.call)
            self.report({identifier: f"{what}: {status_of(found, kind) if found else 'not visible yet'}"})
            return found

        started = time.monotonic()
        found = self.options.poller.until(look, lambda found: bool(found) and status_of(found, kind) == AVAILABLE,
                                          f"{kind.label} {identifier} to be available ({what})")
        self.step("wait available", False, started, resource=identifier, what=what)
        return found

    # --- prepare ----------------------------------------------------------------------------------------------------
    def ownership(self) -> list[dict[str, str]]:
        request = self.plan.request
        return ownership_tags(request.source, self.plan.point, request.use_latest, STATE_RESTORING)

    def restore(self) -> dict[str, Any] | None:
        """Make the restore call unless the target exists already (then it is ours: preflight checked)."""
        plan, kind = self.plan, self.plan.kind
        if plan.target_description is not None:
            return plan.target_description
        if self.options.check_mode:
            self.planned("restore")
            return None
        wanted_tags = tag_list(plan.wanted.get("Tags", {})) + self.ownership()
        started = time.monotonic()
        if kind is CLUSTER:
            kwargs = restore_kwargs(plan.wanted, CLUSTER_RESTORE_PARAMS)
            kwargs.update(SourceDBClusterIdentifier=plan.request.source, DBClusterIdentifier=plan.target,
                          RestoreToTime=plan.point, RestoreType="full-copy", Tags=wanted_tags)
            operation = self.rds.restore_db_cluster_to_point_in_time
        else:
            kwargs = restore_kwargs(plan.wanted, INSTANCE_RESTORE_PARAMS)
            kwargs.update(SourceDBInstanceIdentifier=plan.request.source, TargetDBInstanceIdentifier=plan.target,
                          RestoreTime=plan.point, Tags=wanted_tags)
            operation = self.rds.restore_db_instance_to_point_in_time
        try:
            self.call(operation, **kwargs)
        except Exception as exc:  # pylint: disable=broad-exception-caught  # "already exists" after a lost answer is checked below
            if error_code(exc) != kind.already_exists:
                raise
            self.adopt_existing(kind, plan.target)
        else:
            self.restore_called = True
        self.step("restore", True, started, restore_time=to_iso(plan.point))
        return describe(self.rds, kind, plan.target, self.call)

    def adopt_existing(self, kind: Kind, identifier: str) -> None:
        """A create answered "already exists": fine if it is ours (an earlier attempt whose answer was lost)."""
        found = describe(self.rds, kind, identifier, self.call)
        problem = ownership_problem(tags_of(self.rds, found, kind, self.call) if found else {}, self.plan.request.source,
                                    self.plan.point, f"{kind.label} {identifier!r}")
        if problem:
            raise RestoreFailed(problem)

    def apply_settings(self, kind: Kind, identifier: str, wanted: dict[str, Any], description: dict[str, Any]) -> list[str]:
        """Give the available target what it lacks of ``wanted``; return the settings that were changed."""
        actual = {INSTANCE: settings_of_instance, CLUSTER: settings_of_cluster}[kind](description)
        if kind is INSTANCE and description.get("DBClusterIdentifier"):
            actual = settings_of_member(description)
        missing = diff(wanted, actual)
        fixed = CLUSTER_FIXED if kind is CLUSTER else INSTANCE_FIXED
        stuck = sorted(key for key in missing if key in fixed)
        if stuck:
            raise RestoreFailed(
                f"{kind.label} {identifier!r} has {', '.join(f'{key}={actual.get(key)!r}' for key in stuck)} but the source has "
                f"{', '.join(repr(wanted[key]) for key in stuck)}, which cannot be changed after the restore; delete the target and run again"
            )
        if not missing:
            return []
        if self.options.check_mode:
            self.changed = True
            return sorted(missing)
        started = time.monotonic()
        kwargs = modify_kwargs(missing, wanted, actual, fixed, cluster=kind is CLUSTER)
        if kwargs:
            if kind is CLUSTER:
                self.call(self.rds.modify_db_cluster, DBClusterIdentifier=identifier, ApplyImmediately=True, **kwargs)
            else:
                self.call(self.rds.modify_db_instance, DBInstanceIdentifier=identifier, ApplyImmediately=True, **kwargs)
        if "Tags" in missing:
            self.call(self.rds.add_tags_to_resource, ResourceName=description[kind.arn_key], Tags=tag_list(missing["Tags"]))
        self.step("copy settings", True, started, resource=identifier, settings=sorted(missing))
        return sorted(missing)

    def create_member(self, member: Member, cluster: dict[str, Any]) -> None:
        if self.options.check_mode:
            self.planned("create instance", resource=member.identifier, role=member.role)
            return
        started = time.monotonic()
        kwargs: dict[str, Any] = dict(member.settings)
        tags = tag_list(kwargs.pop("Tags", {})) + self.ownership()
        if member.availability_zone:
            kwargs["AvailabilityZone"] = member.availability_zone
        try:
            self.call(self.rds.create_db_instance, DBInstanceIdentifier=member.identifier, DBClusterIdentifier=self.plan.target,
                      Engine=cluster["Engine"], Tags=tags, **kwargs)
        except Exception as exc:  # pylint: disable=broad-exception-caught  # "already exists" after a lost answer is checked
            if error_code(exc) != INSTANCE.already_exists:
                raise
            self.adopt_existing(INSTANCE, member.identifier)
        self.step("create instance", True, started, resource=member.identifier, role=member.role, copies=member.template)

    def set_state(self, kind: Kind, description: dict[str, Any], state: str) -> None:
        current = tags_of(self.rds, description, kind, self.call).get(TAG_STATE)
        # A prepare run again after verify must not take "verified" back: retire depends on it, and a
        # use_latest run would take the target for an unfinished one and reuse its point.
        if self.options.check_mode or current == state or (current == STATE_VERIFIED and state == STATE_PREPARED):
            return
        self.call(self.rds.add_tags_to_resource, ResourceName=description[kind.arn_key], Tags=[{"Key": TAG_STATE, "Value": state}])
        self.changed = True

    def prepare(self) -> dict[str, Any]:
        plan, kind = self.plan, self.plan.kind
        description = self.restore()
        if description is None:  # check mode, nothing exists yet: everything after the restore is planned
            for member in plan.members:
                self.create_member(member, plan.source)
            return {"status": "planned"}
        if not self.options.wait:
            return {"status": "in_progress"}
        description = self.wait_available(kind, plan.target, "restoring" if self.restore_called else "continuing")
        applied = self.apply_settings(kind, plan.target, plan.wanted, description)
        if kind is CLUSTER:
            for member in plan.members:  # the first instance created becomes the writer: create in plan order
                existing = describe(self.rds, INSTANCE, member.identifier, self.call)
                if existing is None:
                    self.create_member(member, description)
            if self.options.check_mode:
                return {"status": "planned", "settings_applied": applied}
            for member in plan.members:
                found = self.wait_available(INSTANCE, member.identifier, member.role)
                self.apply_settings(INSTANCE, member.identifier, member.settings, found)
                self.finish(member.identifier)
        if self.options.check_mode:
            return {"status": "planned", "settings_applied": applied}
        if self.changed and applied:
            description = self.wait_available(kind, plan.target, "applying settings")
        self.finish(plan.target)
        self.set_state(kind, description, STATE_PREPARED)
        return {"status": "prepared", "settings_applied": applied}

    # --- later phases -------------------------------------------------------------------------------------------
    def target_ready(self) -> dict[str, Any] | None:
        """The prepared target (waited for until available); None in check mode when it does not exist yet."""
        plan, kind = self.plan, self.plan.kind
        found = describe(self.rds, kind, plan.target, self.call)
        if found is None and self.options.check_mode:
            return None  # a check-mode run planned the prepare: there is nothing to check yet
        if found is None:
            raise RestoreFailed(f"{kind.label} {plan.target!r} does not exist: run the prepare phase first")
        state = tags_of(self.rds, found, kind, self.call).get(TAG_STATE)
        if state not in (STATE_PREPARED, STATE_VERIFIED):
            raise RestoreFailed(f"{kind.label} {plan.target!r} is not prepared yet (state {state!r}, status {status_of(found, kind)!r}): "
                                f"run the prepare phase again to finish it")
        if status_of(found, kind) != AVAILABLE:
            found = self.wait_available(kind, plan.target, "before switching")
        return found

    @property
    def existing(self) -> dict[str, Any] | None:
        return self.plan.target_description

    def source_label(self) -> str:
        return f"{self.plan.kind.label} {self.plan.request.source}"

    def endpoint(self, target: dict[str, Any]) -> tuple[str | None, int | None]:
        if self.plan.kind is CLUSTER:
            return target.get("Endpoint"), target.get("Port")
        return instance_endpoint(target)

    def verify(self) -> dict[str, Any]:
        description = self.target_ready()
        if description is None:
            return {"status": "planned"}
        host, port = self.endpoint(description)
        reach = probe(host, int(port), self.options.probe_timeout) if host and port else {"reachable": False, "error": "no endpoint"}
        if self.options.require_reachable and not reach.get("reachable"):
            raise RestoreFailed(f"{self.plan.kind.label} {self.plan.target!r} is not reachable from here at {host}:{port}: {reach.get('error')} "
                                f"(require_reachable is set; leave it off where the database is only reachable inside its VPC)")
        self.set_state(self.plan.kind, description, STATE_VERIFIED)
        return {"status": "verified", "reachability": reach}

    def retire(self) -> dict[str, Any]:
        """Delete the source - only after the target was verified - keeping a final snapshot and its automated backups."""
        plan, kind = self.plan, self.plan.kind
        target = describe(self.rds, kind, plan.target, self.call)
        if target is None or tags_of(self.rds, target, kind, self.call).get(TAG_STATE) != STATE_VERIFIED:
            raise RestoreFailed(f"refusing to retire {kind.label} {plan.request.source!r}: its restore {plan.target!r} is not verified; "
                                f"run the whole restore (verify) first")
        source = describe(self.rds, kind, plan.request.source, self.call)
        snapshot = fit(plan.request.source, f"-final-{point_label(plan.point)}")
        if source is None or status_of(source, kind) == "deleting":  # gone, or an earlier retire's deletion is under way
            return {"status": "retired", "final_snapshot": snapshot}
        if self.options.check_mode:
            self.changed = True
            return {"status": "planned", "final_snapshot": snapshot}
        started = time.monotonic()
        identifier = plan.request.source
        if kind is CLUSTER:
            if source.get("DeletionProtection"):
                self.call(self.rds.modify_db_cluster, DBClusterIdentifier=identifier, DeletionProtection=False, ApplyImmediately=True)
            for member in source.get("DBClusterMembers") or []:
                self.delete_instance(member["DBInstanceIdentifier"])
            if status_of(source, kind) != "deleting":
                self.call(self.rds.delete_db_cluster, DBClusterIdentifier=identifier, SkipFinalSnapshot=False,
                          FinalDBSnapshotIdentifier=snapshot)
        else:
            if source.get("DeletionProtection"):
                self.call(self.rds.modify_db_instance, DBInstanceIdentifier=identifier, DeletionProtection=False, ApplyImmediately=True)
            if status_of(source, kind) != "deleting":
                self.call(self.rds.delete_db_instance, DBInstanceIdentifier=identifier, SkipFinalSnapshot=False,
                          FinalDBSnapshotIdentifier=snapshot, DeleteAutomatedBackups=False)
        self.step("delete source", True, started, resource=identifier, final_snapshot=snapshot)
        return {"status": "retired", "final_snapshot": snapshot}

    def delete_instance(self, identifier: str) -> None:
        found = describe(self.rds, INSTANCE, identifier, self.call)
        if found is None or status_of(found, INSTANCE) == "deleting":
            return
        if found.get("DeletionProtection"):
            self.call(self.rds.modify_db_instance, DBInstanceIdentifier=identifier, DeletionProtection=False, ApplyImmediately=True)
        self.call(self.rds.delete_db_instance, DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)


def describe_target(rds: Any, plan: Plan, call: Call = direct) -> dict[str, Any]:
    """The target as the result reports it (no credentials: RDS descriptions hold none but the user name, left out)."""
    kind = plan.kind
    found = describe(rds, kind, plan.target, call) if plan.target else None
    if found is None:
        return {"identifier": plan.target, "exists": False}
    result: dict[str, Any] = {"identifier": plan.target, "exists": True, "status": status_of(found, kind),
                              "state": tags_of(rds, found, kind, call).get(TAG_STATE), "arn": found.get(kind.arn_key)}
    if kind is CLUSTER:
        result.update(endpoint=found.get("Endpoint"), reader_endpoint=found.get("ReaderEndpoint"), port=found.get("Port"),
                      members=[{"identifier": member["DBInstanceIdentifier"], "writer": bool(member.get("IsClusterWriter"))}
                               for member in found.get("DBClusterMembers") or []])
    else:
        host, port = instance_endpoint(found)
        result.update(endpoint=host, port=port, multi_az=bool(found.get("MultiAZ")))
    return result


def run_phase(rds: Any, request: Request, phase: str, options: Options, call: Call = direct,
              on_progress: Callable[[Progress], None] | None = None) -> dict[str, Any]:
    """Run ``phase``; return the module's result (``changed``, ``preflight``, ``target``, ``steps``, phase details)."""
    check_phase(phase, PHASES)
    plan = preflight(rds, request, options.now(), call, source_may_be_gone=phase == "retire")
    require_clean(plan, phase, plan.target_description is not None, "restorable window")
    run = _Run(rds, plan, options, call, on_progress, phase)
    outcome = run.outcome()
    return phase_result(run, request.source, describe_target(rds, plan, call), outcome, kind=plan.kind.name)


__all__ = ["PHASES", "Options", "PreflightFailed", "RestoreFailed", "describe_target", "run_phase"]
