"""playbooks/restore_cnpg.yml end to end: the real ansible-playbook against the Kubernetes stand-in (CloudNativePG CRDs,
no operator) and moto S3 holding a Barman archive as barman-cloud writes it.

Each test builds what an operator has before the restore - a CloudNativePG Cluster archiving to S3 (in-tree
barmanObjectStore, or the Barman Cloud plugin with an ObjectStore), its S3 credentials Secret, the PVC the operator made
for it, and an application Deployment with 2 running pods - runs the playbook as an operator would, and reads back what
Kubernetes and S3 show. The operator's part (reporting the recovery Cluster healthy, or stuck) is played by a thread
that waits for the recovery Cluster to appear, notes the application's replicas at that moment (the restore must
have stopped it) and sets the Cluster's status. Every run is checked for the S3 secret key, which must never show.
"""
from __future__ import annotations

import datetime as _dt
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from playbook_scene import PODS, ReleaseScene, Run, moment

from cnpg_helpers import (
    HEALTHY,
    PLUGIN,
    apply,
    cluster_manifest,
    cluster_volumes,
    credentials_secret,
    object_store_manifest,
    set_cluster_status,
    write_barman_archive,
)
from fixtures.common import REPO_ROOT
from fixtures.kube import KubeTarget
from standins.aws.target import AwsTarget

pytestmark = [pytest.mark.slow, pytest.mark.standin_only]  # no operator: the tests set the Clusters' status

PLAYBOOK = REPO_ROOT / "playbooks" / "restore_cnpg.yml"
REPORT_GLOB = "restore-cnpg-*"
CLUSTER = "pg"
APP = "app"
MANAGED_BY = "scalarops.pitr/managed-by"
RECORD = "scalarops.pitr/replicas-before-stop"
UTC = _dt.timezone.utc
NOW = _dt.datetime.now(UTC).replace(microsecond=0)
# Two completed base backups, 3 h and 1 h ago; the restore point lies after the second.
BACKUPS = [("20261120T090000", NOW - _dt.timedelta(hours=3), NOW - _dt.timedelta(hours=3) + _dt.timedelta(seconds=5)),
           ("20261120T110000", NOW - _dt.timedelta(hours=1), NOW - _dt.timedelta(hours=1) + _dt.timedelta(seconds=5))]
POINT = NOW - _dt.timedelta(minutes=30)


def iso(when: _dt.datetime) -> str:
    return when.isoformat()


def rfc3339(when: _dt.datetime) -> str:
    return when.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


class Operator(threading.Thread):
    """Plays the CloudNativePG operator for one run: once the recovery Cluster (ours: annotated) exists, notes the
    application's (spec replicas, ready, pods) and sets the Cluster's status to ``phase``."""

    def __init__(self, scene: CnpgScene, phase: str = HEALTHY, ready: int | None = None) -> None:
        super().__init__(name="cnpg-operator", daemon=True)
        self.scene, self.phase, self.ready = scene, phase, ready
        self.app_seen: tuple[int, int, int] | None = None
        self.error: Exception | None = None
        self.done = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + 240
        try:
            while not self.done.is_set() and time.monotonic() < deadline:
                found = self.scene.cluster(self.scene.target)
                if found and MANAGED_BY in (found["metadata"].get("annotations") or {}):
                    self.app_seen = self.scene.app()
                    set_cluster_status(self.scene.api, self.scene.namespace, self.scene.target, self.phase, self.ready)
                    return
                time.sleep(0.1)
        except Exception as exc:  # pylint: disable=broad-except  # reported by finish()
            self.error = exc

    def finish(self) -> None:
        self.done.set()
        self.join(30)
        if self.error:
            raise self.error


