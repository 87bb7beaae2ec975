"""Unit tests of the settings a point-in-time restore does not carry over: reading them from AWS's
descriptions, comparing source and target, and the restore / Modify request parameters built from them.

The description samples have the shape of DescribeDBInstances / DescribeDBClusters answers; every
request built here is also checked against botocore's RDS model, so a parameter AWS does not
know (or names differently in that operation) fails here rather than in a customer's restore.
"""
from __future__ import annotations

import copy

import botocore.session
import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.rds_settings import (
    CLUSTER_FIXED,
    CLUSTER_RESTORE_PARAMS,
    INSTANCE_FIXED,
    INSTANCE_RESTORE_PARAMS,
    diff,
    modify_kwargs,
    restore_kwargs,
    settings_of_cluster,
    settings_of_instance,
    settings_of_member,
    tag_list,
    user_tags,
)

RDS_MODEL = botocore.session.get_session().get_service_model("rds")
ROLE = "arn:aws:iam::123456789012:role/rds-monitoring"
TAGS = [{"Key": "team", "Value": "payments"}, {"Key": "aws:cloudformation:stack-name", "Value": "x"},
        {"Key": "scalarops-pitr:state", "Value": "prepared"}]

INSTANCE = {
    "DBInstanceIdentifier": "scalardb-pg", "Engine": "postgres", "DBInstanceClass": "db.r6g.large", "AllocatedStorage": 500,
    "StorageType": "gp3", "Iops": 12000, "StorageThroughput": 500, "MultiAZ": True,
    "Endpoint": {"Address": "scalardb-pg.abc.us-east-1.rds.amazonaws.com", "Port": 5433}, "DbInstancePort": 0,
    "DBSubnetGroup": {"DBSubnetGroupName": "app-db", "VpcId": "vpc-1"},
    "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-2", "Status": "active"}, {"VpcSecurityGroupId": "sg-1", "Status": "active"}],
    "DBParameterGroups": [{"DBParameterGroupName": "app-pg16", "ParameterApplyStatus": "in-sync"}],
    "OptionGroupMemberships": [{"OptionGroupName": "default:postgres-16", "Status": "in-sync"}],
    "PubliclyAccessible": False, "AutoMinorVersionUpgrade": True, "CopyTagsToSnapshot": True, "DeletionProtection": True,
    "BackupRetentionPeriod": 7, "MaxAllocatedStorage": 1000, "CACertificateIdentifier": "rds-ca-rsa2048-g1",
    "IAMDatabaseAuthenticationEnabled": True, "EnabledCloudwatchLogsExports": ["upgrade", "postgresql"],
    "MonitoringInterval": 60, "MonitoringRoleArn": ROLE, "PerformanceInsightsEnabled": True,
    "PerformanceInsightsRetentionPeriod": 7, "PerformanceInsightsKMSKeyId": "arn:aws:kms:us-east-1:123456789012:key/k",
    "TagList": TAGS,
}
CLUSTER = {
    "DBClusterIdentifier": "scalardb-aurora", "Engine": "aurora-postgresql", "DBSubnetGroup": "app-db",
    "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-1", "Status": "active"}], "DBClusterParameterGroup": "app-aurora-pg16",
    "Port": 5433, "DeletionProtection": True, "CopyTagsToSnapshot": False, "BackupRetentionPeriod": 14,
    "IAMDatabaseAuthenticationEnabled": True, "EnabledCloudwatchLogsExports": ["postgresql"],
    "ServerlessV2ScalingConfiguration": {"MinCapacity": 0.5, "MaxCapacity": 8.0, "SecondsUntilAutoPause": 300},
    "TagList": TAGS,
}
MEMBER = {
    "DBInstanceIdentifier": "scalardb-aurora-1", "DBClusterIdentifier": "scalardb-aurora", "DBInstanceClass": "db.r6g.xlarge",
    "DBParameterGroups": [{"DBParameterGroupName": "app-aurora-instance"}], "PubliclyAccessible": False,
    "AutoMinorVersionUpgrade": True, "PromotionTier": 1, "CACertificateIdentifier": "rds-ca-rsa2048-g1",
    "MonitoringInterval": 0, "MonitoringRoleArn": ROLE, "PerformanceInsightsEnabled": False, "PerformanceInsightsRetentionPeriod": 7,
    "AvailabilityZone": "us-east-1b", "TagList": [{"Key": "role", "Value": "writer"}],
}


def accepted(operation: str) -> set[str]:
    return set(RDS_MODEL.operation_model(operation).input_shape.members)


