"""The Cosmos DB account restore core (``cosmosdb_restore.run_phase``) against the Azure stand-in.

The real azure-mgmt-cosmosdb client over HTTPS against the ARM stand-in, whose restore behaves like
Azure's: a new account in ``Session`` consistency with what existed at the point and no stored
procedures.  Everything is read back through the SDK client (and the stand-in's request and
operation logs), never from the core's own result alone.

Covered: every phase; choosing the incarnation of a reused account name; resuming a run that died
mid-restore, lost the PUT's answer, or died between the restore and the consistency change (one
restore in total); ``restore_use_latest`` resolved once; each bad input refused before anything
changes; a failed restore carrying Azure's code and message; check mode; the account key only in
the cutover's result.  Restore points in the stand-in's seeded past make every test stand-in only.
"""
from __future__ import annotations

import datetime as _dt
import json
from typing import Any

import pytest
from azure.mgmt.cosmosdb import CosmosDBManagementClient
from azure.mgmt.cosmosdb import models as cosmos_models

from ansible_collections.scalarops.pitr.plugins.module_utils.azure_naming import (
    COSMOS_MAX,
    MANAGED_BY,
    TAG_LATEST,
    TAG_MANAGED_BY,
    TAG_POINT,
    TAG_SOURCE,
    TAG_STATE,
    default_target,
    ownership_tags,
    point_tag,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.cosmosdb_restore import (
    CONTACT_POINTS,
    PASSWORD,
    Options,
    PreflightFailed,
    RestoreFailed,
    run_phase,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.cosmosdb_restore_plan import LATEST_MARGIN, Request
from ansible_collections.scalarops.pitr.plugins.module_utils.progress_file import Progress
from fixtures.common import require_standin
from standins.azure.target import AzureTarget

pytestmark = pytest.mark.standin_only

UTC = _dt.timezone.utc
LOCATION = "westus"
SOURCE = "scalar-src"
DATABASES = {
    "scalardb": {"containers": {"tx_state": {"stored_procedures": ["mutate.js"]}}},
    "coordinator": {"containers": {"state": {"stored_procedures": ["mutate.js"]}}},
}
WRITES = ("PUT", "PATCH", "DELETE")


def ago(**delta: float) -> _dt.datetime:
    return _dt.datetime.now(UTC) - _dt.timedelta(**delta)


def fast(**overrides: Any) -> Options:
    """Polling fit for the stand-in, half a minute at most."""
    values: dict[str, Any] = {"wait_timeout": 30, "first_delay": 0.01, "max_delay": 0.05, "progress_every": 0.05, "probe_timeout": 0.5}
    values.update(overrides)
    return Options(**values)


class Scene:
    """The stand-in, its SDK client, and shortcuts to run phases and read back what Azure shows."""

    def __init__(self, azure: AzureTarget) -> None:
        require_standin(azure.is_standin, "seeded source accounts with chosen restore windows")
        assert azure.admin is not None
        self.azure, self.admin, self.rg = azure, azure.admin, azure.resource_group
        self.cosmos = azure.cosmosdb()

    def seed(self, name: str = SOURCE, **fields: Any) -> dict[str, Any]:
        fields.setdefault("creation_time", ago(days=2))
        fields.setdefault("databases", DATABASES)
        return self.admin.seed_cosmos_account(self.rg, name, location=LOCATION, **fields)

    def request(self, point: _dt.datetime | None = None, **fields: Any) -> Request:
        fields.setdefault("source", SOURCE)
        return Request(resource_group=self.rg, restore_point=point, **fields)

    def run(self, request: Request, phase: str, **options: Any) -> dict[str, Any]:
        progress = options.pop("progress", None)
        return run_phase(self.cosmos, request, phase, fast(**options), on_progress=progress)

    def account(self, name: str) -> Any:
        return self.cosmos.database_accounts.get(self.rg, name)

    def names(self) -> set[str]:
        return {account.name for account in self.cosmos.database_accounts.list_by_resource_group(self.rg)}

    def databases(self, name: str) -> set[str]:
        return {database.name for database in self.cosmos.sql_resources.list_sql_databases(self.rg, name)}

    def writes(self, name: str | None = None) -> list[tuple[str, str]]:
        """The mutating ARM requests served so far (optionally: to account ``name``)."""
        return [(entry["method"], entry["path"].rsplit("/", 1)[-1]) for entry in self.admin.requests()
                if entry["method"] in WRITES and "/databaseAccounts/" in entry["path"]
                and (name is None or entry["path"].endswith(f"/databaseAccounts/{name}"))]

    def restores(self) -> list[dict[str, Any]]:
        return self.admin.operations("cosmosdb", "restore")


@pytest.fixture(name="scene")
def scene_fixture(azure: AzureTarget) -> Scene:
    return Scene(azure)


def test_every_phase_restores_into_a_new_strong_account_with_the_sources_tags(scene: Scene) -> None:
    seeded = scene.seed(tags={"team": "payments"})
    scene.admin.config(lro_polls=2)
    point = ago(hours=1)
    request = scene.request(point)
    target = default_target(SOURCE, point, COSMOS_MAX)

    pre = scene.run(request, "preflight")
    assert (pre["status"], pre["changed"], pre["would_change"]) == ("checked", False, True)
    plan = pre["preflight"]
    assert plan["problems"] == [] and plan["target"]["identifier"] == target and plan["target"]["exists"] is False
    assert (plan["source"]["instance_id"], plan["source"]["id"]) == (seeded["instance_id"], seeded["restorable_id"])
    assert plan["source"]["document_endpoint"] == seeded["document_endpoint"] and plan["location"] == LOCATION
    assert plan["databases"] == [{"name": "coordinator", "containers": ["state"]}, {"name": "scalardb", "containers": ["tx_state"]}]
    assert scene.writes() == [], "preflight changed something"

    seen: list[Progress] = []
    prep = scene.run(request, "prepare", progress=seen.append)
    assert (prep["status"], prep["changed"], prep["restore_called"]) == ("prepared", True, True)
    assert [step["step"] for step in prep["steps"] if step["changed"]] == ["restore", "set consistency"]
    assert seen and {progress.unit for progress in seen} == {"resources"} and seen[-1].done == 1
    restored = scene.account(target)
    assert (restored.provisioning_state, restored.consistency_policy.default_consistency_level) == ("Succeeded", "Strong")
    assert restored.restore_parameters.restore_source == seeded["restorable_id"]
    assert restored.restore_parameters.restore_timestamp_in_utc == point
    assert restored.backup_policy.type == "Continuous"
    assert restored.tags == {"team": "payments", TAG_MANAGED_BY: MANAGED_BY, TAG_SOURCE: SOURCE, TAG_POINT: point_tag(point),
                             TAG_STATE: "prepared"}
    assert scene.databases(target) == {"scalardb", "coordinator"}
    assert prep["target"] == {"identifier": target, "resource_group": scene.rg, "exists": True, "id": restored.id, "status": "Succeeded",
                              "state": "prepared", "consistency": "Strong", "document_endpoint": restored.document_endpoint,
                              "location": LOCATION}

    again = scene.run(request, "prepare")
    assert (again["status"], again["changed"], again["restore_called"]) == ("prepared", False, False)
    assert scene.writes(target) == [("PUT", target), ("PATCH", target)] and len(scene.restores()) == 1

    cut = scene.run(request, "cutover")
    key = scene.cosmos.database_accounts.list_keys(scene.rg, target).primary_master_key
    assert (cut["status"], cut["changed"]) == ("switch", False)
    assert cut["properties"] == {CONTACT_POINTS: restored.document_endpoint} and cut["secret_properties"] == {PASSWORD: key}

    ver = scene.run(request, "verify")
    assert (ver["status"], ver["changed"], ver["databases"]) == ("verified", True, ["coordinator", "scalardb"])
    assert ver["reachability"]["reachable"] is False  # *.documents.azure.com is not reachable from the tests
    assert scene.account(target).tags[TAG_STATE] == "verified" and ver["target"]["state"] == "verified"
    assert scene.run(request, "verify")["changed"] is False

    for result in (pre, prep, again, ver):
        assert key not in json.dumps(result), f"the account key leaked into the {result['phase']} result"


def test_a_reused_account_name_restores_the_incarnation_that_existed_at_the_point(scene: Scene) -> None:
    old = scene.seed(creation_time=ago(days=5), deletion_time=ago(days=3), databases={"legacy": {"containers": {"items": {}}}})
    new = scene.seed(creation_time=ago(days=2), tags={"team": "payments"})

    early = ago(days=4)
    prep = scene.run(scene.request(early), "prepare")
    assert prep["preflight"]["source"]["instance_id"] == old["instance_id"] and prep["preflight"]["source"]["alive"] is False
    assert [candidate["instance_id"] for candidate in prep["preflight"]["candidates"]] == [old["instance_id"], new["instance_id"]]
    target = default_target(SOURCE, early, COSMOS_MAX)
    restored = scene.account(target)
    assert restored.restore_parameters.restore_source == old["restorable_id"]
    assert scene.databases(target) == {"legacy"}
    assert "team" not in restored.tags, "tags of a later incarnation were copied onto a restore of an earlier one"

    late = scene.run(scene.request(ago(days=1)), "preflight")
    assert late["preflight"]["source"]["instance_id"] == new["instance_id"]
    assert [database["name"] for database in late["preflight"]["databases"]] == ["coordinator", "scalardb"]

    with pytest.raises(PreflightFailed) as gap:
        scene.run(scene.request(ago(days=2, hours=12)), "preflight")
    message = str(gap.value)
    assert f"no restorable Cosmos DB account named '{SOURCE}' existed at" in message
    assert old["instance_id"] in message and new["instance_id"] in message


def test_a_run_that_died_mid_restore_is_continued_without_a_second_restore(scene: Scene) -> None:
    scene.seed()
    point = ago(hours=1)
    target = default_target(SOURCE, point, COSMOS_MAX)
    scene.admin.config(lro_polls=10_000)  # the restore runs until the run gives up waiting
    # The SDK's poller thread outlives the run it belonged to (a real run's process ends): keep it asleep.
    sleepy = CosmosDBManagementClient(scene.azure.credential, scene.azure.subscription_id,
                                      **{**scene.azure.client_kwargs(), "polling_interval": 600})

    with pytest.raises(RestoreFailed) as died:
        run_phase(sleepy, scene.request(point), "prepare", fast(wait_timeout=0.3))
    assert died.value.changed is True and "running the same phase again continues from here" in str(died.value)
    assert scene.account(target).provisioning_state == "Creating"
    assert scene.account(target).tags[TAG_STATE] == "restoring"

    # Still running when the next run looks (the stand-in counts every GET of the account as a poll).
    scene.admin.config(lro_polls=scene.restores()[0]["observations"] + 3)
    resumed = scene.run(scene.request(point), "prepare")
    assert (resumed["status"], resumed["restore_called"]) == ("prepared", False)
    assert [step["step"] for step in resumed["steps"]] == ["wait", "set consistency"]
    assert scene.writes(target) == [("PUT", target), ("PATCH", target)] and len(scene.restores()) == 1
    assert scene.account(target).consistency_policy.default_consistency_level == "Strong"


def test_a_run_that_died_before_the_consistency_change_only_sets_strong(scene: Scene) -> None:
    seeded = scene.seed()
    point = ago(hours=1)
    target = default_target(SOURCE, point, COSMOS_MAX)
    # What the first run had done when it died: the restore finished, nothing after it.
    scene.cosmos.database_accounts.begin_create_or_update(scene.rg, target, cosmos_models.DatabaseAccountCreateUpdateParameters(
        location=LOCATION, locations=[cosmos_models.Location(location_name=LOCATION, failover_priority=0)], create_mode="Restore",
        tags=ownership_tags(SOURCE, point, False), restore_parameters=cosmos_models.RestoreParameters(
            restore_mode="PointInTime", restore_source=seeded["restorable_id"], restore_timestamp_in_utc=point))).result()
    assert scene.account(target).consistency_policy.default_consistency_level == "Session"

    resumed = scene.run(scene.request(point), "prepare")
    assert (resumed["status"], resumed["restore_called"], resumed["changed"]) == ("prepared", False, True)
    assert [step["step"] for step in resumed["steps"]] == ["set consistency"]
    assert scene.writes(target) == [("PUT", target), ("PATCH", target)]
    assert scene.account(target).consistency_policy.default_consistency_level == "Strong"


class _Client:  # pylint: disable=too-few-public-methods
    """A CosmosDBManagementClient whose ``database_accounts`` is replaced."""

    def __init__(self, cosmos: Any, accounts: Any) -> None:
        self._cosmos, self.database_accounts = cosmos, accounts

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cosmos, name)


class _RetriedPut:
    """``database_accounts`` whose first restore PUT reaches Azure but whose answer is lost, so it is sent again (azure-core's retry)."""

    def __init__(self, accounts: Any) -> None:
        self._accounts = accounts
        self.puts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._accounts, name)

    def begin_create_or_update(self, *args: Any, **kwargs: Any) -> Any:
        self.puts += 1
        if self.puts == 1:
            self._accounts.begin_create_or_update(*args, polling=False, **kwargs)
        return self._accounts.begin_create_or_update(*args, **kwargs)


