"""The scalar_workloads role (through playbooks/scale_scalar.yml) against the Kubernetes fixture.

Releases are installed from the stand-in Scalar charts with pods (the emulator keeps Running pods
for them), so "scaled to 0" is checked the way an operator would: Deployment spec, helm values,
helm history (the upgrade really ran), pods gone.
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixtures.common import REPO_ROOT, VENV_BIN
from fixtures.kube import KubeTarget
from standins.charts import chart_path

PLAYBOOK = REPO_ROOT / "playbooks" / "scale_scalar.yml"
# The emulator keeps real Running pods for pod templates carrying this annotation.
WITH_PODS = {"podAnnotations": {"standins.scalarops.io/pods": "true"}}


def _install(kube: KubeTarget, namespace: str, name: str, chart: str, key: str, replicas: int) -> None:
    values = {key: {"replicaCount": replicas, **WITH_PODS}}
    kube.run(str(VENV_BIN / "helm"), "install", name, str(chart_path(chart)), "-n", namespace, "--wait",
             "-f", "-", input_text=json.dumps(values))


def _deployment(kube: KubeTarget, namespace: str, name: str) -> dict[str, Any]:
    return json.loads(kube.kubectl("get", "deployment", name, "-n", namespace, "-o", "json").stdout)


def _pods(kube: KubeTarget, namespace: str, release: str) -> list[str]:
    out = kube.kubectl("get", "pods", "-n", namespace, "-l", f"app.kubernetes.io/instance={release}", "-o", "name").stdout
    return out.split()


def _values(kube: KubeTarget, namespace: str, release: str) -> dict[str, Any]:
    out = kube.run(str(VENV_BIN / "helm"), "get", "values", release, "-n", namespace, "-o", "json").stdout
    return json.loads(out) or {}


def _revision(kube: KubeTarget, namespace: str, release: str) -> int:
    history = json.loads(kube.run(str(VENV_BIN / "helm"), "history", release, "-n", namespace, "-o", "json").stdout)
    return max(int(entry["revision"]) for entry in history)


def _record(kube: KubeTarget, namespace: str, release: str) -> dict[str, str] | None:
    proc = kube.kubectl("get", "configmap", f"scalarops-pitr-replicas-{release}", "-n", namespace, "-o", "json", check=False)
    return json.loads(proc.stdout)["data"] if proc.returncode == 0 else None


def _scale(kube: KubeTarget, tmp_path: Path, state: str, releases: list[dict[str, str]], verbosity: int = 0,
           check_mode: bool = False, **extra: Any) -> subprocess.CompletedProcess[str]:
    extra_vars = {"scalar_state": state, "scalar_releases": releases, "scalar_workloads_poll_interval": 1,
                  "scalar_workloads_wait_timeout": 60, **extra}
    cmd = [str(VENV_BIN / "ansible-playbook"), str(PLAYBOOK), "-e", json.dumps(extra_vars)]
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    if check_mode:
        cmd.append("--check")
    return kube.run(*cmd, check=False, env={"ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false"})


def _changed(result: subprocess.CompletedProcess[str]) -> int:
    match = re.search(r"changed=(\d+)", result.stdout)
    assert match, result.stdout
    return int(match.group(1))


@pytest.fixture(name="deployment")
def deployment_fixture(kube: KubeTarget, kube_namespace: str) -> dict[str, Any]:
    """A Ledger (3 replicas) and an Auditor (2 replicas) with running pods."""
    _install(kube, kube_namespace, "ledger", "scalardl", "ledger", 3)
    _install(kube, kube_namespace, "auditor", "scalardl-audit", "auditor", 2)
    return {
        "namespace": kube_namespace,
        "releases": [
            {"name": "ledger", "namespace": kube_namespace, "product": "ledger", "chart_ref": str(chart_path("scalardl"))},
            {"name": "auditor", "namespace": kube_namespace, "product": "auditor", "chart_ref": str(chart_path("scalardl-audit"))},
        ],
        "deployments": {"ledger": "ledger-scalardl-ledger", "auditor": "auditor-scalardl-audit-auditor"},
        "keys": {"ledger": "ledger", "auditor": "auditor"},
    }


def _assert_counts(kube: KubeTarget, dep: dict[str, Any], counts: dict[str, int]) -> None:
    ns = dep["namespace"]
    for release, count in counts.items():
        deployment = _deployment(kube, ns, dep["deployments"][release])
        assert deployment["spec"]["replicas"] == count, release
        assert deployment["status"].get("readyReplicas", 0) == count, release
        assert _values(kube, ns, release)[dep["keys"][release]]["replicaCount"] == count, release
        assert len(_pods(kube, ns, release)) == count, release


def test_stop_then_start_restores_the_exact_counts_and_both_are_idempotent(
        kube: KubeTarget, deployment: dict[str, Any], tmp_path: Path) -> None:
    ns, releases = deployment["namespace"], deployment["releases"]
    _assert_counts(kube, deployment, {"ledger": 3, "auditor": 2})
    assert len(_pods(kube, ns, "ledger")) == 3

    stop = _scale(kube, tmp_path, "stopped", releases)
    assert stop.returncode == 0, stop.stdout + stop.stderr
    _assert_counts(kube, deployment, {"ledger": 0, "auditor": 0})
    assert _record(kube, ns, "ledger")["replicas"] == "3"
    assert _record(kube, ns, "auditor")["replicas"] == "2"
    assert (_revision(kube, ns, "ledger"), _revision(kube, ns, "auditor")) == (2, 2)  # the upgrade really ran
    assert "ledger (ledger): 3 -> 0 replicas" in stop.stdout

    again = _scale(kube, tmp_path, "stopped", releases)
    assert again.returncode == 0, again.stdout
    assert _changed(again) == 0
    assert (_revision(kube, ns, "ledger"), _revision(kube, ns, "auditor")) == (2, 2)

    start = _scale(kube, tmp_path, "running", releases)
    assert start.returncode == 0, start.stdout + start.stderr
    _assert_counts(kube, deployment, {"ledger": 3, "auditor": 2})
    assert _record(kube, ns, "ledger") is None and _record(kube, ns, "auditor") is None
    assert (_revision(kube, ns, "ledger"), _revision(kube, ns, "auditor")) == (3, 3)
    # every other value survived both upgrades
    assert _values(kube, ns, "ledger")["ledger"]["podAnnotations"] == WITH_PODS["podAnnotations"]

    again = _scale(kube, tmp_path, "running", releases)
    assert again.returncode == 0, again.stdout
    assert _changed(again) == 0
    assert _revision(kube, ns, "ledger") == 3


def test_check_mode_reports_the_plan_and_changes_nothing(kube: KubeTarget, deployment: dict[str, Any], tmp_path: Path) -> None:
    ns = deployment["namespace"]
    result = _scale(kube, tmp_path, "stopped", deployment["releases"], check_mode=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "ledger (ledger): 3 -> 0 replicas" in result.stdout
    assert "auditor (auditor): 2 -> 0 replicas" in result.stdout
    _assert_counts(kube, deployment, {"ledger": 3, "auditor": 2})
    assert _record(kube, ns, "ledger") is None
    assert _revision(kube, ns, "ledger") == 1


def test_counts_survive_a_stop_that_died_after_recording(kube: KubeTarget, deployment: dict[str, Any], tmp_path: Path) -> None:
    ns, releases = deployment["namespace"], deployment["releases"]
    # The first stop dies after the record, when it comes to the helm upgrade (a helm that reads
    # releases but is killed on upgrade stands for a control node that crashed right there).
    dying_helm = tmp_path / "helm-killed-on-upgrade"
    dying_helm.write_text(f'#!/bin/sh\ncase " $* " in *" upgrade "*) kill -9 $$;; esac\nexec {VENV_BIN / "helm"} "$@"\n')
    dying_helm.chmod(0o755)
    crashed = _scale(kube, tmp_path, "stopped", releases, scalar_workloads_helm_binary=str(dying_helm))
    assert crashed.returncode != 0
    # the operator is told which upgrades failed and why, although the helm results stay hidden
    assert "helm upgrade failed for ledger, auditor:\nFailure when executing Helm command. Exited -9." in crashed.stdout
    assert _record(kube, ns, "ledger")["replicas"] == "3"
    _assert_counts(kube, deployment, {"ledger": 3, "auditor": 2})
    # A later run (another process, nothing kept on disk) finishes the stop, and a start brings back 3 and 2.
    assert _scale(kube, tmp_path / "elsewhere", "stopped", releases).returncode == 0
    _assert_counts(kube, deployment, {"ledger": 0, "auditor": 0})
    assert _scale(kube, tmp_path / "elsewhere", "running", releases).returncode == 0
    _assert_counts(kube, deployment, {"ledger": 3, "auditor": 2})


def test_helm4_drives_the_same_cycle(kube: KubeTarget, deployment: dict[str, Any], tmp_path: Path) -> None:
    releases = deployment["releases"][:1]
    helm4 = {"scalar_workloads_helm_binary": str(VENV_BIN / "helm4")}
    assert _scale(kube, tmp_path, "stopped", releases, **helm4).returncode == 0
    _assert_counts(kube, deployment, {"ledger": 0})
    assert _scale(kube, tmp_path, "running", releases, **helm4).returncode == 0
    _assert_counts(kube, deployment, {"ledger": 3})


def test_release_at_zero_without_a_record_is_refused_then_started_with_an_explicit_count(
        kube: KubeTarget, deployment: dict[str, Any], tmp_path: Path) -> None:
    ns, releases = deployment["namespace"], deployment["releases"][:1]
    kube.run(str(VENV_BIN / "helm"), "upgrade", "ledger", str(chart_path("scalardl")), "-n", ns, "--reuse-values",
             "--set", "ledger.replicaCount=0", "--wait")
    refused = _scale(kube, tmp_path, "running", releases)
    assert refused.returncode != 0
    assert "is already at 0 replicas and no replica count was recorded" in refused.stdout
    assert "scalar_workloads_replica_counts: {ledger: N}" in refused.stdout
    started = _scale(kube, tmp_path, "running", releases, scalar_workloads_replica_counts={"ledger": 2})
    assert started.returncode == 0, started.stdout
    _assert_counts(kube, deployment, {"ledger": 2})


@pytest.mark.parametrize(
    "change, message",
    [
        ({"name": "ledgr"}, "release 'ledgr' in namespace '{ns}': helm has no such release"),
        ({"product": "auditor"}, "it runs chart scalardl-"),
        ({"product": "scalardb_cloud"}, "value of product must be one of: scalardb, scalardb_cluster, ledger, auditor, got: scalardb_cloud"),
        ({"chart_ref": "scalar-labs/scalardl-audit"}, "chart_ref 'scalar-labs/scalardl-audit' is chart 'scalardl-audit'"),
        ({"chart_ref": ""}, "'chart_ref' is missing"),
    ],
)
def test_bad_release_is_refused_before_anything_changes(
        kube: KubeTarget, deployment: dict[str, Any], tmp_path: Path, change: dict[str, str], message: str) -> None:
    ns = deployment["namespace"]
    good, bad = deployment["releases"][1], dict(deployment["releases"][0], **change)
    result = _scale(kube, tmp_path, "stopped", [good, bad])
    assert result.returncode != 0
    assert message.format(ns=ns) in result.stdout
    # nothing changed, not even for the good release listed first
    _assert_counts(kube, deployment, {"ledger": 3, "auditor": 2})
    assert _record(kube, ns, "auditor") is None


def test_local_chart_of_another_version_is_refused(kube: KubeTarget, deployment: dict[str, Any], tmp_path: Path) -> None:
    other = tmp_path / "scalardl"
    subprocess.run(["cp", "-r", str(chart_path("scalardl")), str(other)], check=True)
    meta = yaml.safe_load((other / "Chart.yaml").read_text())
    meta["version"] = "99.0.0"
    (other / "Chart.yaml").write_text(yaml.safe_dump(meta))
    release = dict(deployment["releases"][0], chart_ref=str(other))
    result = _scale(kube, tmp_path, "stopped", [release])
    assert result.returncode != 0
    assert "is version 99.0.0 but the release runs" in result.stdout
    _assert_counts(kube, deployment, {"ledger": 3})


def test_bad_scalar_state_is_refused(kube: KubeTarget, deployment: dict[str, Any], tmp_path: Path) -> None:
    result = _scale(kube, tmp_path, "paused", deployment["releases"])
    assert result.returncode != 0
    assert "scalar_state must be 'stopped' or 'running' (got \"paused\")" in result.stdout
