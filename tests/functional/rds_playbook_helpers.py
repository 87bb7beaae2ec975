"""Helpers of the playbooks/restore_rds.yml and restore_aurora.yml tests (``test_playbook_restore_rds.py``).

An ``RdsScene`` is what an operator has before the restore: an RDS for PostgreSQL instance (or an
Aurora PostgreSQL cluster with a writer and two readers) in its own VPC, security group, subnet
group and parameter group, with tags, Multi-AZ, a non-default port, IAM authentication and deletion
protection - everything a point-in-time restore does not carry over - and a ScalarDL Ledger and
Auditor release whose ``scalar.db.contact_points`` are JDBC URLs to it (databases ``ledger`` and
``auditor``, with parameters the switch must keep).  Everything asserted is read back with boto3,
helm and kubectl.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playbook_scene import RELEASES, ReleaseScene, Run, now_iso

from fixtures.common import REPO_ROOT, VENV_BIN
from fixtures.kube import KubeTarget
from standins.aws.target import AwsTarget

PLAYBOOKS = {"instance": REPO_ROOT / "playbooks" / "restore_rds.yml", "cluster": REPO_ROOT / "playbooks" / "restore_aurora.yml"}
REPORT_GLOB = "restore-rds-*"
PORT = 5433
TAGS = {"team": "payments", "env": "prod"}
DATABASES = {"ledger": "ledger", "auditor": "auditor"}
URL_PARAMETERS = "sslmode=require&connectTimeout=10"
INSTANCE_CLASS = "db.r6g.large"


def jdbc_url(host: str, port: int, database: str) -> str:
    return f"jdbc:postgresql://{host}:{port}/{database}?{URL_PARAMETERS}"


@dataclass
class Network:
    """The source's VPC pieces that a restore would otherwise leave at their defaults."""

    subnet_group: str
    security_groups: list[str]
    parameter_group: str


def create_network(aws: AwsTarget, name: str, cluster: bool) -> Network:
    ec2, rds = aws.client("ec2"), aws.client("rds")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{index}.0/24", AvailabilityZone=f"{aws.region}{zone}")["Subnet"]["SubnetId"]
               for index, zone in enumerate("ab", start=1)]
    groups = sorted(ec2.create_security_group(GroupName=f"{name}-{index}", Description="database", VpcId=vpc)["GroupId"] for index in range(2))
    rds.create_db_subnet_group(DBSubnetGroupName=f"{name}-subnets", DBSubnetGroupDescription="database", SubnetIds=subnets)
    if cluster:
        rds.create_db_cluster_parameter_group(DBClusterParameterGroupName=f"{name}-params", DBParameterGroupFamily="aurora-postgresql16",
                                              Description="database")
    else:
        rds.create_db_parameter_group(DBParameterGroupName=f"{name}-params", DBParameterGroupFamily="postgres16", Description="database")
    return Network(f"{name}-subnets", groups, f"{name}-params")


def _tags() -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in TAGS.items()]


def create_instance(aws: AwsTarget, name: str) -> tuple[dict[str, Any], Network]:
    network = create_network(aws, name, cluster=False)
    aws.client("rds").create_db_instance(
        DBInstanceIdentifier=name, Engine="postgres", EngineVersion="16.3", DBInstanceClass=INSTANCE_CLASS, AllocatedStorage=100,
        StorageType="gp3", MasterUsername="scalar", MasterUserPassword=f"pw{uuid.uuid4().hex}", DBSubnetGroupName=network.subnet_group,
        VpcSecurityGroupIds=network.security_groups, DBParameterGroupName=network.parameter_group, MultiAZ=True, Port=PORT,
        EnableIAMDatabaseAuthentication=True, DeletionProtection=True, BackupRetentionPeriod=7, Tags=_tags())
    return aws.client("rds").describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0], network


def create_cluster(aws: AwsTarget, name: str, readers: int = 2) -> tuple[dict[str, Any], Network]:
    network = create_network(aws, name, cluster=True)
    rds = aws.client("rds")
    rds.create_db_cluster(
        DBClusterIdentifier=name, Engine="aurora-postgresql", EngineVersion="16.4", MasterUsername="scalar",
        MasterUserPassword=f"pw{uuid.uuid4().hex}", DBSubnetGroupName=network.subnet_group, VpcSecurityGroupIds=network.security_groups,
        DBClusterParameterGroupName=network.parameter_group, Port=PORT, EnableIAMDatabaseAuthentication=True, DeletionProtection=True,
        BackupRetentionPeriod=7, Tags=_tags())
    for number in range(1, readers + 2):
        rds.create_db_instance(DBInstanceIdentifier=f"{name}-{number}", DBClusterIdentifier=name, Engine="aurora-postgresql",
                               DBInstanceClass=INSTANCE_CLASS)
    return rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0], network


