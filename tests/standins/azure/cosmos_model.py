"""Cosmos DB accounts, their SQL databases/containers, and restorable (continuous backup) accounts."""
from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import bad_request
from .timeutil import format_time, parse_time

if TYPE_CHECKING:
    from .lro import Operation

NAMESPACE = "Microsoft.DocumentDB"
ACCOUNT_TYPE = f"{NAMESPACE}/databaseAccounts"
CONSISTENCY_LEVELS = ("Eventual", "Session", "BoundedStaleness", "Strong", "ConsistentPrefix")


def normalize_location(location: str) -> str:
    """ARM's short form of a region: ``West US`` -> ``westus``."""
    return location.replace(" ", "").lower()


def _rid() -> str:
    return base64.b64encode(uuid.uuid4().bytes[:6]).decode()


@dataclass
class Container:
    name: str
    created: dt.datetime
    partition_key_paths: list[str]
    stored_procedures: dict[str, str] = field(default_factory=dict)  # name -> body
    rid: str = field(default_factory=_rid)


@dataclass
class Database:
    name: str
    created: dt.datetime
    containers: dict[str, Container] = field(default_factory=dict)
    rid: str = field(default_factory=_rid)


def databases_from_seed(spec: dict[str, Any], created: dt.datetime) -> dict[str, Database]:
    """``{"db": {"created"?: t, "containers": {"c": {"partition_key"?, "created"?, "stored_procedures"?}}}}``."""
    databases: dict[str, Database] = {}
    for db_name, db_spec in (spec or {}).items():
        db_spec = db_spec or {}
        db_created = parse_time(db_spec["created"]) if db_spec.get("created") else created
        database = Database(db_name, db_created)
        for c_name, c_spec in (db_spec.get("containers") or {}).items():
            c_spec = c_spec or {}
            procs = c_spec.get("stored_procedures") or {}
            if isinstance(procs, list):  # names only: give each a trivial body
                procs = {name: "function () { }" for name in procs}
            database.containers[c_name] = Container(
                name=c_name,
                created=parse_time(c_spec["created"]) if c_spec.get("created") else db_created,
                partition_key_paths=[c_spec.get("partition_key", "/concatenatedPartitionKey")],
                stored_procedures=dict(procs),
            )
        databases[db_name] = database
    return databases


def databases_at(
    databases: dict[str, Database], at: dt.datetime, wanted: list[dict[str, Any]] | None = None
) -> dict[str, Database]:
    """What a point-in-time restore brings back: what existed at ``at``, minus stored procedures.

    ``wanted`` is ``restoreParameters.databasesToRestore``; a name that did not exist is an error.
    """
    existing = {
        name: db for name, db in databases.items() if db.created <= at
    }
    selection: dict[str, list[str] | None] = {name: None for name in existing}
    if wanted:
        selection = {}
        for item in wanted:
            db_name = item.get("databaseName", "")
            if db_name not in existing:
                raise bad_request(f"Database '{db_name}' does not exist at the restore timestamp {format_time(at)}.")
            selection[db_name] = item.get("collectionNames") or None
    restored: dict[str, Database] = {}
    for db_name, names in selection.items():
        source = existing[db_name]
        containers = {n: c for n, c in source.containers.items() if c.created <= at}
        for name in names or []:
            if name not in containers:
                raise bad_request(
                    f"Collection '{name}' in database '{db_name}' does not exist at the restore timestamp {format_time(at)}."
                )
        target = Database(db_name, source.created)
        for c_name, container in containers.items():
            if names is None or c_name in names:
                # Continuous-backup restore brings data and settings back, but not stored procedures,
                # triggers or UDFs (ScalarDB must re-create them with Schema Loader --repair-all).
                target.containers[c_name] = Container(c_name, container.created, list(container.partition_key_paths))
        restored[db_name] = target
    return restored


def master_keys(instance_id: str) -> dict[str, str]:
    """Deterministic, real-looking (88 base64 characters) keys for an account."""

    def key(kind: str) -> str:
        return base64.b64encode(hashlib.sha512(f"{instance_id}/{kind}".encode()).digest()).decode()

    return {
        "primaryMasterKey": key("primary"),
        "secondaryMasterKey": key("secondary"),
        "primaryReadonlyMasterKey": key("primary-ro"),
        "secondaryReadonlyMasterKey": key("secondary-ro"),
    }