def test_a_restore_put_whose_answer_was_lost_is_adopted_when_the_account_is_ours(scene: Scene) -> None:
    scene.seed()
    point = ago(hours=1)
    target = default_target(SOURCE, point, COSMOS_MAX)
    result = run_phase(_Client(scene.cosmos, _RetriedPut(scene.cosmos.database_accounts)), scene.request(point), "prepare", fast())
    assert (result["status"], result["restore_called"]) == ("prepared", True)
    assert [method for method, name in scene.writes(target)] == ["PUT", "PUT", "PATCH"]  # the second PUT was refused (409)
    assert len(scene.restores()) == 1 and scene.account(target).consistency_policy.default_consistency_level == "Strong"


def test_use_latest_resolves_the_point_once_and_a_rerun_reuses_it(scene: Scene) -> None:
    scene.seed()
    request = scene.request(use_latest=True)

    started = scene.run(request, "prepare", wait=False)
    point = _dt.datetime.fromisoformat(started["restore_point"])
    assert started["status"] == "in_progress" and started["preflight"]["restore_point"]["source"] == "latest"
    assert point.microsecond == 0 and abs((ago() - point) - LATEST_MARGIN) < _dt.timedelta(seconds=30)
    target = default_target(SOURCE, point, COSMOS_MAX)
    assert scene.account(target).tags[TAG_LATEST] == "true"

    resumed = scene.run(request, "prepare")
    assert resumed["restore_point"] == started["restore_point"] and resumed["preflight"]["restore_point"]["source"] == "reused"
    assert (resumed["status"], resumed["restore_called"], resumed["target"]["identifier"]) == ("prepared", False, target)
    scene.run(scene.request(point), "verify")
    # A verified restore is finished: the next use_latest restore is a new one at a new point.
    assert scene.run(request, "preflight")["preflight"]["restore_point"]["source"] == "latest"
    assert len(scene.restores()) == 1


