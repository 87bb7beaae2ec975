"""The Azure Resource Manager stand-in, driven by the real SDK clients the restore modules use.

Cosmos DB (azure-mgmt-cosmosdb), MySQL flexible server (azure-mgmt-rdbms and
azure-mgmt-mysqlflexibleservers) and PostgreSQL flexible server (azure-mgmt-rdbms and
azure-mgmt-postgresqlflexibleservers 3.x): point-in-time restores as real long-running operations,
restore-window checks, injected failures and the credentials production code will use.
"""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.cosmosdb import models as cosmos_models

from fixtures.common import require_standin
from standins.azure.target import AzureTarget

UTC = dt.timezone.utc
LOCATION = "westus"
SERVER_LOCATION = "eastus"
SCALARDB_DATABASES = {
    "scalardb": {"containers": {"tx_state": {"stored_procedures": ["mutate.js"]}}},
    "coordinator": {"containers": {"state": {"stored_procedures": ["mutate.js"]}}},
}


def now() -> dt.datetime:
    return dt.datetime.now(UTC)


def restore_parameters(source_id: str, at: dt.datetime) -> cosmos_models.DatabaseAccountCreateUpdateParameters:
    """What the Cosmos DB restore module sends: a new account in createMode Restore."""
    return cosmos_models.DatabaseAccountCreateUpdateParameters(
        location=LOCATION,
        kind="GlobalDocumentDB",
        database_account_offer_type="Standard",
        locations=[cosmos_models.Location(location_name=LOCATION, failover_priority=0)],
        create_mode="Restore",
        backup_policy=cosmos_models.ContinuousModeBackupPolicy(),
        restore_parameters=cosmos_models.RestoreParameters(
            restore_mode="PointInTime", restore_source=source_id, restore_timestamp_in_utc=at
        ),
    )


def restorable_entries(azure: AzureTarget, account_name: str) -> list[Any]:
    return [
        entry
        for entry in azure.cosmosdb().restorable_database_accounts.list_by_location(LOCATION)
        if entry.account_name == account_name
    ]


def only_operation(azure: AzureTarget, provider: str, operation: str) -> dict[str, Any]:
    assert azure.admin is not None
    ops = azure.admin.operations(provider, operation)
    assert len(ops) == 1, ops
    return ops[0]


# --- Cosmos DB ------------------------------------------------------------------------------------


@pytest.mark.standin_only
def test_cosmos_restore_runs_as_lro_then_consistency_is_set_to_strong(azure: AzureTarget) -> None:
    require_standin(azure.is_standin, "seeding a source account with continuous backup")
    assert azure.admin is not None
    azure.admin.config(lro_polls=2)
    azure.admin.seed_cosmos_account(azure.resource_group, "scalar-src", databases=SCALARDB_DATABASES)
    client = azure.cosmosdb()
    (source,) = restorable_entries(azure, "scalar-src")

    restored = client.database_accounts.begin_create_or_update(
        azure.resource_group, "scalar-restored", restore_parameters(source.id, now() - dt.timedelta(hours=1))
    ).result()

    assert restored.provisioning_state == "Succeeded"
    assert restored.restore_parameters.restore_source == source.id
    # Like real Azure: the restored account has Session consistency and no stored procedures.
    assert restored.consistency_policy.default_consistency_level == "Session"
    op = only_operation(azure, "cosmosdb", "restore")
    assert op["status"] == "Succeeded" and op["polls"] == 3  # 2 answered InProgress, then Succeeded
    sql = client.sql_resources
    assert {db.name for db in sql.list_sql_databases(azure.resource_group, "scalar-restored")} == {"scalardb", "coordinator"}
    assert [c.name for c in sql.list_sql_containers(azure.resource_group, "scalar-restored", "scalardb")] == ["tx_state"]
    assert [p.name for p in sql.list_sql_stored_procedures(azure.resource_group, "scalar-src", "scalardb", "tx_state")] == ["mutate.js"]
    assert not list(sql.list_sql_stored_procedures(azure.resource_group, "scalar-restored", "scalardb", "tx_state"))

    updated = client.database_accounts.begin_update(
        azure.resource_group,
        "scalar-restored",
        cosmos_models.DatabaseAccountUpdateParameters(
            consistency_policy=cosmos_models.ConsistencyPolicy(default_consistency_level="Strong")
        ),
    ).result()

    assert updated.consistency_policy.default_consistency_level == "Strong"
    account = client.database_accounts.get(azure.resource_group, "scalar-restored")
    assert account.consistency_policy.default_consistency_level == "Strong"
    assert account.document_endpoint == "https://scalar-restored.documents.azure.com:443/"
    assert only_operation(azure, "cosmosdb", "update")["polls"] > 0
    keys = client.database_accounts.list_keys(azure.resource_group, "scalar-restored")
    assert len(keys.primary_master_key) == 88 and keys.primary_master_key != keys.secondary_master_key