def consistency_policy(value: dict[str, Any] | None) -> dict[str, Any]:
    value = value or {}
    wanted = str(value.get("defaultConsistencyLevel", "Session"))
    for level in CONSISTENCY_LEVELS:
        if level.lower() == wanted.lower():
            return {
                "defaultConsistencyLevel": level,
                "maxStalenessPrefix": int(value.get("maxStalenessPrefix", 100)),
                "maxIntervalInSeconds": int(value.get("maxIntervalInSeconds", 5)),
            }
    raise bad_request(f"Invalid consistency level '{wanted}'; expected one of {', '.join(CONSISTENCY_LEVELS)}.")


def sql_database_body(db: Database) -> dict[str, Any]:
    """A SQL database as Cosmos DB describes it (inside accounts and restorable-resource feeds alike)."""
    return {
        "id": db.name,
        "_rid": db.rid,
        "_ts": int(db.created.timestamp()),
        "_etag": f'"{uuid.uuid5(uuid.NAMESPACE_URL, db.rid)}"',
        "_colls": "colls/",
        "_users": "users/",
    }


@dataclass
class CosmosAccount:  # pylint: disable=too-many-instance-attributes
    subscription_id: str
    resource_group: str
    name: str
    location: str
    creation_time: dt.datetime
    consistency: dict[str, Any]
    kind: str = "GlobalDocumentDB"
    instance_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    backup_policy: dict[str, Any] = field(default_factory=lambda: {"type": "Continuous"})
    create_mode: str = "Default"
    restore_parameters: dict[str, Any] | None = None
    databases: dict[str, Database] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    provisioning_state: str = "Succeeded"
    pending_op: Operation | None = None

    @property
    def resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/{ACCOUNT_TYPE}/{self.name}"
        )

    @property
    def continuous(self) -> bool:
        return str(self.backup_policy.get("type", "")).lower() == "continuous"

    def render(self, endpoint_template: str) -> dict[str, Any]:
        endpoint = endpoint_template.format(name=self.name)
        short = normalize_location(self.location)
        region = {
            "id": f"{self.name}-{short}",
            "locationName": self.location,
            "documentEndpoint": endpoint_template.format(name=f"{self.name}-{short}"),
            "provisioningState": self.provisioning_state,
            "failoverPriority": 0,
            "isZoneRedundant": False,
        }
        properties: dict[str, Any] = {
            "provisioningState": self.provisioning_state,
            "documentEndpoint": endpoint,
            "databaseAccountOfferType": "Standard",
            "consistencyPolicy": copy.deepcopy(self.consistency),
            "locations": [region],
            "writeLocations": [region],
            "readLocations": [region],
            "failoverPolicies": [{"id": region["id"], "locationName": self.location, "failoverPriority": 0}],
            "enableAutomaticFailover": False,
            "enableMultipleWriteLocations": False,
            "isVirtualNetworkFilterEnabled": False,
            "virtualNetworkRules": [],
            "ipRules": [],
            "privateEndpointConnections": [],
            "publicNetworkAccess": "Enabled",
            "capabilities": [],
            "backupPolicy": copy.deepcopy(self.backup_policy),
            "createMode": self.create_mode,
            "instanceId": self.instance_id,
        }
        if self.restore_parameters is not None:
            properties["restoreParameters"] = copy.deepcopy(self.restore_parameters)
        return {
            "id": self.resource_id,
            "name": self.name,
            "type": ACCOUNT_TYPE,
            "location": self.location,
            "kind": self.kind,
            "tags": dict(self.tags),
            "systemData": {"createdAt": format_time(self.creation_time)},
            "properties": properties,
        }

    def render_database(self, db: Database) -> dict[str, Any]:
        return {
            "id": f"{self.resource_id}/sqlDatabases/{db.name}",
            "name": db.name,
            "type": f"{ACCOUNT_TYPE}/sqlDatabases",
            "location": self.location,
            "tags": {},
            "properties": {
                "resource": sql_database_body(db)
            },
        }

    def render_container(self, db: Database, container: Container) -> dict[str, Any]:
        return {
            "id": f"{self.resource_id}/sqlDatabases/{db.name}/containers/{container.name}",
            "name": container.name,
            "type": f"{ACCOUNT_TYPE}/sqlDatabases/containers",
            "location": self.location,
            "tags": {},
            "properties": {
                "resource": {
                    "id": container.name,
                    "_rid": container.rid,
                    "_ts": int(container.created.timestamp()),
                    "_etag": f'"{uuid.uuid5(uuid.NAMESPACE_URL, container.rid)}"',
                    "partitionKey": {"paths": list(container.partition_key_paths), "kind": "Hash"},
                    "indexingPolicy": {"indexingMode": "consistent", "automatic": True},
                }
            },
        }

    def render_stored_procedure(self, db: Database, container: Container, name: str) -> dict[str, Any]:
        return {
            "id": f"{self.resource_id}/sqlDatabases/{db.name}/containers/{container.name}/storedProcedures/{name}",
            "name": name,
            "type": f"{ACCOUNT_TYPE}/sqlDatabases/containers/storedProcedures",
            "location": self.location,
            "properties": {"resource": {"id": name, "body": container.stored_procedures[name]}},
        }