def _periodic_account(scene: Scene, name: str) -> None:
    """An account without continuous backup (created through ARM with the default, Periodic, policy)."""
    scene.cosmos.database_accounts.begin_create_or_update(scene.rg, name, cosmos_models.DatabaseAccountCreateUpdateParameters(
        location=LOCATION, locations=[cosmos_models.Location(location_name=LOCATION, failover_priority=0)])).result()


BAD_INPUT = {
    "continuous backup off": ({"source": "periodic-src"}, "is not restorable: continuous backup is off (its backup policy is Periodic)"),
    "before the oldest restorable time": ({"point": ago(days=6)}, "is before its oldest restorable time"),
    "in the future": ({"point": ago(hours=-1)}, "is in the future"),
    "target taken": ({"target": "someone-elses"}, "already exists and was not created by scalarops.pitr"),
    "unknown source": ({"source": "ghost-src"}, "no Cosmos DB account named 'ghost-src', alive or deleted with continuous backup"),
    "database missing at the point": ({"databases": ("scalardb", "nope")}, "database(s) 'nope' did not exist in Cosmos DB account"),
    "region the source was not in": ({"location": "eastus"}, "location 'eastus' is not a region Cosmos DB account"),
    "latest of a deleted account": ({"source": "gone-src", "use_latest": True}, "no longer exists (deleted"),
    "invalid target name": ({"target": "Bad_Name"}, "target_account 'Bad_Name' is not a valid Azure name here"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_refused_before_anything_changes(scene: Scene, case: str) -> None:
    scene.seed(creation_time=ago(days=10), oldest_restorable_time=ago(days=5))
    scene.seed("gone-src", creation_time=ago(days=10), deletion_time=ago(days=1))
    scene.seed("someone-elses")
    _periodic_account(scene, "periodic-src")
    before = (scene.names(), len(scene.writes()))
    fields, message = BAD_INPUT[case]
    fields = dict(fields)
    point = fields.pop("point", None if fields.get("use_latest") else ago(hours=1))

    with pytest.raises(PreflightFailed) as refused:
        scene.run(scene.request(point, **fields), "prepare")

    assert any(message in problem for problem in refused.value.plan.problems), refused.value.plan.problems
    assert (scene.names(), len(scene.writes())) == before, "a refused restore changed something"


def test_a_failed_restore_carries_azures_code_and_message_and_blocks_a_rerun(scene: Scene) -> None:
    scene.seed()
    point = ago(hours=1)
    target = default_target(SOURCE, point, COSMOS_MAX)
    scene.admin.fail(provider="cosmosdb", operation="restore", code="RestoreSourceUnavailable",
                     message="The continuous backup of the source is not available in West US right now.")

    with pytest.raises(RestoreFailed) as failed:
        scene.run(scene.request(point), "prepare")
    message = str(failed.value)
    assert "RestoreSourceUnavailable: The continuous backup of the source is not available in West US right now." in message
    assert "left in state Failed: delete it" in message and failed.value.changed is True
    assert scene.account(target).provisioning_state == "Failed"

    with pytest.raises(PreflightFailed) as rerun:
        scene.run(scene.request(point), "prepare")
    assert f"the restore into Cosmos DB account '{target}' failed earlier" in str(rerun.value)
    assert len(scene.restores()) == 1


def test_check_mode_plans_every_phase_without_changing_anything(scene: Scene) -> None:
    scene.seed()
    point = ago(hours=1)
    request = scene.request(point)
    target = default_target(SOURCE, point, COSMOS_MAX)

    planned = scene.run(request, "prepare", check_mode=True)
    assert (planned["status"], planned["changed"], planned["restore_called"]) == ("planned", True, False)
    assert [(step["step"], step["planned"]) for step in planned["steps"]] == [("restore", True), ("set consistency", True)]
    cut = scene.run(request, "cutover", check_mode=True)
    assert (cut["status"], cut["properties"], cut["secret_properties"]) == ("planned", {}, {})
    assert scene.run(request, "verify", check_mode=True)["status"] == "planned"
    assert scene.writes() == [] and target not in scene.names()

    scene.run(request, "prepare")
    writes = len(scene.writes())
    checked = scene.run(request, "verify", check_mode=True)
    assert (checked["status"], checked["changed"], [step["step"] for step in checked["steps"]]) == ("planned", True, ["mark verified"])
    assert len(scene.writes()) == writes and scene.account(target).tags[TAG_STATE] == "prepared"


def test_later_phases_refuse_a_target_that_is_not_ready(scene: Scene) -> None:
    scene.seed()
    point = ago(hours=1)
    request = scene.request(point)
    target = default_target(SOURCE, point, COSMOS_MAX)

    with pytest.raises(RestoreFailed, match="does not exist: run the prepare phase first"):
        scene.run(request, "cutover")
    scene.run(request, "prepare")
    scene.cosmos.database_accounts.begin_update(scene.rg, target, cosmos_models.DatabaseAccountUpdateParameters(
        consistency_policy=cosmos_models.ConsistencyPolicy(default_consistency_level="Session"))).result()
    with pytest.raises(RestoreFailed, match="has default consistency Session, not Strong") as refused:
        scene.run(request, "verify")
    assert refused.value.changed is False

    fixed = scene.run(request, "prepare")
    assert [step["step"] for step in fixed["steps"]] == ["set consistency"]
    assert scene.run(request, "verify")["status"] == "verified"


class _UpdateRace:
    """``database_accounts`` where another client's update starts just before ours: Cosmos DB refuses ours (412) until it ends."""

    def __init__(self, accounts: Any) -> None:
        self._accounts = accounts
        self.updates = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._accounts, name)

    def begin_update(self, resource_group: str, name: str, params: Any, **kwargs: Any) -> Any:
        self.updates += 1
        if self.updates == 1:
            self._accounts.begin_update(resource_group, name, cosmos_models.DatabaseAccountUpdateParameters(tags={"other": "change"}),
                                        polling=False)
        return self._accounts.begin_update(resource_group, name, params, **kwargs)


def test_an_update_refused_while_another_operation_runs_waits_for_it_and_is_made_again(scene: Scene) -> None:
    scene.seed()
    point = ago(hours=1)
    target = default_target(SOURCE, point, COSMOS_MAX)
    scene.admin.config(lro_polls=3)

    result = run_phase(_Client(scene.cosmos, _UpdateRace(scene.cosmos.database_accounts)), scene.request(point), "prepare", fast())

    assert result["status"] == "prepared"
    # The restore, the other client's update, ours refused (412), ours again.
    assert scene.writes(target) == [("PUT", target), ("PATCH", target), ("PATCH", target), ("PATCH", target)]
    assert [entry["status"] for entry in scene.admin.requests() if entry["method"] == "PATCH"] == [200, 412, 200]
    restored = scene.account(target)
    assert restored.consistency_policy.default_consistency_level == "Strong" and restored.tags[TAG_STATE] == "prepared"
