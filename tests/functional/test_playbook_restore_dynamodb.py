"""playbooks/restore_dynamodb.yml end to end: the real ansible-playbook, helm and kubectl against the
Kubernetes emulator, boto3 against the AWS stand-in (moto with point-in-time recovery as AWS does it).

Each test builds a ScalarDB deployment on DynamoDB plus ScalarDL releases (``Scene``), notes a
restore point, damages the data and runs the playbook as an operator would.  What is asserted is
read back with boto3, kubectl and helm, and from the reports the playbook wrote; every run is also
checked for the AWS secret key of its environment, which must never show.

Against a real AWS account these tests skip: they restore to a point seconds old, and AWS's latest
restorable time trails by about five minutes.  The Kubernetes side may be a real cluster.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from dynamodb_playbook_helpers import (
    DAMAGED,
    GOOD,
    JOURNAL,
    PREFIX,
    PREFIX_PROPERTY,
    PROTECTED,
    TARGET_PREFIX,
    Scene,
    build_scene,
    phase_steps,
    snapshot,
)
from playbook_scene import Run, moment

from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_naming import staging_name
from fixtures.common import require_standin
from fixtures.kube import KubeTarget
from standins.aws.faults import Fault
from standins.aws.inprocess import InProcessAws
from standins.aws.target import AwsTarget

pytestmark = [pytest.mark.slow, pytest.mark.standin_only]

InProc = Callable[..., InProcessAws]
STANDIN_ONLY = "a restore point seconds old (AWS's latest restorable time trails by about 5 minutes)"
# Steps that change AWS when they run; a re-run must find each of them "already done" or skip it.
CHANGING_STEPS = {"restore to staging", "back up staging", "delete staging", "safety backup", "deletion protection off",
                  "delete source", "restore from backup", "restore to target"}
PROGRESS_LINE = re.compile(r"^DynamoDB (prepare|cutover|verify): (\d+)/(\d+) tables done(, \d+ failed)?, \d+ s(; running: .+)?$", re.MULTILINE)


@pytest.fixture(name="scene")
def scene_fixture(kube: KubeTarget, kube_namespace: str, aws: AwsTarget, tmp_path: Path) -> Scene:
    """Ledger (2 replicas) and Auditor (1 replica) over the deployment, on the moto subprocess."""
    require_standin(aws.is_standin, STANDIN_ONLY)
    return build_scene(kube, kube_namespace, aws, tmp_path)


@pytest.fixture(name="inproc_scene")
def inproc_scene_fixture(kube: KubeTarget, kube_namespace: str, aws_inproc: InProc, tmp_path: Path) -> Callable[..., tuple[Scene, InProcessAws]]:
    """Factory: the Ledger over the deployment, on the in-process stand-in (``aws_inproc`` options: delays)."""

    def make(**options: Any) -> tuple[Scene, InProcessAws]:
        inst = aws_inproc(**options)
        return build_scene(kube, kube_namespace, inst.target, tmp_path, releases=("ledger",)), inst

    return make


def assert_no_secret(scene: Scene, *runs: Run) -> None:
    for run in runs:
        assert scene.secret not in run.output, "the AWS secret key shows in the output"
        for path in run.report_files():
            assert scene.secret not in path.read_text(encoding="utf-8"), f"the AWS secret key shows in {path.name}"


def assert_restored_in_place(scene: Scene, settings_before: dict[str, Any], tables_before: set[str]) -> None:
    """The deployment's tables hold the restore point's items under their own names, settings as before."""
    assert scene.all_versions() == {table: GOOD for table in scene.user_tables}
    assert scene.table_names() == tables_before | {JOURNAL}, "no staging table (or anything else) is left"
    assert scene.all_settings() == settings_before
    assert scene.replicas() == scene.expected_replicas()
    assert scene.records() == [], "the replica records are forgotten once the releases run again"


def test_in_place_restores_the_point_and_a_second_run_changes_no_table(scene: Scene) -> None:
    settings_before, tables_before = scene.all_settings(), scene.table_names()
    assert settings_before[PROTECTED]["deletion_protection"] and settings_before[PROTECTED]["ttl"] == ["ENABLED", "expire_at"]
    scene.damage()

    run = scene.run("first", "-v")
    assert run.ok, run.tail()
    assert_no_secret(scene, run)
    assert_restored_in_place(scene, settings_before, tables_before)

    report = run.report()
    assert (report["status"], report["failed_phase"], report["error"]) == ("succeeded", None, None)
    assert moment(report["restore_point"]["time"]) == moment(scene.point)
    assert report["releases"] == ["ledger", "auditor"]
    label = report["phases"]["prepare"]["restore_point_label"]
    backups = scene.backups()
    for table in scene.tables:
        for kind in ("restore", "safety"):
            assert backups[f"{table}-{kind}-{label}"]["BackupStatus"] == "AVAILABLE", (table, kind)
    for phase in ("prepare", "cutover", "verify"):
        entries = report["phases"][phase]["tables"]
        assert sorted(entry["source"] for entry in entries) == scene.tables, phase
        assert all(entry["status"] == "ok" and entry["seconds"] is not None for entry in entries), phase
    cutover = phase_steps(report, "cutover")
    assert all(steps["delete source"] == steps["restore from backup"] == "ok" for steps in cutover.values()), cutover
    assert cutover[PROTECTED]["deletion protection off"] == "ok"
    assert all(step["seconds"] >= 0 and step["started"] for entry in report["phases"]["cutover"]["tables"] for step in entry["steps"])
    downtime = report["downtime"]
    assert moment(report["started"]) < moment(downtime["stopped_at"]) < moment(downtime["started_at"]) <= moment(report["ended"])
    text = run.report_text()
    assert text.startswith("Restore (dynamodb): SUCCEEDED")
    assert f"Restore point: {report['restore_point']['time']}" in text and "Downtime: " in text and "NOT started" not in text
    assert all(table in text for table in scene.tables)
    # The safety backup holds what the table held when it was replaced: nothing is lost.
    victim = scene.user_tables[0]
    scene.ddb.restore_table_from_backup(TargetTableName="safety-check", BackupArn=backups[f"{victim}-safety-{label}"]["BackupArn"])
    scene.ddb.get_waiter("table_exists").wait(TableName="safety-check", WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    assert scene.versions("safety-check") == DAMAGED
    scene.ddb.delete_table(TableName="safety-check")

    created = {table: scene.created(table) for table in scene.tables}
    again = scene.run("again")
    assert again.ok, again.tail()
    assert_no_secret(scene, again)
    assert again.report()["status"] == "succeeded"
    for phase in ("prepare", "cutover"):
        ran = {table: sorted(step for step, status in steps.items() if step in CHANGING_STEPS and status != "already done")
               for table, steps in phase_steps(again.report(), phase).items()}
        assert ran == {table: [] for table in scene.tables}, f"the second run changed tables in {phase}: {ran}"
    assert {table: scene.created(table) for table in scene.tables} == created, "a table was re-created"
    assert set(scene.backups()) == set(backups), "the second run took backups"
    assert_restored_in_place(scene, settings_before, tables_before)


def test_new_prefix_restores_beside_the_sources_and_switches_the_prefix(
        kube: KubeTarget, kube_namespace: str, aws: AwsTarget, tmp_path: Path) -> None:
    require_standin(aws.is_standin, STANDIN_ONLY)
    scene = build_scene(kube, kube_namespace, aws, tmp_path, releases=("ledger",))
    settings_before = scene.all_settings()
    scene.damage()
    damaged = scene.all_versions()

    run = scene.run("new-prefix", dynamodb_restore_mode="new_prefix", dynamodb_target_prefix=TARGET_PREFIX)
    assert run.ok, run.tail()
    assert_no_secret(scene, run)
    restored = {TARGET_PREFIX + table[len(PREFIX):] for table in scene.tables}
    assert scene.table_names() == set(scene.tables) | restored | {JOURNAL}
    assert scene.all_versions(TARGET_PREFIX) == {table: GOOD for table in scene.user_tables}
    assert scene.all_versions() == damaged, "the sources are the rollback path: untouched"
    assert scene.all_settings() == settings_before
    assert scene.all_settings(TARGET_PREFIX) == settings_before, "the restored tables carry the sources' settings (names follow the prefix)"
    assert scene.backups() == {}
    # ScalarDB finds its tables under the new prefix: metadata and namespaces keys renamed too.
    metadata = {item["table"]["S"] for item in scene.ddb.scan(TableName=f"{TARGET_PREFIX}scalardb.metadata")["Items"]}
    assert metadata == {TARGET_PREFIX + table[len(PREFIX):] for table in scene.tables if not table.startswith(f"{PREFIX}scalardb.")}
    assert scene.properties("ledger")[PREFIX_PROPERTY] == TARGET_PREFIX
    assert scene.replicas() == scene.expected_replicas() and scene.records() == []
    report = run.report()
    assert report["status"] == "succeeded" and report["properties_set"] == {PREFIX_PROPERTY: TARGET_PREFIX}
    assert f"Properties switched: {PREFIX_PROPERTY}={TARGET_PREFIX}" in run.report_text()


def test_prepared_ahead_then_a_cutover_failure_keeps_workloads_stopped_and_a_rerun_finishes(
        inproc_scene: Callable[..., tuple[Scene, InProcessAws]]) -> None:
    scene, inst = inproc_scene()
    settings_before, tables_before = scene.all_settings(), scene.table_names()
    revisions = scene.revisions()

    prepared = scene.run("prepare", restore_stop_after="prepare")
    assert prepared.ok, prepared.tail()
    assert prepared.report()["status"] == "prepared" and prepared.report()["downtime"]["stopped_at"] is None
    assert scene.replicas() == scene.expected_replicas() and scene.revisions() == revisions, "prepare needs no downtime"
    label = prepared.report()["phases"]["prepare"]["restore_point_label"]
    assert {f"{table}-restore-{label}" for table in scene.tables} == set(scene.backups())
    assert scene.table_names() == tables_before | {JOURNAL}, "no staging table is left"
    scene.damage()  # the application keeps writing until the maintenance window

    victim = f"{PREFIX}sample.orders"
    inst.add_fault(Fault("RestoreTableFromBackup", code="InternalServerError", message="injected", times=1,
                         match={"TargetTableName": victim}))
    failed = scene.run("failed")
    assert not failed.ok
    assert "The restore failed in cutover" in failed.output and "The workloads are still STOPPED" in failed.output, failed.tail()
    report = failed.report()
    assert (report["status"], report["failed_phase"]) == ("failed", "cutover")
    assert report["downtime"]["stopped_at"] and report["downtime"]["started_at"] is None
    (entry,) = [entry for entry in report["phases"]["cutover"]["tables"] if entry["status"] != "ok"]
    assert entry["source"] == victim and "InternalServerError" in entry["error"]
    assert "NOT started again" in failed.report_text()
    assert scene.replicas() == scene.expected_replicas(stopped=True)
    assert scene.records() == ["configmap/scalarops-pitr-replicas-ledger"]
    assert victim not in scene.table_names(), "the failure struck between deleting the table and restoring it"
    assert scene.backups()[f"{victim}-safety-{label}"]["BackupStatus"] == "AVAILABLE"

    rerun = scene.run("rerun")
    assert rerun.ok, rerun.tail()
    assert_no_secret(scene, prepared, failed, rerun)
    assert_restored_in_place(scene, settings_before, tables_before)
    assert all(steps["restore to staging"] == "already done" for steps in phase_steps(rerun.report(), "prepare").values())
    cutover = phase_steps(rerun.report(), "cutover")
    assert cutover[victim]["restore from backup"] == "ok" and "delete source" not in cutover[victim]
    assert all(steps["restore from backup"] == "already done" for table, steps in cutover.items() if table != victim)


def test_throttled_slow_aws_still_completes_and_progress_is_shown(inproc_scene: Callable[..., tuple[Scene, InProcessAws]]) -> None:
    scene, inst = inproc_scene(restore_seconds=3, backup_seconds=3)
    settings_before, tables_before = scene.all_settings(), scene.table_names()
    scene.damage()
    inst.add_fault(Fault("*", service="dynamodb", every=3))

    run = scene.run("throttled", dynamodb_restore_progress_interval=1)
    inst.clear_faults()
    assert run.ok, run.tail()
    assert_no_secret(scene, run)
    assert_restored_in_place(scene, settings_before, tables_before)
    throttled = {operation: count for (operation, code), count in inst.errors.items() if code == "ThrottlingException"}
    # every 3rd DynamoDB call, whatever it was: many calls of many kinds were refused and retried
    assert sum(throttled.values()) >= 20 and len(throttled) >= 5 and "DescribeTable" in throttled, throttled
    lines = PROGRESS_LINE.findall(run.proc.stdout)
    for phase in ("prepare", "cutover"):
        counts = [(int(line[1]), int(line[2])) for line in lines if line[0] == phase]
        assert counts, f"no progress line for {phase}:\n{run.tail()}"
        assert all(total == len(scene.tables) and 0 <= done <= total for done, total in counts), counts
    assert re.search(r"^DynamoDB prepare: \d/6 tables done, \d+ s; running: p_\S+ \([a-z ]+\)", run.proc.stdout, re.MULTILINE)


def test_bad_input_and_check_mode_change_nothing(kube: KubeTarget, kube_namespace: str, aws: AwsTarget, tmp_path: Path) -> None:
    require_standin(aws.is_standin, STANDIN_ONLY)
    scene = build_scene(kube, kube_namespace, aws, tmp_path, releases=("ledger",))
    point = moment(scene.point)
    cases: dict[str, tuple[dict[str, Any], list[str]]] = {
        "naive": ({"restore_point": scene.point[:-len("+00:00")]}, ["has no time zone"]),
        "both": ({"restore_use_latest": True}, ["give exactly one of restore_point, restore_use_latest"]),
        "future": ({"restore_point": (point + timedelta(hours=1)).isoformat()}, ["is in the future"]),
        "before": ({"restore_point": (point - timedelta(hours=1)).isoformat()},
                   [f"table {PREFIX}scalardb.metadata: restore point", "is outside its restorable window"]),
        "release": ({"scalar_releases": scene.releases(ledger={"name": "ledgr"})},
                    [f"release 'ledgr' in namespace '{kube_namespace}': helm has no such release"]),
        "prefix": ({"dynamodb_restore_mode": "new_prefix", "dynamodb_target_prefix": PREFIX}, [f"target_prefix '{PREFIX}' is the prefix in use"]),
    }
    before = snapshot(scene)
    with ThreadPoolExecutor(max_workers=4) as pool:  # none of them changes anything, so they may run together
        check = pool.submit(scene.run, "check", "--check")
        refused = {name: pool.submit(scene.run, name, **extra) for name, (extra, _messages) in cases.items()}
        runs = {name: future.result() for name, future in refused.items()}
        checked = check.result()
    for name, run in runs.items():
        assert not run.ok, name
        assert "The restore failed in preflight" in run.output, (name, run.tail())
        for message in cases[name][1]:
            assert message in run.output, (name, message, run.tail(3000))
        report = run.report()
        assert (report["status"], report["failed_phase"]) == ("failed", "preflight"), name
        assert all(message in report["error"] for message in cases[name][1]), (name, report["error"])
    assert checked.ok, checked.tail()
    assert f"{kube_namespace}/ledger (ledger): 2 -> 0 replicas" in checked.output
    assert "Restore (dynamodb): PLANNED" in checked.output and "Downtime: none" in checked.output
    assert "would: capture settings; restore to staging; back up staging; delete staging" in checked.output
    assert "would: safety backup; deletion protection off (if on); delete source; restore from backup; re-apply settings" in checked.output
    assert not checked.report_dir.exists(), "check mode writes no report"
    assert_no_secret(scene, checked, *runs.values())
    assert snapshot(scene) == before

    # Problems only AWS can tell, all named in one run: PITR off, a staging name taken, a table missing.
    no_pitr, taken = f"{PREFIX}sample.orders", f"{PREFIX}sample.accounts"
    scene.ddb.update_continuous_backups(TableName=no_pitr, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})
    squatter = staging_name(taken, point)
    scene.ddb.create_table(TableName=squatter, AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                           KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    before = snapshot(scene)
    run = scene.run("aws", dynamodb_tables=[no_pitr, taken, f"{PREFIX}sample.nothing"])
    assert not run.ok
    for message in (f"table {no_pitr} has point-in-time recovery off",
                    f"table {squatter} (the staging table of {taken}) already exists and was not restored from {taken}",
                    f"table {PREFIX}sample.nothing does not exist"):
        assert message in run.output and message in run.report()["error"], (message, run.tail(3000))
    assert_no_secret(scene, run)
    assert snapshot(scene) == before
