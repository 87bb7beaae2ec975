"""Helpers of the playbooks/restore_dynamodb.yml tests (``test_playbook_restore_dynamodb.py``).

A ``Scene`` is what an operator has before a restore: a ScalarDB deployment on DynamoDB (built by
``standins.aws.scalardb_tables``, with the settings a restore loses - TTL, tags, deletion
protection - on top of PITR and auto scaling), a ScalarDL Ledger (2 replicas) and Auditor
(1 replica) release with running pods, a restore point noted after the good items were written,
and then the damage the restore must undo.  ``Scene.run`` runs the real ansible-playbook with the
environment an operator's shell would have (AWS_* variables, KUBECONFIG), plus a distinctive AWS
secret key the tests then look for in the output and the reports.

Everything asserted is read back through the real clients: boto3 for tables, items, backups and
settings; kubectl and helm for Deployments, pods, values and ConfigMaps.
"""
from __future__ import annotations

import datetime as _dt
import json
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fixtures.common import REPO_ROOT, VENV_BIN
from fixtures.kube import KubeTarget
from standins.aws.scalardb_tables import Deployment, create_deployment, put_items, table_names, user_backups, versions
from standins.aws.target import AwsTarget
from standins.charts import chart_path

PLAYBOOK = REPO_ROOT / "playbooks" / "restore_dynamodb.yml"
PREFIX = "p_"
TARGET_PREFIX = "r_"
PREFIX_PROPERTY = "scalar.db.dynamo.namespace.prefix"
ITEMS = 3
GOOD = {number: "good" for number in range(ITEMS)}
DAMAGED = {**{number: "damaged" for number in range(1, ITEMS)}, 9: "damaged"}  # Scene.damage(): 0 deleted, 9 added
JOURNAL = "scalarops-pitr-journal"
TAGS = {"team": "payments", "env": "prod"}
TTL_ATTRIBUTE = "expire_at"
PROTECTED = f"{PREFIX}sample.accounts"  # deletion protection on: the cutover must turn it off and back on
PODS = {"standins.scalarops.io/pods": "true"}  # the emulator keeps Running pods for these templates
# release -> (values key, properties key, chart, Deployment name, replicas)
RELEASES = {
    "ledger": ("ledger", "ledgerProperties", "scalardl", "ledger-scalardl-ledger", 2),
    "auditor": ("auditor", "auditorProperties", "scalardl-audit", "auditor-scalardl-audit-auditor", 1),
}
REPORT_GLOB = "restore-dynamodb-*"


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def moment(text: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Run:
    """A finished ansible-playbook run and where its reports went."""

    proc: subprocess.CompletedProcess[str]
    report_dir: Path

    @property
    def output(self) -> str:
        return self.proc.stdout + self.proc.stderr

    @property
    def ok(self) -> bool:
        return self.proc.returncode == 0

    def tail(self, chars: int = 6000) -> str:
        return self.output[-chars:]

    def report(self) -> dict[str, Any]:
        (found,) = sorted(self.report_dir.glob(f"{REPORT_GLOB}.json"))
        return json.loads(found.read_text(encoding="utf-8"))

    def report_text(self) -> str:
        (found,) = sorted(self.report_dir.glob(f"{REPORT_GLOB}.txt"))
        return found.read_text(encoding="utf-8")

    def report_files(self) -> list[Path]:
        return sorted(self.report_dir.glob(REPORT_GLOB))


@dataclass
class Scene:
    """A deployment, its releases and a restore point (see the module docstring)."""

    kube: KubeTarget
    namespace: str
    aws: AwsTarget
    workdir: Path
    deployment: Deployment = field(default_factory=lambda: Deployment(prefix=PREFIX))
    point: str = ""
    with_releases: tuple[str, ...] = tuple(RELEASES)
    secret: str = field(default_factory=lambda: f"pitrSecret{uuid.uuid4().hex}")

    # --- clients -------------------------------------------------------------------------------
    @property
    def ddb(self) -> Any:
        # Many attempts: the in-process stand-in may still be injecting throttling when a test looks.
        return self.aws.client("dynamodb", max_attempts=10)

    @property
    def scaling(self) -> Any:
        return self.aws.client("application-autoscaling", max_attempts=10)

    @property
    def tables(self) -> list[str]:
        return self.deployment.tables

    @property
    def user_tables(self) -> list[str]:
        return self.deployment.user_tables

    def releases(self, **change: Any) -> list[dict[str, str]]:
        """``scalar_releases``; ``change`` ({release: {key: value}}) alters entries, e.g. a wrong name."""
        entries = []
        for name in self.with_releases:
            key, _props, chart, _deployment, _replicas = RELEASES[name]
            entry = {"name": name, "namespace": self.namespace, "product": key, "chart_ref": str(chart_path(chart))}
            entries.append({**entry, **change.get(name, {})})
        return entries

    # --- the playbook --------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        env = self.aws.env_for(self.kube.env)
        env.update({
            "AWS_SECRET_ACCESS_KEY": self.secret,  # moto ignores it; the output must never show it
            "SCALAROPS_PITR_RETRY_BASE_DELAY": "0.01",
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        })
        return env

    def extra_vars(self, **extra: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "restore_point": self.point,
            "aws_region": self.aws.region,
            "dynamodb_namespace_prefix": PREFIX,
            "scalar_releases": self.releases(),
            "dynamodb_restore_poll_interval": 1,
            "dynamodb_restore_wait_timeout": 300,
            "restore_flow_poll_interval": 1,
            "restore_flow_wait_timeout": 120,
        }
        if self.aws.endpoint_url:
            values["aws_endpoint_url"] = self.aws.endpoint_url
        values.update(extra)
        return values

    def run(self, label: str, *options: str, **extra: Any) -> Run:
        """ansible-playbook playbooks/restore_dynamodb.yml; each run (``label``) reports into its own directory."""
        report_dir = self.workdir / f"reports-{label}"
        extra.setdefault("restore_report_dir", str(report_dir))
        cmd = [str(VENV_BIN / "ansible-playbook"), str(PLAYBOOK), "-e", json.dumps(self.extra_vars(**extra)), *options]
        proc = subprocess.run(cmd, cwd=self.workdir, env=self.env(), capture_output=True, text=True, timeout=400, check=False)
        return Run(proc, report_dir)

    # --- AWS state ------------------------------------------------------------------------------
    def table_names(self) -> set[str]:
        return table_names(self.ddb)

    def backups(self) -> dict[str, dict[str, Any]]:
        """Every user backup by name (BackupSummary)."""
        return user_backups(self.ddb)

    def versions(self, table: str) -> dict[int, str]:
        return versions(self.ddb, table)

    def all_versions(self, prefix: str = PREFIX) -> dict[str, dict[int, str]]:
        return {table: self.versions(prefix + table[len(PREFIX):]) for table in self.user_tables}

    def created(self, table: str) -> Any:
        return self.ddb.describe_table(TableName=table)["Table"]["CreationDateTime"]

    def settings(self, table: str) -> dict[str, Any]:
        """What a restore loses, read with boto3 and with the table's own name replaced by ``<T>``
        (so a table restored under another prefix compares equal to its source)."""
        ddb, scaling = self.ddb, self.scaling
        described = ddb.describe_table(TableName=table)["Table"]
        pitr = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        ttl = ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        tags = ddb.list_tags_of_resource(ResourceArn=described["TableArn"]).get("Tags", [])
        resources = [f"table/{table}"] + [f"table/{table}/index/{index['IndexName']}" for index in described.get("GlobalSecondaryIndexes", [])]
        targets = scaling.describe_scalable_targets(ServiceNamespace="dynamodb", ResourceIds=resources)["ScalableTargets"]
        policies = [policy for resource in resources
                    for policy in scaling.describe_scaling_policies(ServiceNamespace="dynamodb", ResourceId=resource)["ScalingPolicies"]]
        found = {
            "pitr": pitr["PointInTimeRecoveryStatus"],
            "ttl": (ttl.get("TimeToLiveStatus"), ttl.get("AttributeName")),
            "tags": {tag["Key"]: tag["Value"] for tag in tags},
            "deletion_protection": bool(described.get("DeletionProtectionEnabled")),
            "indexes": sorted(index["IndexName"] for index in described.get("GlobalSecondaryIndexes", [])),
            "targets": sorted((t["ResourceId"], t["ScalableDimension"], t["MinCapacity"], t["MaxCapacity"]) for t in targets),
            "policies": sorted((p["ResourceId"], p["PolicyName"], p["ScalableDimension"],
                                p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"]) for p in policies),
        }
        return json.loads(json.dumps(found).replace(table, "<T>"))

    def all_settings(self, prefix: str = PREFIX) -> dict[str, dict[str, Any]]:
        return {table: self.settings(prefix + table[len(PREFIX):]) for table in self.tables}

    def damage(self) -> None:
        """What the restore must undo: every item overwritten, item 0 deleted, an item 9 added."""
        for table in self.user_tables:
            put_items(self.ddb, table, ITEMS, "damaged")
            self.ddb.delete_item(TableName=table, Key=_key(table, 0))
            self.ddb.put_item(TableName=table, Item={**_key(table, 9), "id": {"N": "9"}, "version": {"S": "damaged"}})

    # --- Kubernetes state ----------------------------------------------------------------------
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

    def records(self) -> list[str]:
        """The replica record ConfigMaps scalar_workloads keeps while a release is stopped."""
        out = self.kube.kubectl("get", "configmap", "-n", self.namespace, "-o", "name").stdout.split()
        return sorted(name for name in out if "scalarops-pitr-replicas-" in name)

    def revisions(self) -> dict[str, int]:
        found = {}
        for name in self.with_releases:
            history = json.loads(self.kube.run(str(VENV_BIN / "helm"), "history", name, "-n", self.namespace, "-o", "json").stdout)
            found[name] = max(int(entry["revision"]) for entry in history)
        return found

    def properties(self, release: str) -> dict[str, str]:
        key, props = RELEASES[release][:2]
        values = json.loads(self.kube.run(str(VENV_BIN / "helm"), "get", "values", release, "-n", self.namespace, "-o", "json").stdout)
        lines = [line.split("=", 1) for line in values[key][props].splitlines() if "=" in line and not line.startswith("#")]
        return {name.strip(): value.strip() for name, value in lines}


def _key(table: str, number: int) -> dict[str, Any]:
    return {"concatenatedPartitionKey": {"B": f"{table}/{number}".encode()}, "concatenatedClusteringKey": {"B": b"0"}}


def _properties(scene: Scene, release: str) -> str:
    return "\n".join([
        "scalar.db.storage=dynamo",
        f"scalar.db.contact_points={scene.aws.region}",
        f"scalar.db.dynamo.endpoint_override={scene.aws.endpoint_url or ''}",
        f"{PREFIX_PROPERTY}={PREFIX}",
        f"scalar.db.username=${{env:SCALAR_DL_{release.upper()}_DYNAMO_ACCESS_KEY_ID}}",
        f"scalar.db.password=${{env:SCALAR_DL_{release.upper()}_DYNAMO_SECRET_ACCESS_KEY}}",
    ])


def build_scene(kube: KubeTarget, namespace: str, aws: AwsTarget, workdir: Path, releases: tuple[str, ...] = tuple(RELEASES)) -> Scene:
    """The deployment and ``releases``, the restore point after the good items; no damage yet."""
    scene = Scene(kube=kube, namespace=namespace, aws=aws, workdir=workdir, with_releases=releases)
    scene.deployment = create_deployment(scene.ddb, scene.scaling, prefix=PREFIX, items=ITEMS, version="good", tags=TAGS)
    for table in scene.user_tables:
        scene.ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE})
    scene.ddb.update_table(TableName=PROTECTED, DeletionProtectionEnabled=True)
    for name in releases:
        key, props, chart, _deployment, replicas = RELEASES[name]
        values = {key: {"replicaCount": replicas, props: _properties(scene, name), "podAnnotations": PODS}}
        kube.run(str(VENV_BIN / "helm"), "install", name, str(chart_path(chart)), "-n", namespace, "--wait", "-f", "-",
                 input_text=json.dumps(values))
    # The stand-in compares restore times with 1 ms of slack: keep clear of the writes on both sides.
    time.sleep(0.05)
    scene.point = now_iso()
    time.sleep(0.05)
    return scene


def snapshot(scene: Scene) -> dict[str, Any]:
    """Everything a refused run must leave as it was: tables, items, settings, backups, releases."""
    return {
        "tables": sorted(scene.table_names()),
        "items": scene.all_versions(),
        "settings": {table: scene.settings(table) for table in scene.tables if table in scene.table_names()},
        "backups": sorted(scene.backups()),
        "replicas": scene.replicas(),
        "revisions": scene.revisions(),
        "records": scene.records(),
    }


def phase_steps(report: dict[str, Any], phase: str) -> dict[str, dict[str, str]]:
    """table -> {step: status} of one phase of a JSON report."""
    return {entry["source"]: {step["step"]: step["status"] for step in entry.get("steps", [])}
            for entry in report["phases"][phase]["tables"]}