@dataclass
class RdsScene(ReleaseScene):
    """A source database, the Ledger and Auditor releases using it, and a restore point."""

    kind: str = "instance"  # instance | cluster
    source: str = ""
    source_host: str = ""
    network: Network | None = None
    point: str = ""

    @property
    def aws(self) -> AwsTarget:
        return self.cloud

    @property
    def rds(self) -> Any:
        return self.aws.client("rds", max_attempts=10)

    def extra_vars(self, **extra: Any) -> dict[str, Any]:
        source_key = "rds_source_instance" if self.kind == "instance" else "aurora_source_cluster"
        values: dict[str, Any] = {
            "restore_point": self.point, "aws_region": self.aws.region, source_key: self.source,
            "scalar_releases": self.releases(), "rds_restore_poll_interval": 1, "rds_restore_wait_timeout": 300,
            "rds_restore_progress_interval": 2, "restore_flow_poll_interval": 1, "restore_flow_wait_timeout": 120,
        }
        if self.aws.endpoint_url:
            values["aws_endpoint_url"] = self.aws.endpoint_url
        values.update(extra)
        return values

    def command(self, label: str, *options: str, **extra: Any) -> list[str]:
        """The ansible-playbook command line of a run reporting into ``reports-<label>`` (for a run to kill)."""
        extra.setdefault("restore_report_dir", str(self.workdir / f"reports-{label}"))
        return [str(VENV_BIN / "ansible-playbook"), str(PLAYBOOKS[self.kind]), "-e", json.dumps(self.extra_vars(**extra)), *options]

    def run(self, label: str, *options: str, **extra: Any) -> Run:
        return self.run_playbook(PLAYBOOKS[self.kind], self.extra_vars(**extra), label, REPORT_GLOB, *options)

    # --- what AWS shows ---------------------------------------------------------------------------
    def instances(self) -> dict[str, dict[str, Any]]:
        return {found["DBInstanceIdentifier"]: found
                for found in self.rds.get_paginator("describe_db_instances").paginate().build_full_result()["DBInstances"]}

    def clusters(self) -> dict[str, dict[str, Any]]:
        return {found["DBClusterIdentifier"]: found for found in self.rds.describe_db_clusters()["DBClusters"]}

    def names(self) -> set[str]:
        return set(self.instances()) | set(self.clusters())


def wait_available(scene: RdsScene, timeout: float = 60) -> None:
    """A source still being created (the stand-in's rds_seconds) cannot be restored from yet: wait as an operator would."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if scene.kind == "instance":
            statuses = [scene.instances()[scene.source]["DBInstanceStatus"]]
        else:
            statuses = [scene.clusters()[scene.source]["Status"]] + [found["DBInstanceStatus"] for name, found in scene.instances().items()
                                                                     if found.get("DBClusterIdentifier") == scene.source]
        if set(statuses) == {"available"}:
            return
        time.sleep(0.2)
    raise TimeoutError(f"{scene.source} did not become available")


def _properties(host: str, release: str) -> str:
    return "\n".join([
        "scalar.db.storage=jdbc",
        f"scalar.db.contact_points={jdbc_url(host, PORT, DATABASES[release])}",
        f"scalar.db.username=${{env:SCALAR_DL_{release.upper()}_POSTGRES_USERNAME}}",
        f"scalar.db.password=${{env:SCALAR_DL_{release.upper()}_POSTGRES_PASSWORD}}",
    ])


def build_scene(kube: KubeTarget, namespace: str, aws: AwsTarget, workdir: Path, kind: str, source_host: str | None = None,
                releases: tuple[str, ...] = tuple(RELEASES), readers: int = 2) -> RdsScene:
    """The source database and ``releases`` pointing at it (or at ``source_host``), the restore point just after."""
    scene = RdsScene(kube=kube, namespace=namespace, cloud=aws, workdir=workdir, kind=kind, with_releases=releases)
    scene.source = f"scalardb-{uuid.uuid4().hex[:8]}"
    if kind == "instance":
        description, scene.network = create_instance(aws, scene.source)
        scene.source_host = description["Endpoint"]["Address"]
    else:
        description, scene.network = create_cluster(aws, scene.source, readers)
        scene.source_host = description["Endpoint"]
    wait_available(scene)
    scene.install_releases({name: _properties(source_host or scene.source_host, name) for name in releases})
    time.sleep(0.05)  # the point lies after the source's creation, inside its restorable window
    scene.point = now_iso()
    time.sleep(0.05)
    return scene
