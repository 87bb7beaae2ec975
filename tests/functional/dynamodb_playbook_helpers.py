"""Helpers of the playbooks/restore_dynamodb.yml tests (``test_playbook_restore_dynamodb.py``).

A ``Scene`` is what an operator has before a restore: a ScalarDB deployment on DynamoDB (built by
``standins.aws.scalardb_tables``, with the settings a restore loses - TTL, tags, deletion
protection - on top of PITR and auto scaling), the releases of ``playbook_scene.ReleaseScene``
over it, a restore point noted after the good items were written, and then the damage the restore
must undo.  ``Scene.run`` runs the real ansible-playbook as an operator would.

Everything asserted is read back through the real clients: boto3 for tables, items, backups and
settings; kubectl and helm for Deployments, pods, values and ConfigMaps.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playbook_scene import RELEASES, ReleaseScene, Run, now_iso

from fixtures.common import REPO_ROOT, VENV_BIN
from fixtures.kube import KubeTarget
from standins.aws.scalardb_tables import Deployment, create_deployment, put_items, table_names, user_backups, versions
from standins.aws.target import AwsTarget

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
REPORT_GLOB = "restore-dynamodb-*"


@dataclass
class Scene(ReleaseScene):
    """A deployment, its releases and a restore point (see the module docstring)."""

    deployment: Deployment = field(default_factory=lambda: Deployment(prefix=PREFIX))
    point: str = ""

    @property
    def aws(self) -> AwsTarget:
        return self.cloud

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

    # --- the playbook --------------------------------------------------------------------------
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
        return self.run_playbook(PLAYBOOK, self.extra_vars(**extra), label, REPORT_GLOB, *options)

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
    scene = Scene(kube=kube, namespace=namespace, cloud=aws, workdir=workdir, with_releases=releases)
    scene.deployment = create_deployment(scene.ddb, scene.scaling, prefix=PREFIX, items=ITEMS, version="good", tags=TAGS)
    for table in scene.user_tables:
        scene.ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE})
    scene.ddb.update_table(TableName=PROTECTED, DeletionProtectionEnabled=True)
    scene.install_releases({name: _properties(scene, name) for name in releases})
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
