# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Preflight of a Cosmos DB (NoSQL) account point-in-time restore: every check, nothing changed.

``preflight`` reads the restorable (continuous backup) accounts of the source's name, the live
source, what existed at the restore point and the target name, and returns a ``Plan`` the later
phases follow.  Every problem found is collected, so one run names them all.

Choosing the source: Cosmos DB account names are reused (an account deleted and created again
under the same name), and every incarnation with continuous backup is a separate restorable
account with its own instance id and its own [creation, deletion] lifetime.  The one to restore
from is the one that was alive at the restore point; with none, the message lists them all.

``restore_use_latest`` becomes a concrete time here: the present minus ``LATEST_MARGIN`` (the
latest restorable time of continuous backup trails the present; Azure does not publish one value
per account), in whole seconds - or, when an earlier use_latest run left an unfinished target of
this source, that target's restore point, so a re-run continues it instead of starting another.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.azure_client import is_not_found
from ansible_collections.scalarops.pitr.plugins.module_utils.azure_naming import (
    COSMOS_MAX,
    TAG_STATE,
    AzureNamingError,
    check_name,
    default_target,
    ownership_problem,
    tags_of,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_phase import unfinished_latest_point
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import UTC, to_iso

# How far before "now" restore_use_latest restores to: continuous backup's latest restorable time
# trails the present by a couple of minutes, and a point past it is refused by the restore.
LATEST_MARGIN = _dt.timedelta(minutes=5)
# The only API whose accounts ScalarDB uses (Cosmos DB for NoSQL).
SQL_API = "sql"
# provisioningState values of an account that an operation is still changing.
BUSY_STATES = frozenset({"creating", "updating", "deleting", "initializing", "restoring"})


def text(value: Any) -> str:
    """An SDK enum (``ApiType.SQL``) or plain value as its string value."""
    return str(getattr(value, "value", value) or "")


def short_location(location: str) -> str:
    """ARM's short form of a region: ``West US`` -> ``westus``."""
    return "".join(str(location or "").split()).lower()


def utc_text(moment: _dt.datetime) -> str:
    """A time as Azure's query parameters show it: UTC, milliseconds, ``Z``."""
    return to_iso(moment).replace("+00:00", "Z")


def aware(value: Any) -> _dt.datetime | None:
    """An SDK timestamp (aware already; a naive one is read as UTC), None for anything else."""
    if not isinstance(value, _dt.datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Request:
    """What the user asked for."""

    source: str
    resource_group: str
    target: str | None = None                  # None: <source>-pitr-<restore point>
    location: str | None = None                # None: the source's region
    databases: tuple[str, ...] | None = None   # None: every database that existed at the point
    restore_point: _dt.datetime | None = None
    use_latest: bool = False


@dataclass(frozen=True)
class Candidate:
    """One restorable incarnation of an account name (``restorableDatabaseAccounts`` entry)."""

    id: str
    instance_id: str
    account_name: str
    location: str
    creation_time: _dt.datetime | None
    deletion_time: _dt.datetime | None
    oldest_restorable_time: _dt.datetime | None
    api_type: str = "Sql"
    locations: tuple[str, ...] = ()            # the regions it can be restored into (short form)

    @classmethod
    def from_sdk(cls, entry: Any) -> Candidate:
        regions = tuple(short_location(getattr(region, "location_name", "")) for region in getattr(entry, "restorable_locations", None) or [])
        return cls(id=str(entry.id), instance_id=str(entry.name), account_name=str(entry.account_name), location=str(entry.location or ""),
                   creation_time=aware(entry.creation_time), deletion_time=aware(entry.deletion_time),
                   oldest_restorable_time=aware(entry.oldest_restorable_time), api_type=text(entry.api_type) or "Sql", locations=regions)

    @property
    def alive(self) -> bool:
        return self.deletion_time is None

    @property
    def path_location(self) -> str:
        """The region segment of its id (``.../locations/{loc}/restorableDatabaseAccounts/...``): where its feeds live."""
        parts = self.id.split("/")
        lowered = [part.lower() for part in parts]
        if "locations" in lowered:
            return parts[lowered.index("locations") + 1]
        return short_location(self.location)

    def lifetime_contains(self, moment: _dt.datetime, now: _dt.datetime) -> bool:
        """Was this incarnation alive at ``moment`` (creation <= moment <= deletion, or now while alive)?"""
        start = self.creation_time
        end = self.deletion_time or now
        return (start is None or start <= moment) and moment <= end

    def window(self, now: _dt.datetime) -> tuple[_dt.datetime | None, _dt.datetime]:
        """(earliest, latest) restorable time: from the later of its creation and oldest restorable time, to its deletion or now."""
        starts = [moment for moment in (self.oldest_restorable_time, self.creation_time) if moment is not None]
        return (max(starts) if starts else None), (self.deletion_time or now)

    def describe(self) -> str:
        created = to_iso(self.creation_time) if self.creation_time else "?"
        ended = f"deleted {to_iso(self.deletion_time)}" if self.deletion_time else "alive"
        return f"instance {self.instance_id} in {self.location} (created {created}, {ended})"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "instance_id": self.instance_id, "account_name": self.account_name, "location": self.location,
                "creation_time": to_iso(self.creation_time) if self.creation_time else None,
                "deletion_time": to_iso(self.deletion_time) if self.deletion_time else None,
                "oldest_restorable_time": to_iso(self.oldest_restorable_time) if self.oldest_restorable_time else None,
                "api_type": self.api_type, "alive": self.alive}


def choose_candidate(candidates: list[Candidate], moment: _dt.datetime, now: _dt.datetime) -> tuple[Candidate | None, str | None]:
    """The incarnation alive at ``moment`` (the latest created when two touch), or None and why, listing them all.

    A name never reused has one incarnation: it is returned whatever ``moment`` is, so that the window check
    names its restorable window instead of a list of one.
    """
    alive_then = [candidate for candidate in candidates if candidate.lifetime_contains(moment, now)]
    if alive_then:
        return max(alive_then, key=lambda candidate: candidate.creation_time or _dt.datetime.min.replace(tzinfo=UTC)), None
    if len(candidates) == 1:
        return candidates[0], None
    if not candidates:
        return None, None
    name = candidates[0].account_name
    listed = "; ".join(candidate.describe() for candidate in sorted(candidates, key=lambda c: c.creation_time or now))
    return None, (f"no restorable Cosmos DB account named {name!r} existed at {to_iso(moment)}: the restorable accounts of "
                  f"that name are: {listed}")


def latest_candidate(candidates: list[Candidate]) -> tuple[Candidate | None, str | None]:
    """For restore_use_latest: the incarnation alive now, or None and why (a deleted account needs an explicit point)."""
    alive = [candidate for candidate in candidates if candidate.alive]
    if alive:
        return max(alive, key=lambda candidate: candidate.creation_time or _dt.datetime.min.replace(tzinfo=UTC)), None
    if not candidates:
        return None, None
    newest = max(candidates, key=lambda candidate: candidate.deletion_time or _dt.datetime.min.replace(tzinfo=UTC))
    earliest, latest = newest.window(newest.deletion_time or _dt.datetime.now(UTC))
    return None, (f"Cosmos DB account {newest.account_name!r} no longer exists (deleted {to_iso(newest.deletion_time)}): "
                  f"restore_use_latest needs a live account; give restore_point instead, between "
                  f"{to_iso(earliest) if earliest else '?'} and {to_iso(latest)}")


def window_problem(candidate: Candidate, moment: _dt.datetime, now: _dt.datetime) -> str | None:
    """None when ``moment`` lies in the candidate's restorable window and not in the future; else what is wrong and what to do."""
    what = f"Cosmos DB account {candidate.account_name!r}"
    if moment > now:
        return f"restore point {to_iso(moment)} is in the future (now is {to_iso(now)})"
    earliest, latest = candidate.window(now)
    if earliest is not None and moment < earliest:
        return (f"{what}: restore point {to_iso(moment)} is before its oldest restorable time {to_iso(earliest)} "
                f"(continuous backup keeps the last 7 or 30 days, and nothing before the account's creation or the switch to "
                f"continuous backup): choose a point between {to_iso(earliest)} and {to_iso(latest)}")
    if moment > latest:
        return (f"{what}: restore point {to_iso(moment)} is after the account was deleted ({to_iso(latest)}): "
                f"choose a point between {to_iso(earliest) if earliest else '?'} and {to_iso(latest)}")
    return None


@dataclass
class Plan:
    request: Request
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)   # what the operator must act on (network settings not restored)
    candidates: list[Candidate] = field(default_factory=list)
    source: Candidate | None = None
    live_source: Any = None              # the source account (SDK model) when alive and found
    window: tuple[_dt.datetime | None, _dt.datetime | None] = (None, None)
    point: _dt.datetime | None = None
    point_source: str = ""               # explicit | latest | reused (an unfinished use_latest run's point)
    location: str = ""
    databases: list[dict[str, Any]] = field(default_factory=list)  # [{name, containers}] that the restore brings back
    target: str = ""
    target_account: Any = None           # the existing target (SDK model), ours
    target_state: str | None = None      # our state tag on it

    @property
    def target_status(self) -> str | None:
        return text(self.target_account.provisioning_state) if self.target_account is not None else None

    def to_dict(self) -> dict[str, Any]:
        earliest, latest = self.window
        source: dict[str, Any] = {"account_name": self.request.source, "resource_group": self.request.resource_group}
        if self.source is not None:
            source.update(self.source.to_dict())
        if self.live_source is not None:
            source["document_endpoint"] = self.live_source.document_endpoint
        return {
            "source": source,
            "candidates": [candidate.to_dict() for candidate in self.candidates],
            "restorable_window": {"earliest": to_iso(earliest) if earliest else None, "latest": to_iso(latest) if latest else None},
            "restore_point": {"time": to_iso(self.point) if self.point else None, "source": self.point_source},
            "location": self.location,
            "databases": [dict(database) for database in self.databases],
            "target": {"identifier": self.target, "resource_group": self.request.resource_group, "exists": self.target_account is not None,
                       "state": self.target_state, "status": self.target_status},
            "notes": list(self.notes),
            "warnings": list(self.warnings),
            "problems": list(self.problems),
        }


