# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The settings of an RDS instance / Aurora cluster that a point-in-time restore does NOT carry over.

AWS gives a restored instance the default security group, subnet group, parameter and option
groups, single-AZ, no tags, no deletion protection, no IAM authentication, no enhanced monitoring
and no Performance Insights unless the request says otherwise; a restored Aurora cluster gets the
defaults too and has no instances at all.  A database restored like that is not where the
application can reach it, or not configured like the one it replaces.

So the source's settings are read into a flat dict keyed by the AWS API's request parameter names
(``settings_of_*``), passed to the restore call where the call accepts them (``restore_kwargs``),
and whatever the restored resource still lacks afterwards (``diff``) is applied with
ModifyDBInstance / ModifyDBCluster (``modify_kwargs``) and AddTagsToResource.  Comparing the
target's own settings with the source's on every run is what makes a re-run finish a restore
that crashed between the restore call and the modification.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.rds_naming import OUR_TAG_PREFIX, tag_dict

# Settings a restore request accepts directly; the rest needs a Modify call once the target is available.
INSTANCE_RESTORE_PARAMS = frozenset({
    "DBSubnetGroupName", "VpcSecurityGroupIds", "DBParameterGroupName", "OptionGroupName", "DBInstanceClass",
    "StorageType", "Iops", "StorageThroughput", "MultiAZ", "Port", "PubliclyAccessible", "AutoMinorVersionUpgrade",
    "CopyTagsToSnapshot", "DeletionProtection", "BackupRetentionPeriod", "MaxAllocatedStorage",
    "CACertificateIdentifier", "EnableIAMDatabaseAuthentication", "EnableCloudwatchLogsExports", "Tags",
})
CLUSTER_RESTORE_PARAMS = frozenset({
    "DBSubnetGroupName", "VpcSecurityGroupIds", "DBClusterParameterGroupName", "Port", "DeletionProtection",
    "CopyTagsToSnapshot", "BackupRetentionPeriod", "EnableIAMDatabaseAuthentication", "EnableCloudwatchLogsExports",
    "ServerlessV2ScalingConfiguration", "BacktrackWindow", "Tags",
})
# Settings that cannot be changed after the fact: a difference is reported, never "fixed".
INSTANCE_FIXED = frozenset({"DBSubnetGroupName"})  # changing it moves the instance to another VPC: only at restore
CLUSTER_FIXED = frozenset({"DBSubnetGroupName"})
_RENAMED_FOR_MODIFY = {"Port": "DBPortNumber"}  # ModifyDBInstance only; ModifyDBCluster takes Port
_GROUPS = ("DBParameterGroupName", "OptionGroupName", "DBClusterParameterGroupName")


def _first(items: Any, key: str) -> Any:
    return items[0].get(key) if isinstance(items, list) and items and isinstance(items[0], dict) else None


def user_tags(tags: Any) -> dict[str, str]:
    """The resource's tags (RDS's TagList) without AWS's own (aws:*) and ours (scalarops-pitr:*)."""
    return {key: value for key, value in tag_dict(tags).items()
            if not key.startswith("aws:") and not key.startswith(OUR_TAG_PREFIX)}


def _clean(settings: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in settings.items() if value is not None}


def _gp3_baseline_only(description: dict[str, Any]) -> bool:
    """True for a gp3 volume below the size from which AWS lets IOPS and throughput be chosen.

    Such a volume reports its baseline (3000 IOPS, 125 MiB/s) but a request naming either value is
    refused ("You can't specify IOPS or storage throughput for engine ... and a storage size less
    than 400"), and a gp3 volume of that size gets the baseline anyway.
    """
    if str(description.get("StorageType") or "") != "gp3":
        return False
    engine = str(description.get("Engine") or "")
    if engine.startswith("sqlserver"):
        return False  # SQL Server lets IOPS be chosen at every size
    threshold = 200 if engine.startswith(("oracle", "db2")) else 400
    return int(description.get("AllocatedStorage") or 0) < threshold


