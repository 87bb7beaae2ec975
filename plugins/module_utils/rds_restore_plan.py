# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Preflight of an RDS instance / Aurora cluster restore: every check, nothing changed.

``preflight`` reads the source, its restorable window and the target name and returns a ``Plan``
that the later phases follow.  Every problem found is collected, so one run names them all:
source missing, of the other kind or not restorable; the restore point outside the window; the
target (or one of a cluster's instance names) taken by something this restore did not create.

``restore_use_latest`` is turned into a concrete time here - the source's LatestRestorableTime,
or, when an earlier run with use_latest left an unfinished target of this source, that target's
restore point - so the restore, its target name and a re-run all agree on one point.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.rds_naming import (
    TAG_STATE,
    RdsNamingError,
    check_identifier,
    default_target,
    member_identifier,
    ownership_problem,
    tag_dict,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.rds_resources import (
    CLUSTER,
    INSTANCE,
    RESTORABLE_STATES,
    Call,
    Kind,
    cluster_members,
    describe,
    direct,
    restorable_window,
    source_hosts,
    status_of,
    tags_of,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.rds_settings import (
    settings_of_cluster,
    settings_of_instance,
    settings_of_member,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_phase import unfinished_latest_point
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import (
    RestorePointError,
    check_within,
    to_iso,
)


@dataclass(frozen=True)
class Request:
    """What the user asked for."""

    kind: Kind
    source: str
    target: str | None = None            # None: <source>-pitr-<restore point>
    restore_point: _dt.datetime | None = None
    use_latest: bool = False
    reader_count: int | None = None      # clusters: None = as many readers as the source has


@dataclass
class Member:
    """One instance the restored cluster gets: the writer (number 1) or a reader."""

    identifier: str
    role: str                            # writer | reader
    settings: dict[str, Any]
    availability_zone: str | None
    template: str                        # the source instance it copies

    def to_dict(self) -> dict[str, Any]:
        return {"identifier": self.identifier, "role": self.role, "template": self.template,
                "availability_zone": self.availability_zone}


@dataclass
class Plan:
    request: Request
    problems: list[str] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)
    source_hosts: list[str] = field(default_factory=list)
    window: tuple[_dt.datetime | None, _dt.datetime | None] = (None, None)
    point: _dt.datetime | None = None
    point_source: str = ""               # explicit | latest | reused (an unfinished use_latest run's point)
    target: str = ""
    target_description: dict[str, Any] | None = None
    target_state: str | None = None      # our state tag on an existing target
    wanted: dict[str, Any] = field(default_factory=dict)
    members: list[Member] = field(default_factory=list)

    @property
    def kind(self) -> Kind:
        return self.request.kind

    def to_dict(self) -> dict[str, Any]:
        earliest, latest = self.window
        return {
            "kind": self.kind.name,
            "source": {"identifier": self.request.source, "status": status_of(self.source, self.kind) if self.source else None,
                       "engine": self.source.get("Engine"), "engine_version": self.source.get("EngineVersion"),
                       "hosts": self.source_hosts},
            "restorable_window": {"earliest": to_iso(earliest) if earliest else None, "latest": to_iso(latest) if latest else None},
            "restore_point": {"time": to_iso(self.point) if self.point else None, "source": self.point_source},
            "target": {"identifier": self.target, "exists": self.target_description is not None, "state": self.target_state},
            "settings": sorted(self.wanted),
            "members": [member.to_dict() for member in self.members],
            "problems": list(self.problems),
        }


def _unfinished_latest_point(rds: Any, kind: Kind, source: str, call: Call) -> _dt.datetime | None:
    """The restore point of a target an earlier use_latest run of ``source`` left unverified (the newest such)."""
    if kind is CLUSTER:
        pages = call(rds.get_paginator("describe_db_clusters").paginate().build_full_result)["DBClusters"]
    else:
        pages = call(rds.get_paginator("describe_db_instances").paginate().build_full_result)["DBInstances"]
    # Instances of a restored cluster carry the cluster's tags: only standalone instances (or clusters) count.
    return unfinished_latest_point((tag_dict(description.get("TagList")) for description in pages
                                    if description.get("DBClusterIdentifier") in (None, description.get(kind.id_key))), source)


def _check_source(rds: Any, plan: Plan, call: Call, retiring: bool = False) -> bool:
    """Find the source and check it can be restored from; False when there is nothing to plan with."""
    kind, source = plan.kind, plan.request.source
    found = describe(rds, kind, source, call)
    if found is None:
        other = CLUSTER if kind is INSTANCE else INSTANCE
        if describe(rds, other, source, call) is not None:
            hint = ("restore it with restore_aurora.yml (aurora_source_cluster)" if kind is INSTANCE
                    else "restore it with restore_rds.yml (rds_source_instance)")
            plan.problems.append(f"{source!r} is an {other.label}, not an {kind.label}: {hint}")
        else:
            plan.problems.append(f"{kind.label} {source!r} not found in this region (check the name, the region and the account)")
        return False
    plan.source = found
    if kind is INSTANCE and found.get("DBClusterIdentifier"):
        plan.problems.append(f"{kind.label} {source!r} belongs to the DB cluster {found['DBClusterIdentifier']!r}: restore the cluster "
                             f"(restore_aurora.yml, aurora_source_cluster: {found['DBClusterIdentifier']})")
        return False
    if kind is CLUSTER and not str(found.get("Engine", "")).startswith("aurora"):
        plan.problems.append(f"{kind.label} {source!r} runs engine {found.get('Engine')!r}: it is a Multi-AZ DB cluster, not Aurora, "
                             f"which this collection does not restore yet")
        return False
    status = status_of(found, kind)
    if status not in RESTORABLE_STATES and not (retiring and status == "deleting"):  # an earlier retire's deletion is under way
        plan.problems.append(f"{kind.label} {source!r} is {status!r}, not available: point-in-time restore needs a source in a "
                             f"usable state (available, backing-up, modifying, ...)")
    if not int(found.get("BackupRetentionPeriod") or 0):
        plan.problems.append(f"{kind.label} {source!r} has automated backups turned off (BackupRetentionPeriod 0): "
                             f"there is nothing to restore to a point in time from")
    plan.source_hosts = source_hosts(rds, found, kind, call)
    return True


def _source_gone(rds: Any, plan: Plan, call: Call) -> bool:
    """True when the source is neither of the requested nor of the other kind (deleted, not mistaken)."""
    other = CLUSTER if plan.kind is INSTANCE else INSTANCE
    return not plan.source and describe(rds, other, plan.request.source, call) is None


def _choose_point(rds: Any, plan: Plan, now: _dt.datetime, call: Call) -> None:
    request, kind = plan.request, plan.kind
    plan.window = restorable_window(rds, plan.source, kind, now, call)
    earliest, latest = plan.window
    if request.use_latest:
        reused = _unfinished_latest_point(rds, kind, request.source, call)
        if reused is not None:
            plan.point, plan.point_source = reused, "reused"
        elif latest is None:
            plan.problems.append(f"{kind.label} {request.source!r} reports no LatestRestorableTime: nothing is restorable yet")
            return
        else:
            # Whole seconds: the name and the tag derived from it stay short and a re-run finds the same target.
            plan.point, plan.point_source = latest.replace(microsecond=0), "latest"
            if earliest is not None and plan.point < earliest:
                plan.problems.append(f"{kind.label} {request.source!r}: its LatestRestorableTime {to_iso(latest)} taken in whole seconds "
                                     f"is before its earliest restorable time {to_iso(earliest)}: nothing is restorable yet; run again in a minute")
        return
    plan.point, plan.point_source = request.restore_point, "explicit"
    if latest is None and int(plan.source.get("BackupRetentionPeriod") or 0):
        # check_within would take a missing bound for no bound; the restore call would then be refused.
        plan.problems.append(f"{kind.label} {request.source!r} reports no LatestRestorableTime: nothing is restorable yet "
                             f"(a new {kind.label} becomes restorable after its first automated backup); run again later")
        return
    try:
        check_within(plan.point, earliest, latest, f"{kind.label} {request.source}")
    except RestorePointError as exc:
        hint = ""
        if latest is not None and plan.point > latest:
            hint = (" (LatestRestorableTime trails the present by up to about 5 minutes: wait, choose an earlier point, "
                    "or use restore_use_latest)")
        elif earliest is not None and plan.point < earliest:
            hint = " (before the earliest restorable time: the source's creation or the start of its backup retention period)"
        plan.problems.append(str(exc) + hint)


def _check_target(rds: Any, plan: Plan, call: Call, plan_members: bool = True) -> None:
    request, kind = plan.request, plan.kind
    try:
        plan.target = check_identifier(request.target, "target identifier") if request.target else default_target(request.source, plan.point)
    except RdsNamingError as exc:
        plan.problems.append(str(exc))
        return
    if plan.target == request.source.lower():
        plan.problems.append(f"the target {plan.target!r} is the source itself: a restore always creates a new {kind.label}")
        return
    found = describe(rds, kind, plan.target, call)
    if found is not None:
        tags = tags_of(rds, found, kind, call)
        problem = ownership_problem(tags, request.source, plan.point, f"{kind.label} {plan.target!r}")
        if problem:
            plan.problems.append(problem)
        plan.target_description, plan.target_state = found, tags.get(TAG_STATE)
    if kind is CLUSTER and plan.source and plan_members:
        _plan_members(rds, plan, call)


def _plan_members(rds: Any, plan: Plan, call: Call) -> None:
    """Writer plus readers, each copying a source instance of the same role (the writer when readers run out)."""
    members = cluster_members(rds, plan.source, call)
    if not members:
        plan.problems.append(f"{plan.kind.label} {plan.request.source!r} has no instances to copy the instance class from")
        return
    writer, readers = members[0], members[1:]
    count = len(readers) if plan.request.reader_count is None else plan.request.reader_count
    templates = [writer] + [readers[index] if index < len(readers) else writer for index in range(count)]
    for number, template in enumerate(templates, start=1):
        try:
            identifier = member_identifier(plan.target, number)
        except RdsNamingError as exc:
            plan.problems.append(str(exc))
            return
        found = describe(rds, INSTANCE, identifier, call)
        if found is not None:
            if found.get("DBClusterIdentifier") != plan.target:
                plan.problems.append(f"{INSTANCE.label} {identifier!r} already exists outside the target cluster {plan.target!r}: "
                                     f"choose another aurora target name")
            else:
                problem = ownership_problem(tags_of(rds, found, INSTANCE, call), plan.request.source, plan.point,
                                            f"{INSTANCE.label} {identifier!r}")
                if problem:
                    plan.problems.append(problem)
        plan.members.append(Member(identifier, "writer" if number == 1 else "reader", settings_of_member(template),
                                   template.get("AvailabilityZone"), template["DBInstanceIdentifier"]))


def preflight(rds: Any, request: Request, now: _dt.datetime, call: Call = direct, source_may_be_gone: bool = False) -> Plan:
    """Check everything and plan the restore; ``plan.problems`` lists whatever stands in the way.

    ``source_may_be_gone`` (retire): a source that no longer exists is no problem when the restore point
    is explicit - the target is then found by that point alone (a retire run again after the deletion).
    """
    plan = Plan(request)
    if request.use_latest == (request.restore_point is not None):
        plan.problems.append("give exactly one of restore_point and restore_use_latest")
        return plan
    if request.reader_count is not None and (request.kind is not CLUSTER or request.reader_count < 0):
        plan.problems.append("reader_count is for Aurora clusters only, and must be 0 or more")
        return plan
    try:
        check_identifier(request.source, f"{request.kind.name} source identifier")
    except RdsNamingError as exc:
        plan.problems.append(str(exc))
        return plan
    if not _check_source(rds, plan, call, retiring=source_may_be_gone):
        if source_may_be_gone and request.restore_point is not None and _source_gone(rds, plan, call):
            plan.problems.clear()
            plan.point, plan.point_source = request.restore_point, "explicit"
            _check_target(rds, plan, call, plan_members=False)
        return plan
    if source_may_be_gone and request.restore_point is not None and status_of(plan.source, request.kind) == "deleting":
        # Being deleted (a retire run again): its window and instances no longer matter, only the target does.
        plan.point, plan.point_source = request.restore_point, "explicit"
        _check_target(rds, plan, call, plan_members=False)
        return plan
    _choose_point(rds, plan, now, call)
    if plan.point is None:
        return plan
    plan.wanted = settings_of_cluster(plan.source) if request.kind is CLUSTER else settings_of_instance(plan.source)
    _check_target(rds, plan, call)
    return plan
