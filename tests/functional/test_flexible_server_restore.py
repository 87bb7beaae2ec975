"""The flexible server restore core (``azure_flexible_restore.run_phase``) against the Azure stand-in.

Real SDK clients over HTTPS against the ARM stand-in, both engines (MySQL, PostgreSQL) and both SDK
families (azure-mgmt-rdbms's flexible-server modules and the standalone packages
azure-mgmt-mysqlflexibleservers / azure-mgmt-postgresqlflexibleservers).  What a phase did is read
back through an SDK client of its own (azure-mgmt-rdbms), and what it sent through the stand-in's
request log, never from the core's result alone.

Covered: every phase; resuming a run that died while the restore operation was running, or that
returned early (one restore PUT in total); a lost answer (the PUT's 409 adopted); drifted settings
put back; ``use_latest`` and its reuse; each bad input refused before anything changes; a failed
restore operation carrying Azure's code and message (and a re-run starting a new restore); a
transient 500 retried by the SDK's retry policy; check mode; timeouts.  Seeding, fault injection and
request counting exist only in the stand-in, so every test here is stand-in only.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.azure_client import AzureConnection, JitterRetryPolicy
from ansible_collections.scalarops.pitr.plugins.module_utils.azure_flexible_api import ENGINES, FlexibleApi, other_engine
from ansible_collections.scalarops.pitr.plugins.module_utils.azure_flexible_plan import LATEST_MARGIN, Request
from ansible_collections.scalarops.pitr.plugins.module_utils.azure_flexible_restore import (
    Options,
    PreflightFailed,
    RestoreFailed,
    run_phase,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.azure_naming import (
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
from ansible_collections.scalarops.pitr.plugins.module_utils.concurrency import WaitTimeout
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_wait import Poller
from fixtures.common import require_standin
from standins.azure.target import AzureTarget

pytestmark = pytest.mark.standin_only

STANDIN_ONLY = "seeded sources with restore points seconds old, fault injection and request counting"
SOURCE_TAGS = {"team": "payments", "env": "prod"}
SKU = {"name": "Standard_E4ds_v5", "tier": "MemoryOptimized"}
COMBINATIONS = [("mysql", "rdbms"), ("mysql", "standalone"), ("postgresql", "rdbms"), ("postgresql", "standalone")]
PROVIDER_PATH = {"mysql": "Microsoft.DBforMySQL", "postgresql": "Microsoft.DBforPostgreSQL"}


class Died(Exception):
    """The run stopped while waiting (a killed process: nothing after this point happened)."""


class Scene:
    """A seeded source server of one engine, reached through one SDK family."""

    def __init__(self, azure: AzureTarget, engine: str, sdk: str, name: str = "scalardb-src", poll_interval: float = 0, **seed: Any) -> None:
        require_standin(azure.is_standin, STANDIN_ONLY)
        assert azure.admin is not None
        self.azure, self.admin, self.engine, self.sdk = azure, azure.admin, engine, sdk
        now = _dt.datetime.now(_dt.timezone.utc)
        fields: dict[str, Any] = {"creation_time": now - _dt.timedelta(days=3), "tags": SOURCE_TAGS, "sku": SKU, "storage_gb": 256,
                                  "backup_retention_days": 14, **seed}
        self.source = name
        self.seeded = self.admin.seed_server(engine, azure.resource_group, name, **fields)
        self.point = (now - _dt.timedelta(hours=2)).replace(microsecond=0)
        self.connection = AzureConnection(
            {"subscription_id": azure.subscription_id, "resource_group": azure.resource_group, "arm_endpoint": azure.base_url,
             "ca_bundle": azure.ca_bundle, "poll_interval": poll_interval, "sdk": sdk},
            credential=azure.credential, retry_policy=JitterRetryPolicy(retry_backoff_factor=0.01))
        self.api = FlexibleApi(self.connection, ENGINES[engine])
        self.other = FlexibleApi(self.connection, other_engine(ENGINES[engine]))
        # Read-backs through a client of its own (not the one under test).
        self.reader = azure.rdbms_mysql() if engine == "mysql" else azure.rdbms_postgresql()

    @property
    def target(self) -> str:
        return default_target(self.source, self.point, 63)

    def request(self, **changes: Any) -> Request:
        fields: dict[str, Any] = {"engine": ENGINES[self.engine], "source": self.source, "restore_point": self.point}
        fields.update(changes)
        return Request(**fields)

    def run(self, phase: str, request: Request | None = None, on_progress: Any = None, timeout: float = 30.0, **options: Any) -> dict[str, Any]:
        opts = Options(poller=Poller(deadline=timeout, first_delay=0.01, max_delay=0.05), **options)
        return run_phase(self.api, request or self.request(), phase, opts, other=self.other, on_progress=on_progress)

    def server(self, name: str) -> Any:
        return self.reader.servers.get(self.azure.resource_group, name)

    def names(self) -> set[str]:
        return {server.name for server in self.reader.servers.list_by_resource_group(self.azure.resource_group)}

    def requests(self, method: str, name: str | None = None) -> list[dict[str, Any]]:
        def matches(path: str) -> bool:
            return path.rstrip("/").endswith(f"/flexibleServers/{name}") if name else "/flexibleServers/" in path

        return [entry for entry in self.admin.requests()
                if entry["method"] == method and PROVIDER_PATH[self.engine] in entry["path"] and matches(entry["path"])]

    def writes(self) -> list[dict[str, Any]]:
        return [entry for entry in self.admin.requests() if entry["method"] in ("PUT", "PATCH", "DELETE", "POST")
                and "/flexibleServers" in entry["path"]]


@pytest.mark.parametrize(("engine", "sdk"), COMBINATIONS)
def test_every_phase_restores_a_new_server_with_the_sources_settings(azure: AzureTarget, engine: str, sdk: str) -> None:
    scene = Scene(azure, engine, sdk)
    target = scene.target
    source_fqdn = scene.seeded["fully_qualified_domain_name"]

    pre = scene.run("preflight")
    assert (pre["status"], pre["changed"], pre["would_change"], pre["sdk"], pre["engine"]) == ("checked", False, True, sdk, engine)
    assert pre["preflight"]["target"] == {"identifier": target, "exists": False, "state": None} and pre["preflight"]["problems"] == []
    assert pre["endpoint_switch"] == {"from_hosts": [source_fqdn], "source": f"{ENGINES[engine].label} {scene.source}"}
    assert pre["target"] == {"identifier": target, "exists": False} and target not in scene.names()

    prep = scene.run("prepare")
    assert (prep["status"], prep["changed"], prep["restore_called"]) == ("prepared", True, True)
    restored = scene.server(target)
    assert (restored.state, restored.create_mode, restored.source_server_resource_id) == ("Ready", "PointInTimeRestore", scene.seeded["id"])
    restored_at = restored.restore_point_in_time if engine == "mysql" else restored.point_in_time_utc
    assert restored_at == scene.point
    assert restored.tags == {**SOURCE_TAGS, **ownership_tags(scene.source, scene.point, False, "prepared")}
    assert (restored.sku.name, restored.sku.tier, restored.storage.storage_size_gb, restored.backup.backup_retention_days) == (
        SKU["name"], SKU["tier"], 256, 14)
    assert {key: prep["target"][key] for key in ("identifier", "exists", "status", "state", "fqdn", "endpoint", "port")} == {
        "identifier": target, "exists": True, "status": "Ready", "state": "prepared", "fqdn": restored.fully_qualified_domain_name,
        "endpoint": restored.fully_qualified_domain_name, "port": ENGINES[engine].port}
    assert len(scene.requests("PUT", target)) == 1

    again = scene.run("prepare")
    assert (again["status"], again["changed"], again["restore_called"], again["settings_applied"]) == ("prepared", False, False, [])
    assert len(scene.requests("PUT", target)) == 1 and not scene.requests("PATCH", scene.source)

    cut = scene.run("cutover")
    assert (cut["status"], cut["changed"]) == ("switch", False)
    assert cut["endpoint_switch"] == {"from_hosts": [source_fqdn], "to_host": restored.fully_qualified_domain_name,
                                      "to_port": ENGINES[engine].port, "source": f"{ENGINES[engine].label} {scene.source}"}

    ver = scene.run("verify")
    assert (ver["status"], ver["changed"], ver["reachability"]["reachable"]) == ("verified", True, False)
    assert scene.server(target).tags[TAG_STATE] == "verified"
    assert scene.run("prepare")["target"]["state"] == "verified", "a prepare run again took 'verified' back"
    assert scene.names() == {scene.source, target}


@pytest.mark.parametrize(("engine", "sdk"), [("mysql", "standalone"), ("postgresql", "rdbms")])
def test_a_run_that_died_while_the_restore_ran_is_continued_without_a_second_restore(azure: AzureTarget, engine: str, sdk: str) -> None:
    scene = Scene(azure, engine, sdk)
    scene.admin.config(lro_polls=6)

    def die(_progress: Any) -> None:
        raise Died()

    with pytest.raises(Died):
        scene.run("prepare", on_progress=die)
    assert scene.server(scene.target).tags[TAG_STATE] == "restoring"

    resumed = scene.run("prepare")
    assert (resumed["status"], resumed["restore_called"]) == ("prepared", False)
    assert ("wait ready", "continuing") in [(step["step"], step.get("what")) for step in resumed["steps"]]
    assert len(scene.requests("PUT", scene.target)) == 1 and len(scene.admin.operations(engine, "restore")) == 1
    server = scene.server(scene.target)
    assert (server.state, server.tags[TAG_STATE]) == ("Ready", "prepared")


def test_prepare_without_wait_returns_early_and_a_later_run_waits_for_ready(azure: AzureTarget) -> None:
    scene = Scene(azure, "postgresql", "standalone")
    scene.admin.config(lro_polls=4)
    started = scene.run("prepare", wait=False)
    assert (started["status"], started["changed"], started["restore_called"]) == ("in_progress", True, True)
    assert scene.server(scene.target).state == "Provisioning"
    with pytest.raises(RestoreFailed, match="is not prepared yet"):
        scene.run("cutover")

    finished = scene.run("prepare")
    assert (finished["status"], finished["restore_called"], finished["target"]["status"]) == ("prepared", False, "Ready")
    assert len(scene.requests("PUT", scene.target)) == 1


def test_a_lost_answer_to_the_restore_is_adopted_when_the_server_is_ours(azure: AzureTarget) -> None:
    scene = Scene(azure, "mysql", "rdbms")
    scene.run("prepare", wait=False)
    hidden = {"count": 0}
    real_get = scene.api.get

    def get_hiding_target_once(name: str) -> Any:
        # preflight does not see the server the earlier (lost) answer created: the PUT meets it (409)
        if name == scene.target and hidden["count"] == 0:
            hidden["count"] += 1
            return None
        return real_get(name)

    scene.api.get = get_hiding_target_once  # type: ignore[method-assign]
    adopted = scene.run("prepare")
    assert (adopted["status"], adopted["restore_called"]) == ("prepared", False)
    assert [entry["status"] for entry in scene.requests("PUT", scene.target)] == [202, 409]


def test_prepare_puts_back_settings_that_drifted(azure: AzureTarget) -> None:
    scene = Scene(azure, "mysql", "standalone")
    scene.run("prepare")
    # Someone scaled the restored server down and dropped a tag before the cutover.
    client = azure.mysql_flexible()
    from azure.mgmt.mysqlflexibleservers import models  # pylint: disable=import-outside-toplevel

    tags = {key: value for key, value in scene.server(scene.target).tags.items() if key != "team"}
    client.servers.begin_update(azure.resource_group, scene.target,
                                models.ServerForUpdate(sku=models.MySQLServerSku(name="Standard_B1ms", tier="Burstable"), tags=tags)).result()

    fixed = scene.run("prepare")
    assert (fixed["changed"], fixed["settings_applied"], fixed["restore_called"]) == (True, ["sku", "tags"], False)
    server = scene.server(scene.target)
    assert (server.sku.name, server.tags["team"], server.tags[TAG_STATE]) == (SKU["name"], "payments", "prepared")


def test_use_latest_takes_now_minus_the_margin_and_a_rerun_reuses_that_point(azure: AzureTarget) -> None:
    scene = Scene(azure, "postgresql", "rdbms")
    latest = scene.request(restore_point=None, use_latest=True)
    before = _dt.datetime.now(_dt.timezone.utc)
    first = scene.run("prepare", request=latest, wait=False)
    point = _dt.datetime.fromisoformat(first["restore_point"])
    assert first["preflight"]["restore_point"]["source"] == "latest" and point.microsecond == 0
    assert before - LATEST_MARGIN - _dt.timedelta(seconds=1) <= point <= _dt.datetime.now(_dt.timezone.utc) - LATEST_MARGIN
    target = default_target(scene.source, point, 63)
    tags = scene.server(target).tags
    assert (tags[TAG_LATEST], tags[TAG_POINT], tags[TAG_SOURCE], tags[TAG_MANAGED_BY]) == ("true", point_tag(point), scene.source, MANAGED_BY)

    second = scene.run("prepare", request=latest)
    assert (second["preflight"]["restore_point"]["source"], second["restore_point"], second["target"]["identifier"]) == (
        "reused", first["restore_point"], target)
    assert (second["status"], second["restore_called"]) == ("prepared", False)
    assert len(scene.requests("PUT")) == 1


def test_each_bad_input_is_refused_by_preflight_before_anything_changes(azure: AzureTarget) -> None:
    scene = Scene(azure, "mysql", "rdbms")
    scene.admin.seed_server("postgresql", azure.resource_group, "pg-source")
    scene.admin.seed_server("mysql", azure.resource_group, "someone-elses")
    other_point = scene.point - _dt.timedelta(minutes=5)
    scene.admin.seed_server("mysql", azure.resource_group, "older-restore", tags=ownership_tags(scene.source, other_point, False, "prepared"))
    now = _dt.datetime.now(_dt.timezone.utc)
    cases: dict[str, tuple[Request, str]] = {
        "missing": (scene.request(source="nothing-here"),
                    f"Azure Database for MySQL flexible server 'nothing-here' not found in resource group '{azure.resource_group}'"),
        "other engine": (scene.request(source="pg-source"),
                         "'pg-source' is an Azure Database for PostgreSQL flexible server, not an Azure Database for MySQL flexible "
                         "server: give engine postgresql"),
        "too early": (scene.request(restore_point=now - _dt.timedelta(days=4)), "is outside the restorable window"),
        "future": (scene.request(restore_point=now + _dt.timedelta(hours=1)), "is in the future"),
        "both": (scene.request(use_latest=True), "give exactly one of restore_point and restore_use_latest"),
        "neither": (scene.request(restore_point=None), "give exactly one of restore_point and restore_use_latest"),
        "bad name": (scene.request(target="Bad_Name"), "target_server 'Bad_Name' is not a valid Azure name"),
        "too long": (scene.request(target="a" * 64), "3-63 lowercase letters"),
        "itself": (scene.request(target=scene.source), "is the source itself"),
        "not ours": (scene.request(target="someone-elses"), "already exists and was not created by scalarops.pitr"),
        "other point": (scene.request(target="older-restore"), f"holds a restore of '{scene.source}' at '{point_tag(other_point)}'"),
    }
    before = scene.names()
    for name, (request, message) in cases.items():
        for phase in ("preflight", "prepare"):
            with pytest.raises(PreflightFailed) as failed:
                scene.run(phase, request=request)
            assert any(message in problem for problem in failed.value.plan.problems), (name, failed.value.plan.problems)
    assert scene.names() == before and scene.writes() == [], "a refused request changed something"


def test_a_failed_restore_carries_azures_code_and_message_and_a_rerun_restores_again(azure: AzureTarget) -> None:
    scene = Scene(azure, "postgresql", "standalone", poll_interval=0.05)
    scene.admin.config(lro_polls=3)  # fails while the SDK's poller runs in its thread
    scene.admin.fail("postgresql", "restore", code="ServerProvisioningCapacityError", message="No capacity for Standard_E4ds_v5 in eastus.")
    with pytest.raises(RestoreFailed) as failed:
        scene.run("prepare")
    message = str(failed.value)
    assert "ServerProvisioningCapacityError" in message and "No capacity for Standard_E4ds_v5 in eastus." in message
    assert scene.target not in scene.names(), "Azure removes a server whose restore failed"

    again = scene.run("prepare")
    assert (again["status"], again["restore_called"]) == ("prepared", True)
    assert len(scene.requests("PUT", scene.target)) == 2


def test_a_refused_restore_request_carries_azures_code_and_changes_nothing(azure: AzureTarget) -> None:
    scene = Scene(azure, "mysql", "standalone")
    scene.admin.fail("mysql", "restore", code="InvalidParameterValue", message="The subnet is full.", phase="initial", status=400)
    with pytest.raises(RestoreFailed, match="InvalidParameterValue: The subnet is full.") as failed:
        scene.run("prepare")
    assert failed.value.changed is False  # type: ignore[attr-defined]
    assert scene.target not in scene.names()


def test_a_transient_server_error_is_retried_by_the_sdk_policy(azure: AzureTarget) -> None:
    scene = Scene(azure, "mysql", "rdbms")
    scene.admin.fail("mysql", "restore", code="InternalServerError", phase="initial", status=500)
    result = scene.run("prepare")
    assert (result["status"], result["restore_called"]) == ("prepared", True)
    assert [entry["status"] for entry in scene.requests("PUT", scene.target)] == [500, 202]


def test_check_mode_plans_without_changing_anything(azure: AzureTarget) -> None:
    scene = Scene(azure, "postgresql", "rdbms")
    planned = scene.run("prepare", check_mode=True)
    assert (planned["status"], planned["changed"], planned["restore_called"]) == ("planned", True, False)
    assert [(step["step"], step["resource"], step["planned"]) for step in planned["steps"]] == [("restore", scene.target, True)]
    assert (scene.run("cutover", check_mode=True)["status"], scene.run("verify", check_mode=True)["status"]) == ("planned", "planned")
    assert scene.writes() == [] and scene.target not in scene.names()

    scene.run("prepare")
    writes = len(scene.writes())
    checked = scene.run("verify", check_mode=True)
    assert (checked["status"], checked["changed"]) == ("verified", True), "a real verify would tag the server verified"
    assert scene.run("prepare", check_mode=True)["changed"] is False
    assert len(scene.writes()) == writes and scene.server(scene.target).tags[TAG_STATE] == "prepared"


def test_a_wait_that_times_out_loses_nothing(azure: AzureTarget) -> None:
    scene = Scene(azure, "mysql", "rdbms", poll_interval=0.1)  # the SDK's poller must not spin through lro_seconds
    scene.admin.config(lro_polls=1, lro_seconds=1.0)
    with pytest.raises(WaitTimeout) as timed_out:
        scene.run("prepare", timeout=0.3)
    assert timed_out.value.changed is True  # type: ignore[attr-defined]
    finished = scene.run("prepare")
    assert (finished["status"], finished["restore_called"]) == ("prepared", False)
    assert len(scene.requests("PUT", scene.target)) == 1 and len(scene.admin.operations("mysql", "restore")) == 1


def test_cutover_and_verify_need_a_prepared_target(azure: AzureTarget) -> None:
    scene = Scene(azure, "postgresql", "standalone")
    for phase in ("cutover", "verify"):
        with pytest.raises(RestoreFailed, match="does not exist: run the prepare phase first"):
            scene.run(phase)
    with pytest.raises(RestoreFailed, match="is not reachable from here"):
        scene.run("prepare")
        scene.run("verify", require_reachable=True)
    assert scene.server(scene.target).tags[TAG_STATE] == "prepared"
