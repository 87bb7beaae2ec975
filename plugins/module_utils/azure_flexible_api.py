# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Azure Database for MySQL / PostgreSQL flexible servers through either SDK family, as plain ARM JSON.

Four clients can do the job and their models differ: azure-mgmt-rdbms's ``mysql_flexibleservers``
and ``postgresql_flexibleservers`` (msrest models, API 2021), azure-mgmt-mysqlflexibleservers
(msrest models, final state via Location) and azure-mgmt-postgresqlflexibleservers 3.x (TypeSpec
models whose properties sit under ``properties``; ``begin_create_or_update`` instead of
``begin_create``; ``ServerForPatch`` instead of ``ServerForUpdate``).  :class:`FlexibleApi` hides
that: servers go in and come out as ARM's REST JSON (``{"id", "name", "location", "tags", "sku",
"properties": {"state", "fullyQualifiedDomainName", "backup": {...}, ...}}``), which is what the
documentation of the REST API describes and the same for every family.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.azure_client import (
    AzureConnection,
    AzureCoreError,
    AzureError,
    azure_error_code,
    is_not_found,
)

_MISSING_PARENT_CODES = frozenset({"ResourceGroupNotFound", "SubscriptionNotFound", "InvalidSubscriptionId"})


@dataclass(frozen=True)
class Engine:
    """What differs between the two flexible-server services."""

    name: str          # the module's engine option
    namespace: str     # the ARM resource provider
    label: str         # how messages and the endpoint switch name a server of this engine
    port: int          # the server's port (Azure does not let it change)
    time_field: str    # the restore time's property in a PointInTimeRestore create
    dns_zone_key: str  # the network property naming the private DNS zone

    def resource_id(self, subscription_id: str, resource_group: str, name: str) -> str:
        return f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/{self.namespace}/flexibleServers/{name}"


MYSQL = Engine("mysql", "Microsoft.DBforMySQL", "Azure Database for MySQL flexible server", 3306, "restorePointInTime",
               "privateDnsZoneResourceId")
POSTGRESQL = Engine("postgresql", "Microsoft.DBforPostgreSQL", "Azure Database for PostgreSQL flexible server", 5432, "pointInTimeUTC",
                    "privateDnsZoneArmResourceId")
ENGINES = {MYSQL.name: MYSQL, POSTGRESQL.name: POSTGRESQL}


def other_engine(engine: Engine) -> Engine:
    return POSTGRESQL if engine is MYSQL else MYSQL


def to_rest(model: Any) -> dict[str, Any]:
    """An SDK model (msrest or TypeSpec) as ARM's REST JSON; enums become their string values."""
    if model is None:
        return {}
    if isinstance(model, dict):
        return model
    if hasattr(model, "_attribute_map") and hasattr(model, "serialize"):
        return model.serialize(keep_readonly=True)  # msrest: REST keys, flattened properties nested again
    if hasattr(model, "as_dict"):
        return model.as_dict()  # TypeSpec models are REST-keyed mappings already
    raise AzureError(f"unexpected SDK result {type(model).__name__}", "UnexpectedResult")


def _model(models: Any, names: tuple[str, ...], body: dict[str, Any]) -> Any:
    """``body`` (REST JSON) as the first model class of ``names`` that ``models`` has."""
    for name in names:
        cls = getattr(models, name, None)
        if cls is None:
            continue
        if hasattr(cls, "_attribute_map") and hasattr(cls, "from_dict"):
            return cls.from_dict(body)  # msrest reads REST keys (and "properties.x" flattening) from a dict
        return cls(body)  # TypeSpec models take the raw JSON mapping
    raise AzureError(f"the SDK has none of the models {', '.join(names)}", "UnexpectedSdk")


def server_state(server: dict[str, Any] | None) -> str | None:
    """The server's ``properties.state`` (Ready, Provisioning, Updating, Stopped, Dropping...)."""
    if not server:
        return None
    state = (server.get("properties") or {}).get("state")
    return str(state) if state is not None else None


def server_fqdn(server: dict[str, Any] | None) -> str | None:
    return ((server or {}).get("properties") or {}).get("fullyQualifiedDomainName") or None


def server_port(server: dict[str, Any] | None, engine: Engine) -> int:
    """The port the server listens on: MySQL's newer API reports ``databasePort``; otherwise the engine's fixed port."""
    port = ((server or {}).get("properties") or {}).get("databasePort")
    return int(port) if port else engine.port


class FlexibleApi:
    """The servers of one engine in one resource group, through the family ``connection`` chose."""

    def __init__(self, connection: AzureConnection, engine: Engine, resource_group: str | None = None) -> None:
        self.connection = connection
        self.engine = engine
        self.client = connection.flexible(engine.name)
        self.family = connection.flexible_families[engine.name]
        self.resource_group = resource_group or connection.resource_group
        self.models = importlib.import_module(type(self.client).__module__.rsplit(".", 1)[0] + ".models")

    @property
    def subscription_id(self) -> str:
        return self.connection.subscription_id

    def server_id(self, name: str) -> str:
        return self.engine.resource_id(self.subscription_id, self.resource_group, name)

    # --- reads --------------------------------------------------------------------------------------------------
    def get(self, name: str) -> dict[str, Any] | None:
        """The server as REST JSON, or None when there is none of that name (of this engine, in this resource group)."""
        try:
            return to_rest(self.client.servers.get(self.resource_group, name))
        except AzureCoreError as exc:
            # A missing resource group or subscription is a 404 too, but not "no such server": let it say so.
            if is_not_found(exc) and azure_error_code(exc) not in _MISSING_PARENT_CODES:
                return None
            raise

    def list(self) -> list[dict[str, Any]]:
        """Every server of this engine in the resource group."""
        return [to_rest(server) for server in self.client.servers.list_by_resource_group(self.resource_group)]

    # --- long-running operations ------------------------------------------------------------------------------
    def begin_create(self, name: str, body: dict[str, Any], polling: bool = True) -> Any:
        """Start the PUT of ``body`` (REST JSON); the SDK's LROPoller (a no-op poller when ``polling`` is False)."""
        parameters = _model(self.models, ("Server",), body)
        servers = self.client.servers
        # azure-mgmt-postgresqlflexibleservers 3.x renamed begin_create to begin_create_or_update.
        start = getattr(servers, "begin_create", None) or servers.begin_create_or_update
        return start(self.resource_group, name, parameters, polling=polling)

    def begin_update(self, name: str, patch: dict[str, Any], polling: bool = True) -> Any:
        """Start the PATCH of ``patch`` (REST JSON: tags, sku, properties.storage/backup/highAvailability)."""
        parameters = _model(self.models, ("ServerForUpdate", "ServerForPatch"), patch)
        return self.client.servers.begin_update(self.resource_group, name, parameters, polling=polling)
