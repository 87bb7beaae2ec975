"""scalarops.pitr.cnpg_cluster_restore through the real ansible-playbook, against the Kubernetes stand-in (CloudNativePG
CRDs, no operator) and the AWS stand-in (a Barman archive written as barman-cloud lays it out).

Each test runs the module's tasks in one playbook (failures registered, not fatal) and then reads what is in the cluster
through the Python client: the recovery Cluster's spec (bootstrap.recovery, recoveryTarget, externalClusters in-tree and
through the Barman Cloud plugin, the new backup serverName), the old Cluster and its volumes removed only with replace,
the manifest kept in a ConfigMap. The operator's part - reporting a Cluster healthy or stuck - is played by a background
thread that sets the status once the recovery Cluster appears. The S3 secret key (in the Secret the cluster references)
never shows, not even with -vvv.
"""
from __future__ import annotations

import datetime as _dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from cnpg_helpers import (
    HEALTHY,
    PLUGIN,
    apply,
    cluster_manifest,
    cluster_volumes,
    credentials_secret,
    object_store_manifest,
    s3_credentials,
    set_status_when_created,
    write_barman_archive,
)
from fixtures.aws import AwsTarget
from fixtures.common import run_playbook
from fixtures.kube import KubeTarget

pytestmark = pytest.mark.standin_only  # no operator: the tests set Cluster status themselves

MODULE = "scalarops.pitr.cnpg_cluster_restore"
UTC = _dt.timezone.utc
NOW = _dt.datetime.now(UTC).replace(microsecond=0)


def ago(days: float) -> _dt.datetime:
    return NOW - _dt.timedelta(days=days)


