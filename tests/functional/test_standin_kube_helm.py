"""Real helm 3 and helm 4 drive a release through its life against the Kubernetes fixture.

Every step is checked through another real client (kubectl, the Python client, helm's own
storage), so the stand-in has to keep state the way a cluster does: replica counts and
readiness after ``--wait``, values merged by ``--reuse-values``, revisions kept in Secrets,
rollback restoring the old objects, uninstall removing them.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from fixtures.kube import KubeTarget

CHART = Path(__file__).parent / "charts" / "standin-app"
RELEASE = "r1"
DEPLOYMENT = f"{RELEASE}-standin-app"


def _helm(kube: KubeTarget, helm_bin: str, *args: str, check: bool = True) -> Any:
    return kube.run(helm_bin, *args, check=check)


def _get(kube: KubeTarget, kind: str, name: str, namespace: str) -> dict[str, Any]:
    return json.loads(kube.kubectl("get", kind, name, "-n", namespace, "-o", "json").stdout)


def _ready(kube: KubeTarget, namespace: str) -> tuple[int, int]:
    """(spec.replicas, status.readyReplicas) of the release's Deployment, as kubectl shows them."""
    dep = _get(kube, "deployment", DEPLOYMENT, namespace)
    assert dep["status"].get("observedGeneration") == dep["metadata"]["generation"]
    return dep["spec"]["replicas"], dep["status"].get("readyReplicas", 0)


def _values(kube: KubeTarget, helm_bin: str, namespace: str, *flags: str) -> dict[str, Any]:
    return yaml.safe_load(_helm(kube, helm_bin, "get", "values", RELEASE, "-n", namespace, "-o", "yaml", *flags).stdout) or {}


def test_release_lifecycle(kube: KubeTarget, helm_bin: str, kube_name: str, tmp_path: Path) -> None:
    namespace = kube_name
    apps = client.AppsV1Api(kube.api_client())

    _helm(kube, helm_bin, "install", RELEASE, str(CHART), "-n", namespace, "--create-namespace",
          "--set", "replicaCount=3", "--wait", "--timeout", "120s")
    assert _ready(kube, namespace) == (3, 3)
    assert _get(kube, "namespace", namespace, namespace)["status"]["phase"] == "Active"
    headless = _get(kube, "service", f"{DEPLOYMENT}-headless", namespace)
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["ports"][0]["targetPort"] == 50053

    # scale in the way the restore does: keep every value, change only the replica count
    _helm(kube, helm_bin, "upgrade", RELEASE, str(CHART), "-n", namespace, "--reuse-values",
          "--set", "replicaCount=0", "--wait", "--timeout", "120s")
    assert _ready(kube, namespace) == (0, 0)
    assert apps.read_namespaced_deployment(DEPLOYMENT, namespace).spec.replicas == 0
    assert _values(kube, helm_bin, namespace) == {"replicaCount": 0}

    # a values file on top of the reused values rolls the pods through checksum/config
    old_checksum = _get(kube, "deployment", DEPLOYMENT, namespace)["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump({"config": {"greeting": "bonjour"}}))
    _helm(kube, helm_bin, "upgrade", RELEASE, str(CHART), "-n", namespace, "--reuse-values",
          "-f", str(values_file), "--wait", "--timeout", "120s")
    assert _values(kube, helm_bin, namespace) == {"replicaCount": 0, "config": {"greeting": "bonjour"}}
    assert "greeting=bonjour" in _get(kube, "configmap", DEPLOYMENT, namespace)["data"]["app.properties"]
    new_template = _get(kube, "deployment", DEPLOYMENT, namespace)["spec"]["template"]
    assert new_template["metadata"]["annotations"]["checksum/config"] != old_checksum
    computed = _values(kube, helm_bin, namespace, "-a")
    assert computed["replicaCount"] == 0 and computed["image"]["repository"] == "busybox"

    releases = json.loads(_helm(kube, helm_bin, "list", "-n", namespace, "-o", "json").stdout)
    assert [(r["name"], str(r["revision"]), r["status"]) for r in releases] == [(RELEASE, "3", "deployed")]
    history = json.loads(_helm(kube, helm_bin, "history", RELEASE, "-n", namespace, "-o", "json").stdout)
    assert [h["status"] for h in history] == ["superseded", "superseded", "deployed"]

    _helm(kube, helm_bin, "rollback", RELEASE, "1", "-n", namespace, "--wait", "--timeout", "120s")
    assert _ready(kube, namespace) == (3, 3)
    assert "greeting=hello" in _get(kube, "configmap", DEPLOYMENT, namespace)["data"]["app.properties"]
    assert _values(kube, helm_bin, namespace) == {"replicaCount": 3}
    storage = json.loads(kube.kubectl("get", "secrets", "-n", namespace, "-l", f"owner=helm,name={RELEASE}", "-o", "json").stdout)
    assert sorted(s["metadata"]["labels"]["version"] for s in storage["items"]) == ["1", "2", "3", "4"]

    _helm(kube, helm_bin, "uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "120s")
    gone = kube.kubectl("get", "deployment", DEPLOYMENT, "-n", namespace, check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr
    assert json.loads(_helm(kube, helm_bin, "list", "-n", namespace, "-o", "json").stdout) == []


def test_failed_job_log_is_readable(kube: KubeTarget, helm_bin: str, kube_namespace: str) -> None:
    message = "boom: relation already exists"
    _helm(kube, helm_bin, "install", "r2", str(CHART), "-n", kube_namespace, "--set", f"job.fail={message}")
    job = "r2-standin-app-setup"
    kube.kubectl("wait", "--for=condition=Failed", f"job/{job}", "-n", kube_namespace, "--timeout=120s")
    assert _get(kube, "job", job, kube_namespace)["status"]["failed"] == 1
    assert kube.kubectl("logs", f"job/{job}", "-n", kube_namespace).stdout.strip() == message
    core = client.CoreV1Api(kube.api_client())
    pods = core.list_namespaced_pod(kube_namespace, label_selector=f"job-name={job}").items
    assert [p.status.phase for p in pods] == ["Failed"]
    # kubernetes 36 returns the repr of the bytes for logs (kubernetes-client/python#2596): read raw
    raw = core.read_namespaced_pod_log(pods[0].metadata.name, kube_namespace, _preload_content=False)
    assert raw.data.decode().strip() == message


def test_successful_job_completes(kube: KubeTarget, helm_bin: str, kube_namespace: str) -> None:
    _helm(kube, helm_bin, "install", "r3", str(CHART), "-n", kube_namespace, "--wait", "--wait-for-jobs", "--timeout", "120s")
    job = _get(kube, "job", "r3-standin-app-setup", kube_namespace)
    assert job["status"]["succeeded"] == 1
    assert any(c["type"] == "Complete" and c["status"] == "True" for c in job["status"]["conditions"])
    assert kube.kubectl("logs", "job/r3-standin-app-setup", "-n", kube_namespace).stdout.strip() == "setup r3"
