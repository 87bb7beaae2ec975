"""scalar_admin through ansible-playbook: pause windows over fake Scalar nodes found through Kubernetes.

The ``cluster`` fixture (tests/fixtures/scalar_admin.py) gives a Ledger and an Auditor release whose
pods are fake nodes. Every test checks, through the fake nodes' own records, what happened to each
node and that none is left paused.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.scalarops.pitr.plugins.module_utils.scalar_admin_client import AdminClient
from fixtures.common import run_playbook
from fixtures.scalar_admin import Cluster, apply_objects, pod_manifest, wait_pods_running
from standins.scalar_admin import AdminNode

pytestmark = pytest.mark.standin_only
FAST = {"pause_duration": 1.0, "clock_skew_margin": 0.5}


def _run(cluster: Cluster, tmp_path: Path, args: dict[str, Any], check_mode: bool = False) -> dict[str, Any]:
    """Run scalar_admin once in a real playbook; returns its registered result."""
    task: dict[str, Any] = {"scalarops.pitr.scalar_admin": args, "register": "result", "ignore_errors": True}
    if check_mode:
        task["check_mode"] = True
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        task, {"ansible.builtin.copy": {"content": "{{ result | to_json }}", "dest": str(tmp_path / "result.json")}}]}]
    proc: subprocess.CompletedProcess[str] = run_playbook(yaml.safe_dump(play), tmp_path, cluster.kube.env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return json.loads((tmp_path / "result.json").read_text())


def _ms(seconds: float) -> int:
    return int(round(seconds * 1000))


def _pause_directly(node: AdminNode) -> None:
    """Pause a node the way any client would: an rpc.Admin/Pause over the network."""
    with AdminClient(node.address, timeout=5) as client:
        client.pause()
    assert node.paused


def _assert_none_paused(cluster: Cluster) -> None:
    assert [n.address for n in cluster.nodes if n.paused] == []


def test_two_releases_paused_in_one_window(cluster: Cluster, tmp_path: Path) -> None:
    result = _run(cluster, tmp_path, {"releases": cluster.releases(), "pause_max_wait": 7, **FAST})
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    window = result["window"]
    assert window["end_ms"] - window["start_ms"] >= 1000
    assert window["midpoint"].endswith("+00:00") and abs(2 * window["midpoint_ms"] - window["start_ms"] - window["end_ms"]) <= 2
    reported = {n["address"]: n for n in result["nodes"]}
    for release in (cluster.ledger, cluster.auditor):
        for pod, node in zip(release.pods, release.nodes):
            assert reported[node.address]["pod"] == pod and reported[node.address]["product"] == release.product
            paused, unpaused = node.events("Pause"), node.events("Unpause")
            assert [e.outcome for e in paused] == ["paused"] and [e.outcome for e in unpaused] == ["unpaused"]
            # paused before the window opened, unpaused only after it closed
            assert _ms(paused[0].at) <= window["start_ms"] and _ms(unpaused[0].at) >= window["end_ms"]
            assert node.pause_requests == [(True, 7000)]
    _assert_none_paused(cluster)


def test_check_mode_pauses_nothing_and_check_and_unpause_states(cluster: Cluster, tmp_path: Path) -> None:
    result = _run(cluster, tmp_path, {"releases": cluster.releases(), **FAST}, check_mode=True)
    assert sorted(n["address"] for n in result["nodes"]) == sorted(n.address for n in cluster.nodes)
    assert all(not n.history for n in cluster.nodes)
    # a node left paused (e.g. by a crashed run) shows up in state=check and is freed by state=unpaused
    stuck = cluster.auditor.nodes[0]
    _pause_directly(stuck)
    result = _run(cluster, tmp_path, {"state": "check", "releases": cluster.releases()})
    assert {n["address"]: n["paused"] for n in result["nodes"]} == {n.address: n is stuck for n in cluster.nodes}
    assert result["paused"] is False and result["changed"] is False
    result = _run(cluster, tmp_path, {"state": "unpaused", "addresses": [stuck.address]})
    assert not result.get("failed"), result.get("msg")
    _assert_none_paused(cluster)


def test_release_without_pods(cluster: Cluster, tmp_path: Path) -> None:
    result = _run(cluster, tmp_path, {"releases": [{"name": "nothere", "namespace": cluster.namespace, "product": "ledger"}], **FAST})
    assert result["failed"] and "no pods" in result["msg"] and "nothere" in result["msg"]


def test_pods_of_another_product_in_the_release(cluster: Cluster, tmp_path: Path) -> None:
    ns = cluster.namespace
    labels = {"app.kubernetes.io/instance": "mixed", "app.kubernetes.io/name": "scalardl"}
    apply_objects(cluster.kube, [
        pod_manifest(ns, "mixed-ledger", {**labels, "app.kubernetes.io/app": "ledger"}, "127.0.0.1", 50053),
        pod_manifest(ns, "mixed-auditor", {**labels, "app.kubernetes.io/app": "auditor"}, "127.0.0.1", 40053),
        pod_manifest(ns, "mixed-envoy", {**labels, "app.kubernetes.io/app": "envoy"}, "127.0.0.1", 9001),
    ])
    result = _run(cluster, tmp_path, {"releases": [{"name": "mixed", "namespace": ns, "product": "ledger"}], **FAST})
    assert result["failed"] and "another Scalar product: mixed-auditor (auditor)" in result["msg"]
    assert "envoy" not in result["msg"]


def test_admin_port_not_found(cluster: Cluster, tmp_path: Path) -> None:
    ns = cluster.namespace
    labels = {"app.kubernetes.io/instance": "noport", "app.kubernetes.io/app": "ledger"}
    service = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "noport-scalardl-headless", "namespace": ns, "labels": labels},
               "spec": {"clusterIP": "None", "selector": labels, "ports": [{"name": "scalardl", "port": 50051}]}}
    apply_objects(cluster.kube, [service, pod_manifest(ns, "noport-0", labels, "127.0.0.1", 50053)])
    wait_pods_running(cluster.kube, ns, ["noport-0"])
    result = _run(cluster, tmp_path, {"releases": [{"name": "noport", "namespace": ns, "product": "ledger"}], **FAST})
    assert result["failed"] and "admin port not found" in result["msg"] and "'scalardl-admin'" in result["msg"]


def test_one_node_refuses_the_pause(cluster: Cluster, tmp_path: Path) -> None:
    refusing = cluster.auditor.nodes[0]
    refusing.behaviour.refuse_pause = True
    result = _run(cluster, tmp_path, {"releases": cluster.releases(), **FAST})
    assert result["failed"] and "window" not in result
    assert f"Pause failed on {refusing.address} (pod {cluster.namespace}/{cluster.auditor.pods[0]})" in result["msg"]
    assert "FAILED_PRECONDITION" in result["msg"]
    for node in cluster.ledger.nodes:
        assert [(e.rpc, e.outcome) for e in node.history] == [("Pause", "paused"), ("Unpause", "unpaused")]
    _assert_none_paused(cluster)


def test_slow_drain_beyond_max_wait_is_refused(cluster: Cluster, tmp_path: Path) -> None:
    slow = cluster.ledger.nodes[1]
    slow.behaviour.drain_seconds = 3
    result = _run(cluster, tmp_path, {"releases": cluster.releases(), "pause_max_wait": 1, **FAST})
    assert result["failed"] and slow.address in result["msg"] and "could not drain" in result["msg"]
    assert [e.outcome for e in slow.events("Pause")] == ["refused"]
    _assert_none_paused(cluster)


def test_pod_restart_during_the_window_rejects_it(cluster: Cluster, tmp_path: Path) -> None:
    node, pod = cluster.ledger.nodes[0], cluster.ledger.pods[0]
    node.behaviour.restart_after_pause = 0.2

    def bump_restart_count(_node: AdminNode) -> None:
        current = json.loads(cluster.kube.kubectl("get", "pod", pod, "-n", cluster.namespace, "-o", "json").stdout)
        count = current["status"]["containerStatuses"][0]["restartCount"] + 1
        patch = [{"op": "replace", "path": "/status/containerStatuses/0/restartCount", "value": count}]
        cluster.kube.kubectl("patch", "pod", pod, "-n", cluster.namespace, "--subresource=status", "--type=json",
                             "-p", json.dumps(patch))

    node.on_restart.append(bump_restart_count)
    result = _run(cluster, tmp_path, {"releases": cluster.releases(), **FAST})
    assert result["failed"] and "must not be used" in result["msg"] and f"pod {pod} restarted" in result["msg"]
    assert result["rejected_window"]["start_ms"] < result["rejected_window"]["end_ms"]
    assert [e.rpc for e in node.history] == ["Pause", "restart", "Unpause"]
    _assert_none_paused(cluster)


def test_transient_unpause_failure_is_retried(cluster: Cluster, tmp_path: Path) -> None:
    flaky = cluster.ledger.nodes[0]
    flaky.behaviour.fail_unpause_times = 2
    result = _run(cluster, tmp_path, {"releases": cluster.releases(), **FAST})
    assert not result.get("failed"), result.get("msg")
    assert [e.outcome for e in flaky.events("Unpause")] == ["unavailable", "unavailable", "unpaused"]
    assert _ms(flaky.events("Unpause")[-1].at) >= result["window"]["end_ms"]
    _assert_none_paused(cluster)


def test_permanent_unpause_failure_names_nodes_and_recovery(cluster: Cluster, tmp_path: Path) -> None:
    stuck = cluster.auditor.nodes[0]
    stuck.behaviour.fail_unpause_always = True
    result = _run(cluster, tmp_path, {"releases": cluster.releases(), "unpause_retries": 1, **FAST})
    assert result["failed"] and result["still_paused"] == [stuck.address]
    assert "MAY STILL BE PAUSED" in result["msg"] and stuck.address in result["msg"]
    assert f'"state": "unpaused", "addresses": ["{stuck.address}"]' in result["msg"]
    assert len(stuck.events("Unpause")) == 2 and stuck.paused
    assert [n.address for n in cluster.nodes if n.paused] == [stuck.address]
    # the recovery the message proposes works once the node answers again
    stuck.behaviour.fail_unpause_always = False
    recovery = _run(cluster, tmp_path, {"state": "unpaused", "addresses": result["still_paused"]})
    assert not recovery.get("failed"), recovery.get("msg")
    _assert_none_paused(cluster)


def test_pause_shorter_than_clock_skew_margin_is_refused_first(cluster: Cluster, tmp_path: Path) -> None:
    result = _run(cluster, tmp_path, {"releases": cluster.releases(), "pause_duration": 4, "clock_skew_margin": 5})
    assert result["failed"] and "clock-skew margin of 5s" in result["msg"] and "Nothing was paused" in result["msg"]
    assert all(not n.history for n in cluster.nodes)


def test_named_target_port_resolves_through_the_pod(cluster: Cluster, tmp_path: Path) -> None:
    """A targetPort given by name is looked up in the pod's container ports, as Kubernetes does."""
    ns, node = cluster.namespace, cluster.ledger.nodes[0]
    labels = {"app.kubernetes.io/instance": "named", "app.kubernetes.io/app": "ledger"}
    service = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "named-scalardl-headless", "namespace": ns, "labels": labels},
               "spec": {"clusterIP": "None", "selector": labels,
                        "ports": [{"name": "scalardl-admin", "port": 1234, "targetPort": "admin"}]}}
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "named-scalardl-ledger", "namespace": ns, "labels": labels},
                  "spec": {"replicas": 0, "selector": {"matchLabels": labels},
                           "template": {"metadata": {"labels": labels},
                                        "spec": {"containers": [{"name": "scalar", "image": "standin"}]}}}}
    pod = pod_manifest(ns, "named-0", labels, node.host, node.port)
    pod["spec"]["containers"][0]["ports"] = [{"name": "admin", "containerPort": node.port}]
    apply_objects(cluster.kube, [service, deployment, pod])
    wait_pods_running(cluster.kube, ns, ["named-0"])
    result = _run(cluster, tmp_path, {"state": "check", "releases": [{"name": "named", "namespace": ns, "product": "ledger"}]})
    assert not result.get("failed"), result.get("msg")
    assert [(n["address"], n["pod"], n["paused"]) for n in result["nodes"]] == [(node.address, "named-0", False)]
    assert [e.rpc for e in node.history] == ["CheckPaused"]
