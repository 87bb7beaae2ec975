# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The phases of a Cosmos DB (NoSQL) account point-in-time restore.

* preflight - ``cosmosdb_restore_plan.preflight``: every check, nothing changed.
* prepare   - the whole restore, while the application still runs: the restore into a new account
  (``createMode: Restore``, made once: an account already tagged as ours is continued, never
  restored again), waited for, then the default consistency set to **Strong** (a restored account
  comes back with Session whatever the source had, and ScalarDB needs Strong).  Marks the target
  ``prepared``.
* cutover   - nothing changes in Azure: it answers the properties the workloads switch to
  (``scalar.db.contact_points`` = the new document endpoint) and, separately, the secret one
  (``scalar.db.password`` = the new account's primary key).  The key is returned by this phase
  only; callers must keep it out of output (``no_log``).
* verify    - the target is Succeeded, Strong, holds the databases restored, its endpoint is
  probed where reachable; marks it ``verified``.

Every phase is safe to run again; a run that died anywhere continues from what Azure shows.

Long-running operations: the run that starts one waits on the SDK's poller (which reports an
operation failure with Azure's code and message); a run that finds one under way (the account
``Creating``/``Updating``) waits on the account's ``provisioningState``.  HTTP-level retries
(connection errors, 408/429/5xx, ``Retry-After``) are azure-core's retry policy's, as configured
by ``azure_client``; the one Cosmos DB refusal it does not cover - 412 "an operation is already in
progress" on an update - is waited out here.
"""

from __future__ import annotations

import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable

from ansible_collections.scalarops.pitr.plugins.module_utils.azure_client import (
    AzureCoreError,
    HttpResponseError,
    azure_error_code,
    describe_azure_error,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.azure_naming import (
    STATE_PREPARED,
    STATE_RESTORING,
    STATE_VERIFIED,
    TAG_STATE,
    ownership_problem,
    ownership_tags,
    tags_of,
    without_ours,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.concurrency import Deadline, WaitTimeout
from ansible_collections.scalarops.pitr.plugins.module_utils.cosmosdb_restore_plan import (
    BUSY_STATES,
    Plan,
    Request,
    get_account,
    preflight,
    text,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_wait import Poller
from ansible_collections.scalarops.pitr.plugins.module_utils.endpoint_probe import probe
from ansible_collections.scalarops.pitr.plugins.module_utils.progress_file import Progress
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_phase import (
    PhaseOptions,
    PhaseRun,
    PreflightFailed,
    RestoreFailed,
    check_phase,
    phase_result,
    require_clean,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import to_iso

try:
    from azure.mgmt.cosmosdb import models as cosmos_models

    HAS_COSMOSDB = True
    COSMOSDB_IMPORT_ERROR = None
except ImportError as _exc:  # the module reports the missing library before anything here runs
    cosmos_models = None  # pylint: disable=invalid-name
    HAS_COSMOSDB = False
    COSMOSDB_IMPORT_ERROR = _exc

PHASES = ("preflight", "prepare", "cutover", "verify")
STRONG = "Strong"
SUCCEEDED = "succeeded"
CONTACT_POINTS = "scalar.db.contact_points"
PASSWORD = "scalar.db.password"  # the property name; its value (the key) is only in the cutover result
DEFAULT_KIND = "GlobalDocumentDB"


@dataclass
class Options(PhaseOptions):
    """The Cosmos DB phases' options: the shared ones, and how the run waits (its own poller, from these)."""

    wait_timeout: float = 7200.0
    first_delay: float = 1.0         # polling of provisioningState (a resumed operation)
    max_delay: float = 15.0
    progress_every: float = 5.0      # seconds between progress reports while an SDK poller waits
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)


def status_of(account: Any) -> str:
    return text(getattr(account, "provisioning_state", None)) or "Unknown"


def consistency_of(account: Any) -> str:
    return text(getattr(getattr(account, "consistency_policy", None), "default_consistency_level", None))


def azure_reason(exc: BaseException) -> str:
    """Azure's ``code: message`` of a failed call or operation (never request data)."""
    error = getattr(exc, "error", None)
    code = azure_error_code(exc) or getattr(exc, "reason", None) or type(exc).__name__
    message = getattr(error, "message", None) or str(getattr(exc, "message", "") or exc).split("\n", maxsplit=1)[0]
    message = " ".join(str(message).split())
    if message.startswith(f"({code})"):
        message = message[len(code) + 2:].strip()
    return f"{code}: {message}" if message else str(code)