@dataclass
class RestorableAccount:  # pylint: disable=too-many-instance-attributes
    """An account with continuous backup, alive or deleted: what ``restorableDatabaseAccounts`` lists."""

    instance_id: str
    subscription_id: str
    account_name: str
    location: str  # as the account was created (display form)
    creation_time: dt.datetime
    oldest_restorable_time: dt.datetime
    databases: dict[str, Database]  # shared with the live account while it exists
    deletion_time: dt.datetime | None = None
    api_type: str = "Sql"
    regional_instance_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def short_location(self) -> str:
        return normalize_location(self.location)

    @property
    def resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/providers/{NAMESPACE}/locations/{self.short_location}"
            f"/restorableDatabaseAccounts/{self.instance_id}"
        )

    def check_restore_time(self, at: dt.datetime, now: dt.datetime) -> None:
        earliest = max(self.oldest_restorable_time, self.creation_time)
        latest = self.deletion_time or now
        if not earliest <= at <= latest:
            raise bad_request(
                f"Invalid restore timestamp {format_time(at)}. Please provide a time (in UTC) between "
                f"{format_time(earliest)} and {format_time(latest)} for account '{self.account_name}' "
                f"(instance {self.instance_id})."
            )

    def render(self) -> dict[str, Any]:
        region: dict[str, Any] = {
            "locationName": self.location,
            "regionalDatabaseAccountInstanceId": self.regional_instance_id,
            "creationTime": format_time(self.creation_time),
        }
        properties: dict[str, Any] = {
            "accountName": self.account_name,
            "creationTime": format_time(self.creation_time),
            "oldestRestorableTime": format_time(self.oldest_restorable_time),
            "apiType": self.api_type,
            "restorableLocations": [region],
        }
        if self.deletion_time is not None:
            properties["deletionTime"] = format_time(self.deletion_time)
            region["deletionTime"] = format_time(self.deletion_time)
        return {
            "id": self.resource_id,
            "name": self.instance_id,
            "type": f"{NAMESPACE}/locations/restorableDatabaseAccounts",
            "location": self.location,
            "properties": properties,
        }

    def render_sql_resources(self, at: dt.datetime) -> list[dict[str, Any]]:
        return [
            {
                "id": f"{self.resource_id}/restorableSqlResources/{db.name}",
                "name": db.name,
                "type": f"{NAMESPACE}/locations/restorableDatabaseAccounts/restorableSqlResources",
                "databaseName": db.name,
                "collectionNames": [c.name for c in db.containers.values() if c.created <= at],
            }
            for db in self.databases.values()
            if db.created <= at
        ]

    def render_sql_databases(self) -> list[dict[str, Any]]:
        """The database events feed; the stand-in only knows creations."""
        return [
            {
                "id": f"{self.resource_id}/restorableSqlDatabases/{db.rid}",
                "name": db.rid,
                "type": f"{NAMESPACE}/locations/restorableDatabaseAccounts/restorableSqlDatabases",
                "properties": {
                    "resource": {
                        "_rid": db.rid,
                        "operationType": "Create",
                        "canUndelete": "invalid",
                        "eventTimestamp": format_time(db.created),
                        "ownerId": db.name,
                        "ownerResourceId": db.rid,
                        "database": dict(sql_database_body(db), _self=f"dbs/{db.rid}/"),
                    }
                },
            }
            for db in self.databases.values()
        ]

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.resource_id,
            "account_name": self.account_name,
            "instance_id": self.instance_id,
            "creation_time": format_time(self.creation_time),
            "deletion_time": format_time(self.deletion_time),
            "oldest_restorable_time": format_time(self.oldest_restorable_time),
        }