@pytest.mark.standin_only
def test_cosmos_account_is_creating_until_polled_enough(azure: AzureTarget) -> None:
    require_standin(azure.is_standin, "the lro_polls knob")
    assert azure.admin is not None
    azure.admin.config(lro_polls=3)
    seeded = azure.admin.seed_cosmos_account(azure.resource_group, "scalar-src")
    client = azure.cosmosdb()

    initial = client.database_accounts.begin_create_or_update(
        azure.resource_group, "scalar-restored", restore_parameters(seeded["restorable_id"], now() - dt.timedelta(hours=1)),
        polling=False,
    ).result()

    assert initial.provisioning_state == "Creating"
    assert client.database_accounts.get(azure.resource_group, "scalar-restored").provisioning_state == "Creating"
    listed = {a.name: a.provisioning_state for a in client.database_accounts.list_by_resource_group(azure.resource_group)}
    assert listed == {"scalar-src": "Succeeded", "scalar-restored": "Creating"}
    states = [client.database_accounts.get(azure.resource_group, "scalar-restored").provisioning_state for _poll in range(3)]
    assert states == ["Creating", "Creating", "Succeeded"]


@pytest.mark.standin_only
def test_lro_seconds_knob_keeps_the_operation_running(azure: AzureTarget) -> None:
    require_standin(azure.is_standin, "the lro_seconds knob")
    assert azure.admin is not None
    azure.admin.config(lro_polls=0, lro_seconds=0.5)
    source = azure.admin.seed_mysql_server(azure.resource_group, "scalar-src")
    poller = azure.mysql_flexible().servers.begin_create(
        azure.resource_group,
        "scalar-restored",
        _mysql_server_model(source["id"], now() - dt.timedelta(hours=1)),
        polling_interval=0.1,
    )

    assert poller.result().state == "Ready"

    op = only_operation(azure, "mysql", "restore")
    elapsed = dt.datetime.fromisoformat(op["ended"]) - dt.datetime.fromisoformat(op["started"])
    assert elapsed >= dt.timedelta(seconds=0.5) and op["polls"] >= 3