# --- reading Azure -----------------------------------------------------------------------------------------------
def get_account(cosmos: Any, resource_group: str, name: str) -> Any:
    """The account (SDK model), or None when it does not exist in ``resource_group``."""
    try:
        return cosmos.database_accounts.get(resource_group, name)
    except Exception as exc:  # pylint: disable=broad-exception-caught  # only "not found" is an answer; the rest is raised
        if is_not_found(exc):
            return None
        raise


def find_live_account(cosmos: Any, resource_group: str, name: str) -> Any:
    """The live account ``name``: in ``resource_group``, else anywhere in the subscription (names are global); None if none."""
    found = get_account(cosmos, resource_group, name)
    if found is not None:
        return found
    for account in cosmos.database_accounts.list():
        if str(account.name).lower() == name.lower():
            return account
    return None


def restorable_candidates(cosmos: Any, name: str) -> list[Candidate]:
    """Every restorable incarnation of the account name in the subscription, oldest first."""
    found = [Candidate.from_sdk(entry) for entry in cosmos.restorable_database_accounts.list()
             if str(entry.account_name or "").lower() == name.lower()]
    return sorted(found, key=lambda candidate: candidate.creation_time or _dt.datetime.min.replace(tzinfo=UTC))


def backup_type(account: Any) -> str:
    """``Continuous`` or ``Periodic`` (the account's backup policy type)."""
    return text(getattr(getattr(account, "backup_policy", None), "type", None)) or "Periodic"


