"""The kubernetes Python client (typed, custom objects, dynamic, watch) against the Kubernetes fixture.

Covers the API semantics the collection's code and kubernetes.core rely on: error statuses,
optimistic concurrency, the patch flavours, selectors, watches that resume from a
resourceVersion, WatchList initial events with a bookmark, subresources, and garbage collection.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client, dynamic, watch
from kubernetes.client.rest import ApiException

from fixtures.kube import KubeTarget

CNPG = ("postgresql.cnpg.io", "v1")


def eventually(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Poll ``check`` until it returns something truthy (a real cluster acts asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def _deployment(name: str, replicas: int = 2, labels: dict[str, str] | None = None) -> client.V1Deployment:
    labels = labels or {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=replicas, selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(
                    name="app", image="busybox:1.36", command=["sh", "-c", "sleep 2147483647"],
                    env=[client.V1EnvVar(name="A", value="1")])]))))


def _status_of(exc: ApiException) -> dict[str, Any]:
    return json.loads(exc.body)


def test_errors_and_optimistic_concurrency(kube: KubeTarget, kube_namespace: str) -> None:
    core = client.CoreV1Api(kube.api_client())
    cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="props"), data={"a": "1"})
    created = core.create_namespaced_config_map(kube_namespace, cm)
    assert created.metadata.uid and created.metadata.resource_version and created.metadata.creation_timestamp

    with pytest.raises(ApiException) as exists:
        core.create_namespaced_config_map(kube_namespace, cm)
    assert exists.value.status == 409 and _status_of(exists.value)["reason"] == "AlreadyExists"

    with pytest.raises(ApiException) as missing:
        core.read_namespaced_config_map("nope", kube_namespace)
    assert missing.value.status == 404 and _status_of(missing.value)["message"] == 'configmaps "nope" not found'

    current = core.read_namespaced_config_map("props", kube_namespace)
    current.data["a"] = "2"
    updated = core.replace_namespaced_config_map("props", kube_namespace, current)
    assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)
    current.data["a"] = "3"  # still carries the old resourceVersion
    with pytest.raises(ApiException) as stale:
        core.replace_namespaced_config_map("props", kube_namespace, current)
    assert stale.value.status == 409 and _status_of(stale.value)["reason"] == "Conflict"

    with pytest.raises(ApiException) as invalid:
        core.create_namespaced_config_map(kube_namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="Bad_Name")))
    assert invalid.value.status == 422 and _status_of(invalid.value)["reason"] == "Invalid"

    apps = client.AppsV1Api(kube.api_client())
    broken = _deployment("broken")
    broken.spec.selector = client.V1LabelSelector(match_labels={"app": "other"})
    with pytest.raises(ApiException) as mismatch:
        apps.create_namespaced_deployment(kube_namespace, broken)
    assert mismatch.value.status == 422

    with pytest.raises(ApiException) as no_namespace:
        core.create_namespaced_config_map(f"{kube_namespace}-missing", cm)
    assert no_namespace.value.status == 404


def test_patch_flavours_and_scale(kube: KubeTarget, kube_namespace: str) -> None:
    apps = client.AppsV1Api(kube.api_client())
    apps.create_namespaced_deployment(kube_namespace, _deployment("ledger", replicas=3))
    eventually(lambda: (apps.read_namespaced_deployment("ledger", kube_namespace).status.ready_replicas or 0) == 3)

    # strategic merge: containers merge by name, env entries by name
    apps.patch_namespaced_deployment("ledger", kube_namespace, {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "env": [{"name": "B", "value": "2"}]}]}}}})
    container = apps.read_namespaced_deployment("ledger", kube_namespace).spec.template.spec.containers[0]
    assert container.image == "busybox:1.36" and [(e.name, e.value) for e in container.env] == [("A", "1"), ("B", "2")]

    # JSON merge patch: lists are replaced; null deletes
    apps.patch_namespaced_deployment("ledger", kube_namespace, {"metadata": {"labels": {"tier": "db"}}},
                                     _content_type="application/merge-patch+json")
    apps.patch_namespaced_deployment("ledger", kube_namespace, {"metadata": {"labels": {"tier": None}}},
                                     _content_type="application/merge-patch+json")
    assert apps.read_namespaced_deployment("ledger", kube_namespace).metadata.labels == {"app": "ledger"}

    # JSON patch, including a failing test operation
    apps.patch_namespaced_deployment("ledger", kube_namespace, [
        {"op": "add", "path": "/metadata/annotations", "value": {"scalar-labs.com/paused": "true"}},
        {"op": "replace", "path": "/spec/template/spec/containers/0/env/0/value", "value": "9"}])
    dep = apps.read_namespaced_deployment("ledger", kube_namespace)
    assert dep.metadata.annotations["scalar-labs.com/paused"] == "true" and dep.spec.template.spec.containers[0].env[0].value == "9"
    with pytest.raises(ApiException) as failed_test:
        apps.patch_namespaced_deployment("ledger", kube_namespace, [{"op": "test", "path": "/spec/replicas", "value": 7}])
    assert failed_test.value.status == 422

    # the scale subresource; metadata-only patches do not move generation
    generation = dep.metadata.generation
    apps.patch_namespaced_deployment("ledger", kube_namespace, {"metadata": {"labels": {"x": "y"}}})
    assert apps.read_namespaced_deployment("ledger", kube_namespace).metadata.generation == generation
    apps.patch_namespaced_deployment_scale("ledger", kube_namespace, {"spec": {"replicas": 0}})
    scale = apps.read_namespaced_deployment_scale("ledger", kube_namespace)
    assert scale.spec.replicas == 0 and scale.status.selector == "app=ledger"
    dep = eventually(lambda: (d := apps.read_namespaced_deployment("ledger", kube_namespace)).status.observed_generation == d.metadata.generation and d)
    assert dep.metadata.generation == generation + 1 and dep.spec.replicas == 0 and not dep.status.ready_replicas


def test_selectors(kube: KubeTarget, kube_namespace: str) -> None:
    core = client.CoreV1Api(kube.api_client())
    for name, labels in (("a", {"app": "ledger", "role": "admin"}), ("b", {"app": "ledger"}), ("c", {"app": "auditor"})):
        core.create_namespaced_secret(kube_namespace, client.V1Secret(metadata=client.V1ObjectMeta(name=name, labels=labels),
                                                                      string_data={"k": name}))

    def names(**kwargs: str) -> list[str]:
        return sorted(s.metadata.name for s in core.list_namespaced_secret(kube_namespace, **kwargs).items
                      if s.metadata.name in ("a", "b", "c"))

    assert names(label_selector="app=ledger") == ["a", "b"]
    assert names(label_selector="app==ledger,role") == ["a"]
    assert names(label_selector="app!=ledger") == ["c"]
    assert names(label_selector="app in (auditor, ledger),!role") == ["b", "c"]
    assert names(label_selector="app notin (ledger)") == ["c"]
    assert names(field_selector="metadata.name=b") == ["b"]
    assert names(field_selector="metadata.name!=b,metadata.namespace=" + kube_namespace) == ["a", "c"]
    assert core.read_namespaced_secret("a", kube_namespace).data == {"k": "YQ=="}  # stringData became data


def test_watch_resumes_from_a_resource_version(kube: KubeTarget, kube_namespace: str) -> None:
    core = client.CoreV1Api(kube.api_client())
    listed = core.list_namespaced_config_map(kube_namespace)
    core.create_namespaced_config_map(kube_namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="w", labels={"w": "1"})))
    core.patch_namespaced_config_map("w", kube_namespace, {"data": {"x": "1"}})
    core.delete_namespaced_config_map("w", kube_namespace)
    seen = []
    stream = watch.Watch()
    for event in stream.stream(core.list_namespaced_config_map, kube_namespace, label_selector="w=1",
                               resource_version=listed.metadata.resource_version, timeout_seconds=5):
        seen.append((event["type"], event["object"].metadata.name))
        if event["type"] == "DELETED":
            stream.stop()
    assert seen == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


def test_watch_list_sends_initial_events_then_a_bookmark(kube: KubeTarget, kube_namespace: str) -> None:
    core = client.CoreV1Api(kube.api_client())
    for name in ("one", "two"):
        core.create_namespaced_config_map(kube_namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels={"l": "1"})))
    response = core.list_namespaced_config_map(
        kube_namespace, label_selector="l=1", watch=True, send_initial_events=True, allow_watch_bookmarks=True,
        resource_version_match="NotOlderThan", timeout_seconds=5, _preload_content=False)
    events = []
    try:
        for line in response.stream(decode_content=True):
            for raw in line.decode().splitlines():
                if raw.strip():
                    events.append(json.loads(raw))
            if events and events[-1]["type"] == "BOOKMARK":
                break
    finally:
        response.release_conn()
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in events[:2]] == [("ADDED", "one"), ("ADDED", "two")]
    assert events[-1]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"] == "true"


def test_cnpg_cluster_custom_objects(kube: KubeTarget, kube_namespace: str) -> None:
    kube.require_standin("CloudNativePG CRDs served without an operator that would overwrite status")
    objects = client.CustomObjectsApi(kube.api_client())
    cluster = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
               "metadata": {"name": "pg", "labels": {"app.kubernetes.io/part-of": "scalar"}},
               "spec": {"instances": 3, "storage": {"size": "1Gi"}}, "status": {"phase": "ignored on create"}}
    created = objects.create_namespaced_custom_object(*CNPG, kube_namespace, "clusters", cluster)
    assert "status" not in created and created["metadata"]["generation"] == 1

    objects.patch_namespaced_custom_object_status(*CNPG, kube_namespace, "clusters", "pg",
                                                  {"status": {"phase": "Cluster in healthy state", "readyInstances": 3}})
    objects.patch_namespaced_custom_object(*CNPG, kube_namespace, "clusters", "pg",
                                           {"spec": {"instances": 1}, "status": {"phase": "not through the main resource"}})
    live = objects.get_namespaced_custom_object(*CNPG, kube_namespace, "clusters", "pg")
    assert live["spec"] == {"instances": 1, "storage": {"size": "1Gi"}}
    assert live["status"] == {"phase": "Cluster in healthy state", "readyInstances": 3}
    assert live["metadata"]["generation"] == 2

    listed = objects.list_namespaced_custom_object(*CNPG, kube_namespace, "clusters", label_selector="app.kubernetes.io/part-of=scalar")
    assert [c["metadata"]["name"] for c in listed["items"]] == ["pg"]
    backup = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Backup", "metadata": {"name": "b1"}, "spec": {"cluster": {"name": "pg"}}}
    objects.create_namespaced_custom_object(*CNPG, kube_namespace, "backups", backup)
    objects.delete_namespaced_custom_object(*CNPG, kube_namespace, "clusters", "pg")
    with pytest.raises(ApiException) as gone:
        objects.get_namespaced_custom_object(*CNPG, kube_namespace, "clusters", "pg")
    assert gone.value.status == 404


def test_dynamic_client_sees_new_crds(kube: KubeTarget, kube_namespace: str) -> None:
    dyn = dynamic.DynamicClient(kube.api_client())
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    deployments.create(body=client.ApiClient().sanitize_for_serialization(_deployment("dyn")), namespace=kube_namespace)
    assert deployments.get(name="dyn", namespace=kube_namespace).spec.replicas == 2

    group = f"{kube_namespace}.example.com"
    crds = dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    crds.create(body={"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                      "metadata": {"name": f"gadgets.{group}"},
                      "spec": {"group": group, "scope": "Namespaced", "names": {"kind": "Gadget", "plural": "gadgets"},
                               "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                                   "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}})
    try:
        eventually(lambda: any(c["type"] == "Established" and c["status"] == "True"
                               for c in (crds.get(name=f"gadgets.{group}").to_dict().get("status") or {}).get("conditions") or []))
        dyn.resources.invalidate_cache()
        gadgets = dyn.resources.get(api_version=f"{group}/v1", kind="Gadget")
        gadgets.create(body={"apiVersion": f"{group}/v1", "kind": "Gadget", "metadata": {"name": "g"}, "spec": {"n": 1}},
                       namespace=kube_namespace)
        assert [g.metadata.name for g in gadgets.get(namespace=kube_namespace).items] == ["g"]
    finally:
        crds.delete(name=f"gadgets.{group}")


def test_garbage_collection_and_namespace_deletion(kube: KubeTarget, kube_namespace: str) -> None:
    api = kube.api_client()
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)

    def owned_replicasets(name: str) -> list[client.V1ReplicaSet]:
        return apps.list_namespaced_replica_set(kube_namespace, label_selector=f"app={name}").items

    apps.create_namespaced_deployment(kube_namespace, _deployment("gone"))
    apps.create_namespaced_deployment(kube_namespace, _deployment("orphans"))
    assert eventually(lambda: owned_replicasets("gone") and owned_replicasets("orphans"))
    apps.delete_namespaced_deployment("gone", kube_namespace, propagation_policy="Background")
    assert eventually(lambda: not owned_replicasets("gone"))
    apps.delete_namespaced_deployment("orphans", kube_namespace, propagation_policy="Orphan")
    orphaned = eventually(lambda: (rs := owned_replicasets("orphans")) and not rs[0].metadata.owner_references and rs)
    assert orphaned, "the ReplicaSet of an orphaning delete must stay, without its ownerReference"

    doomed = f"{kube_namespace}-doomed"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=doomed)))
    core.create_namespaced_config_map(doomed, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c")))
    core.delete_namespace(doomed)

    def namespace_gone() -> bool:
        try:
            core.read_namespace(doomed)
        except ApiException as exc:
            return exc.status == 404
        return False

    assert eventually(namespace_gone, timeout=120)
    assert not core.list_config_map_for_all_namespaces(field_selector=f"metadata.namespace={doomed}").items


def test_statefulsets_rbac_and_events(kube: KubeTarget, kube_namespace: str) -> None:
    api = kube.api_client()
    apps, core, rbac = client.AppsV1Api(api), client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    template = _deployment("db").spec
    apps.create_namespaced_stateful_set(kube_namespace, client.V1StatefulSet(
        metadata=client.V1ObjectMeta(name="db"),
        spec=client.V1StatefulSetSpec(service_name="db", replicas=2, selector=template.selector, template=template.template)))
    assert eventually(lambda: (apps.read_namespaced_stateful_set("db", kube_namespace).status.ready_replicas or 0) == 2, timeout=180)
    apps.patch_namespaced_stateful_set_scale("db", kube_namespace, {"spec": {"replicas": 0}})
    sts = eventually(lambda: (s := apps.read_namespaced_stateful_set("db", kube_namespace)).status.observed_generation == s.metadata.generation
                     and not s.status.ready_replicas and s)
    assert sts and sts.spec.replicas == 0 and sts.status.replicas == 0

    rbac.create_namespaced_role(kube_namespace, client.V1Role(
        metadata=client.V1ObjectMeta(name="pause"),
        rules=[client.V1PolicyRule(api_groups=[""], resources=["pods"], verbs=["get", "list"])]))
    rbac.create_namespaced_role_binding(kube_namespace, client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name="pause"), role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name="pause"),
        subjects=[client.RbacV1Subject(kind="ServiceAccount", name="default", namespace=kube_namespace)]))
    assert rbac.read_namespaced_role("pause", kube_namespace).rules[0].resources == ["pods"]

    core.create_namespaced_event(kube_namespace, client.CoreV1Event(
        metadata=client.V1ObjectMeta(name="db.restore"), reason="Restored", message="restored to 2026-01-01T00:00:00Z", type="Normal",
        involved_object=client.V1ObjectReference(kind="StatefulSet", name="db", namespace=kube_namespace)))
    events = core.list_namespaced_event(kube_namespace, field_selector="involvedObject.name=db,reason=Restored").items
    assert [e.message for e in events] == ["restored to 2026-01-01T00:00:00Z"]
