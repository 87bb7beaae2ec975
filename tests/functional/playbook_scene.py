"""What the restore playbook tests share: ScalarDL releases over a database, and a finished run.

``ReleaseScene`` holds the Kubernetes side an operator has before a restore - a ScalarDL Ledger
(2 replicas) and Auditor (1 replica) release with running pods - plus the environment a run gets
(AWS_* variables, KUBECONFIG and a distinctive AWS secret key the tests look for in the output and
reports; an AWS stand-in ignores the key, other clouds never read it). Backend helpers (``dynamodb_playbook_helpers``, ``rds_playbook_helpers``) add the
database side. Everything is read back through kubectl and helm.
"""
from __future__ import annotations

import datetime as _dt
import json
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fixtures.common import VENV_BIN
from fixtures.kube import KubeTarget
from standins.charts import chart_path

PODS = {"standins.scalarops.io/pods": "true"}  # the emulator keeps Running pods for these templates
# release -> (values key, properties key, chart, Deployment name, replicas)
RELEASES = {
    "ledger": ("ledger", "ledgerProperties", "scalardl", "ledger-scalardl-ledger", 2),
    "auditor": ("auditor", "auditorProperties", "scalardl-audit", "auditor-scalardl-audit-auditor", 1),
}


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def moment(text: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Run:
    """A finished ansible-playbook run and where its reports went."""

    proc: subprocess.CompletedProcess[str]
    report_dir: Path
    pattern: str  # the reports' file names without the extension, e.g. restore-dynamodb-*

    @property
    def output(self) -> str:
        return self.proc.stdout + self.proc.stderr

    @property
    def ok(self) -> bool:
        return self.proc.returncode == 0

    def tail(self, chars: int = 6000) -> str:
        return self.output[-chars:]

    def report(self) -> dict[str, Any]:
        (found,) = sorted(self.report_dir.glob(f"{self.pattern}.json"))
        return json.loads(found.read_text(encoding="utf-8"))

    def report_text(self) -> str:
        (found,) = sorted(self.report_dir.glob(f"{self.pattern}.txt"))
        return found.read_text(encoding="utf-8")

    def report_files(self) -> list[Path]:
        return sorted(self.report_dir.glob(self.pattern))


@dataclass
class ReleaseScene:
    """The releases of a restore test and how a playbook run sees the world."""

    kube: KubeTarget
    namespace: str
    cloud: Any  # the cloud side's target (AwsTarget, AzureTarget): gives the run its environment (env_for)
    workdir: Path
    with_releases: tuple[str, ...] = tuple(RELEASES)
    secret: str = field(default_factory=lambda: f"pitrSecret{uuid.uuid4().hex}")

    def releases(self, **change: Any) -> list[dict[str, str]]:
        """``scalar_releases``; ``change`` ({release: {key: value}}) alters entries, e.g. a wrong name."""
        entries = []
        for name in self.with_releases:
            key, _props, chart, _deployment, _replicas = RELEASES[name]
            entry = {"name": name, "namespace": self.namespace, "product": key, "chart_ref": str(chart_path(chart))}
            entries.append({**entry, **change.get(name, {})})
        return entries

    def install_releases(self, properties: dict[str, str], secrets: dict[str, str] | None = None) -> None:
        """helm install each release with its properties text (release -> text), pods running, and
        (``secrets``: release -> Secret name) the Secret its pods load credentials from."""
        for name in self.with_releases:
            key, props, chart, _deployment, replicas = RELEASES[name]
            values = {key: {"replicaCount": replicas, props: properties[name], "podAnnotations": PODS}}
            if secrets and name in secrets:
                values[key]["secretName"] = secrets[name]
            self.kube.run(str(VENV_BIN / "helm"), "install", name, str(chart_path(chart)), "-n", self.namespace, "--wait", "-f", "-",
                          input_text=json.dumps(values))

    def env(self) -> dict[str, str]:
        env = self.cloud.env_for(self.kube.env)
        env.update({
            "AWS_SECRET_ACCESS_KEY": self.secret,  # the AWS stand-in ignores it; the output must never show it
            "SCALAROPS_PITR_RETRY_BASE_DELAY": "0.01",
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        })
        return env

    def replicas(self) -> dict[str, tuple[int, int, int]]:
        """release -> (Deployment spec replicas, ready replicas, pods)."""
        found = {}
        for name in self.with_releases:
            deployment = RELEASES[name][3]
            got = json.loads(self.kube.kubectl("get", "deployment", deployment, "-n", self.namespace, "-o", "json").stdout)
            pods = self.kube.kubectl("get", "pods", "-n", self.namespace, "-l", f"app.kubernetes.io/instance={name}", "-o", "name").stdout.split()
            found[name] = (got["spec"]["replicas"], got["status"].get("readyReplicas", 0), len(pods))
        return found

    def expected_replicas(self, stopped: bool = False) -> dict[str, tuple[int, int, int]]:
        """What ``replicas`` shows with every release running at its installed count (or stopped)."""
        return {name: (0, 0, 0) if stopped else (RELEASES[name][4],) * 3 for name in self.with_releases}

    def properties(self, release: str) -> dict[str, str]:
        key, props = RELEASES[release][:2]
        values = json.loads(self.kube.run(str(VENV_BIN / "helm"), "get", "values", release, "-n", self.namespace, "-o", "json").stdout)
        lines = [line.split("=", 1) for line in values[key][props].splitlines() if "=" in line and not line.startswith("#")]
        return {name.strip(): value.strip() for name, value in lines}

    def run_playbook(self, playbook: Path, extra_vars: dict[str, Any], label: str, pattern: str, *options: str) -> Run:
        """ansible-playbook ``playbook``; each run (``label``) reports into its own directory."""
        report_dir = self.workdir / f"reports-{label}"
        extra_vars.setdefault("restore_report_dir", str(report_dir))
        cmd = [str(VENV_BIN / "ansible-playbook"), str(playbook), "-e", json.dumps(extra_vars), *options]
        proc = subprocess.run(cmd, cwd=self.workdir, env=self.env(), capture_output=True, text=True, timeout=400, check=False)
        return Run(proc, report_dir, pattern)