@pytest.mark.standin_only
def test_restorable_accounts_list_every_account_that_used_a_name(azure: AzureTarget) -> None:
    require_standin(azure.is_standin, "seeding a deleted account")
    assert azure.admin is not None
    t = now()
    old = azure.admin.seed_cosmos_account(
        azure.resource_group,
        "reused",
        creation_time=t - dt.timedelta(days=20),
        deletion_time=t - dt.timedelta(days=10),
        databases={"olddb": {"containers": {"c1": {}, "c2": {"created": t - dt.timedelta(days=12)}}}},
    )
    azure.admin.seed_cosmos_account(azure.resource_group, "reused", creation_time=t - dt.timedelta(days=5))
    client = azure.cosmosdb()

    entries = restorable_entries(azure, "reused")
    everywhere = [e for e in client.restorable_database_accounts.list() if e.account_name == "reused"]

    assert len(entries) == 2 and len(everywhere) == 2
    deleted = [e for e in entries if e.deletion_time is not None]
    assert len(deleted) == 1 and deleted[0].id == old["restorable_id"]
    assert deleted[0].creation_time < deleted[0].deletion_time < min(e.creation_time for e in entries if e.deletion_time is None)
    assert deleted[0].api_type == "Sql" and deleted[0].restorable_locations[0].location_name == LOCATION
    at = (t - dt.timedelta(days=15)).isoformat()
    resources = client.restorable_sql_resources.list(LOCATION, old["instance_id"], restore_location=LOCATION, restore_timestamp_in_utc=at)
    assert [(r.database_name, r.collection_names) for r in resources] == [("olddb", ["c1"])]
    assert [d.resource.owner_id for d in client.restorable_sql_databases.list(LOCATION, old["instance_id"])] == ["olddb"]

    restored = client.database_accounts.begin_create_or_update(
        azure.resource_group, "reused-restored", restore_parameters(deleted[0].id, t - dt.timedelta(days=11))
    ).result()

    assert restored.provisioning_state == "Succeeded"
    assert [db.name for db in client.sql_resources.list_sql_databases(azure.resource_group, "reused-restored")] == ["olddb"]


@pytest.mark.standin_only
@pytest.mark.parametrize(
    ("deleted", "offset"),
    [(False, dt.timedelta(days=-40)), (False, dt.timedelta(hours=1)), (True, dt.timedelta(days=-1))],
    ids=["before-oldest-restorable-time", "in-the-future", "after-deletion"],
)
def test_cosmos_restore_outside_the_window_is_refused(azure: AzureTarget, deleted: bool, offset: dt.timedelta) -> None:
    require_standin(azure.is_standin, "seeding a source account with a chosen restore window")
    assert azure.admin is not None
    t = now()
    seeded = azure.admin.seed_cosmos_account(
        azure.resource_group,
        "scalar-src",
        creation_time=t - dt.timedelta(days=60),
        oldest_restorable_time=t - dt.timedelta(days=30),
        deletion_time=t - dt.timedelta(days=2) if deleted else None,
    )
    client = azure.cosmosdb()

    with pytest.raises(HttpResponseError) as caught:
        client.database_accounts.begin_create_or_update(
            azure.resource_group, "scalar-restored", restore_parameters(seeded["restorable_id"], t + offset)
        )

    assert caught.value.status_code == 400
    assert caught.value.error is not None and caught.value.error.code == "BadRequest"
    assert "Invalid restore timestamp" in caught.value.message
    with pytest.raises(ResourceNotFoundError):
        client.database_accounts.get(azure.resource_group, "scalar-restored")


@pytest.mark.standin_only
def test_cosmos_delete_leaves_a_deleted_restorable_entry(azure: AzureTarget) -> None:
    require_standin(azure.is_standin, "seeding a source account")
    assert azure.admin is not None
    azure.admin.seed_cosmos_account(azure.resource_group, "scalar-src")
    client = azure.cosmosdb()

    client.database_accounts.begin_delete(azure.resource_group, "scalar-src").result()

    assert not list(client.database_accounts.list_by_resource_group(azure.resource_group))
    (entry,) = restorable_entries(azure, "scalar-src")
    assert entry.deletion_time is not None and entry.deletion_time <= now()
    assert only_operation(azure, "cosmosdb", "delete")["polls"] > 0


# --- Flexible servers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlexibleSdk:
    """One SDK flavour of the flexible-server point-in-time restore."""

    id: str
    engine: str  # mysql | postgresql
    client: Callable[[AzureTarget], Any]
    restore: Callable[[Any, str, str, str, dt.datetime], Any]  # (client, rg, name, source id, time) -> poller

    @property
    def namespace(self) -> str:
        return "Microsoft.DBforMySQL" if self.engine == "mysql" else "Microsoft.DBforPostgreSQL"

    @property
    def domain(self) -> str:
        return "mysql.database.azure.com" if self.engine == "mysql" else "postgres.database.azure.com"