def _monitoring(description: dict[str, Any]) -> dict[str, Any]:
    """Enhanced monitoring and Performance Insights of an instance: what no restore call can carry."""
    monitoring = description.get("MonitoringInterval") or 0
    insights = bool(description.get("PerformanceInsightsEnabled"))
    return {
        "MonitoringInterval": monitoring,
        "MonitoringRoleArn": description.get("MonitoringRoleArn") if monitoring else None,
        "EnablePerformanceInsights": insights,
        "PerformanceInsightsRetentionPeriod": description.get("PerformanceInsightsRetentionPeriod") if insights else None,
        "PerformanceInsightsKMSKeyId": description.get("PerformanceInsightsKMSKeyId") if insights else None,
    }


def settings_of_instance(description: dict[str, Any]) -> dict[str, Any]:
    """What a restored copy of this DB instance must have, as request parameters (absent ones omitted)."""
    endpoint = description.get("Endpoint") or {}
    baseline = _gp3_baseline_only(description)
    return _clean({
        "DBSubnetGroupName": (description.get("DBSubnetGroup") or {}).get("DBSubnetGroupName"),
        "VpcSecurityGroupIds": sorted(group["VpcSecurityGroupId"] for group in description.get("VpcSecurityGroups") or []
                                      if group.get("VpcSecurityGroupId")),
        "DBParameterGroupName": _first(description.get("DBParameterGroups"), "DBParameterGroupName"),
        "OptionGroupName": _first(description.get("OptionGroupMemberships"), "OptionGroupName"),
        "DBInstanceClass": description.get("DBInstanceClass"),
        "StorageType": description.get("StorageType"),
        "Iops": None if baseline else description.get("Iops"),
        "StorageThroughput": None if baseline else description.get("StorageThroughput") or None,
        "MultiAZ": bool(description.get("MultiAZ")),
        "Port": endpoint.get("Port") or description.get("DbInstancePort") or None,
        "PubliclyAccessible": description.get("PubliclyAccessible"),
        "AutoMinorVersionUpgrade": description.get("AutoMinorVersionUpgrade"),
        "CopyTagsToSnapshot": bool(description.get("CopyTagsToSnapshot")),
        "DeletionProtection": bool(description.get("DeletionProtection")),
        "BackupRetentionPeriod": description.get("BackupRetentionPeriod"),
        "MaxAllocatedStorage": description.get("MaxAllocatedStorage"),
        "CACertificateIdentifier": description.get("CACertificateIdentifier"),
        "EnableIAMDatabaseAuthentication": bool(description.get("IAMDatabaseAuthenticationEnabled")),
        "EnableCloudwatchLogsExports": sorted(description.get("EnabledCloudwatchLogsExports") or []),
        **_monitoring(description),
        "Tags": user_tags(description.get("TagList")),
    })


def settings_of_cluster(description: dict[str, Any]) -> dict[str, Any]:
    """What a restored copy of this Aurora cluster must have, as request parameters."""
    scaling = description.get("ServerlessV2ScalingConfiguration") or None
    return _clean({
        "DBSubnetGroupName": description.get("DBSubnetGroup"),
        "VpcSecurityGroupIds": sorted(group["VpcSecurityGroupId"] for group in description.get("VpcSecurityGroups") or []
                                      if group.get("VpcSecurityGroupId")),
        "DBClusterParameterGroupName": description.get("DBClusterParameterGroup"),
        "Port": description.get("Port"),
        "DeletionProtection": bool(description.get("DeletionProtection")),
        "CopyTagsToSnapshot": bool(description.get("CopyTagsToSnapshot")),
        "BackupRetentionPeriod": description.get("BackupRetentionPeriod"),
        "EnableIAMDatabaseAuthentication": bool(description.get("IAMDatabaseAuthenticationEnabled")),
        "EnableCloudwatchLogsExports": sorted(description.get("EnabledCloudwatchLogsExports") or []),
        "ServerlessV2ScalingConfiguration": ({"MinCapacity": scaling.get("MinCapacity"), "MaxCapacity": scaling.get("MaxCapacity")}
                                             if scaling else None),
        "BacktrackWindow": description.get("BacktrackWindow") or None,
        "Tags": user_tags(description.get("TagList")),
    })