def network_notes(account: Any) -> list[str]:
    """What the source's network access has that a restored account does not get (Azure does not restore it)."""
    notes = []
    if getattr(account, "ip_rules", None):
        notes.append(f"the source has {len(account.ip_rules)} IP firewall rule(s)")
    if getattr(account, "virtual_network_rules", None):
        notes.append(f"the source has {len(account.virtual_network_rules)} virtual network rule(s)")
    if getattr(account, "private_endpoint_connections", None):
        notes.append(f"the source has {len(account.private_endpoint_connections)} private endpoint connection(s)")
    if text(getattr(account, "public_network_access", None)).lower() == "disabled":
        notes.append("the source has public network access disabled")
    if not notes:
        return []
    return ["; ".join(notes) + ": a restored account gets none of these (Azure does not restore network settings); "
            "set them on the target before the workloads use it from a private network"]


def _unfinished_latest_point(cosmos: Any, request: Request) -> _dt.datetime | None:
    """The restore point of an account an earlier use_latest run of this source left unverified (the newest such)."""
    return unfinished_latest_point((tags_of(account) for account in cosmos.database_accounts.list_by_resource_group(request.resource_group)),
                                   request.source)


# --- the checks -----------------------------------------------------------------------------------------------------
def _no_candidate(cosmos: Any, plan: Plan, subscription_hint: str) -> None:
    """No restorable entry of the name at all: say whether the account exists without continuous backup, or not at all."""
    source = plan.request.source
    live = find_live_account(cosmos, plan.request.resource_group, source)
    if live is None:
        plan.problems.append(f"no Cosmos DB account named {source!r}, alive or deleted with continuous backup, in {subscription_hint}: "
                             f"check the name and the subscription")
    elif backup_type(live) != "Continuous":
        plan.problems.append(f"Cosmos DB account {source!r} is not restorable: continuous backup is off (its backup policy is "
                             f"{backup_type(live)}); point-in-time restore needs continuous backup (turning it on makes only later "
                             f"points restorable)")
    else:
        plan.problems.append(f"Cosmos DB account {source!r} has continuous backup but is not listed as restorable yet "
                             f"(a backup policy change may still be in progress): run again later")