def _rdbms_mysql(client: Any, rg: str, name: str, source: str, at: dt.datetime) -> Any:
    from azure.mgmt.rdbms.mysql_flexibleservers import models  # pylint: disable=import-outside-toplevel

    server = models.Server(location=SERVER_LOCATION, create_mode="PointInTimeRestore", source_server_resource_id=source, restore_point_in_time=at)
    return client.servers.begin_create(rg, name, server)


def _mysql_server_model(source: str, at: dt.datetime) -> Any:
    from azure.mgmt.mysqlflexibleservers import models  # pylint: disable=import-outside-toplevel

    return models.Server(location=SERVER_LOCATION, create_mode="PointInTimeRestore", source_server_resource_id=source, restore_point_in_time=at)


def _mysql_flexible(client: Any, rg: str, name: str, source: str, at: dt.datetime) -> Any:
    return client.servers.begin_create(rg, name, _mysql_server_model(source, at))


def _rdbms_postgresql(client: Any, rg: str, name: str, source: str, at: dt.datetime) -> Any:
    from azure.mgmt.rdbms.postgresql_flexibleservers import models  # pylint: disable=import-outside-toplevel

    server = models.Server(location=SERVER_LOCATION, create_mode="PointInTimeRestore", source_server_resource_id=source, point_in_time_utc=at)
    return client.servers.begin_create(rg, name, server)


def _postgresql_flexible(client: Any, rg: str, name: str, source: str, at: dt.datetime) -> Any:
    from azure.mgmt.postgresqlflexibleservers import models  # pylint: disable=import-outside-toplevel

    server = models.Server(
        location=SERVER_LOCATION,
        properties=models.ServerProperties(create_mode="PointInTimeRestore", source_server_resource_id=source, point_in_time_utc=at),
    )
    return client.servers.begin_create_or_update(rg, name, server)  # 3.x has no begin_create


FLEXIBLE_SDKS = [
    FlexibleSdk("rdbms-mysql", "mysql", AzureTarget.rdbms_mysql, _rdbms_mysql),
    FlexibleSdk("mysqlflexibleservers", "mysql", AzureTarget.mysql_flexible, _mysql_flexible),
    FlexibleSdk("rdbms-postgresql", "postgresql", AzureTarget.rdbms_postgresql, _rdbms_postgresql),
    FlexibleSdk("postgresqlflexibleservers", "postgresql", AzureTarget.postgresql_flexible, _postgresql_flexible),
]


@pytest.mark.standin_only
@pytest.mark.parametrize("sdk", FLEXIBLE_SDKS, ids=[s.id for s in FLEXIBLE_SDKS])
def test_flexible_server_point_in_time_restore(azure: AzureTarget, sdk: FlexibleSdk) -> None:
    require_standin(azure.is_standin, "seeding a source server with a restore window")
    assert azure.admin is not None
    azure.admin.config(lro_polls=2)
    source = azure.admin.seed_server(sdk.engine, azure.resource_group, "scalar-src", version="8.0.21" if sdk.engine == "mysql" else "15")
    client = sdk.client(azure)
    at = now() - dt.timedelta(hours=2)

    server = sdk.restore(client, azure.resource_group, "scalar-restored", source["id"], at).result()

    assert server.fully_qualified_domain_name == f"scalar-restored.{sdk.domain}"
    assert server.state == "Ready"
    assert server.version == ("8.0.21" if sdk.engine == "mysql" else "15")
    assert server.source_server_resource_id == source["id"]
    op = only_operation(azure, sdk.engine, "restore")
    assert op["status"] == "Succeeded" and op["polls"] == 3
    if sdk.id == "mysqlflexibleservers":
        assert op["location_polls"] == 1  # final-state-via Location: the result came from operationResults
    names = {s.name: s.state for s in client.servers.list_by_resource_group(azure.resource_group)}
    assert names == {"scalar-src": "Ready", "scalar-restored": "Ready"}
    fetched = client.servers.get(azure.resource_group, "scalar-restored")
    assert fetched.backup.earliest_restore_date >= at


