"""scalarops.pitr.schema_repair through the real ansible-playbook, against the Kubernetes fixture.

Each test runs the module in a playbook (``ignore_errors`` so failures come back as results) and
checks what it left in the cluster through the Python client and helm. Jobs "run" on the
stand-in's fake controller: they complete at once, or fail / keep running as the pod annotations
``standins.scalarops.io/fail`` / ``duration`` ask, which the module passes through
``pod_annotations``. ``method: local`` runs a tiny Java program standing in for the Schema Loader
jar (``schema_loader/StandinSchemaLoader.java``), compiled once per session.
"""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from fixtures.common import VENV_BIN, run_playbook
from fixtures.kube import KubeTarget
from standins.charts import chart_path

SCHEMA = {"shop.orders": {"transaction": True, "partition-key": ["id"], "columns": {"id": "INT", "total": "BIGINT"}}}
COSMOS_PROPERTIES = (
    "scalar.db.storage=cosmos\n"
    "scalar.db.contact_points=https://restored-account.documents.azure.com:443/\n"
    "scalar.db.password=${env:SCALAR_DB_PASSWORD}\n"
)
NEEDS_FAKE_CONTROLLER = "Jobs that complete, fail or linger without a database behind them"


def _task(args: dict[str, Any], register: str, **extra: Any) -> list[dict[str, Any]]:
    """The module task (failures registered, not fatal) and a copy of its result to <register>.json."""
    return [
        {"name": f"schema repair ({register})", "scalarops.pitr.schema_repair": args, "register": register,
         "ignore_errors": True, **extra},
        {"ansible.builtin.copy": {"content": "{{ %s | to_json }}" % register, "dest": "{{ playbook_dir }}/%s.json" % register,
                                  "mode": "0600"}},
    ]


def _play(kube: KubeTarget, workdir: Path, tasks: list[dict[str, Any]], verbosity: int = 0) -> tuple[dict[str, Any], str]:
    """Run the tasks; return every registered result by name, and the playbook's whole output."""
    playbook = yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], sort_keys=False)
    proc = run_playbook(playbook, workdir, kube.env, verbosity=verbosity)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    results = {path.stem: json.loads(path.read_text()) for path in workdir.glob("*.json")}
    return results, output


def _ok(result: dict[str, Any]) -> dict[str, Any]:
    assert not result.get("failed"), result.get("msg")
    return result


def _apis(kube: KubeTarget) -> tuple[client.BatchV1Api, client.CoreV1Api]:
    api = kube.api_client()
    return client.BatchV1Api(api), client.CoreV1Api(api)


def _condition(job: client.V1Job, kind: str) -> bool:
    return any(c.type == kind and c.status == "True" for c in job.status.conditions or [])


def _install(kube: KubeTarget, helm: str, release: str, chart: str, namespace: str, values: dict[str, Any]) -> None:
    kube.run(helm, "install", release, str(chart_path(chart)), "--namespace", namespace, "-f", "-", input_text=yaml.safe_dump(values))


def test_ledger_repair_through_the_schema_loading_chart(kube: KubeTarget, kube_namespace: str, helm_bin: str, tmp_path: Path) -> None:
    kube.require_standin(NEEDS_FAKE_CONTROLLER)
    _install(kube, helm_bin, "ledger", "scalardl", kube_namespace, {"ledger": {"secretName": "ledger-creds"}})
    results = _play(kube, tmp_path, _task({
        "release": {"name": "ledger", "namespace": kube_namespace, "product": "ledger"},
        "database_properties": COSMOS_PROPERTIES,
        "chart_ref": str(chart_path("schema-loading")),
        "binary_path": helm_bin,
    }, "repair"))[0]
    result = _ok(results["repair"])
    assert (result["status"], result["changed"], result["method"]) == ("succeeded", True, "chart")

    batch, core = _apis(kube)
    job = batch.read_namespaced_job("ledger-schema-repair", kube_namespace)
    assert _condition(job, "Complete")
    container = job.spec.template.spec.containers[0]
    assert "--repair-all" in container.args and "--coordinator" in container.args
    assert container.args[:2] == ["--config", "/tmp/database.properties"]
    assert result["args"] == container.args
    assert container.image == "ghcr.io/scalar-labs/scalardl-schema-loader:3.13.0"  # the release's app version
    assert [ref.secret_ref.name for ref in container.env_from] == ["ledger-creds"]  # the release's secretName
    configmap = core.read_namespaced_config_map("ledger-schema-repair-database-properties", kube_namespace)
    assert COSMOS_PROPERTIES in configmap.data.values()
    releases = json.loads(kube.run(helm_bin, "list", "--namespace", kube_namespace, "--output", "json").stdout)
    assert {r["name"]: r["status"] for r in releases}["ledger-schema-repair"] == "deployed"
    # the stand-in's pod log is the command line; read as text, not as the repr of bytes (kubernetes 36)
    assert "--repair-all" in result["log_tail"] and not result["log_tail"].startswith("b'")


