"""Where the Azure tests point: the stand-in or a real subscription, with SDK client factories.

Tests get one of these from the ``azure`` fixture and never build clients themselves, so the same
test runs against the stand-in (static token, test CA, no retries, instant polling) and against
real Azure (``DefaultAzureCredential``, SDK defaults). Against real Azure resources cost money:
tests name them with ``unique`` and register their deletion with ``defer``.
"""
from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._cleanups import Cleanups
from .._process import Running
from .admin import AzureAdmin
from .credential import StaticTokenCredential

REAL_ARM_URL = "https://management.azure.com"
DEFAULT_RESOURCE_GROUP = "rg-pitr-test"
# Variables that would make DefaultAzureCredential pick another identity than the stand-in's.
_CREDENTIAL_VARS = (
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_USERNAME",
    "AZURE_PASSWORD",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_TOKEN_CREDENTIALS",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
)
MSI_HEADER = "standin-identity-header"


@dataclass
class AzureTarget:  # pylint: disable=too-many-instance-attributes
    """An ARM endpoint (stand-in or real), its credential, and per-test cleanups."""

    base_url: str
    subscription_id: str
    resource_group: str
    credential: Any  # azure.core.credentials.TokenCredential
    is_standin: bool
    ca_bundle: str | None = None  # the stand-in's CA only: for connection_verify
    combined_ca_bundle: str | None = None  # system CAs + the stand-in's: for REQUESTS_CA_BUNDLE
    msi_endpoint: str | None = None
    admin: AzureAdmin | None = None
    cleanups: Cleanups = field(default_factory=Cleanups, repr=False)

    @classmethod
    def for_standin(cls, running: Running, resource_group: str = DEFAULT_RESOURCE_GROUP) -> AzureTarget:
        info = running.info
        return cls(
            base_url=running.url,
            subscription_id=info["subscription_id"],
            resource_group=resource_group,
            credential=StaticTokenCredential(),
            is_standin=True,
            ca_bundle=info["ca_bundle"],
            combined_ca_bundle=info.get("combined_ca_bundle", info["ca_bundle"]),
            msi_endpoint=info.get("msi_endpoint"),
            admin=AzureAdmin(running.url, info["ca_bundle"]),
        )

    @classmethod
    def for_real(cls, subscription_id: str, resource_group: str) -> AzureTarget:
        from azure.identity import DefaultAzureCredential  # pylint: disable=import-outside-toplevel  # only for real Azure

        return cls(
            base_url=REAL_ARM_URL,
            subscription_id=subscription_id,
            resource_group=resource_group,
            credential=DefaultAzureCredential(),
            is_standin=False,
        )

    def derive(self) -> AzureTarget:
        """A view for one test: same endpoint and credential, its own cleanup list."""
        return dataclasses.replace(self, cleanups=Cleanups())

    # --- SDK clients ----------------------------------------------------------------------------
    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments every management client takes (after credential and subscription)."""
        kwargs: dict[str, Any] = {"base_url": self.base_url}
        if self.is_standin:
            # Fast and strict: no waiting between polls, no retries hiding a wrong answer.
            kwargs.update(connection_verify=self.ca_bundle, polling_interval=0, retry_total=0)
        return kwargs

    def _client(self, cls: type) -> Any:
        return cls(self.credential, self.subscription_id, **self.client_kwargs())

    def cosmosdb(self) -> Any:
        from azure.mgmt.cosmosdb import CosmosDBManagementClient  # pylint: disable=import-outside-toplevel

        return self._client(CosmosDBManagementClient)

    def rdbms_mysql(self) -> Any:
        """azure-mgmt-rdbms's mysql_flexibleservers (API 2021-05-01)."""
        from azure.mgmt.rdbms.mysql_flexibleservers import MySQLManagementClient  # pylint: disable=import-outside-toplevel

        return self._client(MySQLManagementClient)

    def rdbms_postgresql(self) -> Any:
        """azure-mgmt-rdbms's postgresql_flexibleservers (API 2021-06-01)."""
        from azure.mgmt.rdbms.postgresql_flexibleservers import PostgreSQLManagementClient  # pylint: disable=import-outside-toplevel

        return self._client(PostgreSQLManagementClient)

    def mysql_flexible(self) -> Any:
        """azure-mgmt-mysqlflexibleservers (final-state-via Location)."""
        from azure.mgmt.mysqlflexibleservers import MySQLManagementClient  # pylint: disable=import-outside-toplevel

        return self._client(MySQLManagementClient)

    def postgresql_flexible(self) -> Any:
        """azure-mgmt-postgresqlflexibleservers 3.x (``begin_create_or_update``)."""
        from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient  # pylint: disable=import-outside-toplevel

        return self._client(PostgreSQLManagementClient)

    # --- ids --------------------------------------------------------------------------------------
    def server_id(self, namespace: str, name: str, resource_group: str | None = None) -> str:
        """``namespace``: Microsoft.DBforMySQL or Microsoft.DBforPostgreSQL."""
        rg = resource_group or self.resource_group
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{rg}/providers/{namespace}/flexibleServers/{name}"

    # --- subprocesses -----------------------------------------------------------------------------
    def env_for(self, base: Mapping[str, str]) -> dict[str, str]:
        """``base`` plus what a subprocess needs to reach this target with ``DefaultAzureCredential``.

        Against the stand-in: its managed-identity endpoint (IDENTITY_ENDPOINT/IDENTITY_HEADER, which
        DefaultAzureCredential tries before any CLI or broker), a CA bundle that trusts it on top of
        the system CAs, no proxy for loopback, and no other credential variables.
        """
        env = dict(base)
        env["AZURE_SUBSCRIPTION_ID"] = self.subscription_id
        if not self.is_standin:
            return env
        assert self.combined_ca_bundle and self.msi_endpoint
        for name in _CREDENTIAL_VARS:
            env.pop(name, None)
        env.update(
            REQUESTS_CA_BUNDLE=self.combined_ca_bundle,
            IDENTITY_ENDPOINT=self.msi_endpoint,
            IDENTITY_HEADER=MSI_HEADER,
        )
        for key in ("NO_PROXY", "no_proxy"):
            hosts = [h for h in env.get(key, "").split(",") if h]
            env[key] = ",".join(dict.fromkeys([*hosts, "127.0.0.1", "localhost"]))
        return env

    @property
    def env(self) -> dict[str, str]:
        """The current environment adjusted for this target (see ``env_for``)."""
        return self.env_for(os.environ)

    # --- resources --------------------------------------------------------------------------------
    @staticmethod
    def unique(prefix: str) -> str:
        """A name no other test run uses (valid for Cosmos DB accounts and flexible servers)."""
        return f"pitr-{prefix}-{uuid.uuid4().hex[:10]}".lower()[:40]

    def defer(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``func(*args, **kwargs)`` when the test ends (last registered, first run)."""
        self.cleanups.defer(func, *args, **kwargs)

    def reset(self) -> None:
        """Forget everything in the stand-in. Refuses against real Azure."""
        if self.admin is None:
            raise RuntimeError("reset() is only for the local stand-in")
        self.admin.reset()
