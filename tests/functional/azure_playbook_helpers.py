"""Helpers of the playbooks/restore_cosmosdb.yml and restore_azure_database.yml tests.

An ``AzureScene`` is what an operator has before the restore: a Cosmos DB account (seeded in the
Azure stand-in with a database, containers and ScalarDB's stored procedure) or an Azure Database
for MySQL/PostgreSQL flexible server, and a ScalarDL Ledger (and Auditor) release using it - for
Cosmos DB with ``scalar.db.contact_points`` = the account's document endpoint and the key in the
release's Secret, for a flexible server with a JDBC URL (database and parameters the switch must
keep).  Everything asserted is read back with the Azure SDK clients, helm and kubectl.
"""
from __future__ import annotations

import base64
import datetime as _dt
import json
import time
from dataclasses import dataclass
from typing import Any

from playbook_scene import RELEASES, ReleaseScene, Run, now_iso

from fixtures.common import REPO_ROOT
from standins.azure.target import AzureTarget

PLAYBOOKS = {"cosmosdb": REPO_ROOT / "playbooks" / "restore_cosmosdb.yml",
             "azure_database": REPO_ROOT / "playbooks" / "restore_azure_database.yml"}
REPORT_GLOBS = {"cosmosdb": "restore-cosmosdb-*", "azure_database": "restore-azure_database-*"}
PORTS = {"mysql": 3306, "postgresql": 5432}
URL_PARAMETERS = {"mysql": "useSSL=true&connectTimeout=10000", "postgresql": "sslmode=require&connectTimeout=10"}
SECRETS = {"ledger": "ledger-credentials", "auditor": "auditor-credentials"}
KEY_VARIABLE = {name: f"SCALAR_DL_{name.upper()}_COSMOS_KEY" for name in RELEASES}
OLD_KEY = "old-account-key-that-must-be-replaced"


def jdbc_url(engine: str, host: str, database: str) -> str:
    return f"jdbc:{engine}://{host}:{PORTS[engine]}/{database}?{URL_PARAMETERS[engine]}"


@dataclass
class AzureScene(ReleaseScene):
    """A source account or server, the releases using it, and a restore point."""

    backend: str = "cosmosdb"  # cosmosdb | azure_database
    engine: str = ""           # azure_database: mysql | postgresql
    source: str = ""
    source_host: str = ""
    point: str = ""

    @property
    def azure(self) -> AzureTarget:
        return self.cloud

    def extra_vars(self, **extra: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "restore_point": self.point, "azure_subscription_id": self.azure.subscription_id,
            "azure_resource_group": self.azure.resource_group, "scalar_releases": self.releases(),
            "restore_flow_poll_interval": 1, "restore_flow_wait_timeout": 120,
        }
        if self.azure.is_standin:
            values.update(azure_arm_endpoint=self.azure.base_url, azure_ca_bundle=self.azure.ca_bundle)
        if self.backend == "cosmosdb":
            values.update(cosmosdb_source_account=self.source, cosmosdb_restore_progress_interval=2, cosmosdb_restore_poll_interval=0.5)
        else:
            values.update(azure_db_engine=self.engine, azure_db_source_server=self.source, azure_database_restore_progress_interval=2,
                          azure_database_restore_poll_interval=0.5)
        values.update(extra)
        return values

    def run(self, label: str, *options: str, **extra: Any) -> Run:
        return self.run_playbook(PLAYBOOKS[self.backend], self.extra_vars(**extra), label, REPORT_GLOBS[self.backend], *options)

    # --- what Azure shows ------------------------------------------------------------------------
    def accounts(self) -> dict[str, Any]:
        client = self.azure.cosmosdb()
        return {account.name: account for account in client.database_accounts.list_by_resource_group(self.azure.resource_group)}

    def servers(self) -> dict[str, Any]:
        client = self.azure.mysql_flexible() if self.engine == "mysql" else self.azure.postgresql_flexible()
        return {server.name: server for server in client.servers.list_by_resource_group(self.azure.resource_group)}

    def names(self) -> set[str]:
        return set(self.accounts() if self.backend == "cosmosdb" else self.servers())

    def secret_value(self, release: str) -> str:
        found = json.loads(self.kube.kubectl("get", "secret", SECRETS[release], "-n", self.namespace, "-o", "json").stdout)
        return base64.b64decode(found["data"][KEY_VARIABLE[release]]).decode()


def _cosmos_properties(endpoint: str, release: str) -> str:
    return "\n".join([
        "scalar.db.storage=cosmos",
        f"scalar.db.contact_points={endpoint}",
        f"scalar.db.password=${{env:{KEY_VARIABLE[release]}}}",
    ])


def _jdbc_properties(engine: str, host: str, release: str) -> str:
    return "\n".join([
        "scalar.db.storage=jdbc",
        f"scalar.db.contact_points={jdbc_url(engine, host, release)}",
        f"scalar.db.username=${{env:SCALAR_DL_{release.upper()}_DB_USERNAME}}",
        f"scalar.db.password=${{env:SCALAR_DL_{release.upper()}_DB_PASSWORD}}",
    ])


def _past(minutes: int) -> str:
    return (_dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(minutes=minutes)).isoformat()


def build_scene(kube: Any, namespace: str, azure: AzureTarget, workdir: Any, backend: str, engine: str = "",
                releases: tuple[str, ...] = ("ledger",), source_host: str | None = None) -> AzureScene:
    """The source and ``releases`` using it (or ``source_host``), the restore point just after."""
    scene = AzureScene(kube=kube, namespace=namespace, cloud=azure, workdir=workdir, with_releases=releases, backend=backend, engine=engine)
    scene.source = azure.unique("src")
    admin = azure.admin
    if backend == "cosmosdb":
        seeded = admin.seed_cosmos_account(
            azure.resource_group, scene.source, location="westus", creation_time=_past(60), oldest_restorable_time=_past(60),
            consistency="Strong", tags={"team": "payments"},
            databases={"scalardl": {"created": _past(59), "containers": {
                "asset": {"partition_key": "/concatenatedPartitionKey", "created": _past(59), "stored_procedures": ["mutate.js"]}}}})
        scene.source_host = seeded["document_endpoint"]
        properties = {name: _cosmos_properties(source_host or scene.source_host, name) for name in releases}
        for name in releases:
            kube.kubectl("create", "secret", "generic", SECRETS[name], "-n", namespace, f"--from-literal={KEY_VARIABLE[name]}={OLD_KEY}")
    else:
        seeded = admin.seed_server(engine, azure.resource_group, scene.source, location="eastus", creation_time=_past(60),
                                   earliest_restore_date=_past(60), tags={"team": "payments"})
        scene.source_host = seeded["fully_qualified_domain_name"]
        properties = {name: _jdbc_properties(engine, source_host or scene.source_host, name) for name in releases}
    scene.install_releases(properties, secrets={name: SECRETS[name] for name in releases} if backend == "cosmosdb" else None)
    time.sleep(0.05)
    scene.point = now_iso()
    time.sleep(0.05)
    return scene