def _choose_source(cosmos: Any, plan: Plan, now: _dt.datetime, subscription_hint: str) -> bool:
    """Find the incarnation to restore and the restore point; False when there is nothing further to check."""
    request = plan.request
    plan.candidates = restorable_candidates(cosmos, request.source)
    if not plan.candidates:
        _no_candidate(cosmos, plan, subscription_hint)
        return False
    if request.use_latest:
        chosen, problem = latest_candidate(plan.candidates)
        if chosen is None:
            plan.problems.append(problem or f"no live Cosmos DB account {request.source!r}")
            return False
        reused = _unfinished_latest_point(cosmos, request)
        if reused is not None:
            plan.point, plan.point_source = reused, "reused"
        else:
            plan.point, plan.point_source = (now - LATEST_MARGIN).replace(microsecond=0), "latest"
    else:
        plan.point, plan.point_source = request.restore_point, "explicit"
        if plan.point is not None and plan.point > now:
            plan.problems.append(f"restore point {to_iso(plan.point)} is in the future (now is {to_iso(now)})")
            return False
        chosen, problem = choose_candidate(plan.candidates, plan.point, now)
        if chosen is None:
            live = find_live_account(cosmos, request.resource_group, request.source)
            if live is not None and backup_type(live) != "Continuous":
                problem = f"{problem}; the account now named {request.source!r} has continuous backup off"
            plan.problems.append(problem or f"no restorable Cosmos DB account {request.source!r}")
            return False
    plan.source = chosen
    plan.window = chosen.window(now)
    if chosen.api_type.lower() != SQL_API:
        plan.problems.append(f"Cosmos DB account {request.source!r} uses the {chosen.api_type} API: this module restores "
                             f"Cosmos DB for NoSQL accounts (the API ScalarDB uses)")
    problem = window_problem(chosen, plan.point, now)
    if problem:
        if plan.point_source == "latest":
            problem += " (the account is too new for restore_use_latest: run again in a few minutes)"
        plan.problems.append(problem)
    if chosen.alive:
        live = find_live_account(cosmos, request.resource_group, request.source)
        # A live account of that name may be a later incarnation: only the chosen one's settings are copied.
        if live is not None and str(getattr(live, "instance_id", "") or chosen.instance_id) == chosen.instance_id:
            plan.live_source = live
            plan.warnings.extend(network_notes(live))
    if plan.live_source is None:
        plan.notes.append(f"the restored incarnation of {request.source!r} no longer exists: its tags and backup tier are not copied")
    return True


def _check_location(plan: Plan) -> None:
    chosen = plan.source
    plan.location = short_location(plan.request.location or chosen.location)
    regions = chosen.locations or (short_location(chosen.location),)
    if plan.location not in regions:
        plan.problems.append(f"location {plan.request.location!r} is not a region Cosmos DB account {plan.request.source!r} can be "
                             f"restored into: {', '.join(regions)} (a restore stays in a region the source was in)")


