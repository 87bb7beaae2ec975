# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""What a restored DynamoDB table loses, captured from the source and re-applied to the restore.

A restore (from PITR or from a backup) always creates a new table, which keeps its key schema,
indexes, capacity and encryption but comes back without PITR, TTL, tags, stream, deletion
protection and Application Auto Scaling targets and policies.  So the restore:

1. ``capture``s the source table's settings before anything changes (``TableSettings``, small
   and JSON-serialisable, so it can be stored and survive the deletion of the source);
2. ``apply``s them to the restored table - idempotently: it compares with what the table has and
   changes only the difference, so a second ``apply`` (a re-run) changes nothing;
3. ``diff``s a fresh capture of the restored table against the expected settings to verify.

Order matters on AWS: ``UpdateTable`` changes (billing mode, capacity, stream, deletion
protection) go one at a time, each after the table is ACTIVE again; PITR, TTL, tags and auto
scaling have their own APIs.  Auto scaling needs PROVISIONED mode, so it comes after the billing mode.

Compared leniently on purpose: tags the target has beyond the expected ones (e.g. the restore's own
markers) are not differences; provisioned capacity of a dimension that auto scaling manages moves
by itself and is not compared.  CloudWatch alarms of step-scaling policies and IAM policies are
not captured (target tracking creates its own alarms when its policy is put).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import error_code
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_api import Call, chunks, direct, pages
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_wait import Poller

FORMAT_VERSION = 1
SERVICE_NAMESPACE = "dynamodb"
PROVISIONED = "PROVISIONED"
ON_DEMAND = "PAY_PER_REQUEST"
# put_scaling_policy takes the configuration under the key that matches its PolicyType.
_POLICY_CONFIG_KEYS = ("TargetTrackingScalingPolicyConfiguration", "StepScalingPolicyConfiguration", "PredictiveScalingPolicyConfiguration")
_TAGS_PER_CALL = 50  # TagResource's limit
_TARGETS_PER_CALL = 50  # DescribeScalableTargets' ResourceIds limit
_PITR_BUSY = ("ContinuousBackupsUnavailableException",)


class SettingsError(RuntimeError):
    """Settings cannot be captured or applied; the message names the table and what is wrong."""


@dataclass(frozen=True)
class ScalableTarget:
    """An Application Auto Scaling target of the table (``index`` None) or of one of its indexes."""

    index: str | None
    dimension: str
    min_capacity: int
    max_capacity: int


@dataclass(frozen=True)
class ScalingPolicy:
    """A scaling policy; ``configuration`` is ``{<PolicyType>PolicyConfiguration key: value}``."""

    index: str | None
    dimension: str
    name: str
    policy_type: str
    configuration: dict[str, Any]