class _Run(PhaseRun):
    """One phase for one plan: records steps and timings, reports progress."""

    def __init__(self, cosmos: Any, plan: Plan, options: Options, on_progress: Callable[[Progress], None] | None, phase: str) -> None:
        super().__init__(plan, options, on_progress, phase)
        self.cosmos = cosmos
        self.plan: Plan = plan
        self.options: Options = options
        self.rg = plan.request.resource_group
        self.deadline = Deadline(float(options.wait_timeout))
        self.poller = Poller(deadline=self.deadline, first_delay=options.first_delay, max_delay=options.max_delay, sleep=options.sleep)

    def get_target(self) -> Any:
        return get_account(self.cosmos, self.rg, self.plan.target)

    # --- waiting ------------------------------------------------------------------------------------------------------
    def polling(self) -> dict[str, Any]:
        """SDK keywords of an operation started: without ``wait`` no poller thread is started (nothing would read it)."""
        return {} if self.options.wait else {"polling": False}

    def wait_lro(self, lro: Any, what: str) -> Any:
        """Wait for an SDK poller within the run's deadline; an operation failure becomes RestoreFailed with Azure's reason."""
        try:
            while not lro.done():
                remaining = self.deadline.remaining()
                if remaining <= 0:
                    raise WaitTimeout(f"Cosmos DB account {self.plan.target} ({what})", self.deadline.seconds, self.deadline.elapsed(),
                                      lro.status())
                lro.wait(min(remaining, self.options.progress_every))
                self.progress(f"{what}: {lro.status()}")
            return lro.result()
        except HttpResponseError as exc:
            raise RestoreFailed(self.failure_message(what, exc)) from None

    def failure_message(self, what: str, exc: BaseException) -> str:
        message = f"{what} of Cosmos DB account {self.plan.target!r} failed: {azure_reason(exc)}"
        try:
            found = self.get_target()
        except Exception:  # pylint: disable=broad-exception-caught  # only refines the advice
            found = None
        if found is not None and status_of(found).lower() == "failed":
            message += f"; the account is left in state Failed: delete it (resource group {self.rg!r}) and run again"
        return message

    def wait_settled(self, what: str) -> Any:
        """Wait until no operation changes the target (provisioningState no longer Creating/Updating...); Failed is an error."""
        def look() -> Any:
            found = self.get_target()
            self.progress(f"{what}: {status_of(found) if found is not None else 'not visible yet'}")
            return found

        started = time.monotonic()
        found = self.poller.until(look, lambda found: found is not None and status_of(found).lower() not in BUSY_STATES,
                                  f"Cosmos DB account {self.plan.target} to finish {what}")
        self.step("wait", False, started, what=what, status=status_of(found))
        if status_of(found).lower() != SUCCEEDED:
            raise RestoreFailed(f"Cosmos DB account {self.plan.target!r} ended {what} in state {status_of(found)} (Azure keeps the reason "
                                f"in the account's activity log): delete it (resource group {self.rg!r}) and run again")
        return found

    # --- prepare ----------------------------------------------------------------------------------------------------
    def restore_parameters(self) -> Any:
        plan, request = self.plan, self.plan.request
        live = plan.live_source
        tags = without_ours(tags_of(live) if live is not None else {})
        tags.update(ownership_tags(request.source, plan.point, request.use_latest, STATE_RESTORING))
        tier = text(getattr(getattr(getattr(live, "backup_policy", None), "continuous_mode_properties", None), "tier", None))
        backup = cosmos_models.ContinuousModeBackupPolicy(
            continuous_mode_properties=cosmos_models.ContinuousModeProperties(tier=tier)) if tier else cosmos_models.ContinuousModeBackupPolicy()
        databases = [cosmos_models.DatabaseRestoreResource(database_name=name) for name in request.databases] if request.databases else None
        restore = cosmos_models.RestoreParameters(restore_mode="PointInTime", restore_source=plan.source.id,
                                                  restore_timestamp_in_utc=plan.point, databases_to_restore=databases)
        return cosmos_models.DatabaseAccountCreateUpdateParameters(
            location=plan.location, kind=text(getattr(live, "kind", None)) or DEFAULT_KIND, tags=tags,
            locations=[cosmos_models.Location(location_name=plan.location, failover_priority=0)],
            database_account_offer_type="Standard", create_mode="Restore", backup_policy=backup, restore_parameters=restore)

    def restore(self) -> Any:
        """Start the restore; return its SDK poller, or None when an earlier attempt's account turned up (then it is waited for)."""
        plan = self.plan
        started = time.monotonic()
        try:
            lro = self.cosmos.database_accounts.begin_create_or_update(self.rg, plan.target, self.restore_parameters(), **self.polling())
        except HttpResponseError as exc:
            if getattr(exc, "status_code", None) != 409:
                raise
            # An earlier attempt whose answer was lost (azure-core retried the PUT): fine if the account is ours.
            found = self.get_target()
            problem = ownership_problem(tags_of(found) if found is not None else {}, plan.request.source, plan.point,
                                        f"Cosmos DB account {plan.target!r}")
            if problem:
                raise RestoreFailed(f"the restore was refused ({azure_reason(exc)}): {problem}") from None
            lro = None
        self.restore_called = True
        self.step("restore", True, started, restore_source=plan.source.id, restore_time=to_iso(plan.point), location=plan.location)
        return lro

    def update(self, what: str, **changes: Any) -> Any:
        """PATCH the target (an LRO); while another operation holds the account (412) wait for it and try again."""
        params = cosmos_models.DatabaseAccountUpdateParameters(**changes)
        while True:
            try:
                lro = self.cosmos.database_accounts.begin_update(self.rg, self.plan.target, params, **self.polling())
                break
            except HttpResponseError as exc:
                if getattr(exc, "status_code", None) != 412 or self.deadline.expired():
                    raise
                self.wait_settled(f"the operation before {what}")
        if not self.options.wait:
            return None
        return self.wait_lro(lro, what)

    def make_strong(self, account: Any) -> Any:
        """Consistency Strong and our state ``prepared``, in one update (a crash leaves both undone or both done)."""
        tags = tags_of(account)
        if consistency_of(account) == STRONG and tags.get(TAG_STATE) in (STATE_PREPARED, STATE_VERIFIED):
            return account
        if self.options.check_mode:
            self.planned("set consistency", consistency=STRONG)
            return None
        started = time.monotonic()
        tags[TAG_STATE] = STATE_VERIFIED if tags.get(TAG_STATE) == STATE_VERIFIED else STATE_PREPARED
        updated = self.update("setting consistency Strong", tags=tags,
                              consistency_policy=cosmos_models.ConsistencyPolicy(default_consistency_level=STRONG))
        self.step("set consistency", True, started, consistency=STRONG, was=consistency_of(account))
        return updated

    def prepare(self) -> dict[str, Any]:
        account = self.plan.target_account
        if account is None:
            if self.options.check_mode:
                self.planned("restore", restore_source=self.plan.source.id, restore_time=to_iso(self.plan.point), location=self.plan.location)
                self.planned("set consistency", consistency=STRONG)
                return {"status": "planned"}
            lro = self.restore()
            if not self.options.wait:
                return {"status": "in_progress"}
            account = self.wait_lro(lro, "restoring") if lro is not None else self.wait_settled("restoring")
        elif status_of(account).lower() in BUSY_STATES:
            if self.options.check_mode:
                self.planned("wait", what="restoring", status=status_of(account))
                self.make_strong(account)
                return {"status": "planned"}
            if not self.options.wait:
                return {"status": "in_progress"}
            account = self.wait_settled("restoring" if tags_of(account).get(TAG_STATE) == STATE_RESTORING else "updating")
        account = self.make_strong(account)
        if self.options.check_mode and self.changed:
            return {"status": "planned"}
        if account is None:
            return {"status": "in_progress"}
        self.done = 1
        self.progress("")
        return {"status": "prepared"}

    # --- later phases -------------------------------------------------------------------------------------------
    def checked(self) -> dict[str, Any]:
        account = self.plan.target_account
        self.changed = account is None or self.plan.target_state not in (STATE_PREPARED, STATE_VERIFIED) or consistency_of(account) != STRONG
        return {"status": "checked"}

    def target_ready(self) -> Any:
        """The prepared target (waited for while an operation changes it); None in check mode when it does not exist yet."""
        found = self.get_target()
        if found is None and self.options.check_mode:
            return None
        if found is None:
            raise RestoreFailed(f"Cosmos DB account {self.plan.target!r} does not exist: run the prepare phase first")
        state = tags_of(found).get(TAG_STATE)
        if state not in (STATE_PREPARED, STATE_VERIFIED):
            raise RestoreFailed(f"Cosmos DB account {self.plan.target!r} is not prepared yet (state {state!r}, provisioningState "
                                f"{status_of(found)}): run the prepare phase again to finish it")
        if status_of(found).lower() in BUSY_STATES:
            found = self.wait_settled("updating")
        if status_of(found).lower() != SUCCEEDED:
            raise RestoreFailed(f"Cosmos DB account {self.plan.target!r} is in state {status_of(found)}, not Succeeded")
        if consistency_of(found) != STRONG:
            raise RestoreFailed(f"Cosmos DB account {self.plan.target!r} has default consistency {consistency_of(found)}, not Strong "
                                f"(changed since the prepare?): run the prepare phase again to set it")
        return found

    def cutover(self) -> dict[str, Any]:
        account = self.target_ready()
        if account is None:
            return {"status": "planned", "properties": {}, "secret_properties": {}}
        keys = self.cosmos.database_accounts.list_keys(self.rg, self.plan.target)
        return {"status": "switch", "properties": {CONTACT_POINTS: account.document_endpoint},
                "secret_properties": {PASSWORD: keys.primary_master_key}}

    def verify(self) -> dict[str, Any]:
        account = self.target_ready()
        if account is None:
            return {"status": "planned"}
        present = sorted(str(database.name) for database in self.cosmos.sql_resources.list_sql_databases(self.rg, self.plan.target))
        missing = [database["name"] for database in self.plan.databases if database["name"] not in present]
        if missing:
            raise RestoreFailed(f"Cosmos DB account {self.plan.target!r} lacks the database(s) {', '.join(missing)} the restore should "
                                f"have brought back (it holds: {', '.join(present) or 'none'})")
        endpoint = urllib.parse.urlsplit(str(account.document_endpoint or ""))
        host, port = endpoint.hostname, endpoint.port or 443
        reach = probe(host, int(port), self.options.probe_timeout) if host else {"reachable": False, "error": "no document endpoint"}
        if self.options.require_reachable and not reach.get("reachable"):
            raise RestoreFailed(f"Cosmos DB account {self.plan.target!r} is not reachable from here at {host}:{port}: {reach.get('error')} "
                                f"(require_reachable is set; leave it off where the account is only reachable through a private endpoint)")
        tags = tags_of(account)
        if tags.get(TAG_STATE) != STATE_VERIFIED:
            if self.options.check_mode:
                self.planned("mark verified")
            else:
                started = time.monotonic()
                tags[TAG_STATE] = STATE_VERIFIED
                self.update("marking it verified", tags=tags)
                self.step("mark verified", True, started)
        return {"status": "planned" if self.options.check_mode and self.changed else "verified", "reachability": reach,
                "databases": present}