@pytest.mark.standin_only
@pytest.mark.parametrize("sdk", FLEXIBLE_SDKS, ids=[s.id for s in FLEXIBLE_SDKS])
def test_flexible_restore_time_outside_the_window_is_refused(azure: AzureTarget, sdk: FlexibleSdk) -> None:
    require_standin(azure.is_standin, "seeding a source server with a chosen earliest restore date")
    assert azure.admin is not None
    t = now()
    source = azure.admin.seed_server(sdk.engine, azure.resource_group, "scalar-src", earliest_restore_date=t - dt.timedelta(days=3))
    client = sdk.client(azure)

    for at in (t - dt.timedelta(days=4), t + dt.timedelta(hours=1)):
        with pytest.raises(HttpResponseError) as caught:
            sdk.restore(client, azure.resource_group, "scalar-restored", source["id"], at)
        assert caught.value.status_code == 400
        assert caught.value.error is not None and caught.value.error.code == "InvalidRestorePointInTime"
        assert "earliest restore date" in caught.value.message

    assert [s.name for s in client.servers.list_by_resource_group(azure.resource_group)] == ["scalar-src"]


@pytest.mark.standin_only
def test_flexible_restore_from_an_unknown_server_is_refused(azure: AzureTarget) -> None:
    require_standin(azure.is_standin, "an empty stand-in")
    client = azure.postgresql_flexible()
    missing = azure.server_id("Microsoft.DBforPostgreSQL", "nowhere")

    with pytest.raises(HttpResponseError, match="nowhere"):
        _postgresql_flexible(client, azure.resource_group, "scalar-restored", missing, now() - dt.timedelta(hours=1))


# --- Injected failures ------------------------------------------------------------------------------


@pytest.mark.standin_only
def test_injected_cosmos_lro_failure_surfaces_as_http_response_error(azure: AzureTarget) -> None:
    require_standin(azure.is_standin, "fault injection")
    assert azure.admin is not None
    seeded = azure.admin.seed_cosmos_account(azure.resource_group, "scalar-src")
    azure.admin.fail(provider="cosmosdb", operation="restore", code="RestoreFailed", message="backup storage unavailable")
    client = azure.cosmosdb()
    poller = client.database_accounts.begin_create_or_update(
        azure.resource_group, "scalar-restored", restore_parameters(seeded["restorable_id"], now() - dt.timedelta(hours=1))
    )

    with pytest.raises(HttpResponseError, match="backup storage unavailable") as caught:
        poller.result()

    assert "RestoreFailed" in str(caught.value)
    assert poller.status() == "Failed"
    assert client.database_accounts.get(azure.resource_group, "scalar-restored").provisioning_state == "Failed"
    op = only_operation(azure, "cosmosdb", "restore")
    assert op["status"] == "Failed" and op["polls"] > 0


@pytest.mark.standin_only
def test_injected_flexible_lro_failure_leaves_no_server(azure: AzureTarget) -> None:
    require_standin(azure.is_standin, "fault injection")
    assert azure.admin is not None
    source = azure.admin.seed_postgresql_server(azure.resource_group, "scalar-src")
    azure.admin.fail(provider="postgresql", operation="restore", code="InternalServerError", message="restore worker crashed")
    client = azure.postgresql_flexible()

    with pytest.raises(HttpResponseError, match="restore worker crashed"):
        _postgresql_flexible(client, azure.resource_group, "scalar-restored", source["id"], now() - dt.timedelta(hours=1)).result()

    with pytest.raises(ResourceNotFoundError):
        client.servers.get(azure.resource_group, "scalar-restored")
    # The rule was consumed: the retry succeeds.
    retried = _postgresql_flexible(client, azure.resource_group, "scalar-restored", source["id"], now() - dt.timedelta(hours=1)).result()
    assert retried.state == "Ready"