@dataclass
class TableSettings:
    """The settings of one table that a restore does not carry over (plus what verification checks)."""

    table: str
    billing_mode: str = PROVISIONED
    read_capacity: int = 0
    write_capacity: int = 0
    indexes: dict[str, dict[str, int]] = field(default_factory=dict)  # GSI name -> {"read": n, "write": n}
    pitr: bool = False
    pitr_recovery_days: int | None = None  # None: the API did not say (older endpoints)
    ttl_attribute: str | None = None  # None: TTL disabled
    stream_view_type: str | None = None  # None: stream disabled
    deletion_protection: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    scalable_targets: list[ScalableTarget] = field(default_factory=list)
    scaling_policies: list[ScalingPolicy] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["version"] = FORMAT_VERSION
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableSettings:
        if not isinstance(data, dict):
            raise SettingsError(f"table settings must be a mapping, got {type(data).__name__}")
        values = dict(data)
        version = values.pop("version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise SettingsError(f"table settings format {version!r} is not supported (this collection reads {FORMAT_VERSION})")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown or "table" not in values:
            raise SettingsError(f"table settings: unknown keys {unknown} or no 'table' key")
        values["scalable_targets"] = [ScalableTarget(**item) for item in values.get("scalable_targets", [])]
        values["scaling_policies"] = [ScalingPolicy(**item) for item in values.get("scaling_policies", [])]
        return cls(**values)


# --- capture -------------------------------------------------------------------------------------
def resource_id(table: str, index: str | None = None) -> str:
    """Application Auto Scaling's id of a table or of one of its global secondary indexes."""
    return f"table/{table}" if index is None else f"table/{table}/index/{index}"


def _index_of(resource: str, table: str) -> str | None:
    marker = f"{resource_id(table)}/index/"
    return resource[len(marker):] if resource.startswith(marker) else None


def billing_mode_of(description: dict[str, Any]) -> str:
    """The billing mode; tables created PROVISIONED and never switched have no BillingModeSummary."""
    mode = (description.get("BillingModeSummary") or {}).get("BillingMode")
    if mode:
        return str(mode)
    read = (description.get("ProvisionedThroughput") or {}).get("ReadCapacityUnits", 0)
    return PROVISIONED if read else ON_DEMAND


def _throughput(capacity: dict[str, int]) -> dict[str, int]:
    return {"ReadCapacityUnits": capacity["read"], "WriteCapacityUnits": capacity["write"]}


def _capacity(throughput: dict[str, Any] | None) -> dict[str, int]:
    throughput = throughput or {}
    return {"read": int(throughput.get("ReadCapacityUnits", 0)), "write": int(throughput.get("WriteCapacityUnits", 0))}


def _sort_key(entry: ScalableTarget | ScalingPolicy) -> tuple[str, str, str]:
    return (entry.index or "", entry.dimension, getattr(entry, "name", ""))


def _capture_autoscaling(autoscaling: Any, table: str, indexes: list[str], call: Call) -> tuple[list[ScalableTarget], list[ScalingPolicy]]:
    ids = [resource_id(table)] + [resource_id(table, name) for name in indexes]
    targets: list[ScalableTarget] = []
    for batch in chunks(ids, _TARGETS_PER_CALL):
        for page in pages(call, autoscaling.describe_scalable_targets, "NextToken", "NextToken", ServiceNamespace=SERVICE_NAMESPACE, ResourceIds=batch):
            for item in page.get("ScalableTargets", []):
                targets.append(ScalableTarget(
                    index=_index_of(item["ResourceId"], table), dimension=item["ScalableDimension"],
                    min_capacity=int(item["MinCapacity"]), max_capacity=int(item["MaxCapacity"]),
                ))
    policies: list[ScalingPolicy] = []
    # A policy needs a target, so only resources with targets can have policies: one call per such resource.
    for rid in sorted({resource_id(table, target.index) for target in targets}):
        for page in pages(call, autoscaling.describe_scaling_policies, "NextToken", "NextToken", ServiceNamespace=SERVICE_NAMESPACE, ResourceId=rid):
            # Exact match on purpose: moto 5.2 filters ResourceId as a substring, so asking for an
            # index's policies also returns the table's (AWS matches exactly; the check costs nothing).
            for item in (entry for entry in page.get("ScalingPolicies", []) if entry["ResourceId"] == rid):
                policies.append(ScalingPolicy(
                    index=_index_of(item["ResourceId"], table), dimension=item["ScalableDimension"], name=item["PolicyName"],
                    policy_type=item["PolicyType"], configuration={key: item[key] for key in _POLICY_CONFIG_KEYS if key in item},
                ))
    return sorted(targets, key=_sort_key), sorted(policies, key=_sort_key)


def capture(dynamodb: Any, autoscaling: Any, table: str, call: Call = direct) -> TableSettings:
    """Read every setting of ``table`` that a restore loses (and what verification compares)."""
    description = call(dynamodb.describe_table, TableName=table)["Table"]
    table_capacity = _capacity(description.get("ProvisionedThroughput"))
    indexes = {gsi["IndexName"]: _capacity(gsi.get("ProvisionedThroughput")) for gsi in description.get("GlobalSecondaryIndexes", [])}
    backups = call(dynamodb.describe_continuous_backups, TableName=table)["ContinuousBackupsDescription"]
    pitr = backups.get("PointInTimeRecoveryDescription") or {}
    ttl = call(dynamodb.describe_time_to_live, TableName=table).get("TimeToLiveDescription") or {}
    stream = description.get("StreamSpecification") or {}
    tags: dict[str, str] = {}
    for page in pages(call, dynamodb.list_tags_of_resource, "NextToken", "NextToken", ResourceArn=description["TableArn"]):
        # aws:* tags belong to AWS (e.g. CloudFormation's) and cannot be set by anyone else.
        tags.update({tag["Key"]: tag["Value"] for tag in page.get("Tags", []) if not tag["Key"].startswith("aws:")})
    targets, policies = _capture_autoscaling(autoscaling, table, sorted(indexes), call)
    days = pitr.get("RecoveryPeriodInDays")
    return TableSettings(
        table=table,
        billing_mode=billing_mode_of(description),
        read_capacity=table_capacity["read"],
        write_capacity=table_capacity["write"],
        indexes=indexes,
        pitr=pitr.get("PointInTimeRecoveryStatus") == "ENABLED",
        pitr_recovery_days=int(days) if days is not None else None,
        # ENABLING counts as on and DISABLING as off: that is where the table is going.
        ttl_attribute=ttl.get("AttributeName") if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") else None,
        stream_view_type=stream.get("StreamViewType") if stream.get("StreamEnabled") else None,
        deletion_protection=bool(description.get("DeletionProtectionEnabled", False)),
        tags=tags,
        scalable_targets=targets,
        scaling_policies=policies,
    )


def restore_overrides(settings: TableSettings) -> dict[str, Any]:
    """Keyword arguments for RestoreTableToPointInTime / RestoreTableFromBackup that keep the billing mode.

    Restores normally keep it, but passing it costs nothing and removes one ``UpdateTable`` if not.
    """
    if settings.billing_mode == ON_DEMAND:
        return {"BillingModeOverride": ON_DEMAND}
    return {
        "BillingModeOverride": PROVISIONED,
        "ProvisionedThroughputOverride": {"ReadCapacityUnits": settings.read_capacity, "WriteCapacityUnits": settings.write_capacity},
    }


# --- compare -------------------------------------------------------------------------------------
def _renamed(name: str, old_table: str, new_table: str) -> str:
    """ScalarDB names policies and indexes after the table; follow a table rename in those names."""
    return name.replace(old_table, new_table) if old_table != new_table else name


def index_names(expected: TableSettings, target_table: str, target_indexes: list[str] | dict[str, Any]) -> dict[str, str]:
    """Map each expected index to the target's index: same name, or the name with the table renamed.

    Raises ``SettingsError`` naming every expected index the target does not have.
    """
    mapping: dict[str, str] = {}
    missing: list[str] = []
    for name in expected.indexes:
        renamed = _renamed(name, expected.table, target_table)
        if name in target_indexes:
            mapping[name] = name
        elif renamed in target_indexes:
            mapping[name] = renamed
        else:
            missing.append(name)
    if missing:
        raise SettingsError(f"table {target_table} lacks the global secondary indexes {', '.join(sorted(missing))} that {expected.table} has")
    return mapping


def _subset(expected: Any, actual: Any) -> bool:
    """``expected`` is contained in ``actual`` (AWS may add defaulted fields to a policy configuration)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return all(key in actual and _subset(value, actual[key]) for key, value in expected.items())
    return bool(expected == actual)


def _target_key(entry: ScalableTarget | ScalingPolicy, index_map: dict[str, str]) -> tuple[str | None, str]:
    return (index_map.get(entry.index, entry.index) if entry.index else None, entry.dimension)


def diff(expected: TableSettings, actual: TableSettings) -> list[str]:
    """Human-readable differences that matter (empty when ``actual`` has what ``expected`` asks for)."""
    try:
        index_map = index_names(expected, actual.table, actual.indexes)
    except SettingsError as exc:
        return [str(exc)]
    found: list[str] = []

    def check(what: str, want: Any, have: Any) -> None:
        if want != have:
            found.append(f"{what}: expected {want!r}, found {have!r}")

    check("billing mode", expected.billing_mode, actual.billing_mode)
    check("point-in-time recovery", expected.pitr, actual.pitr)
    if expected.pitr and None not in (expected.pitr_recovery_days, actual.pitr_recovery_days):
        check("point-in-time recovery period (days)", expected.pitr_recovery_days, actual.pitr_recovery_days)
    check("TTL attribute", expected.ttl_attribute, actual.ttl_attribute)
    check("stream view type", expected.stream_view_type, actual.stream_view_type)
    check("deletion protection", expected.deletion_protection, actual.deletion_protection)
    for key, value in sorted(expected.tags.items()):
        check(f"tag {key}", value, actual.tags.get(key))
    scaled = {_target_key(target, {}) for target in actual.scalable_targets}
    if expected.billing_mode == PROVISIONED == actual.billing_mode:
        capacities = [
            (None, {"read": expected.read_capacity, "write": expected.write_capacity}, {"read": actual.read_capacity, "write": actual.write_capacity}),
        ]
        capacities += [(index_map[name], want, actual.indexes.get(index_map[name], {})) for name, want in sorted(expected.indexes.items())]
        for index, want, have in capacities:
            for unit in ("read", "write"):
                dimension = f"dynamodb:{'index' if index else 'table'}:{unit.capitalize()}CapacityUnits"
                if (index, dimension) not in scaled:  # auto scaling moves managed capacity by itself
                    check(f"{unit} capacity of {index or 'the table'}", want[unit], have.get(unit))
    have_targets = {_target_key(target, {}): target for target in actual.scalable_targets}
    for target in expected.scalable_targets:
        key = _target_key(target, index_map)
        got = have_targets.get(key)
        check(
            f"auto scaling {key[1]} of {key[0] or 'the table'} (min, max)",
            (target.min_capacity, target.max_capacity), (got.min_capacity, got.max_capacity) if got else None,
        )
    have_policies = {(*_target_key(policy, {}), policy.name): policy for policy in actual.scaling_policies}
    for policy in expected.scaling_policies:
        key = (*_target_key(policy, index_map), _renamed(policy.name, expected.table, actual.table))
        got = have_policies.get(key)
        if got is None:
            found.append(f"scaling policy {key[2]} ({key[1]} of {key[0] or 'the table'}): missing")
        elif got.policy_type != policy.policy_type or not _subset(policy.configuration, got.configuration):
            found.append(f"scaling policy {key[2]}: expected {policy.policy_type} {policy.configuration!r}, found {got.policy_type} {got.configuration!r}")
    return found


# --- apply ---------------------------------------------------------------------------------------
class _Applier:  # pylint: disable=too-few-public-methods  # one apply() run: shared clients, waits and change log
    def __init__(self, dynamodb: Any, autoscaling: Any, table: str, call: Call, poller: Poller) -> None:
        self.dynamodb, self.autoscaling, self.table, self.call, self.poller = dynamodb, autoscaling, table, call, poller
        self.changes: list[str] = []

    def update_table(self, change: str, **kwargs: Any) -> None:
        """One UpdateTable, only once the previous change has settled.

        Not retried on ResourceInUseException: after waiting for ACTIVE that error is a real refusal
        (e.g. a stream that cannot be enabled), and retrying it would only hide it until the deadline.
        """
        self.poller.wait_active(self.dynamodb, self.table, self.call)
        self.call(self.dynamodb.update_table, TableName=self.table, **kwargs)
        self.changes.append(change)

    def run(self, want: TableSettings) -> list[str]:
        description = self.poller.wait_active(self.dynamodb, self.table, self.call)
        have = capture(self.dynamodb, self.autoscaling, self.table, self.call)
        index_map = index_names(want, self.table, have.indexes)
        self._table_updates(want, have, index_map)
        self._pitr(want, have)
        self._ttl(want, have)
        self._tags(want, have, description["TableArn"])
        self._autoscaling(want, have, index_map)
        return self.changes

    def _table_updates(self, want: TableSettings, have: TableSettings, index_map: dict[str, str]) -> None:
        if want.billing_mode != have.billing_mode:
            if want.billing_mode == PROVISIONED:
                extra: dict[str, Any] = {}
                if want.indexes:  # switching to PROVISIONED needs every index's capacity in the same call
                    extra["GlobalSecondaryIndexUpdates"] = [
                        {"Update": {"IndexName": index_map[name], "ProvisionedThroughput": _throughput(cap)}} for name, cap in sorted(want.indexes.items())
                    ]
                self.update_table(
                    f"billing mode {PROVISIONED} ({want.read_capacity}/{want.write_capacity})",
                    BillingMode=PROVISIONED,
                    ProvisionedThroughput=_throughput({"read": want.read_capacity, "write": want.write_capacity}),
                    **extra,
                )
            else:
                self.update_table(f"billing mode {ON_DEMAND}", BillingMode=ON_DEMAND)
        if want.stream_view_type != have.stream_view_type:
            if have.stream_view_type:  # a stream's view type cannot change in place: disable first
                self.update_table("stream disabled", StreamSpecification={"StreamEnabled": False})
            if want.stream_view_type:
                self.update_table(
                    f"stream {want.stream_view_type}", StreamSpecification={"StreamEnabled": True, "StreamViewType": want.stream_view_type},
                )
        if want.deletion_protection != have.deletion_protection:
            self.update_table(f"deletion protection {'on' if want.deletion_protection else 'off'}", DeletionProtectionEnabled=want.deletion_protection)

    def _pitr(self, want: TableSettings, have: TableSettings) -> None:
        days_differ = want.pitr and want.pitr_recovery_days is not None and want.pitr_recovery_days != have.pitr_recovery_days
        if want.pitr == have.pitr and not days_differ:
            return
        spec: dict[str, Any] = {"PointInTimeRecoveryEnabled": want.pitr}
        if want.pitr and want.pitr_recovery_days is not None:
            spec["RecoveryPeriodInDays"] = want.pitr_recovery_days
        self.poller.retry_while(
            _PITR_BUSY, self.dynamodb.update_continuous_backups, call=self.call, TableName=self.table, PointInTimeRecoverySpecification=spec,
        )
        days = f" ({want.pitr_recovery_days} days)" if want.pitr and want.pitr_recovery_days is not None else ""
        self.changes.append(f"point-in-time recovery {'on' if want.pitr else 'off'}{days}")

    def _ttl(self, want: TableSettings, have: TableSettings) -> None:
        if want.ttl_attribute == have.ttl_attribute:
            return
        try:
            if have.ttl_attribute:  # TTL's attribute cannot change in place: disable first
                self.call(self.dynamodb.update_time_to_live, TableName=self.table,
                          TimeToLiveSpecification={"Enabled": False, "AttributeName": have.ttl_attribute})
                self.changes.append(f"TTL off (was {have.ttl_attribute})")
            if want.ttl_attribute:
                self.call(self.dynamodb.update_time_to_live, TableName=self.table,
                          TimeToLiveSpecification={"Enabled": True, "AttributeName": want.ttl_attribute})
                self.changes.append(f"TTL on {want.ttl_attribute}")
        except Exception as exc:  # pylint: disable=broad-exception-caught  # re-raised with the table and the fix
            if error_code(exc) != "ValidationException":
                raise
            raise SettingsError(f"table {self.table}: TTL could not be set to {want.ttl_attribute!r} ({exc}); "
                                "AWS allows one TTL change per table per hour: re-run later") from exc

    def _tags(self, want: TableSettings, have: TableSettings, arn: str) -> None:
        todo = [{"Key": key, "Value": value} for key, value in sorted(want.tags.items()) if have.tags.get(key) != value]
        for batch in chunks(todo, _TAGS_PER_CALL):
            self.call(self.dynamodb.tag_resource, ResourceArn=arn, Tags=batch)
        if todo:
            self.changes.append(f"tags {', '.join(tag['Key'] for tag in todo)}")

    def _autoscaling(self, want: TableSettings, have: TableSettings, index_map: dict[str, str]) -> None:
        have_targets = {_target_key(target, {}): target for target in have.scalable_targets}
        for target in want.scalable_targets:
            index, dimension = _target_key(target, index_map)
            got = have_targets.get((index, dimension))
            if got and (got.min_capacity, got.max_capacity) == (target.min_capacity, target.max_capacity):
                continue
            rid = resource_id(self.table, index)
            self.call(self.autoscaling.register_scalable_target, ServiceNamespace=SERVICE_NAMESPACE, ResourceId=rid,
                      ScalableDimension=dimension, MinCapacity=target.min_capacity, MaxCapacity=target.max_capacity)
            self.changes.append(f"auto scaling target {rid} {dimension} {target.min_capacity}-{target.max_capacity}")
        have_policies = {(*_target_key(policy, {}), policy.name): policy for policy in have.scaling_policies}
        for policy in want.scaling_policies:
            index, dimension = _target_key(policy, index_map)
            name = _renamed(policy.name, want.table, self.table)
            got = have_policies.get((index, dimension, name))
            if got and got.policy_type == policy.policy_type and _subset(policy.configuration, got.configuration):
                continue
            rid = resource_id(self.table, index)
            self.call(self.autoscaling.put_scaling_policy, PolicyName=name, ServiceNamespace=SERVICE_NAMESPACE, ResourceId=rid,
                      ScalableDimension=dimension, PolicyType=policy.policy_type, **policy.configuration)
            self.changes.append(f"scaling policy {name}")


def apply(dynamodb: Any, autoscaling: Any, table: str, settings: TableSettings, call: Call = direct, poller: Poller | None = None) -> list[str]:
    """Give ``table`` the captured ``settings``; return what was changed (empty when nothing was needed).

    ``table`` may differ from ``settings.table`` (a restore under a new name or prefix): index and
    policy names that contain the source table's name are then looked up with the new name.
    """
    return _Applier(dynamodb, autoscaling, table, call, poller or Poller()).run(settings)