def test_settings_of_instance_reads_every_setting_a_restore_drops() -> None:
    assert settings_of_instance(INSTANCE) == {
        "DBSubnetGroupName": "app-db", "VpcSecurityGroupIds": ["sg-1", "sg-2"], "DBParameterGroupName": "app-pg16",
        "OptionGroupName": "default:postgres-16", "DBInstanceClass": "db.r6g.large", "StorageType": "gp3", "Iops": 12000,
        "StorageThroughput": 500, "MultiAZ": True, "Port": 5433, "PubliclyAccessible": False, "AutoMinorVersionUpgrade": True,
        "CopyTagsToSnapshot": True, "DeletionProtection": True, "BackupRetentionPeriod": 7, "MaxAllocatedStorage": 1000,
        "CACertificateIdentifier": "rds-ca-rsa2048-g1", "EnableIAMDatabaseAuthentication": True,
        "EnableCloudwatchLogsExports": ["postgresql", "upgrade"], "MonitoringInterval": 60, "MonitoringRoleArn": ROLE,
        "EnablePerformanceInsights": True, "PerformanceInsightsRetentionPeriod": 7,
        "PerformanceInsightsKMSKeyId": "arn:aws:kms:us-east-1:123456789012:key/k", "Tags": {"team": "payments"},
    }


def test_settings_of_instance_leaves_out_what_is_absent_or_switched_off() -> None:
    bare = {"DBInstanceClass": "db.t3.micro", "MonitoringInterval": 0, "MonitoringRoleArn": ROLE, "PerformanceInsightsEnabled": False,
            "PerformanceInsightsRetentionPeriod": 7, "DbInstancePort": 3306}
    assert settings_of_instance(bare) == {
        "VpcSecurityGroupIds": [], "DBInstanceClass": "db.t3.micro", "MultiAZ": False, "Port": 3306, "CopyTagsToSnapshot": False,
        "DeletionProtection": False, "EnableIAMDatabaseAuthentication": False, "EnableCloudwatchLogsExports": [],
        "MonitoringInterval": 0, "EnablePerformanceInsights": False, "Tags": {},
    }


@pytest.mark.parametrize(
    "engine, storage, kept",
    [("postgres", 100, False), ("mysql", 399, False), ("mysql", 400, True), ("oracle-ee", 199, False), ("oracle-ee", 200, True),
     ("sqlserver-se", 20, True)],
)
def test_gp3_baseline_iops_and_throughput_are_not_requested_below_the_size_aws_allows_them(engine: str, storage: int, kept: bool) -> None:
    description = {**INSTANCE, "Engine": engine, "AllocatedStorage": storage, "Iops": 3000, "StorageThroughput": 125}
    settings = settings_of_instance(description)
    assert ("Iops" in settings, "StorageThroughput" in settings) == (kept, kept)
    assert settings["StorageType"] == "gp3"


def test_provisioned_iops_storage_keeps_its_iops() -> None:
    settings = settings_of_instance({**INSTANCE, "StorageType": "io2", "AllocatedStorage": 100, "Iops": 5000, "StorageThroughput": 0})
    assert (settings["Iops"], "StorageThroughput" in settings) == (5000, False)


def test_settings_of_cluster_and_member() -> None:
    assert settings_of_cluster(CLUSTER) == {
        "DBSubnetGroupName": "app-db", "VpcSecurityGroupIds": ["sg-1"], "DBClusterParameterGroupName": "app-aurora-pg16", "Port": 5433,
        "DeletionProtection": True, "CopyTagsToSnapshot": False, "BackupRetentionPeriod": 14, "EnableIAMDatabaseAuthentication": True,
        "EnableCloudwatchLogsExports": ["postgresql"], "ServerlessV2ScalingConfiguration": {"MinCapacity": 0.5, "MaxCapacity": 8.0},
        "Tags": {"team": "payments"},
    }
    assert settings_of_member(MEMBER) == {
        "DBInstanceClass": "db.r6g.xlarge", "DBParameterGroupName": "app-aurora-instance", "PubliclyAccessible": False,
        "AutoMinorVersionUpgrade": True, "PromotionTier": 1, "CACertificateIdentifier": "rds-ca-rsa2048-g1", "MonitoringInterval": 0,
        "EnablePerformanceInsights": False, "Tags": {"role": "writer"},
    }
    # A member is created with CreateDBInstance: every setting is one of its parameters.
    assert set(settings_of_member(MEMBER)) - {"Tags"} <= accepted("CreateDBInstance")


def test_user_tags_leave_out_aws_and_ours() -> None:
    assert user_tags(TAGS) == {"team": "payments"}