def rfc3339(moment: _dt.datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


class Scene:
    """The namespace, the bucket and how a playbook run sees them (KUBECONFIG and AWS_* for the stand-ins)."""

    def __init__(self, kube: KubeTarget, namespace: str, aws: AwsTarget, workdir: Path) -> None:
        self.kube, self.namespace, self.aws, self.workdir = kube, namespace, aws, workdir
        self.api = kube.api_client()
        self.custom = client.CustomObjectsApi(self.api)
        self.core = client.CoreV1Api(self.api)
        self.s3 = aws.client("s3")
        self.bucket = aws.unique("cnpg")
        self.secret = f"pitrSecret{uuid.uuid4().hex}"
        apply(self.api, namespace, credentials_secret("s3-creds", "AKIAPITRTEST", self.secret))

    def run(self, tasks: list[dict[str, Any]]) -> dict[str, Any]:
        """Run the tasks with -vvv; every registered result by name. The secret key must not show anywhere."""
        names = [entry["register"] for entry in tasks if "register" in entry]
        save = {"ansible.builtin.copy": {"dest": str(self.workdir / "results.json"),
                                         "content": "{{ {" + ", ".join(f"'{name}': {name}" for name in names) + "} | to_json }}"}}
        play = [{"hosts": "localhost", "gather_facts": False,
                 "module_defaults": {MODULE: {"namespace": self.namespace, "poll_interval": 0.2}}, "tasks": [*tasks, save]}]
        proc = run_playbook(yaml.safe_dump(play, sort_keys=False), self.workdir, self.aws.env_for(self.kube.env), verbosity=3)
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, output[-6000:]
        text = (self.workdir / "results.json").read_text(encoding="utf-8")
        assert self.secret not in output and self.secret not in text, "the S3 secret key appeared in the output"
        return json.loads(text)

    def cluster(self, name: str) -> dict[str, Any] | None:
        try:
            return self.custom.get_namespaced_custom_object("postgresql.cnpg.io", "v1", self.namespace, "clusters", name)
        except client.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def clusters(self) -> set[str]:
        listed = self.custom.list_namespaced_custom_object("postgresql.cnpg.io", "v1", self.namespace, "clusters")
        return {item["metadata"]["name"] for item in listed["items"]}

    def names(self, kind: str) -> set[str]:
        call = {"pods": self.core.list_namespaced_pod, "pvcs": self.core.list_namespaced_persistent_volume_claim,
                "configmaps": self.core.list_namespaced_config_map}[kind]
        return {item.metadata.name for item in call(self.namespace).items}


def task(register: str, ignore_errors: bool = False, check_mode: bool = False, **args: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": register, MODULE: args, "register": register}
    if ignore_errors:
        entry["ignore_errors"] = True
    if check_mode:
        entry["check_mode"] = True
    return entry


def lookup(register: str, namespace: str, name: str) -> dict[str, Any]:
    """A kubernetes.core.k8s_info task: what is in the cluster between two module tasks."""
    return {"name": register, "kubernetes.core.k8s_info": {"api_version": "postgresql.cnpg.io/v1", "kind": "Cluster",
                                                           "namespace": namespace, "name": name},
            "register": register}


def refused(result: dict[str, Any], *words: str) -> None:
    assert result.get("failed") and result["changed"] is False, result
    for word in words:
        assert word in result["msg"], (word, result["msg"])


@pytest.fixture(name="scene")
def scene_fixture(kube: KubeTarget, kube_namespace: str, aws: AwsTarget, tmp_path: Path) -> Scene:
    return Scene(kube, kube_namespace, aws, tmp_path)


def test_in_tree_cluster_replaced_under_its_name_with_a_new_server_name(scene: Scene) -> None:
    destination = f"s3://{scene.bucket}/clusters"
    archive = write_barman_archive(scene.s3, scene.bucket, "clusters", "pg", wal_count=8, backups=[
        ("backup-1", ago(3), ago(3) + _dt.timedelta(minutes=2)),
        ("backup-2", ago(2), ago(2) + _dt.timedelta(minutes=3)),
    ])
    source = apply(scene.api, scene.namespace, cluster_manifest("pg", destination_path=destination, endpoint_url=scene.aws.endpoint_url))
    volumes = cluster_volumes(scene.api, scene.namespace, source)
    target = ago(2.5)
    restore = {"name": "pg", "target_time": target.astimezone(_dt.timezone(_dt.timedelta(hours=9))).isoformat()}  # any zone
    healthy = set_status_when_created(scene.api, scene.namespace, "pg")

    tasks = [
        task("pre", phase="preflight", replace=True, new_server_name="auto", **restore),
        task("no_replace", ignore_errors=True, phase="remove", **restore),
        task("remove_check", check_mode=True, phase="remove", replace=True, **restore),
        # a dry run of the next phase plans on as if remove had run
        task("recover_check", check_mode=True, phase="recover", replace=True, new_server_name="auto", **restore),
        lookup("after_check", scene.namespace, "pg"),
        task("removed", phase="remove", replace=True, **restore),
        task("recovered", phase="recover", new_server_name="{{ pre.recovery.new_server_name }}", wait_timeout=60, **restore),
        task("again", phase="recover", new_server_name="auto", **restore),
        task("remove_again", phase="remove", replace=True, **restore),
    ]
    results = scene.run(tasks)
    healthy.join(10)
    assert healthy.error is None  # type: ignore[attr-defined]

    pre = results["pre"]
    assert (pre["changed"], pre["plan"], pre["existing"], pre["template"]) == (False, {"remove": True, "create": True}, "foreign", "cluster")
    new_server_name = pre["recovery"]["new_server_name"]
    assert new_server_name.startswith("pg-") and len(new_server_name) == len("pg-YYYYMMDDHHMMSS") and new_server_name[3:].isdigit()
    assert pre["recovery"] == {"server_name": "pg", "new_server_name": new_server_name, "target_time": rfc3339(target),
                               "source_mode": "barman_object_store", "backup_id": "backup-1",
                               "backup_end_time": (ago(3) + _dt.timedelta(minutes=2)).isoformat(), "inspected_server_name": "pg"}
    assert pre["archive"] == {"bucket": scene.bucket, "prefix": "clusters", "base_backups": 2, "wal_files": len(archive["wals"]),
                              "new_folder_empty": True, "latest_wal": archive["wals"][-1], "credentials": "secret", "pending_move": False}

    refused(results["no_replace"], "is not a recovery cluster of scalarops.pitr", "replace: true",
            "deleting a Cluster deletes its PVCs")
    assert (results["remove_check"]["changed"], results["remove_check"]["removed"]) == (True, False)
    recover_check = results["recover_check"]
    assert (recover_check["changed"], recover_check["created"], recover_check["plan"]) == (True, False, {"remove": True, "create": True})
    assert results["after_check"]["resources"][0]["metadata"]["uid"] == source["metadata"]["uid"]  # check mode deleted nothing
    removed = results["removed"]
    assert (removed["changed"], removed["removed"], removed["saved_configmap"]) == (True, True, "pg-pitr-removed")

    recovered = results["recovered"]
    assert (recovered["changed"], recovered["created"], recovered["template"]) == (True, True, "saved")
    assert recovered["status"] == {"phase": HEALTHY, "instances": 3, "ready_instances": 3}
    assert recovered["recovery"]["new_server_name"] == new_server_name and recovered["recovery"]["backup_id"] == "backup-1"
    again = results["again"]
    assert (again["changed"], again["created"], again["existing"]) == (False, False, "recovery")
    assert again["recovery"]["new_server_name"] == new_server_name  # auto reuses what the Cluster has
    assert (results["remove_again"]["changed"], results["remove_again"]["removed"]) == (False, False)

    live = scene.cluster("pg")
    assert live is not None and live["metadata"]["uid"] != source["metadata"]["uid"]
    assert live["metadata"]["annotations"] == {"scalarops.pitr/restored-from": "pg", "scalarops.pitr/target-time": rfc3339(target),
                                               "scalarops.pitr/managed-by": "scalarops.pitr"}
    assert live["metadata"]["labels"] == {"app.kubernetes.io/name": "db"}  # the operator's cnpg.io/ label dropped
    spec = live["spec"]
    assert spec["bootstrap"] == {"recovery": {"source": "pg", "recoveryTarget": {"targetTime": rfc3339(target)}}}
    old_store = source["spec"]["backup"]["barmanObjectStore"]
    assert spec["externalClusters"] == [{"name": "pg", "barmanObjectStore": {**old_store, "serverName": "pg"}}]
    assert spec["externalClusters"][0]["barmanObjectStore"]["s3Credentials"] == s3_credentials("s3-creds")  # references only
    assert spec["backup"] == {**source["spec"]["backup"], "barmanObjectStore": {**old_store, "serverName": new_server_name}}
    for key in ("instances", "imageName", "storage", "postgresql", "resources", "affinity"):
        assert spec[key] == source["spec"][key], key
    assert recovered["manifest"]["spec"] == spec

    assert not scene.names("pods") & set(volumes) and not scene.names("pvcs") & set(volumes)  # the old cluster's volumes went with it
    saved = scene.core.read_namespaced_config_map("pg-pitr-removed", scene.namespace)
    kept = json.loads(saved.data["cluster.json"])
    assert kept["spec"] == source["spec"] and kept["metadata"]["name"] == "pg"


def test_plugin_cluster_restored_next_to_its_source_to_the_end_of_the_archive(scene: Scene) -> None:
    apply(scene.api, scene.namespace, object_store_manifest("store", f"s3://{scene.bucket}", scene.aws.endpoint_url, "s3-creds"))
    source = apply(scene.api, scene.namespace, cluster_manifest("pg", object_store="store", server_name="pg-archive"))
    write_barman_archive(scene.s3, scene.bucket, "", "pg-archive", wal_count=6, backups=[
        ("old", ago(2), ago(2) + _dt.timedelta(minutes=1)), ("new", ago(1), ago(1) + _dt.timedelta(minutes=1))])
    # cluster_spec over a live source: merged - instances changed, resources removed (null), the rest kept
    restore = {"name": "pg-restored", "source_cluster": "pg", "new_server_name": "pg-restored", "wait": False,
               "cluster_spec": {"instances": 1, "resources": None}}
    # a volume an earlier cluster "ghost" left behind: the operator would start from it instead of recovering
    apply(scene.api, scene.namespace, {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                       "metadata": {"name": "ghost-1", "labels": {"cnpg.io/cluster": "ghost"}},
                                       "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    ghost = {"name": "ghost", "source_cluster": "pg", "new_server_name": "ghost"}

    results = scene.run([
        # keys given as options win over the Secret the ObjectStore references (no_log: the secret never shows)
        task("plan", check_mode=True, phase="recover", aws_access_key_id="AKIAOPTION", aws_secret_access_key=scene.secret, **restore),
        lookup("after_plan", scene.namespace, "pg-restored"),
        task("created", phase="recover", **restore),
        task("again", phase="recover", **restore),
        task("other_target", ignore_errors=True, phase="preflight", target_time=ago(0.5).isoformat(), **restore),
        task("ghost_refused", ignore_errors=True, phase="recover", **ghost),
        task("ghost_removed", phase="remove", replace=True, **ghost),
    ])
    plan = results["plan"]
    assert (plan["changed"], plan["created"], plan["plan"]) == (True, False, {"remove": False, "create": True})
    assert plan["archive"]["credentials"] == "options"
    assert results["after_plan"]["resources"] == []
    created = results["created"]
    assert (created["changed"], created["created"], created["status"]["phase"]) == (True, True, None)
    assert created["recovery"] == {"server_name": "pg-archive", "new_server_name": "pg-restored", "target_time": None,
                                   "source_mode": "plugin", "backup_id": "new",
                                   "backup_end_time": (ago(1) + _dt.timedelta(minutes=1)).isoformat(), "inspected_server_name": "pg-archive"}
    assert (created["archive"]["prefix"], created["archive"]["credentials"]) == ("", "secret")
    assert (results["again"]["changed"], results["again"]["existing"]) == (False, "recovery")
    refused(results["other_target"], "exists from another restore (restored from 'pg-archive' to 'latest')", "replace: true")
    refused(results["ghost_refused"], "no Cluster", "but PVCs of one do (ghost-1)", "replace: true")
    ghost_removed = results["ghost_removed"]
    assert (ghost_removed["changed"], ghost_removed["removed"], ghost_removed["saved_configmap"]) == (True, True, None)
    assert "ghost-1" not in scene.names("pvcs")

    live = scene.cluster("pg-restored")
    assert live is not None
    spec = live["spec"]
    assert spec["bootstrap"] == {"recovery": {"source": "pg-archive"}}  # no recoveryTarget: the end of the archive
    assert spec["externalClusters"] == [{"name": "pg-archive", "plugin": {"name": PLUGIN, "parameters": {
        "barmanObjectName": "store", "serverName": "pg-archive"}}}]
    archiver = {"barmanObjectName": "store", "serverName": "pg-restored"}
    assert spec["plugins"] == [{"name": PLUGIN, "isWALArchiver": True, "parameters": archiver}]
    assert "backup" not in spec and live["metadata"]["annotations"]["scalarops.pitr/target-time"] == "latest"
    assert spec["instances"] == 1 and "resources" not in spec and spec["storage"] == source["spec"]["storage"]
    assert scene.cluster("pg")["metadata"]["uid"] == source["metadata"]["uid"]  # the source is untouched


def test_bad_input_is_refused_before_anything_changes(scene: Scene) -> None:
    destination = f"s3://{scene.bucket}/pgbackup"
    write_barman_archive(scene.s3, scene.bucket, "pgbackup", "pg", backups=[("b1", ago(2), ago(2) + _dt.timedelta(minutes=1))])
    write_barman_archive(scene.s3, scene.bucket, "pgbackup", "pg-used", backups=[("b1", ago(5), ago(5))], wal_count=2)
    apply(scene.api, scene.namespace, cluster_manifest("pg", destination_path=destination, endpoint_url=scene.aws.endpoint_url))
    busy = apply(scene.api, scene.namespace, cluster_manifest("busy", destination_path=destination, endpoint_url=scene.aws.endpoint_url))
    cluster_volumes(scene.api, scene.namespace, busy)
    fresh = {"name": "fresh", "source_cluster": "pg", "phase": "recover", "ignore_errors": True}
    before = (scene.clusters(), scene.names("configmaps"), scene.names("pvcs"), scene.names("pods"))

    results = scene.run([
        task("missing_source", **{**fresh, "source_cluster": "gone"}),
        task("before_backups", new_server_name="auto", target_time=ago(3).isoformat(), **fresh),
        task("future", new_server_name="auto", target_time=(NOW + _dt.timedelta(days=1)).isoformat(), **fresh),
        task("no_zone", new_server_name="auto", target_time="2026-11-20T10:00:00", **fresh),
        task("folder_missing", recovery_server_name="pg-nope", new_server_name="auto", **fresh),
        task("not_ours", **{**fresh, "name": "busy", "new_server_name": "auto"}),
        task("not_ours_remove", **{**fresh, "name": "busy", "phase": "remove"}),
        task("not_empty", new_server_name="pg-used", **fresh),
        task("same_folder", **fresh),
        task("bad_name", **{**fresh, "name": "Fresh_DB"}),
        task("both_modes", object_store={"barman_object_name": "store", "destination_path": destination}, **fresh),
    ])
    refused(results["missing_source"], "the source Cluster", "/gone does not exist", "give cluster_spec")
    refused(results["before_backups"], "no base backup under", "ended at or before target_time", "b1 (ended")
    refused(results["future"], "is in the future")
    refused(results["no_zone"], "has no time zone")
    refused(results["folder_missing"], "/pgbackup/pg-nope/: the recovery folder", "folders there: pg, pg-used")
    refused(results["not_ours"], "busy exists and is not a recovery cluster", "deleting a Cluster deletes its PVCs")
    refused(results["not_ours_remove"], "deleting a Cluster deletes its PVCs")
    refused(results["not_empty"], "pgbackup/pg-used/ is not empty", "Expected empty archive", "move_folder", "new_server_name")
    refused(results["same_folder"], "would archive into the folder it recovers from ('pg')", "Expected empty archive")
    refused(results["bad_name"], "is not a valid Cluster name")
    refused(results["both_modes"], "not both")
    assert (scene.clusters(), scene.names("configmaps"), scene.names("pvcs"), scene.names("pods")) == before


def test_waiting_times_out_naming_the_phase_and_stops_at_once_on_expected_empty_archive(scene: Scene) -> None:
    # No source Cluster: a GitOps spec, whose s3Credentials Secret does not exist -> the default credentials (the stand-in's).
    write_barman_archive(scene.s3, scene.bucket, "", "gitops", backups=[("b1", ago(1), ago(1) + _dt.timedelta(minutes=1))])
    spec = cluster_manifest("x", destination_path=f"s3://{scene.bucket}", endpoint_url=scene.aws.endpoint_url, secret="missing",
                            server_name="gitops", instances=1)["spec"]
    slow = set_status_when_created(scene.api, scene.namespace, "slow", phase="Setting up primary", ready=0,
                                   phaseReason="Creating primary instance slow-1")
    stuck = set_status_when_created(scene.api, scene.namespace, "stuck", phase="Setting up primary", ready=0, conditions=[
        {"type": "Ready", "status": "False", "reason": "ClusterIsNotReady",
         "message": "barman-cloud-check-wal-archive: Expected empty archive"}])
    common = {"phase": "recover", "cluster_spec": spec, "recovery_server_name": "gitops", "ignore_errors": True}

    results = scene.run([
        task("slow", name="slow", new_server_name="slow", wait_timeout=2, **common),
        task("stuck", name="stuck", new_server_name="stuck", wait_timeout=300, **common),
    ])
    for thread in (slow, stuck):
        thread.join(10)
        assert thread.error is None  # type: ignore[attr-defined]

    timed_out = results["slow"]
    assert timed_out["failed"] and (timed_out["changed"], timed_out["created"], timed_out["template"]) == (True, True, "cluster_spec")
    assert "is not healthy after 2s: last phase 'Setting up primary' (Creating primary instance slow-1)" in timed_out["msg"]
    assert timed_out["archive"]["credentials"] == "default"
    stuck_result = results["stuck"]
    assert stuck_result["failed"] and stuck_result["changed"] is True
    for words in ("Expected empty archive", f"s3://{scene.bucket}/stuck/", "move_folder", "new_server_name"):
        assert words in stuck_result["msg"], words
    assert stuck_result["status"] == {"phase": "Setting up primary", "instances": 1, "ready_instances": 0}

    created = scene.cluster("slow")
    assert created is not None and created["spec"]["instances"] == 1
    assert created["spec"]["externalClusters"][0]["barmanObjectStore"]["serverName"] == "gitops"
    assert created["spec"]["backup"]["barmanObjectStore"]["serverName"] == "slow"
    assert "initdb" not in created["spec"]["bootstrap"]


def test_seed_004_folder_moved_away_and_the_cluster_recovered_under_its_old_server_name(scene: Scene) -> None:
    """move_folder as the role runs it: preflight before the move (move_from), remove, move (s3_prefix_move), recover."""
    destination = f"s3://{scene.bucket}/cnpg"
    write_barman_archive(scene.s3, scene.bucket, "cnpg", "pg", backups=[("b1", ago(2), ago(2) + _dt.timedelta(minutes=1))])
    apply(scene.api, scene.namespace, cluster_manifest("pg", destination_path=destination, endpoint_url=scene.aws.endpoint_url))
    target = ago(1)
    names = {"name": "pg", "target_time": target.isoformat(), "recovery_server_name": "pg-backup", "new_server_name": "pg"}
    move = {"bucket": scene.bucket, "source_prefix": "cnpg/pg", "target_prefix": "cnpg/pg-backup"}

    results = scene.run([
        task("pre", phase="preflight", replace=True, move_from="pg", **names),
        task("removed", phase="remove", replace=True, move_from="pg", **names),
        {"name": "copy", "scalarops.pitr.s3_prefix_move": {**move, "delete_source": False}, "register": "copied"},
        task("not_deleted", ignore_errors=True, phase="recover", wait=False, **names),
        {"name": "move", "scalarops.pitr.s3_prefix_move": {**move, "delete_source": True}, "register": "moved"},
        task("recovered", phase="recover", wait=False, **names),
        # what the role asks on a re-run to find the folders again: no folder names given
        task("found", phase="preflight", check_archive=False, new_server_name="auto", target_time=target.isoformat(), name="pg"),
    ])
    pre = results["pre"]
    assert (pre["recovery"]["inspected_server_name"], pre["archive"]["pending_move"], pre["archive"]["new_folder_empty"]) == ("pg", True, False)
    assert (pre["recovery"]["server_name"], pre["recovery"]["new_server_name"], pre["recovery"]["backup_id"]) == ("pg-backup", "pg", "b1")
    assert results["removed"]["removed"] is True and results["moved"]["state"] == "source_deleted"
    refused(results["not_deleted"], "cnpg/pg/ is not empty", "the move did not delete the source (the move is in state 'verified')",
            "delete_source: true")
    recovered = results["recovered"]
    assert (recovered["created"], recovered["recovery"]["inspected_server_name"], recovered["archive"]["pending_move"]) == (True, "pg-backup", False)
    assert recovered["archive"]["new_folder_empty"] is True

    spec = scene.cluster("pg")["spec"]
    assert spec["externalClusters"][0]["name"] == "pg-backup" and spec["externalClusters"][0]["barmanObjectStore"]["serverName"] == "pg-backup"
    assert spec["bootstrap"]["recovery"]["source"] == "pg-backup" and spec["backup"]["barmanObjectStore"]["serverName"] == "pg"
    found = results["found"]
    assert (found["existing"], found["recovery"]["server_name"], found["recovery"]["new_server_name"]) == ("recovery", "pg-backup", "pg")
