"""The AWS stand-ins, proven with real boto3 over HTTP.

The first half runs against the ``aws`` fixture: moto in server mode, or a real account when
``PITR_TEST_AWS_PROFILE`` / ``PITR_TEST_AWS_ENDPOINT_URL`` are set.  Every assertion there holds on
real AWS too (that is the point: the stand-in answers like AWS for what we rely on).  Against a
real account the tests create uniquely named resources and delete them afterwards; the ones that
cost money say so.  The second half (``aws_inproc``) checks the stand-in-only controls: delays,
fault injection, call counters and clean scoping of moto's patches.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from fixtures.aws import aws_is_standin
from fixtures.common import require_standin
from standins.aws import Fault, InProcessAws, reset, start_moto
from standins.aws.target import AwsTarget

KEYS = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
ATTRS = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}]


# --- helpers -------------------------------------------------------------------------------------
def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def create_table(aws: AwsTarget, name: str, **extra: Any) -> str:
    """Create a table (on-demand unless ``extra`` says otherwise), wait for ACTIVE, register its deletion."""
    ddb = aws.client("dynamodb")
    ddb.create_table(TableName=name, KeySchema=KEYS, AttributeDefinitions=ATTRS, **({"BillingMode": "PAY_PER_REQUEST"} | extra))
    aws.defer(drop_table, aws, name)
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig=aws.waiter_config())
    return str(ddb.describe_table(TableName=name)["Table"]["TableArn"])


def drop_table(aws: AwsTarget, name: str) -> None:
    """Delete a table if it exists (once it is ACTIVE), turning deletion protection off first."""
    ddb = aws.client("dynamodb")
    try:
        table = ddb.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return
        raise
    if table["TableStatus"] != "ACTIVE":  # AWS refuses to delete a table still being created/updated
        ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig=aws.waiter_config())
    if table.get("DeletionProtectionEnabled"):
        ddb.update_table(TableName=name, DeletionProtectionEnabled=False)
    ddb.delete_table(TableName=name)


def put_items(aws: AwsTarget, table: str, count: int) -> set[tuple[str, int]]:
    ddb = aws.client("dynamodb")
    keys = {(f"user#{i % 3}", i) for i in range(count)}
    for pk, sk in keys:
        ddb.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"N": str(sk)}, "payload": {"S": f"v{sk}"}})
    return keys


def item_keys(aws: AwsTarget, table: str) -> set[tuple[str, int]]:
    pages = aws.client("dynamodb").get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
    return {(item["pk"]["S"], int(item["sk"]["N"])) for page in pages for item in page["Items"]}


def enable_pitr(aws: AwsTarget, table: str) -> dict[str, Any]:
    """Enable PITR and wait until a restore to the latest time is possible (minutes on AWS, at once on moto)."""
    ddb = aws.client("dynamodb")
    ddb.update_continuous_backups(TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})

    def window() -> dict[str, Any] | None:
        pitr = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        ready = pitr.get("LatestRestorableDateTime") and pitr["LatestRestorableDateTime"] >= pitr["EarliestRestorableDateTime"]
        return pitr if ready else None

    return poll(aws, window, "PITR restore window")


def poll(aws: AwsTarget, probe: Callable[[], Any], what: str) -> Any:
    config = aws.waiter_config()
    for _attempt in range(int(config["MaxAttempts"])):
        if (result := probe()) is not None:
            return result
        time.sleep(config["Delay"])
    raise TimeoutError(f"gave up waiting for {what}")


def wait_backup(aws: AwsTarget, arn: str) -> dict[str, Any]:
    ddb = aws.client("dynamodb")

    def available() -> dict[str, Any] | None:
        details = ddb.describe_backup(BackupArn=arn)["BackupDescription"]["BackupDetails"]
        return details if details["BackupStatus"] == "AVAILABLE" else None

    return poll(aws, available, f"backup {arn}")


def drop_backup(aws: AwsTarget, arn: str) -> None:
    try:
        aws.client("dynamodb").delete_backup(BackupArn=arn)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "BackupNotFoundException":
            raise


def drop_db_instance(aws: AwsTarget, ident: str, wait: bool = False) -> None:
    """Delete an instance if it exists; ``wait`` until it is gone (its cluster cannot go before it)."""
    rds = aws.client("rds")
    try:
        rds.delete_db_instance(DBInstanceIdentifier=ident, SkipFinalSnapshot=True, DeleteAutomatedBackups=True)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "DBInstanceNotFound":
            raise
    if wait:
        rds.get_waiter("db_instance_deleted").wait(DBInstanceIdentifier=ident, WaiterConfig=aws.waiter_config())


def drop_db_cluster(aws: AwsTarget, ident: str) -> None:
    try:
        aws.client("rds").delete_db_cluster(DBClusterIdentifier=ident, SkipFinalSnapshot=True)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "DBClusterNotFoundFault":
            raise


# --- DynamoDB --------------------------------------------------------------------------------------
def test_dynamodb_pitr_restore_copies_items_and_drops_table_settings(aws: AwsTarget) -> None:
    """PITR restore into a new table.  Real AWS: costs cents, takes ~10-20 minutes (window + restore)."""
    ddb = aws.client("dynamodb")
    source, target = aws.unique("src"), aws.unique("pitr")
    source_arn = create_table(aws, source, Tags=[{"Key": "team", "Value": "scalar"}])
    ddb.update_time_to_live(TableName=source, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    keys = put_items(aws, source, 7)

    pitr = enable_pitr(aws, source)
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
    assert isinstance(pitr["EarliestRestorableDateTime"], datetime)

    aws.defer(drop_table, aws, target)
    restored = ddb.restore_table_to_point_in_time(SourceTableName=source, TargetTableName=target, UseLatestRestorableTime=True)
    assert restored["TableDescription"]["RestoreSummary"]["SourceTableArn"] == source_arn
    ddb.get_waiter("table_exists").wait(TableName=target, WaiterConfig=aws.waiter_config())

    assert item_keys(aws, target) == keys
    table = ddb.describe_table(TableName=target)["Table"]
    assert table["KeySchema"] == KEYS
    # What AWS does not carry over to a restored table (and moto agrees): tags, TTL, PITR.
    assert ddb.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"] == []
    assert ddb.describe_time_to_live(TableName=target)["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"
    backups = ddb.describe_continuous_backups(TableName=target)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "DISABLED"


def test_dynamodb_backup_restore_has_backup_time_items(aws: AwsTarget) -> None:
    """On-demand backup, then restore from it.  Real AWS: costs cents, takes minutes."""
    ddb = aws.client("dynamodb")
    source, target = aws.unique("src"), aws.unique("bak")
    create_table(aws, source)
    keys = put_items(aws, source, 5)

    arn = ddb.create_backup(TableName=source, BackupName="pitr-test-backup")["BackupDetails"]["BackupArn"]
    aws.defer(drop_backup, aws, arn)
    assert wait_backup(aws, arn)["BackupType"] == "USER"
    put_items(aws, source, 9)  # written after the backup: must not show up in the restore
    assert arn in {s["BackupArn"] for s in ddb.list_backups(TableName=source)["BackupSummaries"]}

    aws.defer(drop_table, aws, target)
    ddb.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
    ddb.get_waiter("table_exists").wait(TableName=target, WaiterConfig=aws.waiter_config())
    assert item_keys(aws, target) == keys
    assert ddb.describe_table(TableName=target)["Table"]["RestoreSummary"]["SourceBackupArn"] == arn


def test_dynamodb_deletion_protection_tags_and_ttl(aws: AwsTarget) -> None:
    """Deletion protection blocks DeleteTable until turned off; tags and TTL round-trip.  Real AWS: free tier."""
    ddb = aws.client("dynamodb")
    name = aws.unique("prot")
    arn = create_table(aws, name, DeletionProtectionEnabled=True)

    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    ddb.untag_resource(ResourceArn=arn, TagKeys=["b"])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "a", "Value": "1"}]
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] in {"ENABLED", "ENABLING"} and ttl["AttributeName"] == "expires"

    with pytest.raises(ClientError) as refused:
        ddb.delete_table(TableName=name)
    assert error_code(refused) == "ValidationException"
    assert ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"

    ddb.update_table(TableName=name, DeletionProtectionEnabled=False)
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig=aws.waiter_config())
    ddb.delete_table(TableName=name)
    ddb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig=aws.waiter_config())
    assert name not in ddb.list_tables()["TableNames"]


def test_application_autoscaling_target_and_policy(aws: AwsTarget) -> None:
    """Auto scaling of a provisioned table (what a restore loses).  Real AWS: provisioned capacity costs cents."""
    name = aws.unique("prov")
    create_table(aws, name, BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    scaling = aws.client("application-autoscaling")
    target = {"ServiceNamespace": "dynamodb", "ResourceId": f"table/{name}", "ScalableDimension": "dynamodb:table:ReadCapacityUnits"}
    scaling.register_scalable_target(**target, MinCapacity=5, MaxCapacity=50)
    aws.defer(scaling.deregister_scalable_target, **target)
    scaling.put_scaling_policy(
        **target,
        PolicyName="read-utilization",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 70.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "DynamoDBReadCapacityUtilization"},
        },
    )

    found = scaling.describe_scalable_targets(ServiceNamespace="dynamodb", ResourceIds=[f"table/{name}"])["ScalableTargets"]
    assert [(t["ScalableDimension"], t["MinCapacity"], t["MaxCapacity"]) for t in found] == [("dynamodb:table:ReadCapacityUnits", 5, 50)]
    policies = scaling.describe_scaling_policies(ServiceNamespace="dynamodb", ResourceId=f"table/{name}")["ScalingPolicies"]
    assert [(p["PolicyName"], p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"]) for p in policies] == [("read-utilization", 70.0)]


def test_reset_forgets_everything(aws: AwsTarget) -> None:
    """The fixture hands every test an empty stand-in, and reset() really clears state."""
    require_standin(aws.is_standin, "reset")
    ddb = aws.client("dynamodb")
    assert ddb.list_tables()["TableNames"] == []  # earlier tests' tables are gone
    create_table(aws, aws.unique("gone"))
    assert len(ddb.list_tables()["TableNames"]) == 1
    aws.reset()
    assert ddb.list_tables()["TableNames"] == []


# --- RDS / Aurora ----------------------------------------------------------------------------------
def test_rds_instance_point_in_time_restore(aws: AwsTarget) -> None:
    """PITR of an RDS instance into a new one.  Real AWS: COSTS MONEY (two db.t3.micro hours), ~30 minutes."""
    rds = aws.client("rds")
    source, target = aws.unique("db"), aws.unique("db-restored")
    rds.create_db_instance(
        DBInstanceIdentifier=source, Engine="postgres", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
        MasterUsername="pitr", MasterUserPassword="not-a-secret-1", BackupRetentionPeriod=1,
    )
    aws.defer(drop_db_instance, aws, source)
    rds.get_waiter("db_instance_available").wait(DBInstanceIdentifier=source, WaiterConfig=aws.waiter_config())
    poll(aws, lambda: rds.describe_db_instances(DBInstanceIdentifier=source)["DBInstances"][0].get("LatestRestorableTime"), "restorable time")

    aws.defer(drop_db_instance, aws, target)
    rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier=source, TargetDBInstanceIdentifier=target, UseLatestRestorableTime=True, DBInstanceClass="db.t3.micro"
    )
    rds.get_waiter("db_instance_available").wait(DBInstanceIdentifier=target, WaiterConfig=aws.waiter_config())
    restored = rds.describe_db_instances(DBInstanceIdentifier=target)["DBInstances"][0]
    assert restored["Engine"] == "postgres"
    assert restored["DBInstanceStatus"] == "available"
    assert restored["Endpoint"]["Address"] and restored["Endpoint"]["Port"] == 5432


def test_aurora_cluster_point_in_time_restore_needs_a_writer(aws: AwsTarget) -> None:
    """Aurora PITR: the restored cluster has no instances until one is created in it.

    Real AWS: COSTS MONEY (Aurora cluster storage and a db.r6g.large hour), ~30 minutes.
    """
    rds = aws.client("rds")
    source, target, writer = aws.unique("aurora"), aws.unique("aurora-restored"), aws.unique("aurora-writer")
    rds.create_db_cluster(
        DBClusterIdentifier=source, Engine="aurora-postgresql", MasterUsername="pitr", MasterUserPassword="not-a-secret-1"
    )
    aws.defer(drop_db_cluster, aws, source)
    rds.get_waiter("db_cluster_available").wait(DBClusterIdentifier=source, WaiterConfig=aws.waiter_config())

    aws.defer(drop_db_cluster, aws, target)
    rds.restore_db_cluster_to_point_in_time(
        SourceDBClusterIdentifier=source, DBClusterIdentifier=target, UseLatestRestorableTime=True, RestoreType="copy-on-write"
    )
    rds.get_waiter("db_cluster_available").wait(DBClusterIdentifier=target, WaiterConfig=aws.waiter_config())
    assert rds.describe_db_clusters(DBClusterIdentifier=target)["DBClusters"][0]["DBClusterMembers"] == []

    aws.defer(drop_db_instance, aws, writer, wait=True)  # runs before the cluster's deletion (last in, first out)
    rds.create_db_instance(
        DBInstanceIdentifier=writer, DBClusterIdentifier=target, Engine="aurora-postgresql", DBInstanceClass="db.r6g.large"
    )
    rds.get_waiter("db_instance_available").wait(DBInstanceIdentifier=writer, WaiterConfig=aws.waiter_config())
    cluster = rds.describe_db_clusters(DBClusterIdentifier=target)["DBClusters"][0]
    assert [(m["DBInstanceIdentifier"], m["IsClusterWriter"]) for m in cluster["DBClusterMembers"]] == [(writer, True)]
    assert cluster["Endpoint"] and cluster["ReaderEndpoint"] and cluster["Endpoint"] != cluster["ReaderEndpoint"]


# --- S3 ----------------------------------------------------------------------------------------------
def empty_and_drop_bucket(aws: AwsTarget, bucket: str) -> None:
    s3 = aws.client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        if page.get("Contents"):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": o["Key"]} for o in page["Contents"]]})
    s3.delete_bucket(Bucket=bucket)


def test_s3_paging_copy_multipart_copy_and_bulk_delete(aws: AwsTarget) -> None:
    """What an S3 prefix move needs.  Real AWS: a few requests, fractions of a cent."""
    s3 = aws.client("s3")
    bucket = aws.unique("bucket")
    location = {} if aws.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": aws.region}}
    s3.create_bucket(Bucket=bucket, **location)
    aws.defer(empty_and_drop_bucket, aws, bucket)
    keys = [f"data/{i:03d}" for i in range(25)]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=f"body of {key}".encode())

    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="data/", PaginationConfig={"PageSize": 10}))
    assert [page["KeyCount"] for page in pages] == [10, 10, 5]
    assert [o["Key"] for page in pages for o in page["Contents"]] == keys

    s3.copy_object(Bucket=bucket, Key="moved/000", CopySource={"Bucket": bucket, "Key": "data/000"})
    assert s3.get_object(Bucket=bucket, Key="moved/000")["Body"].read() == b"body of data/000"

    upload = s3.create_multipart_upload(Bucket=bucket, Key="moved/001")["UploadId"]
    part = s3.upload_part_copy(Bucket=bucket, Key="moved/001", UploadId=upload, PartNumber=1, CopySource={"Bucket": bucket, "Key": "data/001"})
    s3.complete_multipart_upload(
        Bucket=bucket, Key="moved/001", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]},
    )
    assert s3.head_object(Bucket=bucket, Key="moved/001")["ContentLength"] == len(b"body of data/001")

    deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys]})
    assert sorted(d["Key"] for d in deleted["Deleted"]) == keys
    assert s3.list_objects_v2(Bucket=bucket, Prefix="data/")["KeyCount"] == 0
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["moved/000", "moved/001"]


# --- in-process stand-in: delays ------------------------------------------------------------------------
def test_inproc_restore_reports_creating_until_its_time_is_up(aws_inproc: Callable[..., InProcessAws]) -> None:
    aws = aws_inproc(restore_seconds=1.0)
    target = aws.target
    ddb = aws.client("dynamodb", max_attempts=1)
    create_table(target, "source")
    keys = put_items(target, "source", 4)
    enable_pitr(target, "source")

    started = time.monotonic()
    ddb.restore_table_to_point_in_time(SourceTableName="source", TargetTableName="restored", UseLatestRestorableTime=True)
    described = ddb.describe_table(TableName="restored")["Table"]
    assert described["TableStatus"] == "CREATING"
    assert described["RestoreSummary"]["RestoreInProgress"] is True
    assert time.monotonic() - started < 1.0  # less than the 1 s delay: the delay is the table's age, not a sleep
    # What AWS refuses while a table is being restored:
    with pytest.raises(ClientError) as not_active:
        ddb.put_item(TableName="restored", Item={"pk": {"S": "x"}, "sk": {"N": "1"}})
    assert error_code(not_active) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as in_use:
        ddb.delete_table(TableName="restored")
    assert error_code(in_use) == "ResourceInUseException"

    ddb.get_waiter("table_exists").wait(TableName="restored", WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    assert 0.9 <= time.monotonic() - started < 5.0
    described = ddb.describe_table(TableName="restored")["Table"]
    assert described["TableStatus"] == "ACTIVE" and described["RestoreSummary"]["RestoreInProgress"] is False
    assert item_keys(target, "restored") == keys
    assert aws.calls["DescribeTable"] >= 3 and aws.errors[("PutItem", "ResourceNotFoundException")] == 1


def test_inproc_backup_reports_creating_and_is_in_use_meanwhile(aws_inproc: Callable[..., InProcessAws]) -> None:
    aws = aws_inproc(backup_seconds=1.0, restore_seconds=0.3)
    ddb = aws.client("dynamodb", max_attempts=1)
    create_table(aws.target, "source")
    keys = put_items(aws.target, "source", 3)

    arn = ddb.create_backup(TableName="source", BackupName="first")["BackupDetails"]["BackupArn"]
    assert ddb.describe_backup(BackupArn=arn)["BackupDescription"]["BackupDetails"]["BackupStatus"] == "CREATING"
    assert [s["BackupStatus"] for s in ddb.list_backups(TableName="source")["BackupSummaries"]] == ["CREATING"]
    for call in (
        lambda: ddb.create_backup(TableName="source", BackupName="second"),
        lambda: ddb.restore_table_from_backup(TargetTableName="restored", BackupArn=arn),
        lambda: ddb.delete_backup(BackupArn=arn),
    ):
        with pytest.raises(ClientError) as in_use:
            call()
        assert error_code(in_use) == "BackupInUseException"

    assert wait_backup(aws.target, arn)["BackupStatus"] == "AVAILABLE"
    ddb.restore_table_from_backup(TargetTableName="restored", BackupArn=arn)
    described = ddb.describe_table(TableName="restored")["Table"]
    assert described["TableStatus"] == "CREATING" and described["RestoreSummary"]["SourceBackupArn"] == arn
    ddb.get_waiter("table_exists").wait(TableName="restored", WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    assert item_keys(aws.target, "restored") == keys
    assert aws.errors[("CreateBackup", "BackupInUseException")] == 1


def test_inproc_concurrent_restore_limit(aws_inproc: Callable[..., InProcessAws]) -> None:
    aws = aws_inproc(restore_seconds=1.0, max_concurrent_restores=2)
    ddb = aws.client("dynamodb", max_attempts=1)
    create_table(aws.target, "source")
    enable_pitr(aws.target, "source")
    for name in ("restored1", "restored2"):
        ddb.restore_table_to_point_in_time(SourceTableName="source", TargetTableName=name, UseLatestRestorableTime=True)
    with pytest.raises(ClientError) as limited:
        ddb.restore_table_to_point_in_time(SourceTableName="source", TargetTableName="restored3", UseLatestRestorableTime=True)
    assert error_code(limited) == "LimitExceededException"
    assert "restored3" not in ddb.list_tables()["TableNames"]
    ddb.get_waiter("table_exists").wait(TableName="restored2", WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    ddb.restore_table_to_point_in_time(SourceTableName="source", TargetTableName="restored3", UseLatestRestorableTime=True)
    assert ddb.describe_table(TableName="restored3")["Table"]["TableStatus"] == "CREATING"


def test_inproc_rds_reports_creating_and_rds_faults(aws_inproc: Callable[..., InProcessAws]) -> None:
    aws = aws_inproc(
        rds_seconds=1.5,  # generous: under a loaded machine two creates and two describes can take over half a second
        faults=[Fault("RestoreDBInstanceToPointInTime", code="InsufficientDBInstanceCapacity", message="no capacity", service="rds", times=1)],
    )
    rds = aws.client("rds", max_attempts=1)
    rds.create_db_instance(
        DBInstanceIdentifier="db1", Engine="postgres", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
        MasterUsername="pitr", MasterUserPassword="not-a-secret-1",
    )
    rds.create_db_cluster(DBClusterIdentifier="c1", Engine="aurora-postgresql", MasterUsername="pitr", MasterUserPassword="not-a-secret-1")
    assert rds.describe_db_instances(DBInstanceIdentifier="db1")["DBInstances"][0]["DBInstanceStatus"] == "creating"
    assert rds.describe_db_clusters(DBClusterIdentifier="c1")["DBClusters"][0]["Status"] == "creating"
    rds.get_waiter("db_instance_available").wait(DBInstanceIdentifier="db1", WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    rds.get_waiter("db_cluster_available").wait(DBClusterIdentifier="c1", WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})

    restore = {"SourceDBInstanceIdentifier": "db1", "TargetDBInstanceIdentifier": "db2", "UseLatestRestorableTime": True}
    with pytest.raises(ClientError) as refused:
        rds.restore_db_instance_to_point_in_time(**restore)
    assert error_code(refused) == "InsufficientDBInstanceCapacity"
    assert refused.value.response["Error"]["Message"] == "no capacity"
    assert rds.restore_db_instance_to_point_in_time(**restore)["DBInstance"]["DBInstanceStatus"] == "creating"
    assert aws.calls["RestoreDBInstanceToPointInTime"] == 2
    assert aws.errors == {("RestoreDBInstanceToPointInTime", "InsufficientDBInstanceCapacity"): 1}


# --- in-process stand-in: faults --------------------------------------------------------------------------
def test_inproc_throttling_is_visible_without_retries(aws_inproc: Callable[..., InProcessAws]) -> None:
    aws = aws_inproc(faults=[Fault("RestoreTableToPointInTime", code="ThrottlingException", times=2)])
    ddb = aws.client("dynamodb", max_attempts=1)
    create_table(aws.target, "source")
    enable_pitr(aws.target, "source")
    for _attempt in range(2):
        with pytest.raises(ClientError) as throttled:
            ddb.restore_table_to_point_in_time(SourceTableName="source", TargetTableName="restored", UseLatestRestorableTime=True)
        assert error_code(throttled) == "ThrottlingException"
        assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert "restored" not in ddb.list_tables()["TableNames"]  # a throttled call changes nothing
    ddb.restore_table_to_point_in_time(SourceTableName="source", TargetTableName="restored", UseLatestRestorableTime=True)
    assert "restored" in ddb.list_tables()["TableNames"]
    assert aws.calls["RestoreTableToPointInTime"] == 3
    assert aws.errors[("RestoreTableToPointInTime", "ThrottlingException")] == 2


def test_inproc_botocore_retries_a_transient_throttle(aws_inproc: Callable[..., InProcessAws]) -> None:
    aws = aws_inproc(faults=[Fault("ListTables", code="ThrottlingException", times=2)])
    answer = aws.client("dynamodb", max_attempts=5).list_tables()
    assert answer["TableNames"] == []
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert aws.calls["ListTables"] == 3


def test_inproc_fault_modes(aws_inproc: Callable[..., InProcessAws]) -> None:
    def outcomes(aws: InProcessAws, calls: int) -> list[bool]:
        ddb = aws.client("dynamodb", max_attempts=1)
        failed = []
        for _attempt in range(calls):
            try:
                ddb.list_tables()
                failed.append(False)
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "LimitExceededException"
                failed.append(True)
        return failed

    every = aws_inproc(faults=[Fault("ListTables", code="LimitExceededException", every=3, after=1)])
    assert [i for i, bad in enumerate(outcomes(every, 10), start=1) if bad] == [4, 7, 10]
    every.stop()

    patterns = []
    for _attempt in range(2):
        rng = aws_inproc(seed=7, faults=[Fault("ListTables", code="LimitExceededException", probability=0.5)])
        patterns.append(outcomes(rng, 16))
        rng.stop()
    assert patterns[0] == patterns[1] and 0 < sum(patterns[0]) < 16  # seeded: reproducible, and mixed

    matched = aws_inproc(faults=[Fault("PutItem", code="ProvisionedThroughputExceededException", match={"TableName": "hot"})])
    ddb = matched.client("dynamodb", max_attempts=1)
    create_table(matched.target, "hot")
    create_table(matched.target, "cold")
    item = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    ddb.put_item(TableName="cold", Item=item)
    with pytest.raises(ddb.exceptions.ProvisionedThroughputExceededException):  # the modeled class, as from AWS
        ddb.put_item(TableName="hot", Item=item)
    assert matched.errors == {("PutItem", "ProvisionedThroughputExceededException"): 1}
    assert matched.calls["PutItem"] == 2


def test_inproc_rate_limit(aws_inproc: Callable[..., InProcessAws]) -> None:
    aws = aws_inproc(faults=[Fault("ListBackups", code="ThrottlingException", per_second=3)])
    ddb = aws.client("dynamodb", max_attempts=1)
    results = []
    for _attempt in range(5):
        try:
            ddb.list_backups()
            results.append("ok")
        except ClientError as exc:
            results.append(exc.response["Error"]["Code"])
    assert results[:3] == ["ok"] * 3 and "ThrottlingException" in results[3:]
    time.sleep(1.05)
    assert ddb.list_backups()["BackupSummaries"] == []


# --- in-process stand-in: scoping --------------------------------------------------------------------------
def test_inproc_patches_are_scoped_and_state_is_reset(aws_inproc: Callable[..., InProcessAws]) -> None:
    # pylint: disable=import-outside-toplevel  # moto's models are only needed by this test
    from moto.core.responses import BaseResponse
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.table import Backup, RestoredPITTable, Table
    from moto.rds.models import DBCluster, DBInstance

    from standins.aws import patches

    before = (BaseResponse.__dict__["call_action"], RestoredPITTable.__dict__["describe"], DBCluster.__dict__["status"])
    aws = aws_inproc(restore_seconds=60, backup_seconds=60, rds_seconds=60)
    with pytest.raises(RuntimeError, match="already installed"):
        InProcessAws().start()  # a second one would fight over moto's globals
    ddb = aws.client("dynamodb", max_attempts=1)
    create_table(aws.target, "source")
    enable_pitr(aws.target, "source")
    ddb.restore_table_to_point_in_time(SourceTableName="source", TargetTableName="restored", UseLatestRestorableTime=True)
    assert ddb.describe_table(TableName="restored")["Table"]["TableStatus"] == "CREATING"
    aws.stop()

    assert not patches.installed()
    assert (BaseResponse.__dict__["call_action"], RestoredPITTable.__dict__["describe"], DBCluster.__dict__["status"]) == before
    assert "status" not in vars(DBInstance) and "status" not in vars(Backup)
    assert not dynamodb_backends["123456789012"]["us-east-1"].tables  # state reset on exit
    # Plain moto again: a brand-new restored table and backup are ready at once.
    source = Table("plain", "123456789012", "us-east-1", schema=KEYS, attr=ATTRS, billing_mode="PAY_PER_REQUEST")  # type: ignore[abstract]
    restored = RestoredPITTable("plain-restored", "123456789012", "us-east-1", source=source)  # type: ignore[abstract]
    assert restored.describe()["TableDescription"]["TableStatus"] == "ACTIVE"
    assert Backup("123456789012", "us-east-1", "b", source).status == "AVAILABLE"


# --- server mode with behaviour flags (what Molecule and the demo can start) ---------------------------------
def test_server_mode_child_with_delays_and_faults(tmp_path: Path) -> None:
    require_standin(aws_is_standin(), "moto child process with delays and faults")
    running = start_moto(tmp_path, restore_seconds=30, faults=[Fault("CreateBackup", code="LimitExceededException", times=1)])
    try:
        assert running.info["region"] == "us-east-1" and running.info["pid"] == running.pid
        target = AwsTarget(endpoint_url=running.url, region="us-east-1", is_standin=True)
        ddb = target.client("dynamodb", max_attempts=1)
        create_table(target, "source")
        enable_pitr(target, "source")
        ddb.restore_table_to_point_in_time(SourceTableName="source", TargetTableName="restored", UseLatestRestorableTime=True)
        assert ddb.describe_table(TableName="restored")["Table"]["TableStatus"] == "CREATING"
        with pytest.raises(ClientError) as limited:
            ddb.create_backup(TableName="source", BackupName="first")
        assert error_code(limited) == "LimitExceededException"
        assert ddb.create_backup(TableName="source", BackupName="first")["BackupDetails"]["BackupStatus"] == "AVAILABLE"
    finally:
        running.stop()
    assert not running.pidfile.exists()
    with pytest.raises(OSError):
        reset(running.url, timeout=2)  # really gone
