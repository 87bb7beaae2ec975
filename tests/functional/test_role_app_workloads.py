"""The app_workloads role (stop and start plain Deployments/StatefulSets around a restore) through the real
ansible-playbook, against the Kubernetes fixture.

The workloads' pod templates carry ``standins.scalarops.io/pods: "true"``, so the emulator keeps Running pods
for them and "stopped" is checked as an operator would: spec.replicas, status, the pods themselves, the
recorded annotation - all read back with kubectl.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixtures.common import VENV_BIN
from fixtures.kube import KubeTarget

ANNOTATION = "scalarops.pitr/replicas-before-stop"
PODS = {"standins.scalarops.io/pods": "true"}
# name -> (kind, replicas)
WORKLOADS = {"web": ("Deployment", 3), "worker": ("Deployment", 1), "cache": ("StatefulSet", 2)}


def manifest(kind: str, name: str, namespace: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name, "tier": "app"}
    spec: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": labels, "annotations": PODS},
                     "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]}},
    }
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": namespace}, "spec": spec}


class Apps:
    """The workloads of one test, and the role run against them."""

    def __init__(self, kube: KubeTarget, namespace: str, workdir: Path) -> None:
        self.kube, self.namespace, self.workdir = kube, namespace, workdir
        docs = [manifest(kind, name, namespace, replicas) for name, (kind, replicas) in WORKLOADS.items()]
        kube.kubectl("apply", "-f", "-", input_text="\n---\n".join(json.dumps(doc) for doc in docs))

    def entries(self, *names: str) -> list[dict[str, str]]:
        entries = []
        for name in names or tuple(WORKLOADS):
            kind = WORKLOADS.get(name, ("Deployment", 0))[0]
            entry = {"name": name, "namespace": self.namespace}
            if kind != "Deployment":
                entry["kind"] = kind  # Deployment is the default: leave it out
            entries.append(entry)
        return entries

    def state(self, name: str, kind: str | None = None) -> tuple[int, int, int, str | None]:
        """(spec.replicas, ready replicas, pods, recorded annotation) as kubectl shows them."""
        kind = kind or WORKLOADS[name][0]
        obj = json.loads(self.kube.kubectl("get", kind.lower(), name, "-n", self.namespace, "-o", "json").stdout)
        pods = self.kube.kubectl("get", "pods", "-n", self.namespace, "-l", f"app={name}", "-o", "name").stdout.split()
        record = (obj["metadata"].get("annotations") or {}).get(ANNOTATION)
        return obj["spec"]["replicas"], obj["status"].get("readyReplicas", 0), len(pods), record

    def states(self) -> dict[str, tuple[int, int, int, str | None]]:
        return {name: self.state(name) for name in WORKLOADS}

    def run(self, action: str, workloads: list[dict[str, str]], check_mode: bool = False, **extra: Any) -> tuple[bool, str, dict[str, Any]]:
        """Run the role; (succeeded, output, the facts it set)."""
        facts = self.workdir / "facts.json"
        if facts.exists():
            facts.unlink()
        role_vars = {"app_workloads_action": action, "app_workloads_list": workloads, "app_workloads_wait_timeout": 60, **extra}
        play = [{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [
            {"name": "Run the role", "ansible.builtin.include_role": {"name": "scalarops.pitr.app_workloads"}, "vars": role_vars},
            {"name": "Save the facts", "ansible.builtin.copy": {
                "dest": str(facts), "mode": "0600",
                "content": "{{ {'stopped': app_workloads_stopped | default(None), 'started': app_workloads_started | default(None)} | to_json }}"},
             "check_mode": False, "changed_when": False},
        ]}]
        args = ["--check"] if check_mode else []
        path = self.workdir / "play.yml"
        path.write_text(yaml.safe_dump(play, sort_keys=False))
        proc = self.kube.run(str(VENV_BIN / "ansible-playbook"), str(path), *args, check=False, timeout=300)
        output = proc.stdout + proc.stderr
        return proc.returncode == 0, output, (json.loads(facts.read_text()) if facts.exists() else {})


def changed(output: str) -> int:
    match = re.search(r"changed=(\d+)", output)
    assert match, output
    return int(match.group(1))


@pytest.fixture(name="apps")
def apps_fixture(kube: KubeTarget, kube_namespace: str, tmp_path: Path) -> Apps:
    return Apps(kube, kube_namespace, tmp_path)


def test_stop_records_and_scales_to_zero_a_rerun_keeps_the_record_and_start_brings_them_back(apps: Apps) -> None:
    assert apps.states() == {"web": (3, 3, 3, None), "worker": (1, 1, 1, None), "cache": (2, 2, 2, None)}

    ok, out, facts = apps.run("stop", apps.entries())
    assert ok, out[-6000:]
    assert apps.states() == {"web": (0, 0, 0, "3"), "worker": (0, 0, 0, "1"), "cache": (0, 0, 0, "2")}
    ns = apps.namespace
    assert facts["stopped"] == [{"kind": "Deployment", "name": "web", "namespace": ns, "replicas": 3},
                                {"kind": "Deployment", "name": "worker", "namespace": ns, "replicas": 1},
                                {"kind": "StatefulSet", "name": "cache", "namespace": ns, "replicas": 2}]
    assert f"Deployment {ns}/web: 3 -> 0 replicas (count recorded)" in out

    # a re-run after a failure: the workloads are at 0 now, and the record must stay the original count
    ok, out, facts = apps.run("stop", apps.entries())
    assert ok, out[-6000:]
    assert changed(out) == 0
    assert apps.states() == {"web": (0, 0, 0, "3"), "worker": (0, 0, 0, "1"), "cache": (0, 0, 0, "2")}
    assert [entry["replicas"] for entry in facts["stopped"]] == [3, 1, 2]
    assert "3 recorded by an earlier stop, kept" in out

    ok, out, facts = apps.run("start", apps.entries())
    assert ok, out[-6000:]
    assert apps.states() == {"web": (3, 3, 3, None), "worker": (1, 1, 1, None), "cache": (2, 2, 2, None)}
    assert {entry["name"]: entry["replicas"] for entry in facts["started"]} == {"web": 3, "worker": 1, "cache": 2}

    # nothing recorded any more: a second start leaves them alone, and says so
    ok, out, facts = apps.run("start", apps.entries("web"))
    assert ok, out[-6000:]
    assert changed(out) == 0
    assert facts["started"] == []
    assert "no recorded replica count" in out and "left alone at 3 replicas" in out
    assert apps.state("web") == (3, 3, 3, None)


def test_a_missing_workload_fails_before_anything_changes_naming_every_missing_one(apps: Apps) -> None:
    workloads = [*apps.entries("web"), {"name": "ghost", "namespace": apps.namespace},
                 {"kind": "StatefulSet", "name": "web", "namespace": apps.namespace}, *apps.entries("cache")]
    for action in ("stop", "start"):
        ok, out, _facts = apps.run(action, workloads)
        assert not ok, out[-3000:]
        assert f"2 workload(s) not found: Deployment {apps.namespace}/ghost, StatefulSet {apps.namespace}/web" in out
        assert "nothing was changed" in out
    assert apps.states() == {"web": (3, 3, 3, None), "worker": (1, 1, 1, None), "cache": (2, 2, 2, None)}


def test_check_action_and_check_mode_change_nothing(apps: Apps) -> None:
    ok, out, _facts = apps.run("check", apps.entries())
    assert ok, out[-6000:]
    assert f"Deployment {apps.namespace}/web: exists, 3 replicas" in out

    ok, out, facts = apps.run("stop", apps.entries(), check_mode=True)
    assert ok, out[-6000:]
    assert apps.states() == {"web": (3, 3, 3, None), "worker": (1, 1, 1, None), "cache": (2, 2, 2, None)}
    assert [entry["replicas"] for entry in facts["stopped"]] == [3, 1, 2]  # the plan

    ok, out, _facts = apps.run("stop", apps.entries("worker"))
    assert ok, out[-6000:]
    ok, out, facts = apps.run("start", apps.entries("worker"), check_mode=True)
    assert ok, out[-6000:]
    assert apps.state("worker") == (0, 0, 0, "1")
    assert facts["started"] == [{"kind": "Deployment", "name": "worker", "namespace": apps.namespace, "replicas": 1}]


def test_an_empty_list_does_nothing(apps: Apps) -> None:
    for action in ("check", "stop", "start"):
        ok, out, facts = apps.run(action, [])
        assert ok, out[-6000:]
        assert changed(out) == 0
    assert facts["started"] == []
    assert apps.states() == {"web": (3, 3, 3, None), "worker": (1, 1, 1, None), "cache": (2, 2, 2, None)}


def test_a_record_that_is_not_a_count_stops_the_run_before_anything_changes(apps: Apps) -> None:
    apps.kube.kubectl("annotate", "deployment", "worker", "-n", apps.namespace, f"{ANNOTATION}=three")
    ok, out, _facts = apps.run("stop", apps.entries())
    assert not ok
    assert f"Deployment {apps.namespace}/worker: its annotation {ANNOTATION} is 'three', not a replica count" in out
    assert apps.state("web") == (3, 3, 3, None)