def test_diff_names_only_what_the_target_lacks() -> None:
    wanted = settings_of_instance(INSTANCE)
    target = copy.deepcopy(INSTANCE)
    target["VpcSecurityGroups"].reverse()  # order does not matter
    target["TagList"] = TAGS + [{"Key": "extra", "Value": "1"}, {"Key": "scalarops-pitr:source", "Value": "scalardb-pg"}]
    assert diff(wanted, settings_of_instance(target)) == {}, "more tags on the target (ours, others) are fine"
    target.update(MultiAZ=False, MonitoringInterval=0, TagList=[{"Key": "team", "Value": "other"}], PerformanceInsightsEnabled=False)
    assert diff(wanted, settings_of_instance(target)) == {
        "MultiAZ": True, "MonitoringInterval": 60, "MonitoringRoleArn": ROLE, "EnablePerformanceInsights": True,
        "PerformanceInsightsRetentionPeriod": 7, "PerformanceInsightsKMSKeyId": "arn:aws:kms:us-east-1:123456789012:key/k",
        "Tags": {"team": "payments"},
    }


def test_restore_kwargs_take_what_each_restore_call_accepts_in_its_request_form() -> None:
    kwargs = restore_kwargs(settings_of_instance(INSTANCE), INSTANCE_RESTORE_PARAMS)
    assert "MonitoringInterval" not in kwargs and "EnablePerformanceInsights" not in kwargs, "not restore parameters: applied by Modify"
    assert "OptionGroupName" not in kwargs, "AWS's default groups are never named"
    assert kwargs["Tags"] == [{"Key": "team", "Value": "payments"}]
    assert (kwargs["DBParameterGroupName"], kwargs["Port"], kwargs["MultiAZ"]) == ("app-pg16", 5433, True)
    assert set(kwargs) <= accepted("RestoreDBInstanceToPointInTime")

    cluster = restore_kwargs({**settings_of_cluster(CLUSTER), "DBClusterParameterGroupName": "default.aurora-postgresql16",
                              "EnableCloudwatchLogsExports": []}, CLUSTER_RESTORE_PARAMS)
    assert "DBClusterParameterGroupName" not in cluster and "EnableCloudwatchLogsExports" not in cluster
    assert set(cluster) <= accepted("RestoreDBClusterToPointInTime")
    assert INSTANCE_RESTORE_PARAMS <= accepted("RestoreDBInstanceToPointInTime")
    assert CLUSTER_RESTORE_PARAMS <= accepted("RestoreDBClusterToPointInTime")


def test_modify_kwargs_for_an_instance() -> None:
    wanted = settings_of_instance(INSTANCE)
    actual = {**wanted, "Port": 5432, "EnableCloudwatchLogsExports": ["upgrade", "iam-db-auth-error"], "MonitoringInterval": 0,
              "DBSubnetGroupName": "default", "Tags": {}}
    actual.pop("MonitoringRoleArn")
    kwargs = modify_kwargs(diff(wanted, actual), wanted, actual, INSTANCE_FIXED)
    assert kwargs == {
        "DBPortNumber": 5433, "MonitoringInterval": 60, "MonitoringRoleArn": ROLE,
        "CloudwatchLogsExportConfiguration": {"EnableLogTypes": ["postgresql"], "DisableLogTypes": ["iam-db-auth-error"]},
    }, "tags and the subnet group (fixed) are never modified"
    assert set(kwargs) <= accepted("ModifyDBInstance")


def test_modify_kwargs_send_performance_insights_settings_together() -> None:
    wanted = settings_of_instance(INSTANCE)
    actual = {**wanted, "PerformanceInsightsRetentionPeriod": 31}
    assert modify_kwargs(diff(wanted, actual), wanted, actual, INSTANCE_FIXED) == {
        "EnablePerformanceInsights": True, "PerformanceInsightsRetentionPeriod": 7,
        "PerformanceInsightsKMSKeyId": "arn:aws:kms:us-east-1:123456789012:key/k",
    }


def test_modify_kwargs_turn_monitoring_off_without_a_role() -> None:
    wanted = settings_of_instance({**INSTANCE, "MonitoringInterval": 0})
    actual = {**wanted, "MonitoringInterval": 60, "MonitoringRoleArn": ROLE}
    assert modify_kwargs(diff(wanted, actual), wanted, actual, INSTANCE_FIXED) == {"MonitoringInterval": 0}


def test_modify_kwargs_for_a_cluster_use_modify_db_clusters_names() -> None:
    wanted = settings_of_cluster(CLUSTER)
    actual = {**wanted, "Port": 5432, "DeletionProtection": False, "VpcSecurityGroupIds": ["sg-default"], "DBSubnetGroupName": "default"}
    kwargs = modify_kwargs(diff(wanted, actual), wanted, actual, CLUSTER_FIXED, cluster=True)
    assert kwargs == {"Port": 5433, "DeletionProtection": True, "VpcSecurityGroupIds": ["sg-1"]}
    assert set(kwargs) <= accepted("ModifyDBCluster")


def test_tag_list_is_rds_form_sorted() -> None:
    assert tag_list({"b": "2", "a": "1"}) == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