def _check_databases(cosmos: Any, plan: Plan) -> None:
    """What existed at the point; the databases asked for must be among it."""
    chosen = plan.source
    resources = cosmos.restorable_sql_resources.list(chosen.path_location, chosen.instance_id, restore_location=plan.location,
                                                     restore_timestamp_in_utc=utc_text(plan.point))
    existed = {str(resource.database_name): sorted(str(name) for name in resource.collection_names or []) for resource in resources}
    wanted = list(plan.request.databases) if plan.request.databases else sorted(existed)
    missing = [name for name in wanted if name not in existed]
    if missing:
        plan.problems.append(f"database(s) {', '.join(repr(name) for name in missing)} did not exist in Cosmos DB account "
                             f"{plan.request.source!r} at {to_iso(plan.point)}; what existed then: "
                             f"{', '.join(sorted(existed)) or 'no database at all'}")
    elif not wanted:
        plan.problems.append(f"Cosmos DB account {plan.request.source!r} held no database at {to_iso(plan.point)}: there is nothing to restore")
    plan.databases = [{"name": name, "containers": existed.get(name, [])} for name in wanted]


def _check_target(cosmos: Any, plan: Plan) -> None:
    request = plan.request
    try:
        plan.target = (check_name(request.target, COSMOS_MAX, "target_account") if request.target
                       else default_target(request.source, plan.point, COSMOS_MAX))
    except AzureNamingError as exc:
        plan.problems.append(str(exc))
        return
    if plan.target == request.source:
        plan.problems.append(f"the target {plan.target!r} is the source itself: a restore always creates a new account")
        return
    found = get_account(cosmos, request.resource_group, plan.target)
    if found is None:
        _check_name_free(cosmos, plan)
        return
    tags = tags_of(found)
    problem = ownership_problem(tags, request.source, plan.point, f"Cosmos DB account {plan.target!r}")
    if problem:
        plan.problems.append(problem)
        return
    plan.target_account, plan.target_state = found, tags.get(TAG_STATE)
    if text(found.provisioning_state).lower() == "failed":
        plan.problems.append(f"the restore into Cosmos DB account {plan.target!r} failed earlier (provisioningState Failed; the "
                             f"Azure activity log of the account says why): delete that account and run again")


def _check_name_free(cosmos: Any, plan: Plan) -> None:
    """Cosmos DB account names are global: a name free in this resource group may be taken anywhere else in Azure."""
    try:
        taken = cosmos.database_accounts.check_name_exists(plan.target)
    except Exception:  # pylint: disable=broad-exception-caught  # a refinement only: the restore itself is refused then
        plan.notes.append(f"could not check whether the account name {plan.target!r} is free across Azure")
        return
    if taken is True:
        plan.problems.append(f"the Cosmos DB account name {plan.target!r} is taken by an account outside resource group "
                             f"{plan.request.resource_group!r} (account names are global across Azure): choose another target_account")


def preflight(cosmos: Any, request: Request, now: _dt.datetime, subscription_hint: str = "this subscription") -> Plan:
    """Check everything and plan the restore; ``plan.problems`` lists whatever stands in the way.

    ``cosmos`` is an azure-mgmt-cosmosdb ``CosmosDBManagementClient``; ``now`` an aware datetime.
    """
    plan = Plan(request)
    if request.use_latest == (request.restore_point is not None):
        plan.problems.append("give exactly one of restore_point and restore_use_latest")
        return plan
    try:
        check_name(request.source, COSMOS_MAX, "source_account")
    except AzureNamingError as exc:
        plan.problems.append(str(exc))
        return plan
    if request.databases is not None and not request.databases:
        plan.problems.append("databases is empty: leave it out to restore every database, or name the ones to restore")
        return plan
    if not _choose_source(cosmos, plan, now, subscription_hint):
        return plan
    _check_location(plan)
    if not plan.problems:
        # The feed of what existed refuses a point outside the window: ask only once the point is known to be good.
        _check_databases(cosmos, plan)
    _check_target(cosmos, plan)
    return plan