def test_scalardb_cluster_job_with_schema_and_rerun(kube: KubeTarget, kube_namespace: str, tmp_path: Path) -> None:
    kube.require_standin(NEEDS_FAKE_CONTROLLER)
    helm = str(VENV_BIN / "helm")
    _install(kube, helm, "cluster", "scalardb-cluster", kube_namespace, {"scalardbCluster": {"secretName": "cluster-creds"}})
    release_properties = json.loads(kube.run(helm, "get", "values", "cluster", "-n", kube_namespace, "-a", "-o", "json").stdout)[
        "scalardbCluster"]["scalardbClusterNodeProperties"]
    args = {"release": {"name": "cluster", "namespace": kube_namespace, "product": "scalardb_cluster"}, "schema": SCHEMA}
    tasks = _task(args, "first") + [
        {"kubernetes.core.k8s_info": {"kind": "Job", "namespace": kube_namespace, "name": "cluster-schema-repair"}, "register": "before"},
        {"ansible.builtin.copy": {"content": "{{ before | to_json }}", "dest": "{{ playbook_dir }}/before.json", "mode": "0600"}},
    ] + _task(args, "second")
    results = _play(kube, tmp_path, tasks)[0]
    _ok(results["first"])
    result = _ok(results["second"])

    batch, core = _apis(kube)
    job = batch.read_namespaced_job("cluster-schema-repair", kube_namespace)
    assert _condition(job, "Complete")
    assert job.metadata.uid != results["before"]["resources"][0]["metadata"]["uid"]  # the re-run replaced the Job
    container = job.spec.template.spec.containers[0]
    assert container.args == ["--config", "/scalarops-pitr/config/database.properties", "-f", "/scalarops-pitr/schema/schema.json",
                              "--coordinator", "--repair-all"]
    assert result["args"] == container.args
    assert container.image == result["image"] == "ghcr.io/scalar-labs/scalardb-schema-loader:3.18.0"
    assert [ref.secret_ref.name for ref in container.env_from] == ["cluster-creds"]
    schema_cm = core.read_namespaced_config_map("cluster-schema-repair-schema", kube_namespace)
    assert json.loads(schema_cm.data["schema.json"]) == SCHEMA
    props = core.read_namespaced_secret("cluster-schema-repair-properties", kube_namespace)
    assert base64.b64decode(props.data["database.properties"]).decode() == release_properties
    for owned in (schema_cm, props):
        assert [ref.uid for ref in owned.metadata.owner_references] == [job.metadata.uid]


def test_failing_job_reports_its_log_tail(kube: KubeTarget, kube_namespace: str, tmp_path: Path) -> None:
    kube.require_standin(NEEDS_FAKE_CONTROLLER)
    message = "ERROR SchemaLoader - Repairing the table shop.orders failed: the container is not reachable"
    results = _play(kube, tmp_path, _task({
        "release": {"name": "app", "namespace": kube_namespace, "product": "scalardb"},
        "database_properties": COSMOS_PROPERTIES, "secret_name": "", "schema": json.dumps(SCHEMA), "schema_loader_version": "3.18.1",
        "pod_annotations": {"standins.scalarops.io/fail": message},
    }, "repair"))[0]
    result = results["repair"]
    assert result["failed"] and result["status"] == "failed"
    assert "Schema Loader Job" in result["msg"] and f"{kube_namespace}/app-schema-repair failed" in result["msg"]
    assert message in result["msg"] and message in result["log_tail"]
    job = _apis(kube)[0].read_namespaced_job("app-schema-repair", kube_namespace)
    assert _condition(job, "Failed")  # kept for inspection


