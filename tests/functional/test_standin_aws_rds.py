"""RDS / Aurora point-in-time restore through the AWS stand-in, with AWS's semantics (``standins.aws.rds_pitr``).

moto alone copies every setting of the source into a restored instance, ignores the restore time and
overwrites an existing cluster; the stand-in gives the new instance/cluster only what the request
passes plus AWS's defaults, checks the restore window and refuses what AWS refuses.  The scenarios
run through boto3 on the moto child process (``aws``) and on ``InProcessAws`` (``target`` fixture);
lag, restore points and delays need the in-process one.  Stand-in only: on AWS every case would
cost instance-hours and half an hour of waiting.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

from fixtures.aws import aws_is_standin
from fixtures.common import require_standin
from standins.aws import InProcessAws
from standins.aws.target import AwsTarget

PASSWORD = "not-a-secret-1"
MONITORING_ROLE = "arn:aws:iam::123456789012:role/rds-monitoring"


@pytest.fixture(autouse=True)
def standin_only() -> Iterator[None]:
    require_standin(aws_is_standin(), "RDS restore semantics; on AWS each case costs instance-hours")
    yield


@pytest.fixture(params=["server", "inproc"], name="target")
def target_fixture(request: pytest.FixtureRequest) -> AwsTarget:
    """The moto child process, then the in-process stand-in."""
    if request.param == "server":
        return request.getfixturevalue("aws")
    return request.getfixturevalue("aws_inproc")().target


# --- helpers -------------------------------------------------------------------------------------
def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def rds(aws: AwsTarget) -> Any:
    return aws.client("rds", max_attempts=1)


def default_security_group(aws: AwsTarget, vpc_id: str | None = None) -> str:
    """The ``default`` security group of a VPC (the default VPC when None)."""
    ec2 = aws.client("ec2")
    if vpc_id is None:
        vpc_id = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}])
    return str(groups["SecurityGroups"][0]["GroupId"])


def make_network(aws: AwsTarget, name: str) -> dict[str, str]:
    """A VPC with two subnets, a DB subnet group and a security group of its own."""
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{index}.0/24", AvailabilityZone=f"{aws.region}{zone}")["Subnet"]["SubnetId"]
               for index, zone in ((1, "a"), (2, "b"))]
    group = ec2.create_security_group(GroupName=f"{name}-db", Description="database", VpcId=vpc)["GroupId"]
    rds(aws).create_db_subnet_group(DBSubnetGroupName=f"{name}-subnets", DBSubnetGroupDescription="database", SubnetIds=subnets)
    return {"vpc": vpc, "subnet_group": f"{name}-subnets", "security_group": group}


def make_mysql_groups(aws: AwsTarget, name: str) -> tuple[str, str]:
    """A custom DB parameter group and option group for MySQL 8.0."""
    client = rds(aws)
    client.create_db_parameter_group(DBParameterGroupName=f"{name}-params", DBParameterGroupFamily="mysql8.0", Description="custom")
    client.create_option_group(OptionGroupName=f"{name}-options", EngineName="mysql", MajorEngineVersion="8.0", OptionGroupDescription="custom")
    return f"{name}-params", f"{name}-options"


def make_source_instance(aws: AwsTarget, name: str) -> dict[str, Any]:
    """A MySQL 8.0 instance with every setting a restore must not copy by itself."""
    network = make_network(aws, name)
    params, options = make_mysql_groups(aws, name)
    return dict(rds(aws).create_db_instance(
        DBInstanceIdentifier=name, Engine="mysql", EngineVersion="8.0.35", DBInstanceClass="db.m5.large", Port=3307,
        AllocatedStorage=50, StorageType="gp3", MasterUsername="pitr", MasterUserPassword=PASSWORD, BackupRetentionPeriod=7,
        VpcSecurityGroupIds=[network["security_group"]], DBSubnetGroupName=network["subnet_group"], DBParameterGroupName=params,
        OptionGroupName=options, MultiAZ=True, DeletionProtection=True, EnableIAMDatabaseAuthentication=True,
        Tags=[{"Key": "team", "Value": "scalar"}], MonitoringInterval=60, MonitoringRoleArn=MONITORING_ROLE,
        EnablePerformanceInsights=True, CopyTagsToSnapshot=True, PubliclyAccessible=False,
    )["DBInstance"]) | {"network": network, "params": params, "options": options}


def make_source_cluster(aws: AwsTarget, name: str, **extra: Any) -> dict[str, Any]:
    """An Aurora PostgreSQL 16 cluster with a custom network, parameter group, tags and protections."""
    network = make_network(aws, name)
    client = rds(aws)
    client.create_db_cluster_parameter_group(DBClusterParameterGroupName=f"{name}-cparams", DBParameterGroupFamily="aurora-postgresql16",
                                             Description="custom")
    cluster = client.create_db_cluster(
        DBClusterIdentifier=name, Engine="aurora-postgresql", EngineVersion="16.2", Port=5433, MasterUsername="pitr",
        MasterUserPassword=PASSWORD, BackupRetentionPeriod=7, VpcSecurityGroupIds=[network["security_group"]],
        DBSubnetGroupName=network["subnet_group"], DBClusterParameterGroupName=f"{name}-cparams", DeletionProtection=True,
        EnableIAMDatabaseAuthentication=True, CopyTagsToSnapshot=True, Tags=[{"Key": "team", "Value": "scalar"}], **extra,
    )["DBCluster"]
    return dict(cluster) | {"network": network, "cluster_params": f"{name}-cparams"}


def instance(aws: AwsTarget, ident: str) -> dict[str, Any]:
    return dict(rds(aws).describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0])


def cluster(aws: AwsTarget, ident: str) -> dict[str, Any]:
    return dict(rds(aws).describe_db_clusters(DBClusterIdentifier=ident)["DBClusters"][0])


def tags(aws: AwsTarget, arn: str) -> list[dict[str, str]]:
    return list(rds(aws).list_tags_for_resource(ResourceName=arn)["TagList"])


def instance_settings(described: dict[str, Any]) -> dict[str, Any]:
    """The settings a restore must reset or honour, as DescribeDBInstances reports them."""
    return {
        "security_groups": [group["VpcSecurityGroupId"] for group in described["VpcSecurityGroups"]],
        "subnet_group": described["DBSubnetGroup"]["DBSubnetGroupName"],
        "parameter_groups": [group["DBParameterGroupName"] for group in described["DBParameterGroups"]],
        "option_groups": [group["OptionGroupName"] for group in described["OptionGroupMemberships"]],
        "multi_az": described["MultiAZ"],
        "deletion_protection": described["DeletionProtection"],
        "iam_auth": described["IAMDatabaseAuthenticationEnabled"],
        "monitoring": (described.get("MonitoringInterval"), described.get("MonitoringRoleArn")),
        "performance_insights": described.get("PerformanceInsightsEnabled"),
        "copy_tags": described["CopyTagsToSnapshot"],
        "tags": described.get("TagList"),
        "replica_of": described.get("ReadReplicaSourceDBInstanceIdentifier"),
    }


def kept_from_source(described: dict[str, Any]) -> dict[str, Any]:
    """What a restore keeps from the source unless the request says otherwise."""
    keys = ("Engine", "EngineVersion", "DBInstanceClass", "AllocatedStorage", "StorageType", "MasterUsername")
    return {key: described[key] for key in keys} | {"port": described["Endpoint"]["Port"]}


# --- RestoreDBInstanceToPointInTime ---------------------------------------------------------------
def test_instance_restore_gets_aws_defaults_not_the_source_settings(target: AwsTarget) -> None:
    source = make_source_instance(target, "src")
    assert instance_settings(instance(target, "src")) == {  # moto keeps all of it on the source
        "security_groups": [source["network"]["security_group"]], "subnet_group": source["network"]["subnet_group"],
        "parameter_groups": [source["params"]], "option_groups": [source["options"]], "multi_az": True, "deletion_protection": True,
        "iam_auth": True, "monitoring": (60, MONITORING_ROLE), "performance_insights": True, "copy_tags": True,
        "tags": [{"Key": "team", "Value": "scalar"}], "replica_of": None,
    }

    answer = rds(target).restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier="src", TargetDBInstanceIdentifier="restored",
                                                              UseLatestRestorableTime=True)["DBInstance"]
    restored = instance(target, "restored")
    expected = {
        "security_groups": [default_security_group(target)], "subnet_group": "default", "parameter_groups": ["default.mysql8.0"],
        "option_groups": ["default:mysql-8-0"], "multi_az": False, "deletion_protection": False, "iam_auth": False,
        "monitoring": (0, None), "performance_insights": False, "copy_tags": False, "tags": [], "replica_of": None,
    }
    assert instance_settings(restored) == expected
    assert instance_settings(answer | {"DBSubnetGroup": restored["DBSubnetGroup"]}) == expected
    assert tags(target, restored["DBInstanceArn"]) == []
    assert kept_from_source(restored) == kept_from_source(instance(target, "src")) == {
        "Engine": "mysql", "EngineVersion": "8.0.35", "DBInstanceClass": "db.m5.large", "AllocatedStorage": 50, "StorageType": "gp3",
        "MasterUsername": "pitr", "port": 3307,
    }
    described = rds(target).describe_db_subnet_groups(DBSubnetGroupName="default")["DBSubnetGroups"][0]
    default_vpc = target.client("ec2").describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    assert described["VpcId"] == default_vpc


def test_instance_restore_honours_request_parameters(target: AwsTarget) -> None:
    source = make_source_instance(target, "src")
    network = make_network(target, "other")
    params, options = make_mysql_groups(target, "other")
    rds(target).restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier="src", TargetDBInstanceIdentifier="restored", UseLatestRestorableTime=True,
        VpcSecurityGroupIds=[network["security_group"]], DBSubnetGroupName=network["subnet_group"], DBParameterGroupName=params,
        OptionGroupName=options, MultiAZ=True, Port=3308, DBInstanceClass="db.r6g.large", StorageType="io1", Iops=3000,
        AllocatedStorage=100, EnableIAMDatabaseAuthentication=True, DeletionProtection=True, Tags=[{"Key": "restored", "Value": "yes"}],
        CopyTagsToSnapshot=True, PubliclyAccessible=True,
    )
    restored = instance(target, "restored")
    assert instance_settings(restored) == {
        "security_groups": [network["security_group"]], "subnet_group": network["subnet_group"], "parameter_groups": [params],
        "option_groups": [options], "multi_az": True, "deletion_protection": True, "iam_auth": True,
        "monitoring": (0, None), "performance_insights": False, "copy_tags": True, "tags": [{"Key": "restored", "Value": "yes"}],
        "replica_of": None,
    }
    assert kept_from_source(restored) == {"Engine": "mysql", "EngineVersion": "8.0.35", "DBInstanceClass": "db.r6g.large",
                                          "AllocatedStorage": 100, "StorageType": "io1", "MasterUsername": "pitr", "port": 3308}
    assert restored["PubliclyAccessible"] is True and restored["Iops"] == 3000
    assert source["network"]["subnet_group"] != network["subnet_group"]

    # The names of AWS's default groups are accepted although nobody created them.
    rds(target).restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier="src", TargetDBInstanceIdentifier="restored2",
                                                     UseLatestRestorableTime=True, DBParameterGroupName="default.mysql8.0",
                                                     OptionGroupName="default:mysql-8-0")
    second = instance_settings(instance(target, "restored2"))
    assert (second["parameter_groups"], second["option_groups"]) == (["default.mysql8.0"], ["default:mysql-8-0"])
    for missing, code in (({"DBSubnetGroupName": "nope"}, "DBSubnetGroupNotFoundFault"), ({"DBParameterGroupName": "nope"}, "DBParameterGroupNotFound"),
                          ({"OptionGroupName": "nope"}, "OptionGroupNotFoundFault")):
        with pytest.raises(ClientError) as refused:
            rds(target).restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier="src", TargetDBInstanceIdentifier="restored3",
                                                             UseLatestRestorableTime=True, **missing)
        assert error_code(refused) == code
    with pytest.raises(ClientError) as exists:
        rds(target).restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier="src", TargetDBInstanceIdentifier="restored",
                                                         UseLatestRestorableTime=True)
    assert error_code(exists) == "DBInstanceAlreadyExists"


def test_postgres_defaults_and_the_subnet_groups_own_default_security_group(target: AwsTarget) -> None:
    network = make_network(target, "pg")
    rds(target).create_db_instance(DBInstanceIdentifier="pg", Engine="postgres", EngineVersion="16.3", DBInstanceClass="db.t3.micro",
                                   AllocatedStorage=20, MasterUsername="pitr", MasterUserPassword=PASSWORD,
                                   VpcSecurityGroupIds=[network["security_group"]], DBSubnetGroupName=network["subnet_group"])
    rds(target).restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier="pg", TargetDBInstanceIdentifier="pg-restored",
                                                     UseLatestRestorableTime=True, DBSubnetGroupName=network["subnet_group"])
    settings = instance_settings(instance(target, "pg-restored"))
    assert settings["parameter_groups"] == ["default.postgres16"]
    assert settings["option_groups"] == ["default:postgres-16"]
    # AWS: "Default: The default EC2 VPC security group for the DB subnet group's VPC."
    assert settings["security_groups"] == [default_security_group(target, network["vpc"])] != [network["security_group"]]
    assert settings["subnet_group"] == network["subnet_group"]


# --- RestoreDBClusterToPointInTime ----------------------------------------------------------------
def cluster_settings(described: dict[str, Any]) -> dict[str, Any]:
    return {
        "security_groups": [group["VpcSecurityGroupId"] for group in described["VpcSecurityGroups"]],
        "subnet_group": described["DBSubnetGroup"],
        "parameter_group": described["DBClusterParameterGroup"],
        "deletion_protection": described["DeletionProtection"],
        "iam_auth": described["IAMDatabaseAuthenticationEnabled"],
        "copy_tags": described["CopyTagsToSnapshot"],
        "tags": described.get("TagList"),
        "members": described["DBClusterMembers"],
        "kept": (described["Engine"], described["EngineVersion"], described["Port"], described["MasterUsername"]),
    }


def test_cluster_restore_gets_defaults_and_no_members(target: AwsTarget) -> None:
    source = make_source_cluster(target, "aurora")
    rds(target).create_db_instance(DBInstanceIdentifier="aurora-writer", DBClusterIdentifier="aurora", Engine="aurora-postgresql",
                                   DBInstanceClass="db.r6g.large")
    assert len(cluster(target, "aurora")["DBClusterMembers"]) == 1

    rds(target).restore_db_cluster_to_point_in_time(SourceDBClusterIdentifier="aurora", DBClusterIdentifier="aurora-restored",
                                                    UseLatestRestorableTime=True, RestoreType="copy-on-write")
    restored = cluster(target, "aurora-restored")
    assert cluster_settings(restored) == {
        "security_groups": [default_security_group(target)], "subnet_group": "default", "parameter_group": "default.aurora-postgresql16",
        "deletion_protection": False, "iam_auth": False, "copy_tags": False, "tags": [], "members": [],
        "kept": ("aurora-postgresql", "16.2", 5433, "pitr"),
    }
    assert tags(target, restored["DBClusterArn"]) == []
    assert cluster_settings(cluster(target, "aurora"))["parameter_group"] == source["cluster_params"]


def test_cluster_restore_honours_request_parameters_and_takes_a_writer(target: AwsTarget) -> None:
    make_source_cluster(target, "aurora")
    network = make_network(target, "other")
    rds(target).create_db_cluster_parameter_group(DBClusterParameterGroupName="other-cparams", DBParameterGroupFamily="aurora-postgresql16",
                                                  Description="custom")
    rds(target).restore_db_cluster_to_point_in_time(
        SourceDBClusterIdentifier="aurora", DBClusterIdentifier="aurora-restored", UseLatestRestorableTime=True,
        VpcSecurityGroupIds=[network["security_group"]], DBSubnetGroupName=network["subnet_group"], Port=5434,
        DBClusterParameterGroupName="other-cparams", DeletionProtection=True, EnableIAMDatabaseAuthentication=True,
        CopyTagsToSnapshot=True, Tags=[{"Key": "restored", "Value": "yes"}],
    )
    assert cluster_settings(cluster(target, "aurora-restored")) == {
        "security_groups": [network["security_group"]], "subnet_group": network["subnet_group"], "parameter_group": "other-cparams",
        "deletion_protection": True, "iam_auth": True, "copy_tags": True, "tags": [{"Key": "restored", "Value": "yes"}], "members": [],
        "kept": ("aurora-postgresql", "16.2", 5434, "pitr"),
    }
    with pytest.raises(ClientError) as refused:
        rds(target).restore_db_cluster_to_point_in_time(SourceDBClusterIdentifier="aurora", DBClusterIdentifier="aurora-restored2",
                                                        UseLatestRestorableTime=True, DBClusterParameterGroupName="nope")
    assert error_code(refused) == "DBClusterParameterGroupNotFound"

    rds(target).create_db_instance(DBInstanceIdentifier="restored-writer", DBClusterIdentifier="aurora-restored",
                                   Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
    members = cluster(target, "aurora-restored")["DBClusterMembers"]
    assert [(member["DBInstanceIdentifier"], member["IsClusterWriter"]) for member in members] == [("restored-writer", True)]


def test_cluster_restore_refuses_an_existing_cluster_id(target: AwsTarget) -> None:
    make_source_cluster(target, "aurora")
    rds(target).create_db_cluster(DBClusterIdentifier="taken", Engine="aurora-postgresql", EngineVersion="16.2", MasterUsername="other",
                                  MasterUserPassword=PASSWORD, Tags=[{"Key": "owner", "Value": "someone-else"}])
    rds(target).create_db_instance(DBInstanceIdentifier="taken-writer", DBClusterIdentifier="taken", Engine="aurora-postgresql",
                                   DBInstanceClass="db.r6g.large")
    before = cluster(target, "taken")
    with pytest.raises(ClientError) as refused:
        rds(target).restore_db_cluster_to_point_in_time(SourceDBClusterIdentifier="aurora", DBClusterIdentifier="TAKEN",
                                                        UseLatestRestorableTime=True)
    assert error_code(refused) == "DBClusterAlreadyExistsFault"
    after = cluster(target, "taken")
    assert (after["DBClusterArn"], after["MasterUsername"], after["TagList"], after["DBClusterMembers"]) == (
        before["DBClusterArn"], "other", [{"Key": "owner", "Value": "someone-else"}], before["DBClusterMembers"])


# --- windows and refusals ------------------------------------------------------------------------
def test_restore_time_outside_the_window_is_refused(target: AwsTarget) -> None:
    client = rds(target)
    created = client.create_db_instance(DBInstanceIdentifier="db", Engine="postgres", EngineVersion="16.3", DBInstanceClass="db.t3.micro",
                                        AllocatedStorage=20, MasterUsername="pitr", MasterUserPassword=PASSWORD)["DBInstance"]["InstanceCreateTime"]
    cluster_created = client.create_db_cluster(DBClusterIdentifier="aurora", Engine="aurora-postgresql", EngineVersion="16.2",
                                               MasterUsername="pitr", MasterUserPassword=PASSWORD)["DBCluster"]["ClusterCreateTime"]
    described = cluster(target, "aurora")
    assert described["EarliestRestorableTime"] == cluster_created <= described["LatestRestorableTime"]
    assert instance(target, "db")["LatestRestorableTime"] >= created
    window = client.describe_db_instance_automated_backups(DBInstanceIdentifier="db")["DBInstanceAutomatedBackups"][0]["RestoreWindow"]
    assert window["EarliestTime"] == created <= window["LatestTime"]

    future = datetime.now(timezone.utc) + timedelta(hours=1)
    for point in (future, created - timedelta(hours=1)):
        with pytest.raises(ClientError) as refused:
            client.restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier="db", TargetDBInstanceIdentifier="db-restored", RestoreTime=point)
        assert error_code(refused) == "InvalidRestoreFault"
        assert "restorable window" in refused.value.response["Error"]["Message"]
    for point in (future, cluster_created - timedelta(hours=1)):
        with pytest.raises(ClientError) as refused:
            client.restore_db_cluster_to_point_in_time(SourceDBClusterIdentifier="aurora", DBClusterIdentifier="aurora-restored",
                                                       RestoreToTime=point)
        assert error_code(refused) == "InvalidRestoreFault"
    with pytest.raises(ClientError):
        instance(target, "db-restored")
    with pytest.raises(ClientError):
        cluster(target, "aurora-restored")

    inside = instance(target, "db")["LatestRestorableTime"]
    assert client.restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier="db", TargetDBInstanceIdentifier="db-restored",
                                                       RestoreTime=inside)["DBInstance"]["DBInstanceIdentifier"] == "db-restored"
    client.restore_db_cluster_to_point_in_time(SourceDBClusterIdentifier="aurora", DBClusterIdentifier="aurora-restored",
                                               RestoreToTime=cluster(target, "aurora")["LatestRestorableTime"])
    assert cluster(target, "aurora-restored")["DBClusterMembers"] == []


def test_restore_needs_automated_backups_and_one_restore_point(target: AwsTarget) -> None:
    client = rds(target)
    client.create_db_instance(DBInstanceIdentifier="nobackup", Engine="postgres", EngineVersion="16.3", DBInstanceClass="db.t3.micro",
                              AllocatedStorage=20, MasterUsername="pitr", MasterUserPassword=PASSWORD, BackupRetentionPeriod=0)
    assert "LatestRestorableTime" not in instance(target, "nobackup")
    with pytest.raises(client.exceptions.PointInTimeRestoreNotEnabledFault) as refused:
        client.restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier="nobackup", TargetDBInstanceIdentifier="restored",
                                                    UseLatestRestorableTime=True)
    assert error_code(refused) == "PointInTimeRestoreNotEnabled"

    client.create_db_instance(DBInstanceIdentifier="db", Engine="postgres", EngineVersion="16.3", DBInstanceClass="db.t3.micro",
                              AllocatedStorage=20, MasterUsername="pitr", MasterUserPassword=PASSWORD)
    latest = instance(target, "db")["LatestRestorableTime"]
    for point in ({}, {"UseLatestRestorableTime": True, "RestoreTime": latest}):
        with pytest.raises(ClientError) as refused:
            client.restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier="db", TargetDBInstanceIdentifier="restored", **point)
        assert error_code(refused) == "InvalidParameterCombination"
    client.create_db_cluster(DBClusterIdentifier="aurora", Engine="aurora-postgresql", EngineVersion="16.2", MasterUsername="pitr",
                             MasterUserPassword=PASSWORD)
    for point in ({}, {"RestoreToTime": latest, "RestoreType": "copy-on-write"}):
        with pytest.raises(ClientError) as refused:
            client.restore_db_cluster_to_point_in_time(SourceDBClusterIdentifier="aurora", DBClusterIdentifier="restored", **point)
        assert error_code(refused) == "InvalidParameterCombination"


def test_lag_moves_the_window_and_the_latest_restore_point(aws_inproc: Callable[..., InProcessAws]) -> None:
    aws = aws_inproc(pitr_lag_seconds=600)
    client = aws.client("rds", max_attempts=1)
    client.create_db_instance(DBInstanceIdentifier="db", Engine="postgres", EngineVersion="16.3", DBInstanceClass="db.t3.micro",
                              AllocatedStorage=20, MasterUsername="pitr", MasterUserPassword=PASSWORD)
    client.create_db_cluster(DBClusterIdentifier="aurora", Engine="aurora-postgresql", EngineVersion="16.2", MasterUsername="pitr",
                             MasterUserPassword=PASSWORD)
    # Younger than the lag: nothing is restorable yet, as right after creation on AWS.
    assert "LatestRestorableTime" not in instance(aws.target, "db")
    assert "LatestRestorableTime" not in cluster(aws.target, "aurora")
    window = client.describe_db_instance_automated_backups(DBInstanceIdentifier="db")["DBInstanceAutomatedBackups"][0]["RestoreWindow"]
    assert "LatestTime" not in window
    with pytest.raises(ClientError) as refused:
        client.restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier="db", TargetDBInstanceIdentifier="r1", UseLatestRestorableTime=True)
    assert error_code(refused) == "InvalidRestoreFault"
    with pytest.raises(ClientError) as refused:
        client.restore_db_cluster_to_point_in_time(SourceDBClusterIdentifier="aurora", DBClusterIdentifier="r2", UseLatestRestorableTime=True)
    assert error_code(refused) == "InvalidRestoreFault"

    aws.pitr_lag_seconds = 0.3
    time.sleep(0.5)  # the resources are now older than the lag
    lag, slack = timedelta(seconds=0.3), timedelta(milliseconds=2)
    before = datetime.now(timezone.utc)
    latest = instance(aws.target, "db")["LatestRestorableTime"]
    assert before - lag - slack <= latest <= datetime.now(timezone.utc) - lag
    with pytest.raises(ClientError) as refused:  # after LatestRestorableTime although before now
        client.restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier="db", TargetDBInstanceIdentifier="r1",
                                                    RestoreTime=datetime.now(timezone.utc) - timedelta(milliseconds=50))
    assert error_code(refused) == "InvalidRestoreFault"

    before = datetime.now(timezone.utc)
    db_arn = client.restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier="db", TargetDBInstanceIdentifier="r1",
                                                         UseLatestRestorableTime=True)["DBInstance"]["DBInstanceArn"]
    cluster_arn = client.restore_db_cluster_to_point_in_time(SourceDBClusterIdentifier="aurora", DBClusterIdentifier="r2",
                                                             UseLatestRestorableTime=True)["DBCluster"]["DBClusterArn"]
    after = datetime.now(timezone.utc)
    points = aws.rds_restore_points
    assert set(points) == {db_arn, cluster_arn}
    for point in points.values():
        assert before - lag - slack <= point <= after - lag

    explicit = latest - timedelta(milliseconds=100)
    arn = client.restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier="db", TargetDBInstanceIdentifier="r3",
                                                      RestoreTime=explicit)["DBInstance"]["DBInstanceArn"]
    assert abs(aws.rds_restore_points[arn] - explicit) < slack
    aws.reset()
    assert not aws.rds_restore_points


def test_delays_apply_to_restored_instances_clusters_and_their_writers(aws_inproc: Callable[..., InProcessAws]) -> None:
    aws = aws_inproc()
    client = aws.client("rds", max_attempts=1)
    client.create_db_instance(DBInstanceIdentifier="db", Engine="postgres", EngineVersion="16.3", DBInstanceClass="db.t3.micro",
                              AllocatedStorage=20, MasterUsername="pitr", MasterUserPassword=PASSWORD)
    client.create_db_cluster(DBClusterIdentifier="aurora", Engine="aurora-postgresql", EngineVersion="16.2", MasterUsername="pitr",
                             MasterUserPassword=PASSWORD)
    aws.delays.rds_seconds = 1.5  # generous: under load a few calls can take half a second
    answer = client.restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier="db", TargetDBInstanceIdentifier="r1",
                                                         UseLatestRestorableTime=True)
    assert answer["DBInstance"]["DBInstanceStatus"] == "creating"
    client.restore_db_cluster_to_point_in_time(SourceDBClusterIdentifier="aurora", DBClusterIdentifier="r2", UseLatestRestorableTime=True)
    assert cluster(aws.target, "r2")["Status"] == "creating"
    assert instance(aws.target, "r1")["DBInstanceStatus"] == "creating"
    waiter = {"Delay": 0.1, "MaxAttempts": 50}
    client.get_waiter("db_cluster_available").wait(DBClusterIdentifier="r2", WaiterConfig=waiter)
    client.create_db_instance(DBInstanceIdentifier="r2-writer", DBClusterIdentifier="r2", Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
    assert instance(aws.target, "r2-writer")["DBInstanceStatus"] == "creating"
    client.get_waiter("db_instance_available").wait(DBInstanceIdentifier="r1", WaiterConfig=waiter)
    client.get_waiter("db_instance_available").wait(DBInstanceIdentifier="r2-writer", WaiterConfig=waiter)
    assert cluster(aws.target, "r2")["DBClusterMembers"][0]["DBInstanceIdentifier"] == "r2-writer"
