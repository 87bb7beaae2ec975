"""Real kubectl against the Kubernetes fixture: apply (client and server side), scale, selectors,
imperative creates (protobuf bodies), cascading deletes, CRDs and status subresources."""
from __future__ import annotations

import json
from typing import Any

import yaml

from fixtures.kube import KubeTarget

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: busybox:1.36
        command: [sh, -c, sleep 2147483647]
        env: [{name: MODE, value: blue}, {name: LEVEL, value: "1"}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: db-config, labels: {tier: db, team: pitr}}
data: {k: v}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, labels: {tier: web}}
data: {k: v}
"""


def _json(kube: KubeTarget, *args: str) -> Any:
    return json.loads(kube.kubectl(*args, "-o", "json").stdout)


def _names(listed: dict[str, Any]) -> list[str]:
    return sorted(item["metadata"]["name"] for item in listed["items"])


def test_apply_scale_and_label_selectors(kube: KubeTarget, kube_namespace: str) -> None:
    ns = ["-n", kube_namespace]
    kube.kubectl("apply", *ns, "-f", "-", input_text=DEPLOYMENT)
    changed = DEPLOYMENT.replace("replicas: 2", "replicas: 4").replace("value: blue", "value: green")
    out = kube.kubectl("apply", *ns, "-f", "-", input_text=changed).stdout
    assert "deployment.apps/web configured" in out and "configmap/db-config unchanged" in out
    dep = _json(kube, "get", "deployment", "web", *ns)
    assert dep["spec"]["replicas"] == 4
    assert dep["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "MODE", "value": "green"}, {"name": "LEVEL", "value": "1"}]
    kube.kubectl("rollout", "status", "deployment/web", *ns, "--timeout=120s")
    assert _json(kube, "get", "deployment", "web", *ns)["status"]["readyReplicas"] == 4

    kube.kubectl("scale", "deployment", "web", "--replicas=0", *ns)
    kube.kubectl("wait", "--for=jsonpath={.status.observedGeneration}=3", "deployment/web", *ns, "--timeout=60s")
    dep = _json(kube, "get", "deployment", "web", *ns)
    assert dep["spec"]["replicas"] == 0 and "readyReplicas" not in dep["status"]

    cms = ["get", "configmaps", *ns]
    assert _names(_json(kube, *cms, "-l", "tier=db")) == ["db-config"]
    assert _names(_json(kube, *cms, "-l", "tier in (db,web)")) == ["db-config", "web-config"]
    assert _names(_json(kube, *cms, "-l", "tier notin (db)")) == ["kube-root-ca.crt", "web-config"]  # notin matches unlabelled too
    assert _names(_json(kube, *cms, "-l", "tier!=db,tier")) == ["web-config"]
    assert _names(_json(kube, *cms, "-l", "team")) == ["db-config"]
    assert "kube-root-ca.crt" in _names(_json(kube, *cms, "-l", "!tier"))
    assert _names(_json(kube, *cms, "--field-selector", "metadata.name=web-config")) == ["web-config"]
    as_yaml = yaml.safe_load(kube.kubectl(*cms, "-l", "tier=db", "-o", "yaml").stdout)
    assert as_yaml["items"][0]["data"] == {"k": "v"}


def test_server_side_apply_prunes_what_the_manager_dropped(kube: KubeTarget, kube_namespace: str) -> None:
    manifest = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "ssa", "namespace": kube_namespace, "labels": {"keep": "1", "drop": "1"}},
                "data": {"a": "1", "b": "2"}}
    kube.kubectl("apply", "--server-side", "--field-manager=pitr", "-f", "-", input_text=json.dumps(manifest))
    del manifest["metadata"]["labels"]["drop"]
    del manifest["data"]["b"]
    manifest["data"]["a"] = "3"
    kube.kubectl("apply", "--server-side", "--field-manager=pitr", "-f", "-", input_text=json.dumps(manifest))
    live = _json(kube, "get", "configmap", "ssa", "-n", kube_namespace)
    assert live["data"] == {"a": "3"}
    assert live["metadata"]["labels"] == {"keep": "1"}


def test_imperative_creates_and_cascading_delete(kube: KubeTarget, kube_namespace: str) -> None:
    ns = ["-n", kube_namespace]
    kube.kubectl("create", "deployment", "api", "--image=busybox:1.36", "--replicas=3", "--port=8080", *ns)
    kube.kubectl("create", "secret", "generic", "creds", "--from-literal=password=s3cret", *ns)
    kube.kubectl("create", "configmap", "props", "--from-literal=scalar.db.storage=dynamo", *ns)
    kube.kubectl("create", "service", "clusterip", "api", "--tcp=8080:8080", *ns)
    kube.kubectl("create", "job", "once", "--image=busybox:1.36", *ns, "--", "sh", "-c", "echo hello from once")
    kube.kubectl("rollout", "status", "deployment/api", *ns, "--timeout=120s")
    dep = _json(kube, "get", "deployment", "api", *ns)
    assert dep["status"]["readyReplicas"] == 3
    assert dep["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert _json(kube, "get", "secret", "creds", *ns)["data"] == {"password": "czNjcmV0"}
    assert _json(kube, "get", "service", "api", *ns)["spec"]["clusterIP"]
    kube.kubectl("wait", "--for=condition=Complete", "job/once", *ns, "--timeout=120s")
    assert kube.kubectl("logs", "job/once", *ns).stdout.strip() == "hello from once"

    replicasets = _json(kube, "get", "replicasets", *ns, "-l", "app=api")["items"]
    assert len(replicasets) == 1 and replicasets[0]["metadata"]["ownerReferences"][0]["name"] == "api"
    assert "NewReplicaSet:" in kube.kubectl("describe", "deployment", "api", *ns).stdout
    kube.kubectl("delete", "deployment", "api", *ns, "--wait=true", "--timeout=120s")
    kube.kubectl("wait", "--for=delete", f"replicaset/{replicasets[0]['metadata']['name']}", *ns, "--timeout=120s")


def test_pods_are_listed_with_their_ip(kube: KubeTarget, kube_namespace: str) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "ledger-0", "namespace": kube_namespace, "labels": {"app.kubernetes.io/app": "ledger"}},
           "spec": {"containers": [{"name": "ledger", "image": "busybox:1.36", "command": ["sh", "-c", "sleep 2147483647"]}]}}
    kube.kubectl("apply", "-f", "-", input_text=json.dumps(pod))
    kube.kubectl("wait", "--for=condition=Ready", "pod/ledger-0", "-n", kube_namespace, "--timeout=120s")
    listed = _json(kube, "get", "pods", "-n", kube_namespace, "-l", "app.kubernetes.io/app=ledger")
    assert [p["status"]["phase"] for p in listed["items"]] == ["Running"]
    assert listed["items"][0]["status"]["podIP"]
    wide = kube.kubectl("get", "pods", "-n", kube_namespace, "-o", "wide").stdout
    assert "ledger-0" in wide and "Running" in wide


def test_crd_registration_and_status_subresource(kube: KubeTarget, kube_namespace: str) -> None:
    group = f"{kube_namespace}.example.com"
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": f"widgets.{group}"},
           "spec": {"group": group, "scope": "Namespaced",
                    "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
                    "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                                  "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}
    kube.kubectl("apply", "-f", "-", input_text=json.dumps(crd))
    try:
        kube.kubectl("wait", "--for=condition=Established", f"crd/widgets.{group}", "--timeout=60s")
        widget = {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "w1", "namespace": kube_namespace},
                  "spec": {"size": 3}}
        kube.kubectl("apply", "-f", "-", input_text=json.dumps(widget))
        kube.kubectl("patch", f"widgets.{group}", "w1", "-n", kube_namespace, "--subresource=status", "--type=merge",
                     "-p", '{"status": {"phase": "Ready"}}')
        widget["spec"]["size"] = 4
        kube.kubectl("apply", "-f", "-", input_text=json.dumps(widget))
        live = _json(kube, "get", f"widgets.{group}", "w1", "-n", kube_namespace)
        assert live["spec"] == {"size": 4} and live["status"] == {"phase": "Ready"}
        assert live["metadata"]["generation"] == 2
    finally:
        kube.kubectl("delete", "crd", f"widgets.{group}", "--ignore-not-found", "--wait=false")


def test_cnpg_cluster_is_served(kube: KubeTarget, kube_namespace: str) -> None:
    cluster = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
               "metadata": {"name": "pg-restore", "namespace": kube_namespace},
               "spec": {"instances": 1,
                        "bootstrap": {"recovery": {"source": "origin", "recoveryTarget": {"targetTime": "2026-01-01T00:00:00Z"}}}}}
    kube.require_standin("CloudNativePG CRDs served without an operator that would overwrite status")
    kube.kubectl("apply", "-f", "-", input_text=json.dumps(cluster))
    kube.kubectl("patch", "clusters.postgresql.cnpg.io", "pg-restore", "-n", kube_namespace, "--subresource=status",
                 "--type=merge", "-p", '{"status": {"phase": "Cluster in healthy state", "readyInstances": 1}}')
    kube.kubectl("wait", "--for=jsonpath={.status.phase}=Cluster in healthy state", "cluster.postgresql.cnpg.io/pg-restore",
                 "-n", kube_namespace, "--timeout=30s")
    listed = _json(kube, "get", "clusters.postgresql.cnpg.io", "-n", kube_namespace)
    assert listed["items"][0]["spec"]["bootstrap"]["recovery"]["source"] == "origin"