@pytest.mark.standin_only
def test_injected_initial_refusal_changes_nothing(azure: AzureTarget) -> None:
    require_standin(azure.is_standin, "fault injection")
    assert azure.admin is not None
    source = azure.admin.seed_mysql_server(azure.resource_group, "scalar-src")
    azure.admin.fail(provider="mysql", operation="restore", phase="initial", status=429, code="TooManyRequests", message="slow down")
    client = azure.rdbms_mysql()

    with pytest.raises(HttpResponseError, match="slow down") as caught:
        _rdbms_mysql(client, azure.resource_group, "scalar-restored", source["id"], now() - dt.timedelta(hours=1))

    assert caught.value.status_code == 429
    assert [s.name for s in client.servers.list_by_resource_group(azure.resource_group)] == ["scalar-src"]
    assert azure.admin.operations() == []


# --- Authentication and the ARM contract ---------------------------------------------------------------

DEFAULT_CREDENTIAL_SCRIPT = textwrap.dedent(
    """
    import os, sys
    from azure.identity import DefaultAzureCredential
    from azure.mgmt.cosmosdb import CosmosDBManagementClient

    client = CosmosDBManagementClient(DefaultAzureCredential(), os.environ["AZURE_SUBSCRIPTION_ID"], base_url=sys.argv[1])
    print(sorted(a.name for a in client.database_accounts.list_by_resource_group(sys.argv[2])))
    """
)


def test_default_azure_credential_works_in_a_subprocess_with_the_fixture_env(azure: AzureTarget) -> None:
    """What a module run by ansible-playbook does: production credential code, environment only."""
    if azure.is_standin:
        assert azure.admin is not None
        azure.admin.seed_cosmos_account(azure.resource_group, "scalar-src")

    done = subprocess.run(
        [sys.executable, "-c", DEFAULT_CREDENTIAL_SCRIPT, azure.base_url, azure.resource_group],
        env=azure.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    if azure.is_standin:
        assert azure.admin is not None
        assert done.stdout.strip() == "['scalar-src']"
        assert any(r["path"] == "/msi/token" for r in azure.admin.requests())


@pytest.mark.standin_only
def test_client_secret_credential_against_the_standin_authority(azure: AzureTarget) -> None:
    require_standin(azure.is_standin, "the stand-in's token endpoint")
    from azure.identity import ClientSecretCredential  # pylint: disable=import-outside-toplevel
    from azure.mgmt.cosmosdb import CosmosDBManagementClient  # pylint: disable=import-outside-toplevel

    credential = ClientSecretCredential(
        "tenant-1", "client-1", "secret-1", authority=azure.base_url, disable_instance_discovery=True,
        connection_verify=azure.ca_bundle,
    )
    client = CosmosDBManagementClient(credential, azure.subscription_id, **azure.client_kwargs())

    assert not list(client.database_accounts.list())
    assert azure.admin is not None
    paths = [r["path"] for r in azure.admin.requests()]
    assert "/tenant-1/oauth2/v2.0/token" in paths


@pytest.mark.standin_only
def test_arm_contract_token_and_api_version_are_required(azure: AzureTarget) -> None:
    require_standin(azure.is_standin, "raw requests to the stand-in")
    url = f"{azure.base_url}/subscriptions/{azure.subscription_id}/providers/Microsoft.DocumentDB/databaseAccounts"

    no_token = requests.get(url, params={"api-version": "2026-03-15"}, verify=azure.ca_bundle, timeout=10)
    no_version = requests.get(url, headers={"Authorization": "Bearer x"}, verify=azure.ca_bundle, timeout=10)
    unknown = requests.get(f"{url}/x/nothingHere", params={"api-version": "2026-03-15"}, headers={"Authorization": "Bearer x"},
                           verify=azure.ca_bundle, timeout=10)

    assert no_token.status_code == 401 and no_token.json()["error"]["code"] == "AuthenticationFailed"
    assert no_version.status_code == 400 and no_version.json()["error"]["code"] == "MissingApiVersionParameter"
    assert unknown.status_code == 404 and "error" in unknown.json()
