# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Preflight of a flexible server point-in-time restore: every check, nothing changed.

``preflight`` reads the source, its restorable window and the target name and returns a ``Plan``
that the later phases follow.  Every problem found is collected, so one run names them all: the
source missing, of the other engine (looked up under the other resource provider, so the message
says what it is) or not restorable; the restore point outside
``[backup.earliestRestoreDate, now]``; the target name invalid or taken by a server this restore
did not create.

``restore_use_latest`` becomes a concrete time here: now minus :data:`LATEST_MARGIN` in whole
seconds (Azure's "latest restore point" is the present; the margin absorbs the difference between
this machine's clock and Azure's, which refuses a time after its own now), or, when an earlier
use_latest run left an unverified target of this source, that target's restore point - so the
restore, its target name and a re-run agree on one point.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.azure_client import AzureCoreError
from ansible_collections.scalarops.pitr.plugins.module_utils.azure_flexible_api import (
    Engine,
    FlexibleApi,
    server_fqdn,
    server_state,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.azure_naming import (
    FLEXIBLE_MAX,
    TAG_STATE,
    AzureNamingError,
    check_name,
    default_target,
    ownership_problem,
    tags_of,
    without_ours,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_phase import unfinished_latest_point
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import RestorePointError, parse_timestamp, to_iso

LATEST_MARGIN = _dt.timedelta(seconds=60)

# States a point-in-time restore cannot start from: the server is going away, not there yet, or unusable.
UNRESTORABLE_STATES = frozenset({"dropping", "provisioning", "disabled", "inaccessible"})

# What the restore is compared on afterwards (a PATCH gives the target what it lacks).
SETTINGS = ("tags", "sku", "storage_gb", "backup_retention_days", "high_availability")


@dataclass(frozen=True)
class Request:
    """What the user asked for."""

    engine: Engine
    source: str
    target: str | None = None            # None: <source>-pitr-<restore point>
    restore_point: _dt.datetime | None = None
    use_latest: bool = False


@dataclass
class Plan:
    request: Request
    problems: list[str] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)
    window: tuple[_dt.datetime | None, _dt.datetime | None] = (None, None)
    point: _dt.datetime | None = None
    point_source: str = ""               # explicit | latest | reused (an unfinished use_latest run's point)
    target: str = ""
    target_server: dict[str, Any] | None = None
    target_state: str | None = None      # our state tag on an existing target
    wanted: dict[str, Any] = field(default_factory=dict)
    other_engine_source: bool = False

    @property
    def engine(self) -> Engine:
        return self.request.engine

    @property
    def source_hosts(self) -> list[str]:
        fqdn = server_fqdn(self.source)
        return [fqdn] if fqdn else []

    def to_dict(self) -> dict[str, Any]:
        earliest, latest = self.window
        props = self.source.get("properties") or {}
        return {
            "engine": self.engine.name,
            "source": {"name": self.request.source, "id": self.source.get("id"), "state": server_state(self.source) if self.source else None,
                       "location": self.source.get("location"), "version": props.get("version"), "hosts": self.source_hosts},
            "restorable_window": {"earliest": to_iso(earliest) if earliest else None, "latest": to_iso(latest) if latest else None},
            "restore_point": {"time": to_iso(self.point) if self.point else None, "source": self.point_source},
            "target": {"identifier": self.target, "exists": self.target_server is not None, "state": self.target_state},
            "settings": sorted(key for key in self.wanted if self.wanted[key] not in (None, {}, [])),
            "problems": list(self.problems),
        }


def wanted_settings(source: dict[str, Any]) -> dict[str, Any]:
    """What the target must have of the source once restored (compared with :func:`missing_settings`)."""
    props = source.get("properties") or {}
    sku = source.get("sku") or {}
    mode = (props.get("highAvailability") or {}).get("mode")
    return {
        "tags": without_ours(tags_of(source)),
        "sku": {key: sku[key] for key in ("name", "tier") if sku.get(key)},
        "storage_gb": (props.get("storage") or {}).get("storageSizeGB"),
        "backup_retention_days": (props.get("backup") or {}).get("backupRetentionDays"),
        # Zone-redundant/same-zone HA is not part of a restore; only asked for when the source has it.
        "high_availability": mode if mode and str(mode).lower() != "disabled" else None,
    }


def missing_settings(wanted: dict[str, Any], server: dict[str, Any]) -> dict[str, Any]:
    """The part of ``wanted`` the ``server`` lacks (tags: the missing or different ones; storage: only ever grown)."""
    actual = wanted_settings(server)
    actual_tags = tags_of(server)
    missing: dict[str, Any] = {}
    tags = {key: value for key, value in (wanted.get("tags") or {}).items() if actual_tags.get(key) != value}
    if tags:
        missing["tags"] = tags
    if wanted.get("sku") and wanted["sku"] != actual.get("sku"):
        missing["sku"] = wanted["sku"]
    if wanted.get("storage_gb") and int(actual.get("storage_gb") or 0) < int(wanted["storage_gb"]):
        missing["storage_gb"] = wanted["storage_gb"]
    if wanted.get("backup_retention_days") and wanted["backup_retention_days"] != actual.get("backup_retention_days"):
        missing["backup_retention_days"] = wanted["backup_retention_days"]
    if wanted.get("high_availability") and wanted["high_availability"] != actual.get("high_availability"):
        missing["high_availability"] = wanted["high_availability"]
    return missing


def earliest_restore(server: dict[str, Any]) -> _dt.datetime | None:
    raw = ((server.get("properties") or {}).get("backup") or {}).get("earliestRestoreDate")
    if not raw:
        return None
    try:
        return parse_timestamp(str(raw), "earliestRestoreDate")
    except RestorePointError:
        return None


def _unfinished_latest_point(api: FlexibleApi, source: str) -> _dt.datetime | None:
    """The restore point of a target an earlier use_latest run of ``source`` left unverified (the newest such)."""
    return unfinished_latest_point((tags_of(server) for server in api.list()), source)


def _exists(api: FlexibleApi, name: str) -> bool:
    """Whether ``name`` is a server of ``api``'s engine; False too when we may not look (only used to explain a miss)."""
    try:
        return api.get(name) is not None
    except AzureCoreError:
        return False


def _check_source(api: FlexibleApi, other: FlexibleApi | None, plan: Plan) -> bool:
    """Find the source and check it can be restored from; False when there is nothing to plan with."""
    engine, source = plan.engine, plan.request.source
    found = api.get(source)
    if found is None:
        if other is not None and _exists(other, source):
            plan.other_engine_source = True
            plan.problems.append(f"{source!r} is an {other.engine.label}, not an {engine.label}: give engine {other.engine.name}")
        else:
            plan.problems.append(f"{engine.label} {source!r} not found in resource group {api.resource_group!r} of subscription "
                                 f"{api.subscription_id} (check the name, resource_group, subscription_id and engine)")
        return False
    plan.source = found
    state = server_state(found) or "unknown"
    if state.lower() in UNRESTORABLE_STATES:
        plan.problems.append(f"{engine.label} {source!r} is {state!r}: a point-in-time restore needs a source that exists and is usable "
                             f"(Ready, Stopped, Updating...)")
    return True


def _choose_point(plan: Plan, api: FlexibleApi, now: _dt.datetime) -> None:
    request, engine = plan.request, plan.engine
    earliest = earliest_restore(plan.source)
    plan.window = (earliest, now)
    if earliest is None:
        plan.problems.append(f"{engine.label} {request.source!r} reports no backup.earliestRestoreDate: it has no backup to restore "
                             f"from yet (a new server becomes restorable after its first backup); run again later")
        return
    if request.use_latest:
        reused = _unfinished_latest_point(api, request.source)
        if reused is not None:
            plan.point, plan.point_source = reused, "reused"
            return
        plan.point, plan.point_source = (now - LATEST_MARGIN).replace(microsecond=0), "latest"
        if plan.point < earliest:
            plan.problems.append(f"{engine.label} {request.source!r}: its earliest restore point {to_iso(earliest)} is less than "
                                 f"{LATEST_MARGIN.seconds} seconds old: nothing is restorable yet; run again in a minute")
        return
    plan.point, plan.point_source = request.restore_point, "explicit"
    if plan.point is None:
        return
    if plan.point > now:
        plan.problems.append(f"restore point {to_iso(plan.point)} is in the future (now is {to_iso(now)}): choose a past time, "
                             f"or use restore_use_latest")
    elif plan.point < earliest:
        plan.problems.append(f"restore point {to_iso(plan.point)} is outside the restorable window of {engine.label} {request.source!r} "
                             f"[{to_iso(earliest)}, now]: it is before the earliest restore date (the server's creation or the start of "
                             f"its backup retention of {((plan.source.get('properties') or {}).get('backup') or {}).get('backupRetentionDays')} "
                             f"days)")


def _check_target(api: FlexibleApi, plan: Plan) -> None:
    request, engine = plan.request, plan.engine
    try:
        plan.target = (check_name(request.target, FLEXIBLE_MAX, "target_server") if request.target
                       else default_target(request.source, plan.point, FLEXIBLE_MAX))
    except AzureNamingError as exc:
        plan.problems.append(str(exc))
        return
    if plan.target == request.source:
        plan.problems.append(f"the target {plan.target!r} is the source itself: a restore always creates a new server")
        return
    found = api.get(plan.target)
    if found is not None:
        tags = tags_of(found)
        problem = ownership_problem(tags, request.source, plan.point, f"{engine.label} {plan.target!r}")
        if problem:
            plan.problems.append(problem)
        plan.target_server, plan.target_state = found, tags.get(TAG_STATE)


def preflight(api: FlexibleApi, request: Request, now: _dt.datetime, other: FlexibleApi | None = None) -> Plan:
    """Check everything and plan the restore; ``plan.problems`` lists whatever stands in the way.

    ``other`` is the other engine's API, used only to say what a source of the wrong engine is.
    """
    plan = Plan(request)
    if request.use_latest == (request.restore_point is not None):
        plan.problems.append("give exactly one of restore_point and restore_use_latest=true")
        return plan
    try:
        check_name(request.source, FLEXIBLE_MAX, "source_server")
    except AzureNamingError as exc:
        plan.problems.append(str(exc))
        return plan
    if not _check_source(api, other, plan):
        return plan
    _choose_point(plan, api, now)
    if plan.point is None:
        return plan
    plan.wanted = wanted_settings(plan.source)
    _check_target(api, plan)
    return plan
