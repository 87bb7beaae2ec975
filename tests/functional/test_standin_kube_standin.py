"""The Kubernetes API stand-in itself: its start/stop contract and its stand-in-only test hooks.

Most run on a private stand-in (not the session's ``kube``), because resets and injected faults
would disturb other tests, and because they test the stand-in, not the cluster behind ``kube``.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config

from fixtures.common import VENV_BIN
from fixtures.kube import KubeTarget
from standins.kube import KubeStandin, start_kube

CHART = Path(__file__).parent / "charts" / "standin-app"


@pytest.fixture(scope="module", name="private_kube")
def private_kube_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeStandin]:
    standin = start_kube(tmp_path_factory.mktemp("private-kube"))
    try:
        yield standin
    finally:
        standin.stop()


def _api(standin: KubeStandin) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(standin.kubeconfig))


def _kubectl(standin: KubeStandin, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(standin.kubeconfig), "KUBECACHEDIR": str(standin.kubeconfig.parent / "cache")}
    return subprocess.run([str(VENV_BIN / "kubectl"), *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def test_start_and_stop_contract(tmp_path: Path) -> None:
    standin = start_kube(tmp_path)
    ready = json.loads((tmp_path / "kube.ready.json").read_text(encoding="utf-8"))
    assert {"url", "pid", "kubeconfig", "context"} <= set(ready)
    kubeconfig = yaml.safe_load(Path(ready["kubeconfig"]).read_text(encoding="utf-8"))
    assert kubeconfig["current-context"] == "standin"
    assert kubeconfig["clusters"][0]["cluster"]["server"] == standin.url
    with urllib.request.urlopen(f"{standin.url}/version", timeout=10) as response:  # nosec - local stand-in
        assert json.load(response)["major"] == "1"
    assert (tmp_path / "kube.pid").read_text(encoding="utf-8").strip() == str(ready["pid"])
    standin.stop()
    assert not (tmp_path / "kube.pid").exists()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{standin.url}/version", timeout=2)  # pylint: disable=consider-using-with


def test_fresh_cluster_contents_and_reset(private_kube: KubeStandin) -> None:
    core = client.CoreV1Api(_api(private_kube))
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="scratch")))
    private_kube.reset()
    namespaces = sorted(n.metadata.name for n in core.list_namespace().items)
    assert namespaces == ["default", "kube-node-lease", "kube-public", "kube-system"]
    assert [n.metadata.name for n in core.list_node().items] == ["standin-node"]
    crds = client.ApiextensionsV1Api(_api(private_kube)).list_custom_resource_definition().items
    assert "clusters.postgresql.cnpg.io" in {c.metadata.name for c in crds}
    assert core.read_namespaced_service_account("default", "default").metadata.name == "default"


def test_injected_fault_answers_once(private_kube: KubeStandin) -> None:
    assert _kubectl(private_kube, "create", "deployment", "web", "--image=busybox:1.36").returncode == 0
    private_kube.inject_fault("PATCH", r"/deployments/web/scale$", code=500, message="etcdserver: request timed out")
    failed = _kubectl(private_kube, "scale", "deployment", "web", "--replicas=0")
    assert failed.returncode != 0 and "etcdserver: request timed out" in failed.stderr
    assert _kubectl(private_kube, "scale", "deployment", "web", "--replicas=0").returncode == 0


def test_pod_ip_annotation_feeds_endpoints(private_kube: KubeStandin) -> None:
    core = client.CoreV1Api(_api(private_kube))
    labels = {"app.kubernetes.io/app": "ledger"}
    core.create_namespaced_service("default", client.V1Service(
        metadata=client.V1ObjectMeta(name="ledger-headless"),
        spec=client.V1ServiceSpec(cluster_ip="None", selector=labels,
                                  ports=[client.V1ServicePort(name="scalardl-admin", port=50053, target_port=50053)])))
    for index in (1, 2):
        core.create_namespaced_pod("default", client.V1Pod(
            metadata=client.V1ObjectMeta(name=f"ledger-{index}", labels=labels,
                                         annotations={"standins.scalarops.io/pod-ip": f"127.0.0.{index + 10}"}),
            spec=client.V1PodSpec(containers=[client.V1Container(name="ledger", image="busybox:1.36")])))
    pods = core.list_namespaced_pod("default", label_selector="app.kubernetes.io/app=ledger").items
    assert sorted((p.status.phase, p.status.pod_ip) for p in pods) == [("Running", "127.0.0.11"), ("Running", "127.0.0.12")]
    endpoints = core.read_namespaced_endpoints("ledger-headless", "default")
    assert sorted(a.ip for a in endpoints.subsets[0].addresses) == ["127.0.0.11", "127.0.0.12"]
    assert endpoints.subsets[0].ports[0].port == 50053
    # a test can still move a pod elsewhere through the status subresource
    core.patch_namespaced_pod_status("ledger-1", "default", {"status": {"podIP": "127.0.0.99"}})
    endpoints = core.read_namespaced_endpoints("ledger-headless", "default")
    assert sorted(a.ip for a in endpoints.subsets[0].addresses) == ["127.0.0.12", "127.0.0.99"]


def test_job_duration_annotation_keeps_it_running(private_kube: KubeStandin) -> None:
    batch = client.BatchV1Api(_api(private_kube))
    batch.create_namespaced_job("default", client.V1Job(
        metadata=client.V1ObjectMeta(name="slow"),
        spec=client.V1JobSpec(template=client.V1PodTemplateSpec(
            metadata=client.V1ObjectMeta(annotations={"standins.scalarops.io/duration": "0.5"}),
            spec=client.V1PodSpec(restart_policy="Never", containers=[client.V1Container(name="c", image="busybox:1.36")])))))
    running = batch.read_namespaced_job("slow", "default")
    assert running.status.active == 1 and not running.status.conditions
    time.sleep(1.0)
    done = batch.read_namespaced_job("slow", "default")
    assert done.status.succeeded == 1 and [c.type for c in done.status.conditions] == ["SuccessCriteriaMet", "Complete"]


def test_health_discovery_and_openapi(private_kube: KubeStandin) -> None:
    def get(path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"{private_kube.url}{path}", timeout=10) as response:  # nosec - local stand-in
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    assert get("/healthz") == (200, b"ok") and get("/readyz") == (200, b"ok")
    assert get("/openapi/v2")[0] == 404  # clients must use v3 (v2 would be protobuf-only)
    root = json.loads(get("/openapi/v3")[1])
    apps_doc = json.loads(get(root["paths"]["apis/apps/v1"]["serverRelativeURL"])[1])
    patch = apps_doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert "fieldValidation" in {p["name"] for p in patch["parameters"]}
    resources = json.loads(get("/apis/apps/v1")[1])["resources"]
    scale = next(r for r in resources if r["name"] == "deployments/scale")
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
    status, body = get("/api/v1/namespaces/default/pods/nope")
    assert status == 404 and json.loads(body)["reason"] == "NotFound"


def test_opt_in_pods_follow_helm_scaling(kube: KubeTarget, kube_namespace: str, tmp_path: Path) -> None:
    kube.require_standin("Pods for Deployments only on request (standins.scalarops.io/pods)")
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"replicaCount": 2, "podAnnotations": {
        "standins.scalarops.io/pods": "true", "standins.scalarops.io/pod-ip": "127.0.0.7"}}), encoding="utf-8")
    helm = str(VENV_BIN / "helm3")
    kube.run(helm, "install", "r1", str(CHART), "-n", kube_namespace, "-f", str(values), "--wait")
    core = client.CoreV1Api(kube.api_client())
    selector = "app.kubernetes.io/instance=r1,app.kubernetes.io/app=standin-app"

    def pods() -> list[client.V1Pod]:
        return core.list_namespaced_pod(kube_namespace, label_selector=selector).items

    before = pods()
    assert [(p.status.phase, p.status.pod_ip) for p in before] == [("Running", "127.0.0.7")] * 2
    assert all(p.metadata.owner_references[0].kind == "ReplicaSet" for p in before)
    core.delete_namespaced_pod(before[0].metadata.name, kube_namespace)  # the ReplicaSet replaces it
    after = pods()
    assert len(after) == 2 and before[0].metadata.name not in {p.metadata.name for p in after}
    endpoints = core.read_namespaced_endpoints("r1-standin-app-headless", kube_namespace)
    assert [a.ip for a in endpoints.subsets[0].addresses] == ["127.0.0.7", "127.0.0.7"]

    kube.run(helm, "upgrade", "r1", str(CHART), "-n", kube_namespace, "--reuse-values", "--set", "replicaCount=0", "--wait")
    assert not pods()
    kube.run(helm, "upgrade", "r1", str(CHART), "-n", kube_namespace, "--reuse-values", "--set", "replicaCount=3", "--wait")
    assert len(pods()) == 3


def test_deny_rules_refuse_requests_and_access_reviews(private_kube: KubeStandin) -> None:
    assert _kubectl(private_kube, "create", "deployment", "denied", "--image=busybox:1.36").returncode == 0
    assert _kubectl(private_kube, "auth", "can-i", "patch", "deployments.apps/scale").stdout.strip() == "yes"
    private_kube.deny(verb="patch", group="apps", resource="deployments")
    try:
        can_i = _kubectl(private_kube, "auth", "can-i", "patch", "deployments.apps/scale", "-n", "default")
        assert can_i.returncode != 0 and can_i.stdout.startswith("no")
        refused = _kubectl(private_kube, "scale", "deployment", "denied", "--replicas=0")
        assert refused.returncode != 0 and 'cannot patch resource "deployments/scale" in API group "apps"' in refused.stderr
        review = client.AuthorizationV1Api(_api(private_kube)).create_self_subject_access_review(client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=client.V1ResourceAttributes(
                verb="get", group="apps", resource="deployments", namespace="default"))))
        assert review.status.allowed is True
    finally:
        private_kube.hook("DELETE", "deny")
    assert _kubectl(private_kube, "scale", "deployment", "denied", "--replicas=0").returncode == 0