def settings_of_member(description: dict[str, Any]) -> dict[str, Any]:
    """What a writer/reader created into the restored cluster copies from its counterpart in the source cluster."""
    return _clean({
        "DBInstanceClass": description.get("DBInstanceClass"),
        "DBParameterGroupName": _first(description.get("DBParameterGroups"), "DBParameterGroupName"),
        "PubliclyAccessible": description.get("PubliclyAccessible"),
        "AutoMinorVersionUpgrade": description.get("AutoMinorVersionUpgrade"),
        "PromotionTier": description.get("PromotionTier"),
        "CACertificateIdentifier": description.get("CACertificateIdentifier"),
        **_monitoring(description),
        "Tags": user_tags(description.get("TagList")),
    })


def _same(key: str, wanted: Any, actual: Any) -> bool:
    if key == "Tags":  # the target may carry more tags (ours): every wanted one must be there with its value
        return all(actual.get(name) == value for name, value in (wanted or {}).items()) if isinstance(actual, dict) else not wanted
    if isinstance(wanted, list) and isinstance(actual, list):
        return sorted(wanted) == sorted(actual)
    return wanted == actual


def diff(wanted: dict[str, Any], actual: dict[str, Any]) -> dict[str, Any]:
    """The settings of ``wanted`` the target (``actual``, same form) does not have yet, with their wanted values."""
    return {key: value for key, value in wanted.items() if not _same(key, value, actual.get(key))}


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def restore_kwargs(wanted: dict[str, Any], accepted: frozenset[str]) -> dict[str, Any]:
    """The part of ``wanted`` the restore call takes, in its request form."""
    kwargs = {key: value for key, value in wanted.items() if key in accepted}
    for key in _GROUPS:
        # AWS gives a restore the engine's default group anyway; naming it would only fail where it is not created yet.
        if str(kwargs.get(key, "")).startswith(("default.", "default:")):
            kwargs.pop(key)
    if "Tags" in kwargs:
        kwargs["Tags"] = tag_list(kwargs["Tags"])
    if not kwargs.get("EnableCloudwatchLogsExports"):
        kwargs.pop("EnableCloudwatchLogsExports", None)
    return kwargs


def modify_kwargs(missing: dict[str, Any], wanted: dict[str, Any], actual: dict[str, Any], fixed: frozenset[str],
                  cluster: bool = False) -> dict[str, Any]:
    """A Modify call's parameters that give the target what ``missing`` says it lacks (tags and fixed settings excluded).

    ``cluster``: for ModifyDBCluster, which names the port ``Port`` where ModifyDBInstance says ``DBPortNumber``.
    """
    renamed = {} if cluster else _RENAMED_FOR_MODIFY
    kwargs: dict[str, Any] = {}
    for key, value in missing.items():
        if key == "Tags" or key in fixed:
            continue
        if key == "EnableCloudwatchLogsExports":
            now = set(actual.get(key) or [])
            kwargs["CloudwatchLogsExportConfiguration"] = {"EnableLogTypes": sorted(set(value) - now),
                                                           "DisableLogTypes": sorted(now - set(value))}
            continue
        kwargs[renamed.get(key, key)] = value
    # AWS wants these together: the role with every non-zero monitoring interval, and Performance
    # Insights' retention and key only with EnablePerformanceInsights in the same call.
    if kwargs.get("MonitoringInterval") or "MonitoringRoleArn" in kwargs:
        kwargs["MonitoringInterval"] = wanted.get("MonitoringInterval", 0)
        if wanted.get("MonitoringRoleArn"):
            kwargs["MonitoringRoleArn"] = wanted["MonitoringRoleArn"]
    if any(key.startswith("PerformanceInsights") or key == "EnablePerformanceInsights" for key in kwargs):
        for key in ("EnablePerformanceInsights", "PerformanceInsightsRetentionPeriod", "PerformanceInsightsKMSKeyId"):
            if key in wanted:
                kwargs[key] = wanted[key]
    return kwargs
