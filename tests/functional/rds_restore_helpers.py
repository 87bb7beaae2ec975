"""Sources for the RDS / Aurora restore tests: a VPC, and an instance or cluster with every setting
a point-in-time restore does not carry over by itself, made through boto3 against the AWS stand-in.

Shared by ``test_rds_restore.py`` (the core, in process) and ``test_module_rds_restore.py`` (the
modules through ansible-playbook).
"""
from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_wait import Poller
from ansible_collections.scalarops.pitr.plugins.module_utils.rds_restore import Options

MONITORING_ROLE = "arn:aws:iam::123456789012:role/rds-monitoring-role"
USER_TAGS = [{"Key": "team", "Value": "payments"}, {"Key": "env", "Value": "prod"}]
PASSWORD = "SourcePassw0rd"


@dataclass
class Network:
    """A custom VPC with two subnets, a security group and a DB subnet group over them."""

    vpc: str
    subnets: list[str]
    security_group: str
    subnet_group: str = "app-db-subnets"


@dataclass
class Source:
    identifier: str
    network: Network
    settings: dict[str, Any] = field(default_factory=dict)  # what the test expects the target to carry
    members: list[str] = field(default_factory=list)        # Aurora: writer first


def fast_options(**overrides: Any) -> Options:
    """Polling fit for the stand-in (0.05 s .. 0.2 s), one minute at most."""
    values: dict[str, Any] = {"poller": Poller(deadline=60, first_delay=0.05, max_delay=0.2), "probe_timeout": 0.5}
    values.update(overrides)
    return Options(**values)


def make_network(ec2: Any, rds: Any, name: str = "app-db-subnets") -> Network:
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{index}.0/24", AvailabilityZone=f"us-east-1{zone}")["Subnet"]["SubnetId"]
               for index, zone in enumerate("ab", start=1)]
    group = ec2.create_security_group(GroupName="scalardb-db", Description="database access", VpcId=vpc)["GroupId"]
    rds.create_db_subnet_group(DBSubnetGroupName=name, DBSubnetGroupDescription="app databases", SubnetIds=subnets)
    return Network(vpc, subnets, group, name)


def make_instance_source(rds: Any, network: Network, identifier: str = "scalardb-mysql", retention: int = 7) -> Source:
    """A MySQL 8.0 instance with custom groups, class, storage, Multi-AZ, port, IAM auth, protection, tags, monitoring, PI."""
    rds.create_db_parameter_group(DBParameterGroupName="app-mysql80", DBParameterGroupFamily="mysql8.0", Description="app")
    rds.create_option_group(OptionGroupName="app-mysql80-options", EngineName="mysql", MajorEngineVersion="8.0",
                            OptionGroupDescription="app")
    rds.create_db_instance(
        DBInstanceIdentifier=identifier, Engine="mysql", EngineVersion="8.0.35", DBInstanceClass="db.r6g.large",
        AllocatedStorage=100, StorageType="gp3", MasterUsername="admin", MasterUserPassword=PASSWORD, MultiAZ=True, Port=5433,
        DBSubnetGroupName=network.subnet_group, VpcSecurityGroupIds=[network.security_group], DBParameterGroupName="app-mysql80",
        OptionGroupName="app-mysql80-options", EnableIAMDatabaseAuthentication=True, DeletionProtection=True, Tags=USER_TAGS,
        BackupRetentionPeriod=retention, MonitoringInterval=60, MonitoringRoleArn=MONITORING_ROLE, EnablePerformanceInsights=True,
        PerformanceInsightsRetentionPeriod=7,
    )
    expected = {
        "DBInstanceClass": "db.r6g.large", "StorageType": "gp3", "MultiAZ": True, "Port": 5433,
        "DBSubnetGroupName": network.subnet_group, "VpcSecurityGroupIds": [network.security_group],
        "DBParameterGroupName": "app-mysql80", "OptionGroupName": "app-mysql80-options",
        "IAMDatabaseAuthenticationEnabled": True, "DeletionProtection": True, "MonitoringInterval": 60,
        "MonitoringRoleArn": MONITORING_ROLE, "PerformanceInsightsEnabled": True, "Tags": {"team": "payments", "env": "prod"},
    }
    return Source(identifier, network, expected)


