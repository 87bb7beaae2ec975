"""playbooks/pause_scalar.yml makes one window over two releases and keeps its record, which
scalarops.pitr.restore_point then accepts as restore_pause_record (file or ConfigMap)."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixtures.common import REPO_ROOT, VENV_BIN, run_playbook
from fixtures.scalar_admin import Cluster

pytestmark = pytest.mark.standin_only
PLAYBOOK = REPO_ROOT / "playbooks" / "pause_scalar.yml"


def _pause(cluster: Cluster, record_dir: Path, **extra: Any) -> subprocess.CompletedProcess[str]:
    extra_vars = {"scalar_releases": cluster.releases(), "pause_duration": 1.0, "clock_skew_margin": 0.5,
                  "pause_record_dir": str(record_dir), **extra}
    return cluster.kube.run(str(VENV_BIN / "ansible-playbook"), str(PLAYBOOK), "-e", json.dumps(extra_vars), check=False,
                            env={"ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false"})


def _restore_point(cluster: Cluster, tmp_path: Path, **args: Any) -> dict[str, Any]:
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"scalarops.pitr.restore_point": args, "register": "point", "ignore_errors": True},
        {"ansible.builtin.copy": {"content": "{{ point | to_json }}", "dest": str(tmp_path / "point.json")}}]}]
    proc = run_playbook(yaml.safe_dump(play), tmp_path, cluster.kube.env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    return json.loads((tmp_path / "point.json").read_text())


def test_one_window_over_both_releases_recorded_in_the_cluster_and_locally(cluster: Cluster, tmp_path: Path) -> None:
    record_dir = tmp_path / "records"
    result = _pause(cluster, record_dir)
    assert result.returncode == 0, result.stdout[-4000:]
    (local,) = record_dir.glob("scalarops-pitr-pause-*.json")
    record = json.loads(local.read_text())
    window = record["window"]
    assert record["kind"] == "ScalarPauseRecord" and record["id"] == local.stem
    assert sorted(r["name"] for r in record["releases"]) == ["auditor", "ledger"]
    assert sorted(n["address"] for n in record["nodes"]) == sorted(n.address for n in cluster.nodes)
    # every node was paused across the whole window and none is paused now
    for node in cluster.nodes:
        (paused,), (unpaused,) = node.events("Pause"), node.events("Unpause")
        assert round(paused.at * 1000) <= window["start_ms"] and round(unpaused.at * 1000) >= window["end_ms"]
        assert not node.paused
    configmap = json.loads(cluster.kube.kubectl("get", "configmap", record["id"], "-n", cluster.namespace, "-o", "json").stdout)
    assert json.loads(configmap["data"]["record.json"]) == record
    assert f"restore with -e restore_pause_record={cluster.namespace}/{record['id']}" in result.stdout

    # the record is a restore point, from the file and from the cluster alike
    for reference in (str(local), f"{cluster.namespace}/{record['id']}"):
        point = _restore_point(cluster, tmp_path, restore_pause_record=reference, clock_skew_margin=0.5)
        assert not point.get("failed"), point.get("msg")
        assert point["restore_point"]["source"] == "pause_record"
        assert point["restore_point"]["time"] == window["midpoint"]
        assert point["restore_point"]["pause_record"] == record["id"]

    # with the default 5 s clock-skew margin, a 1 s window is refused
    point = _restore_point(cluster, tmp_path, restore_pause_record=str(local))
    assert point["failed"]
    assert "restore_pause_record: a 1" in point["msg"] and "less than the clock-skew margin of 5s" in point["msg"]


def test_a_missing_record_is_named(cluster: Cluster, tmp_path: Path) -> None:
    point = _restore_point(cluster, tmp_path, restore_pause_record=f"{cluster.namespace}/scalarops-pitr-pause-nothing")
    assert point["failed"]
    assert f"no file '{cluster.namespace}/scalarops-pitr-pause-nothing' and no ConfigMap" in point["msg"]
    point = _restore_point(cluster, tmp_path, restore_pause_record="/no/such/record.json")
    assert "is neither a file nor a ConfigMap reference" in point["msg"]


def _records_in_cluster(cluster: Cluster) -> list[str]:
    return cluster.kube.kubectl("get", "configmap", "-n", cluster.namespace, "-l", "scalarops.io/pause-record=true",
                                "-o", "name").stdout.split()


def test_a_refused_pause_leaves_no_record_and_no_node_paused(cluster: Cluster, tmp_path: Path) -> None:
    before = _records_in_cluster(cluster)
    cluster.auditor.nodes[0].behaviour.refuse_pause = True
    record_dir = tmp_path / "records"
    result = _pause(cluster, record_dir)
    assert result.returncode != 0
    assert "refused" in result.stdout or "FAILED_PRECONDITION" in result.stdout, result.stdout[-3000:]
    assert not list(record_dir.glob("*.json"))
    assert [n.address for n in cluster.nodes if n.paused] == []
    assert _records_in_cluster(cluster) == before