def test_check_mode_creates_nothing(kube: KubeTarget, kube_namespace: str, tmp_path: Path) -> None:
    common = {"database_properties": COSMOS_PROPERTIES, "secret_name": ""}
    tasks = _task({"release": {"name": "ledger", "namespace": kube_namespace, "product": "ledger"},
                   "chart_ref": str(chart_path("schema-loading")), **common}, "chart", check_mode=True)
    tasks += _task({"release": {"name": "app", "namespace": kube_namespace, "product": "scalardb"}, "schema": SCHEMA,
                    "schema_loader_version": "3.18.1", **common}, "job", check_mode=True)
    results = _play(kube, tmp_path, tasks)[0]
    chart, job = _ok(results["chart"]), _ok(results["job"])
    assert (chart["status"], chart["job_name"], chart["helm_release"]) == ("planned", "ledger-schema-repair", "ledger-schema-repair")
    assert chart["args"] == ["--repair-all"]
    assert (job["status"], job["job_name"], job["changed"]) == ("planned", "app-schema-repair", True)
    assert "--repair-all" in job["args"] and "-f" in job["args"]

    batch, core = _apis(kube)
    assert batch.list_namespaced_job(kube_namespace).items == []
    assert [c.metadata.name for c in core.list_namespaced_config_map(kube_namespace).items if "schema" in c.metadata.name] == []
    assert [s.metadata.name for s in core.list_namespaced_secret(kube_namespace).items if "schema" in s.metadata.name] == []
    assert json.loads(kube.run(str(VENV_BIN / "helm"), "list", "-n", kube_namespace, "-o", "json").stdout) == []


def test_wait_timeout_is_honoured(kube: KubeTarget, kube_namespace: str, tmp_path: Path) -> None:
    kube.require_standin(NEEDS_FAKE_CONTROLLER)
    started = time.monotonic()
    results = _play(kube, tmp_path, _task({
        "release": {"name": "slow", "namespace": kube_namespace, "product": "scalardb"},
        "database_properties": COSMOS_PROPERTIES, "secret_name": "", "schema": SCHEMA, "schema_loader_version": "3.18.1",
        "pod_annotations": {"standins.scalarops.io/duration": "30"}, "wait_timeout": 2,
    }, "repair"))[0]
    elapsed = time.monotonic() - started
    result = results["repair"]
    assert result["failed"] and result["status"] == "timed_out"
    assert f"Schema Loader Job {kube_namespace}/slow-schema-repair did not finish within wait_timeout 2s" in result["msg"]
    assert result["duration"] < 6, result["duration"]
    assert elapsed < 25, elapsed  # far from the Job's 30 s
    job = _apis(kube)[0].read_namespaced_job("slow-schema-repair", kube_namespace)
    assert job.status.active == 1  # left running, as the message says


def test_no_literal_password_in_verbose_output(kube: KubeTarget, kube_namespace: str, tmp_path: Path) -> None:
    kube.require_standin(NEEDS_FAKE_CONTROLLER)
    password = "Lit3ral-Passw0rd-42"
    properties = ("scalar.db.storage=jdbc\nscalar.db.contact_points=jdbc:postgresql://restored:5432/app\n"
                  f"scalar.db.username=app\nscalar.db.password={password}\n")
    common = {"database_properties": properties, "secret_name": "", "schema": SCHEMA, "schema_loader_version": "3.18.1"}
    tasks = _task({"release": {"name": "good", "namespace": kube_namespace, "product": "scalardb"}, **common}, "good")
    tasks += _task({"release": {"name": "bad", "namespace": kube_namespace, "product": "scalardb"}, **common,
                    # a loader that echoes its configuration when it fails
                    "pod_annotations": {"standins.scalarops.io/fail": f"cannot connect with scalar.db.password={password}"}}, "bad")
    results, output = _play(kube, tmp_path, tasks, verbosity=1)
    _ok(results["good"])
    assert results["bad"]["failed"]
    assert "scalar.db.password=********" in results["bad"]["msg"]
    assert password not in output
    # the properties did reach the cluster (in the Job's Secret): the absence above is masking, not loss
    secret = _apis(kube)[1].read_namespaced_secret("good-schema-repair-properties", kube_namespace)
    assert password in base64.b64decode(secret.data["database.properties"]).decode()


def test_auditor_job_method_uses_the_schema_in_the_scalardl_image(kube: KubeTarget, kube_namespace: str, tmp_path: Path) -> None:
    kube.require_standin(NEEDS_FAKE_CONTROLLER)
    results = _play(kube, tmp_path, _task({
        "release": {"name": "audit", "namespace": kube_namespace, "product": "auditor"}, "method": "job",
        "database_properties": COSMOS_PROPERTIES, "secret_name": "auditor-creds", "schema_loader_version": "3.13.0",
        "pod_annotations": {"sidecar.istio.io/inject": "false"},
    }, "repair"))[0]
    _ok(results["repair"])
    job = _apis(kube)[0].read_namespaced_job("audit-schema-repair", kube_namespace)
    assert _condition(job, "Complete")
    assert job.spec.template.metadata.annotations == {"sidecar.istio.io/inject": "false"}
    container = job.spec.template.spec.containers[0]
    assert container.image == "ghcr.io/scalar-labs/scalardl-schema-loader:3.13.0"
    # the image's entrypoint adds "-f auditor-schema.json"; the Auditor has no coordinator tables
    assert container.args == ["--config", "/scalarops-pitr/config/database.properties", "--repair-all"]
    assert [(e.name, e.value) for e in container.env] == [("SCHEMA_TYPE", "auditor")]
    assert [ref.secret_ref.name for ref in container.env_from] == ["auditor-creds"]


