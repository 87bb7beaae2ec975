"""Azure Database for MySQL / PostgreSQL flexible servers."""
from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .timeutil import format_time

if TYPE_CHECKING:
    from .lro import Operation


@dataclass(frozen=True)
class Engine:
    provider: str  # short name used by the admin routes and failure rules
    namespace: str
    time_field: str  # where a point-in-time restore names its time
    default_version: str
    default_sku: tuple[str, str]


ENGINES = {
    "mysql": Engine("mysql", "Microsoft.DBforMySQL", "restorePointInTime", "8.0.21", ("Standard_D2ds_v4", "GeneralPurpose")),
    "postgresql": Engine(
        "postgresql", "Microsoft.DBforPostgreSQL", "pointInTimeUTC", "16", ("Standard_D2ds_v5", "GeneralPurpose")
    ),
}


def engine_for_namespace(namespace: str) -> Engine:
    for engine in ENGINES.values():
        if engine.namespace.lower() == namespace.lower():
            return engine
    raise KeyError(namespace)


@dataclass
class FlexibleServer:  # pylint: disable=too-many-instance-attributes
    engine: Engine
    subscription_id: str
    resource_group: str
    name: str
    location: str
    creation_time: dt.datetime
    earliest_restore_date: dt.datetime
    version: str
    sku: dict[str, Any]
    administrator_login: str = "scalar"
    storage_gb: int = 32
    backup_retention_days: int = 7
    tags: dict[str, str] = field(default_factory=dict)
    state: str = "Ready"
    create_mode: str | None = None
    source_server_resource_id: str | None = None
    restore_point_in_time: dt.datetime | None = None
    pending_op: Operation | None = None

    @property
    def resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/{self.engine.namespace}/flexibleServers/{self.name}"
        )

    def render(self, fqdn_template: str) -> dict[str, Any]:
        properties: dict[str, Any] = {
            "administratorLogin": self.administrator_login,
            "version": self.version,
            "state": self.state,
            "fullyQualifiedDomainName": fqdn_template.format(name=self.name),
            "storage": {"storageSizeGB": self.storage_gb, "autoGrow": "Disabled"},
            "backup": {
                "backupRetentionDays": self.backup_retention_days,
                "geoRedundantBackup": "Disabled",
                "earliestRestoreDate": format_time(self.earliest_restore_date),
            },
            "highAvailability": {"mode": "Disabled", "state": "NotEnabled"},
            "network": {"publicNetworkAccess": "Enabled"},
            "availabilityZone": "1",
            "replicationRole": "None",
        }
        if self.create_mode:
            properties["createMode"] = self.create_mode
        if self.source_server_resource_id:
            properties["sourceServerResourceId"] = self.source_server_resource_id
        if self.restore_point_in_time is not None:
            properties[self.engine.time_field] = format_time(self.restore_point_in_time)
        return {
            "id": self.resource_id,
            "name": self.name,
            "type": f"{self.engine.namespace}/flexibleServers",
            "location": self.location,
            "tags": dict(self.tags),
            "sku": copy.deepcopy(self.sku),
            "systemData": {"createdAt": format_time(self.creation_time)},
            "properties": properties,
        }
