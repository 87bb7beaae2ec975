# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The phases of an Azure Database for MySQL / PostgreSQL flexible server point-in-time restore.

* preflight - ``azure_flexible_plan.preflight``: every check, nothing changed.
* prepare   - the whole restore, while the application still runs: the restore (a PUT with
  ``createMode: PointInTimeRestore``, made once: a target already tagged as ours is continued - a
  run that died while the operation was running waits for the server to become Ready - never
  restored again), carrying the source's tags plus ours; then, once Ready, whatever the restore did
  not carry that a PATCH can set (tags, compute SKU, storage size, backup retention, high
  availability).  Marks the target ``prepared``.
* cutover   - nothing changes in Azure: it answers the endpoint switch for the workloads' JDBC URLs
  (the source's FQDN -> the target's FQDN and port).
* verify    - the target is Ready, answers on its endpoint where reachable; marks it ``verified``.

Every phase is safe to run again; a run that died anywhere continues from what Azure shows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ansible_collections.scalarops.pitr.plugins.module_utils.azure_client import AzureCoreError, azure_error_code, describe_azure_error
from ansible_collections.scalarops.pitr.plugins.module_utils.azure_flexible_api import (
    FlexibleApi,
    server_fqdn,
    server_port,
    server_state,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.azure_flexible_plan import (
    Plan,
    Request,
    missing_settings,
    preflight,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.azure_naming import (
    STATE_PREPARED,
    STATE_RESTORING,
    STATE_VERIFIED,
    TAG_STATE,
    ownership_problem,
    ownership_tags,
    tags_of,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.concurrency import Deadline, WaitTimeout
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_wait import Poller
from ansible_collections.scalarops.pitr.plugins.module_utils.endpoint_probe import probe
from ansible_collections.scalarops.pitr.plugins.module_utils.progress_file import Progress
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_phase import (
    EndpointSwitchRun,
    PhaseOptions,
    PreflightFailed,
    RestoreFailed,
    check_phase,
    phase_result,
    require_clean,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import RestorePointError, parse_timestamp, to_iso

PHASES = ("preflight", "prepare", "cutover", "verify")
READY = "Ready"
# A server in these states is on its way to Ready by itself; anything else after a restore is a failure.
_TRANSIENT = frozenset({"provisioning", "updating", "starting", "restarting"})
# Codes of a PUT that found the name taken (a lost answer of our own earlier PUT, or someone else's server).
_EXISTS_CODES = frozenset({"ServerAlreadyExists", "Conflict", "ResourceExists", "NameAlreadyExists"})


@dataclass
class Options(PhaseOptions):
    """The flexible server phases' options: the shared ones, and how long and how often to poll Azure."""

    poller: Poller = field(default_factory=Poller)


class _Run(EndpointSwitchRun):
    """One phase for one plan: records steps and timings, reports progress."""

    def __init__(self, api: FlexibleApi, plan: Plan, options: Options, on_progress: Callable[[Progress], None] | None, phase: str) -> None:
        super().__init__(plan, options, on_progress, phase)
        self.api = api
        self.plan: Plan = plan
        self.options: Options = options

    @property
    def label(self) -> str:
        return f"{self.plan.engine.label} {self.plan.target!r}"

    # --- bookkeeping ---------------------------------------------------------------------------------------------
    def fail(self, exc: BaseException, action: str) -> RestoreFailed:
        """A failed Azure call or operation as RestoreFailed, with Azure's code and message."""
        return RestoreFailed(describe_azure_error(exc, action, self.plan.engine.namespace))

    # --- waiting ----------------------------------------------------------------------------------------------------
    def wait_poller(self, poller: Any, what: str) -> None:
        """Wait for the SDK's poller within the deadline, reporting progress; its failure raises RestoreFailed."""
        poller_options = self.options.poller
        deadline = poller_options.deadline if isinstance(poller_options.deadline, Deadline) else Deadline(float(poller_options.deadline))
        try:
            while not poller.done():
                remaining = deadline.remaining()
                if remaining <= 0:
                    raise WaitTimeout(f"{self.label} ({what})", deadline.seconds, deadline.elapsed(), poller.status())
                self.progress(f"{what}: {poller.status()}")
                # wait() re-raises what ended the operation (HttpResponseError with Azure's code and message).
                poller.wait(min(remaining, max(0.05, poller_options.max_delay)))
            poller.result()
        except AzureCoreError as exc:  # the operation failed: Azure's code and message, translated
            raise self.fail(exc, f"{what} {self.label}") from None

    def wait_ready(self, what: str) -> dict[str, Any]:
        """Poll the target until it is Ready (an operation an earlier run started); fail when it vanished or broke."""
        def look() -> dict[str, Any] | None:
            found = self.api.get(self.plan.target)
            self.progress(f"{what}: {server_state(found) if found else 'gone'}")
            return found

        def settled(found: dict[str, Any] | None) -> bool:
            return found is None or (server_state(found) or "").lower() not in _TRANSIENT

        started = time.monotonic()
        found = self.options.poller.until(look, settled, f"{self.label} to be {READY} ({what})")
        if found is None:
            raise RestoreFailed(f"{self.label} disappeared while {what}: Azure removes a server whose restore failed; "
                                f"run the prepare phase again to start a new restore")
        if server_state(found) != READY:
            raise RestoreFailed(f"{self.label} is {server_state(found)!r}, not {READY} ({what}): start it or fix it in Azure, "
                                f"then run the phase again")
        self.step("wait ready", False, started, what=what)
        return found

    # --- prepare ----------------------------------------------------------------------------------------------------
    def restore_body(self) -> dict[str, Any]:
        plan, engine = self.plan, self.plan.engine
        source_props = plan.source.get("properties") or {}
        properties: dict[str, Any] = {
            "createMode": "PointInTimeRestore",
            "sourceServerResourceId": plan.source["id"],
            engine.time_field: to_iso(plan.point).replace("+00:00", "Z"),
        }
        network = source_props.get("network") or {}
        if network.get("delegatedSubnetResourceId"):
            # A VNet-integrated (private access) source: restore into the same subnet and private DNS zone.
            properties["network"] = {key: network[key] for key in ("delegatedSubnetResourceId", engine.dns_zone_key) if network.get(key)}
        request = plan.request
        tags = {**plan.wanted.get("tags", {}), **ownership_tags(request.source, plan.point, request.use_latest, STATE_RESTORING)}
        return {"location": plan.source["location"], "tags": tags, "properties": properties}

    def restore(self) -> tuple[dict[str, Any] | None, Any]:
        """Start the restore unless the target exists already (then it is ours: preflight checked); (server, poller)."""
        plan = self.plan
        if plan.target_server is not None:
            return plan.target_server, None
        if self.options.check_mode:
            self.planned("restore", restore_time=to_iso(plan.point))
            return None, None
        started = time.monotonic()
        poller = None
        try:
            poller = self.api.begin_create(plan.target, self.restore_body(), polling=self.options.wait)
        except AzureCoreError as exc:  # "already exists" after a lost answer is checked below
            if azure_error_code(exc) not in _EXISTS_CODES and getattr(exc, "status_code", None) != 409:
                raise self.fail(exc, f"start the point-in-time restore of {plan.engine.label} {plan.request.source!r} into {plan.target!r}") from None
            self.adopt_existing()
        else:
            self.restore_called = True
        self.step("restore", True, started, restore_time=to_iso(plan.point))
        return self.api.get(plan.target) or {}, poller

    def adopt_existing(self) -> None:
        """A create answered "already exists": fine if it is ours (an earlier attempt whose answer was lost)."""
        found = self.api.get(self.plan.target)
        problem = ownership_problem(tags_of(found) if found else {}, self.plan.request.source, self.plan.point, self.label)
        if problem:
            raise RestoreFailed(problem)

    def apply_settings(self, server: dict[str, Any]) -> list[str]:
        """Give the Ready target what it lacks of the source's settings; return the names of the settings changed."""
        missing = missing_settings(self.plan.wanted, server)
        if not missing:
            return []
        if self.options.check_mode:
            self.changed = True
            return sorted(missing)
        body: dict[str, Any] = {}
        properties: dict[str, Any] = {}
        if "tags" in missing:
            body["tags"] = {**tags_of(server), **missing["tags"]}  # a PATCH replaces all tags: send ours too
        if "sku" in missing:
            body["sku"] = missing["sku"]
        if "storage_gb" in missing:
            properties["storage"] = {"storageSizeGB": missing["storage_gb"]}
        if "backup_retention_days" in missing:
            properties["backup"] = {"backupRetentionDays": missing["backup_retention_days"]}
        if "high_availability" in missing:
            properties["highAvailability"] = {"mode": missing["high_availability"]}
        if properties:
            body["properties"] = properties
        started = time.monotonic()
        try:
            poller = self.api.begin_update(self.plan.target, body)
        except AzureCoreError as exc:  # translated with Azure's code and message
            raise self.fail(exc, f"copy the source's settings ({', '.join(sorted(missing))}) to {self.label}") from None
        self.wait_poller(poller, "copying settings")
        self.step("copy settings", True, started, settings=sorted(missing))
        return sorted(missing)

    def set_state(self, server: dict[str, Any], state: str) -> None:
        tags = tags_of(server)
        current = tags.get(TAG_STATE)
        # A prepare run again after verify must not take "verified" back (a use_latest run would take the
        # target for an unfinished one and reuse its point).
        if current == state or (current == STATE_VERIFIED and state == STATE_PREPARED):
            return
        if self.options.check_mode:
            self.changed = True  # a real run would tag it
            return
        started = time.monotonic()
        try:
            poller = self.api.begin_update(self.plan.target, {"tags": {**tags, TAG_STATE: state}})
        except AzureCoreError as exc:  # translated with Azure's code and message
            raise self.fail(exc, f"tag {self.label} {state}") from None
        self.wait_poller(poller, f"tagging {state}")
        self.step(f"mark {state}", True, started)

    def prepare(self) -> dict[str, Any]:
        server, poller = self.restore()
        if server is None:  # check mode, nothing exists yet: everything after the restore is planned
            return {"status": "planned"}
        if not self.options.wait:
            return {"status": "in_progress"}
        if poller is not None:
            self.wait_poller(poller, "restoring")
        server = self.wait_ready("restoring" if self.restore_called else "continuing")
        applied = self.apply_settings(server)
        if self.options.check_mode:
            return {"status": "planned", "settings_applied": applied}
        if applied:
            server = self.wait_ready("applying settings")
        self.done = 1
        self.set_state(server, STATE_PREPARED)
        return {"status": "prepared", "settings_applied": applied}

    # --- later phases -------------------------------------------------------------------------------------------
    def target_ready(self) -> dict[str, Any] | None:
        """The prepared target (waited for until Ready); None in check mode when it does not exist yet."""
        found = self.api.get(self.plan.target)
        if found is None and self.options.check_mode:
            return None  # a check-mode run planned the prepare: there is nothing to check yet
        if found is None:
            raise RestoreFailed(f"{self.label} does not exist: run the prepare phase first")
        state = tags_of(found).get(TAG_STATE)
        if state not in (STATE_PREPARED, STATE_VERIFIED):
            raise RestoreFailed(f"{self.label} is not prepared yet (state {state!r}, server {server_state(found)!r}): "
                                f"run the prepare phase again to finish it")
        if server_state(found) != READY:
            found = self.wait_ready("before switching")
        return found

    @property
    def existing(self) -> dict[str, Any] | None:
        return self.plan.target_server

    def source_label(self) -> str:
        return f"{self.plan.engine.label} {self.plan.request.source}"

    def endpoint(self, target: dict[str, Any]) -> tuple[str | None, int | None]:
        return server_fqdn(target), server_port(target, self.plan.engine)

    def verify(self) -> dict[str, Any]:
        server = self.target_ready()
        if server is None:
            return {"status": "planned"}
        host, port = self.endpoint(server)
        reach = probe(host, port, self.options.probe_timeout) if host else {"reachable": False, "error": "no endpoint"}
        if self.options.require_reachable and not reach.get("reachable"):
            raise RestoreFailed(f"{self.label} is not reachable from here at {host}:{port}: {reach.get('error')} (require_reachable is set; "
                                f"leave it off where the server is only reachable inside its virtual network)")
        self.set_state(server, STATE_VERIFIED)
        return {"status": "verified", "reachability": reach}


def describe_target(api: FlexibleApi, plan: Plan) -> dict[str, Any]:
    """The target as the result reports it (no credentials: a server's JSON holds none but the admin login, left out)."""
    found = api.get(plan.target) if plan.target else None
    if found is None:
        return {"identifier": plan.target, "exists": False}
    props = found.get("properties") or {}
    fqdn = server_fqdn(found)
    return {"identifier": plan.target, "exists": True, "status": server_state(found), "state": tags_of(found).get(TAG_STATE),
            "id": found.get("id"), "location": found.get("location"), "fqdn": fqdn, "endpoint": fqdn,
            "port": server_port(found, plan.engine), "version": props.get("version"), "sku": (found.get("sku") or {}).get("name"),
            "restore_point_in_time": _iso_or_raw(props.get(plan.engine.time_field))}


def _iso_or_raw(value: Any) -> Any:
    """A time Azure reports, in the collection's ISO form (the API versions format it differently); as given if unparsable."""
    if not value:
        return None
    try:
        return to_iso(parse_timestamp(str(value), "time"))
    except RestorePointError:
        return value


def run_phase(api: FlexibleApi, request: Request, phase: str, options: Options, other: FlexibleApi | None = None,
              on_progress: Callable[[Progress], None] | None = None) -> dict[str, Any]:
    """Run ``phase``; return the module's result (``changed``, ``preflight``, ``target``, ``steps``, phase details).

    ``other`` is the other engine's API (to name a source of the wrong engine); errors of Azure calls
    outside the restore's own operations propagate as azure-core exceptions or :class:`AzureError`.
    """
    check_phase(phase, PHASES)
    plan = preflight(api, request, options.now(), other)
    require_clean(plan, phase, plan.target_server is not None, "restorable window")
    run = _Run(api, plan, options, on_progress, phase)
    outcome = run.outcome()
    return phase_result(run, request.source, describe_target(api, plan), outcome, engine=request.engine.name, sdk=api.family)


__all__ = ["PHASES", "Options", "PreflightFailed", "Request", "RestoreFailed", "describe_target", "run_phase"]