@dataclass
class CnpgScene(ReleaseScene):
    """A Cluster archiving to S3, its credentials, its PVC, an application using it, and the archive."""

    plugin: bool = False
    bucket: str = ""
    prefix: str = ""
    target: str = CLUSTER
    keys: list[str] = field(default_factory=list)

    @property
    def api(self) -> Any:
        return self.kube.api_client()

    @property
    def s3(self) -> Any:
        return self.cloud.client("s3")

    def build(self) -> None:
        endpoint = self.cloud.endpoint_url
        destination = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        apply(self.api, self.namespace, credentials_secret("s3-creds", "AKIAPITRTEST", self.secret))
        if self.plugin:
            apply(self.api, self.namespace, object_store_manifest("store", destination, endpoint, "s3-creds"))
            manifest = cluster_manifest(CLUSTER, object_store="store", server_name=CLUSTER)
        else:
            manifest = cluster_manifest(CLUSTER, destination_path=destination, endpoint_url=endpoint, server_name=CLUSTER)
        cluster_volumes(self.api, self.namespace, apply(self.api, self.namespace, manifest))
        self.keys = write_barman_archive(self.s3, self.bucket, self.prefix, CLUSTER, backups=BACKUPS, wal_count=8)["keys"]
        app = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": APP, "namespace": self.namespace},
               "spec": {"replicas": 2, "selector": {"matchLabels": {"app": APP}},
                        "template": {"metadata": {"labels": {"app": APP}, "annotations": PODS},
                                     "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]}}}}
        self.kube.kubectl("apply", "-f", "-", input_text=json.dumps(app))
        deadline = time.monotonic() + 30
        while self.app() != (2, 2, 2) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert self.app() == (2, 2, 2)

    def run(self, label: str, *options: str, **extra: Any) -> Run:
        values: dict[str, Any] = {
            "cnpg_namespace": self.namespace, "cnpg_cluster": CLUSTER, "restore_point": iso(POINT),
            "app_workloads": [{"kind": "Deployment", "name": APP, "namespace": self.namespace}],
            "cnpg_wait_timeout": 60, "cnpg_restore_poll_interval": 1, "cnpg_restore_app_wait_timeout": 60,
        }
        values.update(extra)
        return self.run_playbook(PLAYBOOK, values, label, REPORT_GLOB, *options)

    # --- what Kubernetes and S3 show -----------------------------------------------------------------------------
    def cluster(self, name: str) -> dict[str, Any] | None:
        try:
            return client.CustomObjectsApi(self.api).get_namespaced_custom_object("postgresql.cnpg.io", "v1", self.namespace,
                                                                                  "clusters", name)
        except client.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def clusters(self) -> list[str]:
        listed = client.CustomObjectsApi(self.api).list_namespaced_custom_object("postgresql.cnpg.io", "v1", self.namespace, "clusters")
        return sorted(item["metadata"]["name"] for item in listed["items"])

    def pvcs(self) -> list[str]:
        return sorted(item.metadata.name for item in client.CoreV1Api(self.api).list_namespaced_persistent_volume_claim(self.namespace).items)

    def configmaps(self) -> list[str]:
        return sorted(item.metadata.name for item in client.CoreV1Api(self.api).list_namespaced_config_map(self.namespace).items
                      if item.metadata.name != "kube-root-ca.crt")

    def app(self) -> tuple[int, int, int]:
        """The application's (spec replicas, ready replicas, pods)."""
        got = json.loads(self.kube.kubectl("get", "deployment", APP, "-n", self.namespace, "-o", "json").stdout)
        pods = self.kube.kubectl("get", "pods", "-n", self.namespace, "-l", f"app={APP}", "-o", "name").stdout.split()
        return got["spec"]["replicas"], got["status"].get("readyReplicas", 0), len(pods)

    def app_record(self) -> str | None:
        got = json.loads(self.kube.kubectl("get", "deployment", APP, "-n", self.namespace, "-o", "json").stdout)
        return (got["metadata"].get("annotations") or {}).get(RECORD)

    def objects(self) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return sorted(entry["Key"] for page in pages for entry in page.get("Contents", []))

    def restore(self, label: str, operator: Operator | None = None, **extra: Any) -> tuple[Run, Operator]:
        """A run with the operator thread playing its part (healthy unless given another)."""
        operator = operator or Operator(self)
        operator.start()
        try:
            run = self.run(label, **extra)
        finally:
            operator.finish()
        return run, operator


def build_scene(kube: KubeTarget, namespace: str, aws: AwsTarget, workdir: Path, *, plugin: bool = False, prefix: str = "backups") -> CnpgScene:
    scene = CnpgScene(kube=kube, namespace=namespace, cloud=aws, workdir=workdir, with_releases=(), plugin=plugin,
                      bucket=aws.unique("cnpg"), prefix=prefix)
    scene.build()
    return scene


@pytest.fixture(name="scene_of")
def scene_of_fixture(kube: KubeTarget, kube_namespace: str, aws: AwsTarget, tmp_path: Path) -> Any:
    kube.require_standin("no CloudNativePG operator runs: the tests report the recovery Cluster's status themselves")

    def make(**options: Any) -> CnpgScene:
        return build_scene(kube, kube_namespace, aws, tmp_path, **options)

    return make


def assert_no_secret(scene: CnpgScene, *runs: Run) -> None:
    for run in runs:
        assert scene.secret not in run.output, "the S3 secret key shows in the output"
        for path in run.report_files():
            assert scene.secret not in path.read_text(encoding="utf-8"), f"the S3 secret key shows in {path.name}"


def external(spec: dict[str, Any]) -> dict[str, Any]:
    """The externalClusters entry the recovery reads from."""
    (entry,) = [entry for entry in spec["externalClusters"] if entry["name"] == spec["bootstrap"]["recovery"]["source"]]
    return entry


# --- the restores ------------------------------------------------------------------------------------------------------
def test_new_server_name_replaces_the_cluster_with_apps_stopped_meanwhile(scene_of: Any) -> None:
    scene = scene_of()
    old_uid = scene.cluster(CLUSTER)["metadata"]["uid"]
    keys = scene.objects()

    run, operator = scene.restore("replace", cnpg_replace_cluster=True)
    assert run.ok, run.tail()

    cluster = scene.cluster(CLUSTER)
    assert cluster["metadata"]["uid"] != old_uid, "the old Cluster was replaced by a new one of the same name"
    spec = cluster["spec"]
    assert spec["bootstrap"]["recovery"]["recoveryTarget"] == {"targetTime": rfc3339(POINT)}
    store = external(spec)["barmanObjectStore"]
    expected = (CLUSTER, f"s3://{scene.bucket}/backups", scene.cloud.endpoint_url)
    assert (store["serverName"], store["destinationPath"], store["endpointURL"]) == expected
    assert store["s3Credentials"]["secretAccessKey"] == {"name": "s3-creds", "key": "ACCESS_SECRET_KEY"}
    new_server = spec["backup"]["barmanObjectStore"]["serverName"]
    assert new_server.startswith(f"{CLUSTER}-") and new_server != CLUSTER, "the new cluster archives to a fresh folder"
    assert (spec["instances"], spec["storage"]["size"]) == (3, "10Gi"), "the old cluster's settings are kept"
    assert scene.pvcs() == [], "the old cluster's PVC went with it"
    assert f"{CLUSTER}-pitr-removed" in scene.configmaps(), "the old Cluster's manifest is kept"
    assert scene.objects() == keys, "the old archive is untouched"

    assert operator.app_seen == (0, 0, 0), "the application was stopped while the cluster recovered"
    assert scene.app() == (2, 2, 2) and scene.app_record() is None

    report = run.report()
    assert (report["backend"], report["status"], report["failed_phase"]) == ("cnpg", "succeeded", None)
    assert [step["phase"] for step in report["timeline"]] == ["preflight", "stop", "remove", "recover", "start"]
    assert report["restore_point"]["time"] == iso(POINT)
    assert report["phases"]["preflight"]["recovery"]["backup_id"] == BACKUPS[1][0]
    assert report["phases"]["remove"]["removed"] is True
    assert report["phases"]["recover"]["created"] is True
    assert report["phases"]["recover"]["recovery"]["new_server_name"] == new_server
    assert report["phases"]["stop"]["workloads"] == [{"kind": "Deployment", "name": APP, "namespace": scene.namespace, "replicas": 2}]
    timeline = {step["phase"]: step for step in report["timeline"]}
    stopped, started = moment(report["downtime"]["stopped_at"]), moment(report["downtime"]["started_at"])
    assert moment(timeline["stop"]["started"]) <= stopped <= moment(timeline["remove"]["started"]), "stopped before the old cluster went"
    assert moment(timeline["recover"]["ended"]) <= moment(timeline["start"]["started"]) < started, "started after the recovery"
    text = run.report_text()
    assert text.startswith("Restore (cnpg): SUCCEEDED")
    assert f"recovers from s3://{scene.bucket}/backups/{CLUSTER}/ (barman_object_store) and archives to {new_server}/" in text
    assert f"base backup {BACKUPS[1][0]}" in text and f"remove: deleted the Cluster {scene.namespace}/{CLUSTER}" in text
    (page,) = [path for path in run.report_files() if path.suffix == ".html"]
    assert f"{scene.namespace}/{CLUSTER}" in page.read_text(encoding="utf-8"), "the HTML report names the cluster"
    assert_no_secret(scene, run)


def test_move_folder_with_the_barman_cloud_plugin_moves_the_archive_and_recovers_under_the_old_name(scene_of: Any) -> None:
    scene = scene_of(plugin=True, prefix="")
    keys = scene.objects()

    run, operator = scene.restore("move", cnpg_replace_cluster=True, cnpg_archive_strategy="move_folder", restore_point="")
    assert run.ok, run.tail()

    moved = [key for key in scene.objects() if not key.endswith(".scalarops-pitr-move.json")]
    assert moved == sorted(f"{CLUSTER}-backup/{key[len(CLUSTER) + 1:]}" for key in keys), "every object is now under pg-backup/"
    assert not [key for key in scene.objects() if key.startswith(f"{CLUSTER}/")], "nothing is left under pg/"

    spec = scene.cluster(CLUSTER)["spec"]
    assert "recoveryTarget" not in spec["bootstrap"]["recovery"], "an empty restore_point recovers to the end of the archive"
    assert external(spec)["plugin"] == {"name": PLUGIN, "parameters": {"barmanObjectName": "store", "serverName": f"{CLUSTER}-backup"}}
    (archiver,) = spec["plugins"]
    assert archiver["parameters"] == {"barmanObjectName": "store", "serverName": CLUSTER}, "the new cluster archives under the old name"
    assert operator.app_seen == (0, 0, 0) and scene.app() == (2, 2, 2)

    report = run.report()
    assert report["status"] == "succeeded"
    assert [step["phase"] for step in report["timeline"]] == ["preflight", "stop", "remove", "move", "recover", "start"]
    assert report["phases"]["preflight"]["move_plan"]["plan"]["to_copy"] == len(keys)
    assert (report["phases"]["move"]["objects"], report["phases"]["move"]["deleted"]) == (len(keys), len(keys))
    assert f"move: s3://{scene.bucket}/{CLUSTER}/ -> {CLUSTER}-backup/: {len(keys)} objects" in run.report_text()
    assert "Restore point: the end of the archive" in run.report_text()
    assert_no_secret(scene, run)


def test_bad_input_is_refused_before_anything_changes(scene_of: Any) -> None:
    scene = scene_of()
    uid, keys, pvcs = scene.cluster(CLUSTER)["metadata"]["uid"], scene.objects(), scene.pvcs()

    taken = scene.run("taken")
    assert not taken.ok
    assert f"a Cluster {scene.namespace}/{CLUSTER} exists and is not a recovery cluster of scalarops.pitr" in taken.output
    assert "cnpg_replace_cluster: true" in taken.output
    assert taken.report()["failed_phase"] == "preflight"

    too_early = scene.run("too-early", cnpg_replace_cluster=True, restore_point=iso(BACKUPS[0][1] - _dt.timedelta(hours=1)))
    assert not too_early.ok
    assert "no base backup" in too_early.output and "ended at or before" in too_early.output and BACKUPS[0][0] in too_early.output

    future = scene.run("future", cnpg_replace_cluster=True, restore_point="2999-01-01T00:00:00+00:00")
    assert not future.ok and "is in the future" in future.output

    missing = scene.run("missing", cnpg_replace_cluster=True, cnpg_object_store={"destination_path": f"s3://{scene.bucket}/elsewhere"})
    assert not missing.ok
    assert f"nothing under s3://{scene.bucket}/elsewhere/{CLUSTER}/" in missing.output and "folders there" not in missing.output

    planned = scene.run("check", "--check", cnpg_replace_cluster=True, cnpg_archive_strategy="move_folder")
    assert planned.ok, planned.tail()
    assert "Restore (cnpg): PLANNED" in planned.output and "move planned" in planned.output
    assert not planned.report_dir.exists(), "check mode writes no report"

    checked = scene.run("checked", cnpg_replace_cluster=True, restore_stop_after="preflight")
    assert checked.ok, checked.tail()
    assert checked.report()["status"] == "checked" and list(checked.report()["phases"]) == ["preflight"]

    for run in (taken, too_early, future, missing):
        assert run.report()["status"] == "failed" and run.report()["failed_phase"] == "preflight", run.tail()
        assert "STOPPED" not in run.output
    assert scene.clusters() == [CLUSTER] and scene.cluster(CLUSTER)["metadata"]["uid"] == uid, "no Cluster was removed or created"
    assert scene.objects() == keys and scene.pvcs() == pvcs, "nothing was moved or deleted"
    assert scene.app() == (2, 2, 2) and scene.app_record() is None, "the application was not touched"
    assert_no_secret(scene, taken, too_early, future, missing, planned, checked)


def test_a_cluster_that_never_becomes_healthy_leaves_the_apps_stopped_until_a_rerun_finishes(scene_of: Any) -> None:
    scene = scene_of()
    keys = scene.objects()
    options = {"cnpg_replace_cluster": True, "cnpg_archive_strategy": "move_folder"}

    stuck, operator = scene.restore("stuck", Operator(scene, phase="Setting up primary", ready=0), cnpg_wait_timeout=4, **options)
    assert not stuck.ok
    assert "last phase 'Setting up primary'" in stuck.output
    assert "The applications are still STOPPED" in stuck.output
    assert operator.app_seen == (0, 0, 0) and scene.app() == (0, 0, 0), "the application stays stopped"
    report = stuck.report()
    assert (report["status"], report["failed_phase"]) == ("failed", "recover")
    assert report["phases"]["recover"]["status"]["phase"] == "Setting up primary"
    assert report["downtime"]["stopped_at"] and report["downtime"]["started_at"] is None
    assert "NOT started again" in stuck.report_text()
    recovery_uid = scene.cluster(CLUSTER)["metadata"]["uid"]
    moved = scene.objects()
    assert [key for key in moved if key.startswith("backups/pg-backup/base/")], "the first run moved the folder"

    again, operator = scene.restore("again", **options)
    assert again.ok, again.tail()
    assert operator.app_seen == (0, 0, 0)
    assert scene.cluster(CLUSTER)["metadata"]["uid"] == recovery_uid, "the re-run kept the recovery Cluster of the first"
    assert scene.cluster(CLUSTER)["status"]["phase"] == HEALTHY
    assert scene.app() == (2, 2, 2) and scene.app_record() is None
    assert scene.objects() == moved and len(moved) == len(keys) + 1, "nothing was moved again (the move's manifest is the one extra)"
    phases = again.report()["phases"]
    assert phases["remove"]["removed"] is False and phases["recover"]["created"] is False
    assert phases["move"] == {"skipped_reason": "the recovery Cluster exists: an earlier run moved the folder"}
    assert "move_plan" not in phases["preflight"] or not phases["preflight"]["move_plan"]
    assert_no_secret(scene, stuck, again)