def instance_settings(description: dict[str, Any]) -> dict[str, Any]:
    """The settings ``make_instance_source`` sets, read back from a DescribeDBInstances answer."""
    return {
        "DBInstanceClass": description["DBInstanceClass"], "StorageType": description.get("StorageType"),
        "MultiAZ": description["MultiAZ"], "Port": description["Endpoint"]["Port"],
        "DBSubnetGroupName": description["DBSubnetGroup"]["DBSubnetGroupName"],
        "VpcSecurityGroupIds": [group["VpcSecurityGroupId"] for group in description["VpcSecurityGroups"]],
        "DBParameterGroupName": description["DBParameterGroups"][0]["DBParameterGroupName"],
        "OptionGroupName": description["OptionGroupMemberships"][0]["OptionGroupName"],
        "IAMDatabaseAuthenticationEnabled": description["IAMDatabaseAuthenticationEnabled"],
        "DeletionProtection": description["DeletionProtection"], "MonitoringInterval": description.get("MonitoringInterval"),
        "MonitoringRoleArn": description.get("MonitoringRoleArn"), "PerformanceInsightsEnabled": description.get("PerformanceInsightsEnabled"),
        "Tags": {tag["Key"]: tag["Value"] for tag in description.get("TagList", []) if not tag["Key"].startswith("scalarops-pitr:")},
    }


def make_cluster_source(rds: Any, network: Network, identifier: str = "scalardb-aurora", readers: int = 2) -> Source:
    """An Aurora PostgreSQL cluster with custom groups, port, IAM auth, protection, tags; a writer and ``readers`` readers."""
    rds.create_db_cluster_parameter_group(DBClusterParameterGroupName="app-aurora-pg16", DBParameterGroupFamily="aurora-postgresql16",
                                          Description="app cluster")
    rds.create_db_parameter_group(DBParameterGroupName="app-aurora-pg16-instance", DBParameterGroupFamily="aurora-postgresql16",
                                  Description="app instances")
    rds.create_db_cluster(
        DBClusterIdentifier=identifier, Engine="aurora-postgresql", EngineVersion="16.4", MasterUsername="postgres",
        MasterUserPassword=PASSWORD, Port=5433, DBSubnetGroupName=network.subnet_group, VpcSecurityGroupIds=[network.security_group],
        DBClusterParameterGroupName="app-aurora-pg16", EnableIAMDatabaseAuthentication=True, DeletionProtection=True,
        BackupRetentionPeriod=7, Tags=USER_TAGS,
    )
    members = [f"{identifier}-{role}" for role in ["writer", *[f"reader{index}" for index in range(1, readers + 1)]]]
    for number, member in enumerate(members):
        rds.create_db_instance(DBInstanceIdentifier=member, DBClusterIdentifier=identifier, Engine="aurora-postgresql",
                               DBInstanceClass="db.r6g.xlarge", DBParameterGroupName="app-aurora-pg16-instance",
                               AvailabilityZone=f"us-east-1{'abc'[number % 3]}", Tags=[{"Key": "role", "Value": "member"}])
    expected = {
        "DBSubnetGroup": network.subnet_group, "VpcSecurityGroupIds": [network.security_group],
        "DBClusterParameterGroup": "app-aurora-pg16", "Port": 5433, "IAMDatabaseAuthenticationEnabled": True,
        "DeletionProtection": True, "Tags": {"team": "payments", "env": "prod"},
    }
    return Source(identifier, network, expected, members)


def cluster_settings(description: dict[str, Any]) -> dict[str, Any]:
    """The settings ``make_cluster_source`` sets, read back from a DescribeDBClusters answer."""
    return {
        "DBSubnetGroup": description.get("DBSubnetGroup"),
        "VpcSecurityGroupIds": [group["VpcSecurityGroupId"] for group in description.get("VpcSecurityGroups", [])],
        "DBClusterParameterGroup": description.get("DBClusterParameterGroup"), "Port": description.get("Port"),
        "IAMDatabaseAuthenticationEnabled": description.get("IAMDatabaseAuthenticationEnabled"),
        "DeletionProtection": description.get("DeletionProtection"),
        "Tags": {tag["Key"]: tag["Value"] for tag in description.get("TagList", []) if not tag["Key"].startswith("scalarops-pitr:")},
    }


def point_after_creation() -> _dt.datetime:
    """A restore point just after what was created so far and not after the stand-in's LatestRestorableTime (no lag)."""
    time.sleep(0.05)  # the stand-in compares times with 1 ms of slack: keep clear of the creation
    point = _dt.datetime.now(_dt.timezone.utc)
    time.sleep(0.05)
    return point


def instance_ids(rds: Any) -> set[str]:
    return {instance["DBInstanceIdentifier"] for instance in rds.describe_db_instances()["DBInstances"]}


def cluster_ids(rds: Any) -> set[str]:
    return {cluster["DBClusterIdentifier"] for cluster in rds.describe_db_clusters()["DBClusters"]}


def tags(description: dict[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in description.get("TagList", [])}
