"""playbooks/restore_rds.yml and restore_aurora.yml end to end: the real ansible-playbook, helm and kubectl
against the Kubernetes emulator, boto3 against the AWS stand-in (moto restoring as AWS does: the new
instance or cluster gets AWS's defaults for everything the request does not name).

Each test builds a source database and ScalarDL releases whose JDBC URLs point at it
(``RdsScene``), runs the playbook as an operator would, and reads back what AWS, helm and kubectl
show; every run is checked for the AWS secret key of its environment, which must never show.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playbook_scene import Run, moment
from rds_playbook_helpers import INSTANCE_CLASS, PORT, TAGS, RdsScene, build_scene, jdbc_url

from ansible_collections.scalarops.pitr.plugins.module_utils.rds_naming import default_target
from fixtures.common import require_standin
from fixtures.kube import KubeTarget
from standins.aws.inprocess import InProcessAws
from standins.aws.target import AwsTarget

pytestmark = [pytest.mark.slow, pytest.mark.standin_only]

STANDIN_ONLY = "a restore point seconds old (AWS's latest restorable time trails by about 5 minutes) and minutes-long restores"
OURS = "scalarops-pitr:"


@pytest.fixture(name="scene_of")
def scene_of_fixture(kube: KubeTarget, kube_namespace: str, aws: AwsTarget, tmp_path: Path) -> Callable[..., RdsScene]:
    require_standin(aws.is_standin, STANDIN_ONLY)

    def make(kind: str, **options: Any) -> RdsScene:
        return build_scene(kube, kube_namespace, aws, tmp_path, kind, **options)

    return make


def assert_no_secret(scene: RdsScene, *runs: Run) -> None:
    for run in runs:
        assert scene.secret not in run.output, "the AWS secret key shows in the output"
        for path in run.report_files():
            assert scene.secret not in path.read_text(encoding="utf-8"), f"the AWS secret key shows in {path.name}"


def user_tags(found: dict[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in found.get("TagList", []) if not tag["Key"].startswith(OURS)}


def our_tags(found: dict[str, Any]) -> dict[str, str]:
    return {tag["Key"][len(OURS):]: tag["Value"] for tag in found.get("TagList", []) if tag["Key"].startswith(OURS)}


def assert_switched(scene: RdsScene, host: str) -> None:
    """Every release's JDBC URL names the new host; database, parameters and credentials references are kept."""
    for release in scene.with_releases:
        props = scene.properties(release)
        assert props["scalar.db.contact_points"] == jdbc_url(host, PORT, release), release
        assert props["scalar.db.password"] == f"${{env:SCALAR_DL_{release.upper()}_POSTGRES_PASSWORD}}"


def assert_downtime_excludes_prepare(report: dict[str, Any]) -> None:
    """The restore ran before the workloads were stopped: prepare ended before the downtime window opened."""
    timeline = {step["phase"]: step for step in report["timeline"]}
    stopped, started = moment(report["downtime"]["stopped_at"]), moment(report["downtime"]["started_at"])
    assert moment(timeline["prepare"]["ended"]) <= stopped < started
    restore_steps = [step for step in report["phases"]["prepare"]["steps"] if step["step"] == "restore"]
    assert restore_steps, "the prepare phase made the restore"
    for phase in ("cutover", "verify"):
        assert not [step for step in report["phases"][phase].get("steps", []) if step["step"] in ("restore", "create instance")]


def test_rds_instance_restore_copies_the_settings_switches_the_urls_and_a_rerun_changes_nothing(scene_of: Callable[..., RdsScene]) -> None:
    scene = scene_of("instance")
    before = scene.names()

    first = scene.run("first")
    assert first.ok, first.tail()

    target_name = default_target(scene.source, scene.point)
    instances = scene.instances()
    assert scene.names() == before | {target_name}
    source, target = instances[scene.source], instances[target_name]
    assert target["DBSubnetGroup"]["DBSubnetGroupName"] == scene.network.subnet_group
    assert sorted(group["VpcSecurityGroupId"] for group in target["VpcSecurityGroups"]) == scene.network.security_groups
    assert [group["DBParameterGroupName"] for group in target["DBParameterGroups"]] == [scene.network.parameter_group]
    assert (target["DBInstanceClass"], target["StorageType"], target["MultiAZ"]) == (INSTANCE_CLASS, "gp3", True)
    assert (target["Endpoint"]["Port"], target["IAMDatabaseAuthenticationEnabled"], target["DeletionProtection"]) == (PORT, True, True)
    assert user_tags(target) == TAGS
    assert our_tags(target)["source"] == scene.source and our_tags(target)["state"] == "verified"
    assert source["DBInstanceStatus"] == "available", "the source is left alone"

    assert_switched(scene, target["Endpoint"]["Address"])
    assert scene.replicas() == scene.expected_replicas()
    report = first.report()
    assert report["status"] == "succeeded" and report["backend"] == "rds"
    assert report["endpoint_switch"]["to_host"] == target["Endpoint"]["Address"]
    assert report["endpoint_switch"]["from_hosts"] == [scene.source_host]
    assert_downtime_excludes_prepare(report)
    assert target_name in first.report_text()

    second = scene.run("second")
    assert second.ok, second.tail()
    assert scene.names() == before | {target_name}, "a second run restores nothing new"
    assert second.report()["phases"]["prepare"]["restore_called"] is False
    assert_switched(scene, target["Endpoint"]["Address"])
    assert scene.replicas() == scene.expected_replicas()
    assert_no_secret(scene, first, second)


