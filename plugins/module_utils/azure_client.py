# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The Azure SDKs as every Azure module of the collection uses them.

One place for the import guards (modules report a missing library with ``missing_required_lib``),
the connection options (documented by the ``scalarops.pitr.azure`` doc fragment), the credential
(azure-identity), the management-client factories (Cosmos DB, MySQL and PostgreSQL flexible
servers), the retry policy, and the translation of azure-core errors into one-line messages that
say what failed and how to fix it.

Retrying: azure-core's ``RetryPolicy`` already retries every HTTP call of the SDKs (connection
and read errors; 408/429/500/502/503/504 on idempotent methods; any status with a
``Retry-After`` header, honouring it).  We keep that policy and change three things with
:class:`JitterRetryPolicy`: the backoff is full-jitter (a uniformly random time up to the
exponential ceiling, so many calls throttled together do not retry together), PATCH and POST are
retried too (every PATCH/POST this collection sends is idempotent: tag/consistency updates,
listKeys), and the base delay follows ``SCALAROPS_PITR_RETRY_BASE_DELAY`` like the AWS modules
(default 0.8 s, azure-core's).  Long-running operations are polled by the SDK's pollers every
``poll_interval`` seconds unless the service sends ``Retry-After``.
"""

from __future__ import annotations

import importlib
import logging
import random
import re
from collections.abc import Mapping
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import COLLECTION_VERSION, retry_base_delay

try:
    from azure.core.exceptions import AzureError as AzureCoreError
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )
    from azure.core.pipeline.policies import RetryPolicy

    HAS_AZURE = True
    AZURE_IMPORT_ERROR = None
except ImportError as _exc:  # the module reports it with missing_required_lib
    HAS_AZURE = False
    AZURE_IMPORT_ERROR = _exc

    # Stand-ins keep ``except`` clauses and isinstance checks valid without the library.
    class AzureCoreError(Exception):  # type: ignore[no-redef]
        pass

    class HttpResponseError(AzureCoreError):  # type: ignore[no-redef]
        status_code: int | None = None
        error: Any = None
        reason: str | None = None
        message = ""

    class ClientAuthenticationError(HttpResponseError):  # type: ignore[no-redef]
        pass

    class ResourceNotFoundError(HttpResponseError):  # type: ignore[no-redef]
        pass

    class ServiceRequestError(AzureCoreError):  # type: ignore[no-redef]
        pass

    class ServiceResponseError(AzureCoreError):  # type: ignore[no-redef]
        pass

    class RetryPolicy:  # type: ignore[no-redef]  # pylint: disable=too-few-public-methods
        def __init__(self, **kwargs: Any) -> None:
            self.kwargs = kwargs

try:
    import azure.identity as azure_identity

    HAS_AZURE_IDENTITY = True
    AZURE_IDENTITY_IMPORT_ERROR = None
except ImportError as _exc:
    azure_identity = None  # pylint: disable=invalid-name
    HAS_AZURE_IDENTITY = False
    AZURE_IDENTITY_IMPORT_ERROR = _exc

__all__ = [
    "AZURE_IDENTITY_IMPORT_ERROR", "AZURE_IMPORT_ERROR", "FLEXIBLE_SDKS", "HAS_AZURE", "HAS_AZURE_IDENTITY", "PUBLIC_ARM_ENDPOINT",
    "AzureConnection", "AzureCoreError", "AzureError", "ClientAuthenticationError", "HttpResponseError", "JitterRetryPolicy",
    "ResourceNotFoundError", "ServiceRequestError", "ServiceResponseError", "azure_argument_spec", "azure_error_code",
    "describe_azure_error", "is_not_found", "missing_libraries", "translate",
]

PUBLIC_ARM_ENDPOINT = "https://management.azure.com"

# The SDKs log retries and "failsafe deserialization" fallbacks at WARNING. With no handler configured,
# Python's last-resort handler prints them - tracebacks with local paths - on the module's stderr, and
# an async task's stderr ends up in the phase outcome and the report. Errors reach users through
# describe_azure_error instead.
logging.getLogger("azure").addHandler(logging.NullHandler())

# Token audiences of the national clouds' Resource Manager endpoints (azure-identity asks for
# "<audience>/.default"); any other endpoint (Azure Stack, a stand-in) is its own audience.
_KNOWN_AUDIENCES = {
    "management.azure.com": "https://management.azure.com",
    "management.chinacloudapi.cn": "https://management.chinacloudapi.cn",
    "management.usgovcloudapi.net": "https://management.usgovcloudapi.net",
}

# Where each management client lives, per SDK family.  "standalone" packages are the maintained
# ones; azure-mgmt-rdbms's flexible-server modules are deprecated but still widely installed.
FLEXIBLE_SDKS: dict[str, dict[str, tuple[str, str, str]]] = {
    # family -> engine -> (python module, client class, pip package)
    "standalone": {
        "mysql": ("azure.mgmt.mysqlflexibleservers", "MySQLManagementClient", "azure-mgmt-mysqlflexibleservers"),
        "postgresql": ("azure.mgmt.postgresqlflexibleservers", "PostgreSQLManagementClient", "azure-mgmt-postgresqlflexibleservers"),
    },
    "rdbms": {
        "mysql": ("azure.mgmt.rdbms.mysql_flexibleservers", "MySQLManagementClient", "azure-mgmt-rdbms"),
        "postgresql": ("azure.mgmt.rdbms.postgresql_flexibleservers", "PostgreSQLManagementClient", "azure-mgmt-rdbms"),
    },
}
_COSMOSDB_SDK = ("azure.mgmt.cosmosdb", "CosmosDBManagementClient", "azure-mgmt-cosmosdb")

# Built-in roles that grant what the restore modules do (named in access-denied hints).
_ROLE_HINTS = {
    "Microsoft.DocumentDB": "DocumentDB Account Contributor",
    "Microsoft.DBforMySQL": "Contributor (or a custom role with Microsoft.DBforMySQL/flexibleServers/*)",
    "Microsoft.DBforPostgreSQL": "Contributor (or a custom role with Microsoft.DBforPostgreSQL/flexibleServers/*)",
}

# Codes of a token ARM did not accept (401).
_AUTHENTICATION_CODES = frozenset({"AuthenticationFailed", "InvalidAuthenticationToken", "ExpiredAuthenticationToken"})

_CREDENTIALS_HOWTO = (
    "give client_id/secret/tenant (service principal), or set AZURE_CLIENT_ID/AZURE_CLIENT_SECRET/AZURE_TENANT_ID, "
    "or run where a managed or workload identity is available, or log in with 'az login'"
)


class AzureError(RuntimeError):
    """An Azure call failed; ``str()`` is the translated one-line message (never a secret).

    ``code`` is Azure's error code (``HttpResponseError.error.code``) or the exception's class
    name; ``status`` the HTTP status when there was a response; ``cause`` the original exception.
    """

    def __init__(self, message: str, code: str | None = None, cause: BaseException | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.cause = cause
        self.status = status


# --- options --------------------------------------------------------------------------------------------
def azure_argument_spec(env_fallback: Any) -> dict[str, Any]:
    """Connection options (documented by the scalarops.pitr.azure doc fragment).

    ``env_fallback`` is ansible.module_utils.basic.env_fallback, passed in so this file stays
    importable without Ansible.  Credential option names and variables follow azure.azcollection
    (client_id/secret/tenant, AZURE_CLIENT_ID/AZURE_SECRET/AZURE_TENANT) and accept the
    azure-identity variables too (AZURE_CLIENT_SECRET, AZURE_TENANT_ID).
    """
    return {
        "subscription_id": {"type": "str", "required": True, "fallback": (env_fallback, ["AZURE_SUBSCRIPTION_ID"])},
        "resource_group": {"type": "str", "required": True},
        "arm_endpoint": {"type": "str", "default": PUBLIC_ARM_ENDPOINT, "fallback": (env_fallback, ["SCALAROPS_PITR_AZURE_ARM_ENDPOINT"])},
        "ca_bundle": {"type": "path"},
        "auth_source": {"type": "str", "default": "auto", "choices": ["auto", "env", "msi", "cli"]},
        # A client id identifies, it does not authenticate (no_log=False says so explicitly).
        "client_id": {"type": "str", "fallback": (env_fallback, ["AZURE_CLIENT_ID"]), "no_log": False},
        "secret": {"type": "str", "no_log": True, "fallback": (env_fallback, ["AZURE_SECRET", "AZURE_CLIENT_SECRET"])},
        "tenant": {"type": "str", "fallback": (env_fallback, ["AZURE_TENANT", "AZURE_TENANT_ID"])},
        "authority": {"type": "str", "fallback": (env_fallback, ["AZURE_AUTHORITY_HOST"])},
        "poll_interval": {"type": "float", "default": 15.0},
    }


def missing_libraries() -> list[str]:
    """pip names of the base libraries that are not importable (azure-core/mgmt-core, azure-identity)."""
    missing = []
    if not HAS_AZURE:
        missing.append("azure-core")
    if not HAS_AZURE_IDENTITY:
        missing.append("azure-identity")
    return missing


# --- retries ----------------------------------------------------------------------------------------------
class JitterRetryPolicy(RetryPolicy):  # type: ignore[misc,valid-type]
    """azure-core's RetryPolicy with full-jitter backoff and PATCH/POST retried (see the module docstring)."""

    def __init__(self, rand: Any = random.random, **kwargs: Any) -> None:
        kwargs.setdefault("retry_backoff_factor", retry_base_delay(0.8))
        kwargs.setdefault("retry_backoff_max", 60)
        kwargs.setdefault("retry_status", 10)
        super().__init__(**kwargs)
        self._rand = rand
        self._method_whitelist = frozenset(["HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "POST"])

    def get_backoff_time(self, settings: dict[str, Any]) -> float:
        # The parent's value is the exponential ceiling; full jitter waits anything up to it.
        return self._rand() * super().get_backoff_time(settings)


# --- connection -------------------------------------------------------------------------------------------
def _audience(endpoint: str) -> str:
    host = re.sub(r"^https?://", "", endpoint.rstrip("/")).split("/")[0].lower()
    return _KNOWN_AUDIENCES.get(host, endpoint.rstrip("/"))


class AzureConnection:
    """One credential for a module run and cached management clients.

    ``params`` are the module's parameters (at least the keys of :func:`azure_argument_spec`;
    missing keys mean "not given"); ``sdk`` (auto|rdbms|standalone) chooses the flexible-server
    SDK family.  ``credential`` overrides the one built from the options (tests, callers that
    already hold one); ``retry_policy`` the :class:`JitterRetryPolicy` of every client.  Errors
    (missing library, bad options) are raised as :class:`AzureError`.
    """

    def __init__(self, params: Mapping[str, Any], *, credential: Any = None, retry_policy: Any = None) -> None:
        self.params = dict(params)
        # A given credential (any azure-core TokenCredential) replaces the one built from the options.
        self._credential: Any = credential
        self._clients: dict[str, Any] = {}
        self._retry_policy = retry_policy
        self.flexible_families: dict[str, str] = {}

    # -- settings
    @property
    def subscription_id(self) -> str:
        value = self.params.get("subscription_id")
        if not value:
            raise AzureError("no Azure subscription: give the subscription_id option or set AZURE_SUBSCRIPTION_ID", "NoSubscription")
        return str(value)

    @property
    def resource_group(self) -> str:
        return str(self.params.get("resource_group") or "")

    @property
    def arm_endpoint(self) -> str:
        return str(self.params.get("arm_endpoint") or PUBLIC_ARM_ENDPOINT).rstrip("/")

    @property
    def credential_scopes(self) -> list[str]:
        return [_audience(self.arm_endpoint) + "/.default"]

    # -- credential
    @property
    def credential(self) -> Any:
        if self._credential is None:
            self._credential = self._build_credential()
        return self._credential

    def _identity_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        authority = self.params.get("authority")
        if authority:
            kwargs["authority"] = authority
            if not re.search(r"login\.(microsoftonline\.com|chinacloudapi\.cn|microsoftonline\.us)", str(authority)):
                # MSAL would ask login.microsoftonline.com about an unknown authority (ADFS, Azure Stack, a stand-in).
                kwargs["disable_instance_discovery"] = True
        if self.params.get("ca_bundle"):
            kwargs["connection_verify"] = self.params["ca_bundle"]
        return kwargs

    def _build_credential(self) -> Any:
        if not HAS_AZURE_IDENTITY:
            raise AzureError(f"azure-identity is required: {AZURE_IDENTITY_IMPORT_ERROR}", "MissingLibrary")
        get = self.params.get
        source = get("auth_source") or "auto"
        client_id, secret, tenant = get("client_id"), get("secret"), get("tenant")
        kwargs = self._identity_kwargs()
        if source == "auto" and (secret or tenant):
            if not (client_id and secret and tenant):
                raise AzureError("incomplete service principal: client_id, secret and tenant must be given together", "IncompleteCredentials")
            return azure_identity.ClientSecretCredential(tenant, client_id, secret, **kwargs)
        if source == "env":
            return azure_identity.EnvironmentCredential(**kwargs)
        if source == "msi":
            msi_kwargs = {key: value for key, value in kwargs.items() if key == "connection_verify"}
            return azure_identity.ManagedIdentityCredential(client_id=client_id or None, **msi_kwargs)
        if source == "cli":
            return azure_identity.AzureCliCredential(tenant_id=tenant or None)
        if client_id:
            kwargs["managed_identity_client_id"] = client_id
        return azure_identity.DefaultAzureCredential(exclude_interactive_browser_credential=True, **kwargs)

    # -- clients
    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of every management client (after credential and subscription)."""
        kwargs: dict[str, Any] = {
            "base_url": self.arm_endpoint,
            "credential_scopes": self.credential_scopes,
            "user_agent": f"scalarops.pitr/{COLLECTION_VERSION}",
            "retry_policy": self._retry_policy if self._retry_policy is not None else JitterRetryPolicy(),
        }
        interval = self.params.get("poll_interval")
        if interval is not None:
            kwargs["polling_interval"] = max(0.0, float(interval))
        if self.params.get("ca_bundle"):
            kwargs["connection_verify"] = self.params["ca_bundle"]
        return kwargs

    def _make(self, key: str, module_name: str, class_name: str, package: str) -> Any:
        if key not in self._clients:
            if not HAS_AZURE:
                raise AzureError(f"azure-core is required: {AZURE_IMPORT_ERROR}", "MissingLibrary")
            try:
                cls = getattr(importlib.import_module(module_name), class_name)
            except ImportError as exc:
                raise AzureError(f"the Python package {package} is required ({exc})", "MissingLibrary", exc) from None
            self._clients[key] = cls(self.credential, self.subscription_id, **self.client_kwargs())
        return self._clients[key]

    def cosmosdb(self) -> Any:
        """azure-mgmt-cosmosdb's CosmosDBManagementClient."""
        return self._make("cosmosdb", *_COSMOSDB_SDK)

    def flexible_family(self, engine: str) -> str:
        """The SDK family used for ``engine``: the ``sdk`` option, or the standalone package when importable."""
        if engine not in FLEXIBLE_SDKS["standalone"]:
            raise AzureError(f"unknown flexible-server engine {engine!r} (mysql or postgresql)", "InvalidEngine")
        choice = self.params.get("sdk") or "auto"
        if choice in FLEXIBLE_SDKS:
            return choice
        if choice != "auto":
            raise AzureError(f"unknown sdk {choice!r} (auto, rdbms or standalone)", "InvalidSdk")
        for family in ("standalone", "rdbms"):
            try:
                importlib.import_module(FLEXIBLE_SDKS[family][engine][0])
            except ImportError:
                continue
            return family
        packages = " or ".join(FLEXIBLE_SDKS[family][engine][2] for family in ("standalone", "rdbms"))
        raise AzureError(f"the Python package {packages} is required for {engine} flexible servers", "MissingLibrary")

    def flexible(self, engine: str) -> Any:
        """The management client of ``engine`` ("mysql" or "postgresql") flexible servers."""
        family = self.flexible_family(engine)
        self.flexible_families[engine] = family
        return self._make(f"{family}:{engine}", *FLEXIBLE_SDKS[family][engine])

    def mysql_flexible(self) -> Any:
        return self.flexible("mysql")

    def postgresql_flexible(self) -> Any:
        return self.flexible("postgresql")

    def close(self) -> None:
        """Close the clients and the credential (their HTTP sessions)."""
        for client in self._clients.values():
            try:
                client.close()
            except Exception:  # pylint: disable=broad-exception-caught  # closing is best effort
                pass
        self._clients.clear()
        close = getattr(self._credential, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # pylint: disable=broad-exception-caught  # closing is best effort
                pass


# --- error messages -------------------------------------------------------------------------------------------
def _one_line(text: Any) -> str:
    return re.sub(r"\s*\n\s*", "; ", str(text or "")).strip()


def azure_error_code(exc: BaseException) -> str | None:
    """Azure's error code of an HttpResponseError (e.g. "ResourceNotFound"), else None."""
    if isinstance(exc, AzureError):
        return exc.code
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    if code:
        return str(code)
    return None


def is_not_found(exc: BaseException) -> bool:
    """True for a 404 (the resource, or its parent, does not exist)."""
    return isinstance(exc, ResourceNotFoundError) or getattr(exc, "status_code", None) == 404


def _error_message(exc: BaseException) -> str:
    error = getattr(exc, "error", None)
    message = getattr(error, "message", None)
    if message:
        return _one_line(message)
    text = _one_line(getattr(exc, "message", None) or str(exc))
    # azure-core formats "(Code) Message\nCode: ...\nMessage: ..."; keep the first part only.
    return text.split("; Code:")[0]


def _provider_of(action: str) -> str | None:
    for provider in _ROLE_HINTS:
        if provider.lower() in action.lower():
            return provider
    return None


def describe_azure_error(exc: BaseException, action: str, provider: str | None = None, secrets: tuple[str, ...] = ()) -> str:
    """One line naming ``action``, Azure's error code and message, plus how to fix it where we know.

    ``provider`` ("Microsoft.DocumentDB", "Microsoft.DBforMySQL", ...) names the role needed in
    the hint of a 403; ``secrets`` are values masked if they appear (credentials are never put
    into messages by us, but an error text could quote a request).
    """
    if isinstance(exc, AzureError):
        text = exc.message
    elif isinstance(exc, ClientAuthenticationError) and getattr(exc, "status_code", None) is None:
        # azure-identity's errors (CredentialUnavailableError...) have no HTTP response: no credential worked.
        text = f"{action} failed: no usable Azure credentials: {_one_line(exc)} ({_CREDENTIALS_HOWTO})"
    elif isinstance(exc, HttpResponseError):
        status = getattr(exc, "status_code", None)
        code = azure_error_code(exc) or getattr(exc, "reason", None) or "Unknown"
        message = _error_message(exc)
        if message.startswith(f"({code})"):
            message = message[len(code) + 2:].strip()
        text = f"{action} failed: {code}: {message}" if message else f"{action} failed: {code}"
        if status is not None:
            text += f" (HTTP {status})"
        if status == 403 or code in ("AuthorizationFailed", "LinkedAuthorizationFailed", "Forbidden"):
            role = _ROLE_HINTS.get(provider or _provider_of(action) or "", "Contributor")
            text += f" (the Azure identity in use needs a role such as {role} on the resource group or resource)"
        elif status == 401 or isinstance(exc, ClientAuthenticationError) or code in _AUTHENTICATION_CODES:
            text += f" (the Azure credentials were rejected or none were found: {_CREDENTIALS_HOWTO})"
    elif isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        text = f"{action} failed: cannot reach Azure: {_one_line(exc)} (check arm_endpoint, ca_bundle, network and proxy settings)"
    else:
        text = f"{action} failed: {type(exc).__name__}: {_one_line(exc)}"
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    return text


def translate(exc: BaseException, action: str, provider: str | None = None, secrets: tuple[str, ...] = ()) -> AzureError:
    """``exc`` as an :class:`AzureError` carrying the translated message, code and HTTP status."""
    if isinstance(exc, AzureError):
        return exc
    return AzureError(describe_azure_error(exc, action, provider, secrets), azure_error_code(exc) or type(exc).__name__, exc,
                      getattr(exc, "status_code", None))