def test_cleanup_after_success_and_no_wait(kube: KubeTarget, kube_namespace: str, tmp_path: Path) -> None:
    kube.require_standin(NEEDS_FAKE_CONTROLLER)
    common = {"database_properties": COSMOS_PROPERTIES, "secret_name": "", "schema": SCHEMA, "schema_loader_version": "3.18.1"}
    tasks = _task({"release": {"name": "tidy", "namespace": kube_namespace, "product": "scalardb"}, "cleanup": True, **common}, "tidy")
    tasks += _task({"release": {"name": "bg", "namespace": kube_namespace, "product": "scalardb"}, "wait": False,
                    "pod_annotations": {"standins.scalarops.io/duration": "30"}, **common}, "bg")
    results = _play(kube, tmp_path, tasks)[0]
    tidy, background = _ok(results["tidy"]), _ok(results["bg"])
    assert tidy["status"] == "succeeded" and tidy["cleaned_up"] is True
    assert background["status"] == "running" and background["duration"] < 10
    batch, core = _apis(kube)
    assert [j.metadata.name for j in batch.list_namespaced_job(kube_namespace).items] == ["bg-schema-repair"]
    assert batch.read_namespaced_job("bg-schema-repair", kube_namespace).status.active == 1
    assert [c.metadata.name for c in core.list_namespaced_config_map(kube_namespace).items if "tidy" in c.metadata.name] == []
    assert [s.metadata.name for s in core.list_namespaced_secret(kube_namespace).items if "tidy" in s.metadata.name] == []


@pytest.fixture(scope="session")
def standin_loader_jar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stand-in Schema Loader jar, compiled from schema_loader/StandinSchemaLoader.java."""
    javac, jar = shutil.which("javac"), shutil.which("jar")
    if not javac or not jar:
        pytest.skip("method local needs a JDK (javac and jar) to build the stand-in Schema Loader jar")
    out = tmp_path_factory.mktemp("loader")
    source = Path(__file__).parent / "schema_loader" / "StandinSchemaLoader.java"
    subprocess.run([javac, "--release", "8", "-d", str(out), str(source)], check=True, capture_output=True, timeout=120)
    subprocess.run([jar, "cfe", str(out / "loader.jar"), "StandinSchemaLoader", "-C", str(out), "StandinSchemaLoader.class"],
                   check=True, capture_output=True, timeout=60)
    return out / "loader.jar"


def test_local_method_runs_the_jar_with_the_release_secret(kube: KubeTarget, kube_namespace: str, tmp_path: Path,
                                                           standin_loader_jar: Path) -> None:
    kube.kubectl("create", "secret", "generic", "local-creds", "-n", kube_namespace, "--from-literal=SCALAR_DB_PASSWORD=from-the-secret")
    record = tmp_path / "record"
    common = {"release": {"name": "app", "namespace": kube_namespace, "product": "scalardb"}, "method": "local",
              "schema_loader_jar": str(standin_loader_jar), "java_path": shutil.which("java") or "java",
              "database_properties": COSMOS_PROPERTIES, "secret_name": "local-creds", "schema": SCHEMA, "no_backup": True}
    tasks = _task(common, "good", environment={"STANDIN_LOADER_RECORD": str(record)})
    tasks += _task(common, "bad", environment={"STANDIN_LOADER_FAIL": "stored procedure mutate.js is missing in shop.orders"})
    results = _play(kube, tmp_path, tasks)[0]

    good = _ok(results["good"])
    assert good["status"] == "succeeded" and good["job_name"] is None
    args = (record / "args.txt").read_text().splitlines()
    assert args == good["args"]
    assert [a for i, a in enumerate(args) if i not in (1, 3)] == ["--config", "-f", "--coordinator", "--repair-all", "--no-backup"]
    assert (record / "config.properties").read_text() == COSMOS_PROPERTIES
    assert json.loads((record / "schema.json").read_text()) == SCHEMA
    assert (record / "env.txt").read_text() == "from-the-secret"
    assert not Path(args[1]).exists()  # the temporary files are gone
    assert "repairing namespaces and tables succeeded" in good["log_tail"]

    bad = results["bad"]
    assert bad["failed"] and bad["status"] == "failed"
    assert "exit 3" in bad["msg"] and "stored procedure mutate.js is missing in shop.orders" in bad["msg"]