def test_aurora_restore_creates_the_writer_and_the_requested_readers(scene_of: Callable[..., RdsScene]) -> None:
    scene = scene_of("cluster")
    run = scene.run("aurora", aurora_reader_count=1, aurora_target_cluster=f"{scene.source}-restored")
    assert run.ok, run.tail()

    target_name = f"{scene.source}-restored"
    cluster = scene.clusters()[target_name]
    members = {member["DBInstanceIdentifier"]: member["IsClusterWriter"] for member in cluster["DBClusterMembers"]}
    assert members == {f"{target_name}-1": True, f"{target_name}-2": False}
    assert cluster["DBSubnetGroup"] == scene.network.subnet_group
    assert sorted(group["VpcSecurityGroupId"] for group in cluster["VpcSecurityGroups"]) == scene.network.security_groups
    assert cluster["DBClusterParameterGroup"] == scene.network.parameter_group
    assert (cluster["Port"], cluster["IAMDatabaseAuthenticationEnabled"], cluster["DeletionProtection"]) == (PORT, True, True)
    assert user_tags(cluster) == TAGS
    instances = scene.instances()
    assert {instances[name]["DBInstanceClass"] for name in members} == {INSTANCE_CLASS}

    assert_switched(scene, cluster["Endpoint"])
    assert scene.replicas() == scene.expected_replicas()
    assert_downtime_excludes_prepare(run.report())
    assert_no_secret(scene, run)


def test_a_run_killed_during_the_restore_is_finished_by_the_next_without_a_second_restore(
        kube: KubeTarget, kube_namespace: str, aws_inproc: Callable[..., InProcessAws], tmp_path: Path) -> None:
    inst = aws_inproc(rds_seconds=8)
    scene = build_scene(kube, kube_namespace, inst.target, tmp_path, "instance", releases=("ledger",))
    cmd = scene.command("killed")
    log = (tmp_path / "killed.log").open("w", encoding="utf-8")
    proc = subprocess.Popen(cmd, cwd=scene.workdir, env=scene.env(), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while inst.calls["RestoreDBInstanceToPointInTime"] == 0 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert inst.calls["RestoreDBInstanceToPointInTime"] == 1, (tmp_path / "killed.log").read_text(encoding="utf-8")[-3000:]
        time.sleep(1)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log.close()
    target_name = default_target(scene.source, scene.point)
    assert our_tags(scene.instances()[target_name])["state"] == "restoring"

    again = scene.run("again")
    assert again.ok, again.tail()
    assert inst.calls["RestoreDBInstanceToPointInTime"] == 1, "the second run continued the first run's restore"
    assert again.report()["phases"]["prepare"]["restore_called"] is False
    target = scene.instances()[target_name]
    assert our_tags(target)["state"] == "verified"
    assert_switched(scene, target["Endpoint"]["Address"])
    assert scene.replicas() == scene.expected_replicas()


def test_bad_input_is_refused_before_anything_changes(scene_of: Callable[..., RdsScene]) -> None:
    scene = scene_of("instance", source_host="other-db.example.internal")
    before, replicas = scene.names(), scene.replicas()

    wrong_url = scene.run("wrong-url")
    assert not wrong_url.ok
    assert "other-db.example.internal" in wrong_url.output and scene.source_host in wrong_url.output
    assert wrong_url.report()["failed_phase"] == "preflight"

    too_late = scene.run("too-late", restore_point="2999-01-01T00:00:00+00:00")
    assert not too_late.ok and "in the future" in too_late.output

    scene.kind = "cluster"
    not_a_cluster = scene.run("not-a-cluster")
    scene.kind = "instance"
    assert not not_a_cluster.ok
    assert "is an RDS DB instance, not an Aurora DB cluster" in not_a_cluster.output

    taken = f"{scene.source}-taken"
    scene.rds.create_db_instance(DBInstanceIdentifier=taken, Engine="postgres", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
                                 MasterUsername="x", MasterUserPassword="notasecret1")
    not_ours = scene.run("not-ours", rds_target_instance=taken)
    assert not not_ours.ok and "was not created by scalarops.pitr" in not_ours.output

    assert scene.names() == before | {taken}, "no restore was started"
    assert scene.replicas() == replicas, "no workload was touched"
    assert_no_secret(scene, wrong_url, too_late, not_a_cluster, not_ours)


def test_check_mode_plans_and_changes_nothing_and_retire_deletes_the_source_only_when_asked(scene_of: Callable[..., RdsScene]) -> None:
    scene = scene_of("instance", releases=("ledger",))
    before, replicas = scene.names(), scene.replicas()

    planned = scene.run("check", "--check")
    assert planned.ok, planned.tail()
    assert scene.names() == before and scene.replicas() == replicas
    assert "Restore (rds): PLANNED" in planned.output and "Downtime: none" in planned.output
    assert f"restore {default_target(scene.source, scene.point)} - (planned)" in planned.output  # planned: no duration
    assert f"prepare: {scene.source} -> {default_target(scene.source, scene.point)}: planned" in planned.output
    assert not planned.report_dir.exists(), "check mode writes no report"

    retired = scene.run("retire", restore_retire_source=True)
    assert retired.ok, retired.tail()
    target_name = default_target(scene.source, scene.point)
    assert scene.names() == (before - {scene.source}) | {target_name}, "the source is gone, its restore stays"
    snapshots = scene.rds.describe_db_snapshots(DBInstanceIdentifier=scene.source, SnapshotType="manual")["DBSnapshots"]
    assert [snapshot["DBSnapshotIdentifier"] for snapshot in snapshots] == [retired.report()["phases"]["retire"]["final_snapshot"]]
    assert_switched(scene, scene.instances()[target_name]["Endpoint"]["Address"])
