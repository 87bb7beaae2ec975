"""playbooks/restore_cosmosdb.yml and restore_azure_database.yml end to end: the real ansible-playbook,
helm and kubectl against the Kubernetes emulator, the real Azure SDKs against the HTTPS Resource
Manager stand-in (production code authenticates through DefaultAzureCredential's managed identity).

Each test seeds a source (``AzureScene``), runs the playbook as an operator would and reads back
what Azure, helm and kubectl show. The Cosmos DB account key must reach the release's Secret and
nothing else: no output line, no report.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from azure_playbook_helpers import OLD_KEY, AzureScene, build_scene, jdbc_url
from playbook_scene import Run, moment

from fixtures.common import require_standin
from fixtures.kube import KubeTarget
from standins.azure.target import AzureTarget
from standins.charts import chart_path

pytestmark = [pytest.mark.slow, pytest.mark.standin_only]

STANDIN_ONLY = "seeded sources with a restorable history and injected failures"


@pytest.fixture(name="scene_of")
def scene_of_fixture(kube: KubeTarget, kube_namespace: str, azure: AzureTarget, tmp_path: Path) -> Callable[..., AzureScene]:
    require_standin(azure.is_standin, STANDIN_ONLY)

    def make(backend: str, **options: Any) -> AzureScene:
        return build_scene(kube, kube_namespace, azure, tmp_path, backend, **options)

    return make


def assert_not_shown(secret: str, *runs: Run) -> None:
    for run in runs:
        assert secret not in run.output, "a credential shows in the output"
        for path in run.report_files():
            assert secret not in path.read_text(encoding="utf-8"), f"a credential shows in {path.name}"


def assert_downtime_excludes_prepare(report: dict[str, Any]) -> None:
    timeline = {step["phase"]: step for step in report["timeline"]}
    stopped, started = moment(report["downtime"]["stopped_at"]), moment(report["downtime"]["started_at"])
    assert moment(timeline["prepare"]["ended"]) <= stopped < started


def test_cosmosdb_restore_strong_consistency_key_in_secret_repair_job_and_replicas_back(scene_of: Callable[..., AzureScene]) -> None:
    scene = scene_of("cosmosdb")
    before = scene.names()
    run = scene.run("cosmos", cosmosdb_restore_repair_chart_ref=str(chart_path("schema-loading")))
    assert run.ok, run.tail()

    (target,) = scene.names() - before
    client = scene.azure.cosmosdb()
    account = client.database_accounts.get(scene.azure.resource_group, target)
    assert account.consistency_policy.default_consistency_level == "Strong"
    key = client.database_accounts.list_keys(scene.azure.resource_group, target).primary_master_key
    assert scene.properties("ledger")["scalar.db.contact_points"] == account.document_endpoint
    assert scene.properties("ledger")["scalar.db.password"] == "${env:SCALAR_DL_LEDGER_COSMOS_KEY}"
    assert scene.secret_value("ledger") == key != OLD_KEY
    assert scene.replicas() == scene.expected_replicas()

    report = run.report()
    assert report["status"] == "succeeded" and report["backend"] == "cosmosdb"
    (repair,) = report["phases"]["repair"]["repairs"]
    assert (repair["release"], repair["status"]) == (f"{scene.namespace}/ledger", "succeeded"), "the repair Job completed"
    assert "repair: 1 releases" in run.report_text()
    assert_downtime_excludes_prepare(report)
    assert not report["phases"]["prepare"].get("stderr_lines"), "the SDK's log noise (tracebacks, local paths) stays out of the report"
    assert_not_shown(key, run)

    again = scene.run("again", cosmosdb_restore_repair_chart_ref=str(chart_path("schema-loading")))
    assert again.ok, again.tail()
    assert scene.names() == before | {target}, "a second run restores nothing new"
    assert scene.secret_value("ledger") == key
    assert_not_shown(key, again)


@pytest.mark.parametrize("engine", ["mysql", "postgresql"])
def test_flexible_server_restore_switches_the_jdbc_url_and_replicas_are_back(scene_of: Callable[..., AzureScene], engine: str) -> None:
    scene = scene_of("azure_database", engine=engine, releases=("ledger", "auditor"))
    before = scene.names()
    run = scene.run(engine)
    assert run.ok, run.tail()

    (target,) = scene.names() - before
    server = scene.servers()[target]
    for release in scene.with_releases:
        assert scene.properties(release)["scalar.db.contact_points"] == jdbc_url(engine, server.fully_qualified_domain_name, release)
    assert scene.replicas() == scene.expected_replicas()
    report = run.report()
    assert report["status"] == "succeeded"
    assert report["endpoint_switch"]["from_hosts"] == [scene.source_host]
    assert_downtime_excludes_prepare(report)


def test_bad_input_and_a_failed_restore_change_nothing(scene_of: Callable[..., AzureScene]) -> None:
    scene = scene_of("azure_database", engine="mysql", releases=("ledger",))
    before, replicas = scene.names(), scene.replicas()

    wrong_engine = scene.run("wrong-engine", azure_db_engine="postgresql")
    assert not wrong_engine.ok and scene.source in wrong_engine.output and "mysql" in wrong_engine.output.lower()

    too_early = scene.run("too-early", restore_point="2020-01-01T00:00:00+00:00")
    assert not too_early.ok and "2020-01-01" in too_early.output

    scene.azure.admin.fail(provider="mysql", operation="restore", code="ServerRestoreFailed", message="the restore broke", phase="async")
    failed = scene.run("failed")
    assert not failed.ok
    assert "ServerRestoreFailed" in failed.output and "the restore broke" in failed.output
    assert failed.report()["failed_phase"] == "prepare"

    assert scene.names() == before, "no server was left behind"
    assert scene.replicas() == replicas, "no workload was touched"

    # Cosmos DB: a release whose contact_points is another account fails the preflight, naming both.
    elsewhere = f"https://{scene.azure.unique('other')}.documents.azure.com:443/"
    cosmos = scene_of("cosmosdb", releases=("auditor",), source_host=elsewhere)
    cosmos_before, cosmos_replicas = cosmos.names(), cosmos.replicas()
    other_account = cosmos.run("other-account")
    assert not other_account.ok
    assert f"scalar.db.contact_points is {elsewhere}, which does not point at Cosmos DB account {cosmos.source}" in other_account.output
    assert other_account.report()["failed_phase"] == "preflight"
    assert cosmos.names() == cosmos_before, "no account was created"
    assert cosmos.replicas() == cosmos_replicas, "no workload was touched"
    assert cosmos.properties("auditor")["scalar.db.contact_points"] == elsewhere
    assert cosmos.secret_value("auditor") == OLD_KEY