def describe_target(cosmos: Any, plan: Plan) -> dict[str, Any]:
    """The target as the result reports it (never its keys)."""
    found = get_account(cosmos, plan.request.resource_group, plan.target) if plan.target else None
    if found is None:
        return {"identifier": plan.target, "resource_group": plan.request.resource_group, "exists": False}
    return {"identifier": plan.target, "resource_group": plan.request.resource_group, "exists": True, "id": found.id,
            "status": status_of(found), "state": tags_of(found).get(TAG_STATE), "consistency": consistency_of(found),
            "document_endpoint": found.document_endpoint, "location": found.location}


def run_phase(cosmos: Any, request: Request, phase: str, options: Options, on_progress: Callable[[Progress], None] | None = None,
              subscription_hint: str = "this subscription") -> dict[str, Any]:
    """Run ``phase``; return the module's result (``changed``, ``preflight``, ``target``, ``steps``, phase details).

    ``cosmos`` is an azure-mgmt-cosmosdb ``CosmosDBManagementClient``.  Only the cutover's result
    holds a secret (``secret_properties``).
    """
    check_phase(phase, PHASES)
    plan = preflight(cosmos, request, options.now(), subscription_hint)
    require_clean(plan, phase, plan.target_account is not None, "restorable time")
    run = _Run(cosmos, plan, options, on_progress, phase)
    try:
        outcome = run.outcome()
    except WaitTimeout as exc:
        raise RestoreFailed(f"{exc}; nothing is lost: running the same phase again continues from here", run.changed) from None
    except AzureCoreError as exc:
        message = describe_azure_error(exc, f"Cosmos DB {phase} of {request.source!r} into {plan.target!r}", "Microsoft.DocumentDB")
        status = getattr(exc, "status_code", None)
        if status is None or status >= 500 or status in (408, 429):  # transient: worth running again as it is
            message += ". Running the same phase again continues from here"
        raise RestoreFailed(message, run.changed) from None
    return phase_result(run, request.source, describe_target(cosmos, plan), outcome)


__all__ = ["COSMOSDB_IMPORT_ERROR", "CONTACT_POINTS", "HAS_COSMOSDB", "PASSWORD", "PHASES", "Options", "PreflightFailed", "RestoreFailed",
           "azure_reason", "describe_target", "run_phase"]
