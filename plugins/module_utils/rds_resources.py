# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Reading RDS instances and Aurora clusters: descriptions, tags, restorable windows, endpoints.

Both kinds of resource go through one small ``Kind`` description so the restore code has one
path: "instance" (RDS for PostgreSQL/MySQL/Oracle/SQL Server) and "cluster" (Aurora).  Every
call goes through ``call`` (``aws_client.retrying`` in production) so throttling is retried.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any, Callable

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import error_code
from ansible_collections.scalarops.pitr.plugins.module_utils.rds_naming import tag_dict
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import UTC

Call = Callable[..., Any]

# A source in one of these states can be restored from; others (deleting, failed, stopped,
# storage-full, inaccessible-encryption-credentials, ...) are refused with their status named.
RESTORABLE_STATES = frozenset({"available", "backing-up", "modifying", "storage-optimization", "maintenance",
                               "configuring-enhanced-monitoring", "configuring-log-exports", "upgrading"})


def direct(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


@dataclass(frozen=True)
class Kind:
    """What differs between restoring a DB instance and an Aurora cluster, as data."""

    name: str            # "instance" | "cluster"
    label: str           # for messages: "RDS DB instance" | "Aurora DB cluster"
    id_key: str          # identifier field in descriptions
    arn_key: str
    status_key: str
    not_found: str       # the error code of a describe of a missing identifier
    already_exists: str  # the error code of creating an identifier that is taken


INSTANCE = Kind("instance", "RDS DB instance", "DBInstanceIdentifier", "DBInstanceArn", "DBInstanceStatus",
                "DBInstanceNotFound", "DBInstanceAlreadyExists")
CLUSTER = Kind("cluster", "Aurora DB cluster", "DBClusterIdentifier", "DBClusterArn", "Status",
               "DBClusterNotFoundFault", "DBClusterAlreadyExistsFault")
KINDS = {INSTANCE.name: INSTANCE, CLUSTER.name: CLUSTER}


def describe(rds: Any, kind: Kind, identifier: str, call: Call = direct) -> dict[str, Any] | None:
    """The description of ``identifier`` of ``kind``, or None when it does not exist."""
    try:
        if kind is CLUSTER:
            found = call(rds.describe_db_clusters, DBClusterIdentifier=identifier)["DBClusters"]
        else:
            found = call(rds.describe_db_instances, DBInstanceIdentifier=identifier)["DBInstances"]
    except Exception as exc:  # pylint: disable=broad-exception-caught  # only "not found" is an answer; the rest is raised
        if error_code(exc) == kind.not_found:
            return None
        raise
    return found[0] if found else None


def tags_of(rds: Any, description: dict[str, Any], kind: Kind, call: Call = direct) -> dict[str, str]:
    """The resource's tags: from its description when AWS includes them (it does today), else asked for."""
    if "TagList" in description:
        return tag_dict(description["TagList"])
    return tag_dict(call(rds.list_tags_for_resource, ResourceName=description[kind.arn_key]).get("TagList"))


def status_of(description: dict[str, Any], kind: Kind) -> str:
    return str(description.get(kind.status_key) or "unknown")


def aware(value: Any) -> _dt.datetime | None:
    """botocore's timestamps are aware already; moto's may not be - read those as UTC."""
    if not isinstance(value, _dt.datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def restorable_window(rds: Any, description: dict[str, Any], kind: Kind, now: _dt.datetime,
                      call: Call = direct) -> tuple[_dt.datetime | None, _dt.datetime | None]:
    """(earliest, latest) restorable time of the source.

    Aurora reports both on the cluster.  An instance reports only LatestRestorableTime; the
    earliest comes from its automated backups' RestoreWindow, else it is the later of its
    creation and now minus the retention period.
    """
    latest = aware(description.get("LatestRestorableTime"))
    if kind is CLUSTER:
        return aware(description.get("EarliestRestorableTime")), latest
    earliest = None
    resource_id = description.get("DbiResourceId")
    identifier = str(description.get(INSTANCE.id_key) or "").lower()
    try:
        backups = call(rds.describe_db_instance_automated_backups,
                       DbiResourceId=resource_id)["DBInstanceAutomatedBackups"] if resource_id else []
    except Exception:  # pylint: disable=broad-exception-caught  # a refinement only (permission, API): computed below without it
        backups = []
    for backup in backups:
        # Only this instance's own backups: an answer that also holds others' (the filter ignored, or moto,
        # which gives every instance the same DbiResourceId and leaves it out of the backups) says nothing
        # about this one.  Of several own windows the earliest start counts.
        if (backup.get("DbiResourceId", resource_id) != resource_id
                or str(backup.get(INSTANCE.id_key) or identifier).lower() != identifier):
            continue
        moment = aware((backup.get("RestoreWindow") or {}).get("EarliestTime"))
        if moment is not None and (earliest is None or moment < earliest):
            earliest = moment
    if earliest is None:
        retention = int(description.get("BackupRetentionPeriod") or 0)
        created = aware(description.get("InstanceCreateTime"))
        candidates = [moment for moment in (created, now - _dt.timedelta(days=retention)) if moment is not None]
        earliest = max(candidates) if candidates else None
    return earliest, latest


def instance_endpoint(description: dict[str, Any]) -> tuple[str | None, int | None]:
    endpoint = description.get("Endpoint") or {}
    return endpoint.get("Address"), endpoint.get("Port") or description.get("DbInstancePort")


def source_hosts(rds: Any, description: dict[str, Any], kind: Kind, call: Call = direct) -> list[str]:
    """Every host name under which the applications may reach the source today."""
    if kind is INSTANCE:
        host = instance_endpoint(description)[0]
        return [host] if host else []
    hosts = [description.get("Endpoint"), description.get("ReaderEndpoint")]
    hosts.extend(description.get("CustomEndpoints") or [])
    for member in description.get("DBClusterMembers") or []:
        found = describe(rds, INSTANCE, member["DBInstanceIdentifier"], call)
        if found:
            hosts.append(instance_endpoint(found)[0])
    return sorted({host for host in hosts if host})


def cluster_members(rds: Any, description: dict[str, Any], call: Call = direct) -> list[dict[str, Any]]:
    """The cluster's instances (writer first), described; members that vanished meanwhile are left out."""
    members = sorted(description.get("DBClusterMembers") or [], key=lambda member: not member.get("IsClusterWriter"))
    found = (describe(rds, INSTANCE, member["DBInstanceIdentifier"], call) for member in members)
    return [instance for instance in found if instance]
