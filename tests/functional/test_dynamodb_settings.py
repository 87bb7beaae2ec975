"""Capture a table's settings, restore it, re-apply them: through real boto3 over HTTP.

The source table is configured the way ScalarDB's Schema Loader leaves it (PROVISIONED, auto
scaling with target tracking on the table and its index, PITR) plus TTL, tags, a stream and
deletion protection.  The test first proves the restored table really lacks them (moto, like AWS,
does not carry them over), so an empty ``diff`` afterwards shows ``apply`` did the work.
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_settings import (
    TableSettings,
    apply,
    capture,
    diff,
    resource_id,
    restore_overrides,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_wait import Poller
from standins.aws.target import AwsTarget

TAGS = {"team": "payments", "scalar-deployment": "prod", "cost-center": "4711"}
INDEX_SUFFIX = ".global_index.customer_id"
DIMENSIONS = {
    None: ("dynamodb:table:ReadCapacityUnits", "dynamodb:table:WriteCapacityUnits"),
    "index": ("dynamodb:index:ReadCapacityUnits", "dynamodb:index:WriteCapacityUnits"),
}


def fast_poller(aws: AwsTarget) -> Poller:
    """Against the stand-in tables are ACTIVE at once; against AWS wait for real."""
    return Poller(deadline=30, first_delay=0.05, max_delay=0.2) if aws.is_standin else Poller(deadline=1800, first_delay=5, max_delay=20)


def drop(aws: AwsTarget, name: str) -> None:
    """Delete a table the test made, even with deletion protection and auto scaling (real accounts keep orphans)."""
    ddb, scaling = aws.client("dynamodb"), aws.client("application-autoscaling")
    try:
        description = ddb.describe_table(TableName=name)["Table"]
    except ddb.exceptions.ResourceNotFoundException:
        return
    ids = [resource_id(name)] + [resource_id(name, gsi["IndexName"]) for gsi in description.get("GlobalSecondaryIndexes", [])]
    for target in scaling.describe_scalable_targets(ServiceNamespace="dynamodb", ResourceIds=ids)["ScalableTargets"]:
        scaling.deregister_scalable_target(ServiceNamespace="dynamodb", ResourceId=target["ResourceId"], ScalableDimension=target["ScalableDimension"])
    if description.get("DeletionProtectionEnabled"):
        ddb.update_table(TableName=name, DeletionProtectionEnabled=False)
        ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig=aws.waiter_config())
    ddb.delete_table(TableName=name)


def make_source(aws: AwsTarget, name: str) -> str:
    """A ScalarDB-like table with every setting a restore loses; returns the index name."""
    ddb, scaling = aws.client("dynamodb"), aws.client("application-autoscaling")
    index = name + INDEX_SUFFIX
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "concatenatedPartitionKey", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "concatenatedPartitionKey", "AttributeType": "B"},
            {"AttributeName": "customer_id", "AttributeType": "N"},
        ],
        ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 10},
        GlobalSecondaryIndexes=[{
            "IndexName": index,
            "KeySchema": [{"AttributeName": "customer_id", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
            "ProvisionedThroughput": {"ReadCapacityUnits": 10, "WriteCapacityUnits": 10},
        }],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        DeletionProtectionEnabled=True,
        Tags=[{"Key": key, "Value": value} for key, value in TAGS.items()],
    )
    aws.defer(drop, aws, name)
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig=aws.waiter_config())
    ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 7})
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expire_at"})
    ddb.put_item(TableName=name, Item={"concatenatedPartitionKey": {"B": b"\x01"}, "customer_id": {"N": "7"}, "expire_at": {"N": "4102444800"}})
    for rid, dimensions in ((resource_id(name), DIMENSIONS[None]), (resource_id(name, index), DIMENSIONS["index"])):
        for dimension in dimensions:
            scaling.register_scalable_target(ServiceNamespace="dynamodb", ResourceId=rid, ScalableDimension=dimension, MinCapacity=5, MaxCapacity=50)
            kind = "read" if "Read" in dimension else "write"
            scaling.put_scaling_policy(
                PolicyName=f"{rid}-{'index-' if '/index/' in rid else ''}{kind}",  # ScalarDB's naming: resource id + type
                ServiceNamespace="dynamodb", ResourceId=rid, ScalableDimension=dimension, PolicyType="TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration={
                    "TargetValue": 70.0,
                    "PredefinedMetricSpecification": {"PredefinedMetricType": f"DynamoDB{kind.capitalize()}CapacityUtilization"},
                    "ScaleInCooldown": 60, "ScaleOutCooldown": 60,
                },
            )
    return index


def restore(aws: AwsTarget, source: str, target: str, settings: TableSettings) -> None:
    ddb = aws.client("dynamodb")
    ddb.restore_table_to_point_in_time(SourceTableName=source, TargetTableName=target, UseLatestRestorableTime=True, **restore_overrides(settings))
    aws.defer(drop, aws, target)
    ddb.get_waiter("table_exists").wait(TableName=target, WaiterConfig=aws.waiter_config())


@pytest.fixture(name="names")
def names_fixture(aws: AwsTarget) -> tuple[str, str]:
    """Source and restored table names: ScalarDB-style under prefixes p1_/p2_ (unique on a real account)."""
    base = "" if aws.is_standin else aws.unique("ddb") + "-"
    return f"{base}p1_app.orders", f"{base}p2_app.orders"


def test_capture_records_every_setting(aws: AwsTarget, names: tuple[str, str]) -> None:
    source = names[0]
    index = make_source(aws, source)

    settings = capture(aws.client("dynamodb"), aws.client("application-autoscaling"), source)

    assert settings.billing_mode == "PROVISIONED"
    assert (settings.read_capacity, settings.write_capacity) == (10, 10)
    assert settings.indexes == {index: {"read": 10, "write": 10}}
    assert settings.pitr is True and settings.pitr_recovery_days == 7
    assert settings.ttl_attribute == "expire_at"
    assert settings.stream_view_type == "NEW_AND_OLD_IMAGES"
    assert settings.deletion_protection is True
    assert settings.tags == TAGS
    assert [(t.index, t.dimension, t.min_capacity, t.max_capacity) for t in settings.scalable_targets] == [
        (None, DIMENSIONS[None][0], 5, 50), (None, DIMENSIONS[None][1], 5, 50),
        (index, DIMENSIONS["index"][0], 5, 50), (index, DIMENSIONS["index"][1], 5, 50),
    ]
    assert sorted(p.name for p in settings.scaling_policies) == sorted([
        f"table/{source}-read", f"table/{source}-write",
        f"table/{source}/index/{index}-index-read", f"table/{source}/index/{index}-index-write",
    ])
    # What a re-run needs after the source is gone: a JSON round trip loses nothing.
    assert TableSettings.from_dict(json.loads(json.dumps(settings.to_dict()))) == settings


def test_restore_then_apply_brings_everything_back(aws: AwsTarget, names: tuple[str, str]) -> None:
    source, target = names
    ddb, scaling = aws.client("dynamodb"), aws.client("application-autoscaling")
    index = make_source(aws, source)
    expected = capture(ddb, scaling, source)
    restore(aws, source, target, expected)

    before = capture(ddb, scaling, target)
    # The restore really lost them (else apply would prove nothing).
    assert not before.pitr and before.ttl_attribute is None and before.stream_view_type is None
    assert not before.deletion_protection and before.tags == {}
    assert before.scalable_targets == [] and before.scaling_policies == []
    assert before.indexes == {index: {"read": 10, "write": 10}}  # restores keep indexes (under their old names)
    problems = diff(expected, before)
    assert any("point-in-time recovery" in p for p in problems) and any("TTL" in p for p in problems)
    assert any("auto scaling" in p for p in problems) and any("scaling policy" in p for p in problems)

    changes = apply(ddb, scaling, target, expected, poller=fast_poller(aws))

    assert "point-in-time recovery on (7 days)" in changes
    assert "TTL on expire_at" in changes
    assert "stream NEW_AND_OLD_IMAGES" in changes and "deletion protection on" in changes
    after = capture(ddb, scaling, target)
    assert diff(expected, after) == []
    assert after.tags == TAGS and after.pitr_recovery_days == 7
    # Policy names follow the table's new name, and the targets sit on the new table's resources.
    assert f"table/{target}-read" in {p.name for p in after.scaling_policies}
    registered = scaling.describe_scalable_targets(ServiceNamespace="dynamodb", ResourceIds=[resource_id(target), resource_id(target, index)])
    assert len(registered["ScalableTargets"]) == 4
    item = ddb.get_item(TableName=target, Key={"concatenatedPartitionKey": {"B": b"\x01"}})["Item"]
    assert item["customer_id"] == {"N": "7"}

    assert apply(ddb, scaling, target, expected, poller=fast_poller(aws)) == []


def test_apply_corrects_drifted_settings(aws: AwsTarget, names: tuple[str, str]) -> None:
    """A target with an unwanted stream, protection, a wrong tag and wrong limits is brought in line.

    (Changing a stream's view type - disable, then enable - cannot be shown on moto 5.2: once a table
    had a stream, moto refuses to enable another one, which AWS allows.)
    """
    source, target = names
    ddb, scaling = aws.client("dynamodb"), aws.client("application-autoscaling")
    make_source(aws, source)
    expected = capture(ddb, scaling, source)
    expected.deletion_protection = False
    expected.stream_view_type = None
    restore(aws, source, target, expected)
    ddb.update_table(TableName=target, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    ddb.update_table(TableName=target, DeletionProtectionEnabled=True)
    arn = ddb.describe_table(TableName=target)["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "wrong"}, {"Key": "restored-by", "Value": "scalarops.pitr"}])
    scaling.register_scalable_target(
        ServiceNamespace="dynamodb", ResourceId=resource_id(target), ScalableDimension=DIMENSIONS[None][0], MinCapacity=1, MaxCapacity=2,
    )

    changes = apply(ddb, scaling, target, expected, poller=fast_poller(aws))

    assert changes[:2] == ["stream disabled", "deletion protection off"]
    assert f"auto scaling target table/{target} {DIMENSIONS[None][0]} 5-50" in changes
    after = capture(ddb, scaling, target)
    assert diff(expected, after) == []
    assert after.tags["restored-by"] == "scalarops.pitr"  # extra tags (the restore's own markers) are kept
    assert after.tags["team"] == "payments"


def test_ttl_attribute_change_disables_then_enables(aws: AwsTarget, names: tuple[str, str]) -> None:
    source, target = names
    ddb, scaling = aws.client("dynamodb"), aws.client("application-autoscaling")
    make_source(aws, source)
    expected = capture(ddb, scaling, source)
    restore(aws, source, target, expected)
    ddb.update_time_to_live(TableName=target, TimeToLiveSpecification={"Enabled": True, "AttributeName": "old_ttl"})

    changes = apply(ddb, scaling, target, expected, poller=fast_poller(aws))

    assert changes.index("TTL off (was old_ttl)") < changes.index("TTL on expire_at")
    assert capture(ddb, scaling, target).ttl_attribute == "expire_at"


def test_apply_refuses_a_target_without_the_index(aws: AwsTarget, names: tuple[str, str]) -> None:
    source, target = names
    ddb, scaling = aws.client("dynamodb"), aws.client("application-autoscaling")
    index = make_source(aws, source)
    expected = capture(ddb, scaling, source)
    ddb.create_table(
        TableName=target, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "concatenatedPartitionKey", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "concatenatedPartitionKey", "AttributeType": "B"}],
    )
    aws.defer(drop, aws, target)
    ddb.get_waiter("table_exists").wait(TableName=target, WaiterConfig=aws.waiter_config())

    with pytest.raises(Exception, match=f"lacks the global secondary indexes {index}"):
        apply(ddb, scaling, target, expected, poller=fast_poller(aws))
    # Refused before changing anything.
    untouched = capture(ddb, scaling, target)
    assert not untouched.pitr and untouched.tags == {} and untouched.scalable_targets == []


def test_on_demand_source_switches_a_provisioned_restore(aws: AwsTarget, names: tuple[str, str]) -> None:
    source, target = names
    ddb, scaling = aws.client("dynamodb"), aws.client("application-autoscaling")
    keys: dict[str, Any] = {
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
    }
    for name, mode in ((source, {"BillingMode": "PAY_PER_REQUEST"}), (target, {"ProvisionedThroughput": {"ReadCapacityUnits": 3, "WriteCapacityUnits": 3}})):
        ddb.create_table(TableName=name, **keys, **mode)
        aws.defer(drop, aws, name)
        ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig=aws.waiter_config())
    expected = capture(ddb, scaling, source)
    assert expected.billing_mode == "PAY_PER_REQUEST"
    assert restore_overrides(expected) == {"BillingModeOverride": "PAY_PER_REQUEST"}

    assert apply(ddb, scaling, target, expected, poller=fast_poller(aws)) == ["billing mode PAY_PER_REQUEST"]
    assert diff(expected, capture(ddb, scaling, target)) == []


def test_provisioned_source_switches_an_on_demand_table_with_its_index(aws: AwsTarget, names: tuple[str, str]) -> None:
    source, target = names
    ddb, scaling = aws.client("dynamodb"), aws.client("application-autoscaling")
    index = make_source(aws, source)
    expected = capture(ddb, scaling, source)
    restore(aws, source, target, expected)
    ddb.update_table(TableName=target, BillingMode="PAY_PER_REQUEST")
    ddb.get_waiter("table_exists").wait(TableName=target, WaiterConfig=aws.waiter_config())

    changes = apply(ddb, scaling, target, expected, poller=fast_poller(aws))

    assert changes[0] == "billing mode PROVISIONED (10/10)"
    after = capture(ddb, scaling, target)
    assert after.billing_mode == "PROVISIONED" and after.indexes[index] == {"read": 10, "write": 10}
    assert diff(expected, after) == []
