"""Unit tests of the shared Azure core: connection options, credential choice, clients, retry policy, error messages."""
from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from ansible.module_utils.basic import env_fallback
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError, ServiceRequestError
from azure.identity import (
    AzureCliCredential,
    ClientSecretCredential,
    CredentialUnavailableError,
    DefaultAzureCredential,
    EnvironmentCredential,
    ManagedIdentityCredential,
)
from azure.mgmt.core.exceptions import ARMErrorFormat

from ansible_collections.scalarops.pitr.plugins.doc_fragments.azure import ModuleDocFragment as AzureDocFragment
from ansible_collections.scalarops.pitr.plugins.module_utils.azure_client import (
    PUBLIC_ARM_ENDPOINT,
    AzureConnection,
    AzureError,
    JitterRetryPolicy,
    azure_argument_spec,
    azure_error_code,
    describe_azure_error,
    is_not_found,
    translate,
)

_ENV = ("AZURE_SUBSCRIPTION_ID", "SCALAROPS_PITR_AZURE_ARM_ENDPOINT", "AZURE_CLIENT_ID", "AZURE_SECRET", "AZURE_CLIENT_SECRET",
        "AZURE_TENANT", "AZURE_TENANT_ID", "AZURE_AUTHORITY_HOST")


class Response:
    """Just enough of an HTTP response for azure-core's HttpResponseError to parse ARM's error body."""

    def __init__(self, status: int, body: dict[str, Any], reason: str = "Error") -> None:
        self.status_code, self.reason, self._body = status, reason, body
        self.headers: dict[str, str] = {}
        self.request = None
        self.content_type = "application/json"

    def text(self, encoding: str | None = None) -> str:  # pylint: disable=unused-argument
        return json.dumps(self._body)

    def body(self) -> bytes:
        return json.dumps(self._body).encode()


def arm_error(status: int, code: str, message: str, cls: type[HttpResponseError] = HttpResponseError) -> HttpResponseError:
    return cls(response=Response(status, {"error": {"code": code, "message": message}}), error_format=ARMErrorFormat)


def validated(params: dict[str, Any]) -> dict[str, Any]:
    result = ArgumentSpecValidator(azure_argument_spec(env_fallback)).validate(params)
    assert result.error_messages == []
    return result.validated_parameters


@pytest.fixture(name="clean_env")
def clean_env_fixture(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# --- options -------------------------------------------------------------------------------------------------
def test_spec_reads_azcollection_and_azure_identity_variables(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AZURE_SUBSCRIPTION_ID", "sub-1")
    clean_env.setenv("AZURE_CLIENT_ID", "app-1")
    clean_env.setenv("AZURE_CLIENT_SECRET", "from-identity-var")
    clean_env.setenv("AZURE_TENANT_ID", "tenant-1")
    result = ArgumentSpecValidator(azure_argument_spec(env_fallback)).validate({"resource_group": "rg"})
    params = result.validated_parameters
    credentials = (params["subscription_id"], params["client_id"], params["secret"], params["tenant"])
    assert credentials == ("sub-1", "app-1", "from-identity-var", "tenant-1")
    assert (params["arm_endpoint"], params["auth_source"], params["poll_interval"]) == (PUBLIC_ARM_ENDPOINT, "auto", 15.0)
    assert "from-identity-var" in result._no_log_values  # pylint: disable=protected-access  # Ansible masks it in output


def test_spec_prefers_the_azcollection_variable_names(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AZURE_SECRET", "azcollection")
    clean_env.setenv("AZURE_CLIENT_SECRET", "identity")
    clean_env.setenv("AZURE_TENANT", "t-azcollection")
    clean_env.setenv("SCALAROPS_PITR_AZURE_ARM_ENDPOINT", "https://127.0.0.1:8443")
    params = validated({"resource_group": "rg", "subscription_id": "s"})
    assert (params["secret"], params["tenant"], params["arm_endpoint"]) == ("azcollection", "t-azcollection", "https://127.0.0.1:8443")


def test_spec_requires_a_subscription_and_a_resource_group(clean_env: pytest.MonkeyPatch) -> None:
    result = ArgumentSpecValidator(azure_argument_spec(env_fallback)).validate({})
    assert "missing required arguments: resource_group, subscription_id" in " ".join(result.error_messages)


def test_spec_marks_only_the_secret_no_log() -> None:
    spec = azure_argument_spec(env_fallback)
    assert {name for name, option in spec.items() if option.get("no_log")} == {"secret"}
    assert spec["client_id"]["no_log"] is False


def test_doc_fragment_documents_the_spec_exactly() -> None:
    fragment = yaml.safe_load(AzureDocFragment.DOCUMENTATION)["options"]
    spec = azure_argument_spec(env_fallback)
    assert set(fragment) == set(spec)
    for name, option in spec.items():
        documented = fragment[name]
        assert documented["type"] == option["type"], name
        assert documented.get("default") == option.get("default"), name
        assert documented.get("choices") == option.get("choices"), name
        assert bool(documented.get("required")) == bool(option.get("required")), name
        for variable in option.get("fallback", (None, []))[1]:
            assert f"C({variable})" in str(documented["description"]), f"{name}: {variable} undocumented"


# --- connection -------------------------------------------------------------------------------------------
def params(**changes: Any) -> dict[str, Any]:
    return {"subscription_id": "sub", "resource_group": "rg", "arm_endpoint": PUBLIC_ARM_ENDPOINT, "poll_interval": 15.0, **changes}


@pytest.mark.parametrize(("endpoint", "scope"), [
    ("https://management.azure.com/", "https://management.azure.com/.default"),
    ("https://management.chinacloudapi.cn", "https://management.chinacloudapi.cn/.default"),
    ("https://127.0.0.1:8443", "https://127.0.0.1:8443/.default"),
])
def test_token_scope_follows_the_arm_endpoint(endpoint: str, scope: str) -> None:
    assert AzureConnection(params(arm_endpoint=endpoint)).credential_scopes == [scope]


def test_client_kwargs_carry_endpoint_ca_bundle_polling_and_our_retry_policy() -> None:
    kwargs = AzureConnection(params(arm_endpoint="https://127.0.0.1:8443/", ca_bundle="/ca.pem", poll_interval=0.5)).client_kwargs()
    assert {key: kwargs[key] for key in ("base_url", "credential_scopes", "connection_verify", "polling_interval")} == {
        "base_url": "https://127.0.0.1:8443", "credential_scopes": ["https://127.0.0.1:8443/.default"], "connection_verify": "/ca.pem",
        "polling_interval": 0.5}
    assert isinstance(kwargs["retry_policy"], JitterRetryPolicy) and kwargs["user_agent"].startswith("scalarops.pitr/")
    assert "connection_verify" not in AzureConnection(params()).client_kwargs(), "no ca_bundle: requests' default (REQUESTS_CA_BUNDLE)"


def test_credential_is_a_service_principal_only_when_all_three_parts_are_given() -> None:
    credential = AzureConnection(params(client_id="app", secret="s3cr3t", tenant="tenant", authority="https://127.0.0.1:8443")).credential
    assert isinstance(credential, ClientSecretCredential)
    with pytest.raises(AzureError, match="client_id, secret and tenant must be given together") as failed:
        AzureConnection(params(client_id="app", secret="s3cr3t")).mysql_flexible()  # the credential is built with the first client
    assert "s3cr3t" not in str(failed.value)
    assert isinstance(AzureConnection(params()).credential, DefaultAzureCredential)


@pytest.mark.parametrize(("source", "cls"), [("env", EnvironmentCredential), ("msi", ManagedIdentityCredential), ("cli", AzureCliCredential)])
def test_auth_source_picks_one_credential(source: str, cls: type) -> None:
    assert isinstance(AzureConnection(params(auth_source=source, client_id="id")).credential, cls)


def test_a_given_credential_is_used_and_clients_are_cached() -> None:
    token = object()
    connection = AzureConnection(params(sdk="rdbms"), credential=token)
    assert connection.credential is token
    client = connection.mysql_flexible()
    assert connection.mysql_flexible() is client and connection.flexible_families == {"mysql": "rdbms"}
    assert type(client).__module__.startswith("azure.mgmt.rdbms.mysql_flexibleservers")


@pytest.mark.parametrize(("sdk", "engine", "module"), [
    ("auto", "mysql", "azure.mgmt.mysqlflexibleservers"),
    ("auto", "postgresql", "azure.mgmt.postgresqlflexibleservers"),
    ("rdbms", "postgresql", "azure.mgmt.rdbms.postgresql_flexibleservers"),
    ("standalone", "postgresql", "azure.mgmt.postgresqlflexibleservers"),
])
def test_flexible_client_family(sdk: str, engine: str, module: str) -> None:
    client = AzureConnection(params(sdk=sdk), credential=object()).flexible(engine)
    assert type(client).__module__.startswith(module)


def test_unknown_engine_or_sdk_is_an_azure_error() -> None:
    with pytest.raises(AzureError, match="unknown flexible-server engine 'oracle'"):
        AzureConnection(params(), credential=object()).flexible("oracle")
    with pytest.raises(AzureError, match="unknown sdk 'newest'"):
        AzureConnection(params(sdk="newest"), credential=object()).flexible("mysql")


# --- retries -----------------------------------------------------------------------------------------------
def test_retry_policy_is_full_jitter_under_the_exponential_ceiling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCALAROPS_PITR_RETRY_BASE_DELAY", "0.5")
    policy = JitterRetryPolicy(rand=lambda: 0.25)
    settings = policy.configure_retries({})
    settings["history"] = [object()] * 4  # the 4th consecutive error: ceiling 0.5 * 2**3 = 4 s
    assert policy.get_backoff_time(settings) == pytest.approx(1.0)
    assert JitterRetryPolicy(rand=lambda: 1.0, retry_backoff_factor=10).get_backoff_time({**settings, "backoff": 10, "max_backoff": 60}) == 60


def test_retry_policy_retries_patch_and_post_too() -> None:
    settings = JitterRetryPolicy().configure_retries({})
    assert {"GET", "PUT", "DELETE", "PATCH", "POST"} <= set(settings["methods"]) and settings["status"] == 10


# --- error messages ----------------------------------------------------------------------------------------
def test_http_error_names_action_code_message_and_status() -> None:
    exc = arm_error(400, "InvalidRestorePointInTime", "The restore point in time is invalid.")
    text = describe_azure_error(exc, "restore Microsoft.DBforMySQL server a -> b")
    assert text == "restore Microsoft.DBforMySQL server a -> b failed: InvalidRestorePointInTime: The restore point in time is invalid. (HTTP 400)"
    assert azure_error_code(exc) == "InvalidRestorePointInTime"


def test_forbidden_names_a_role_for_the_provider() -> None:
    exc = arm_error(403, "AuthorizationFailed", "The client 'x' does not have authorization to perform action 'write'.")
    text = describe_azure_error(exc, "create database account", provider="Microsoft.DocumentDB")
    assert "AuthorizationFailed" in text and "needs a role such as DocumentDB Account Contributor" in text
    text = describe_azure_error(exc, "restore Microsoft.DBforPostgreSQL flexible server x")
    assert "Microsoft.DBforPostgreSQL/flexibleServers/*" in text


def test_rejected_token_and_missing_credentials_say_how_to_authenticate() -> None:
    rejected = describe_azure_error(arm_error(401, "InvalidAuthenticationToken", "expired", ClientAuthenticationError), "list servers")
    assert "InvalidAuthenticationToken: expired (HTTP 401) (the Azure credentials were rejected" in rejected
    unavailable = describe_azure_error(CredentialUnavailableError("EnvironmentCredential authentication unavailable."), "list servers")
    assert unavailable.startswith("list servers failed: no usable Azure credentials: EnvironmentCredential authentication unavailable.")
    assert "AZURE_CLIENT_ID" in unavailable


def test_connection_errors_point_at_endpoint_and_ca_bundle() -> None:
    text = describe_azure_error(ServiceRequestError("SSL: CERTIFICATE_VERIFY_FAILED"), "get server")
    assert text == ("get server failed: cannot reach Azure: SSL: CERTIFICATE_VERIFY_FAILED "
                    "(check arm_endpoint, ca_bundle, network and proxy settings)")


def test_secrets_are_masked_and_azure_errors_pass_through() -> None:
    exc = arm_error(400, "BadRequest", "password 'hunter22' is too short")
    assert "hunter22" not in describe_azure_error(exc, "update", secrets=("hunter22",))
    own = AzureError("already translated", "X")
    assert describe_azure_error(own, "anything") == "already translated" and translate(own, "anything") is own


def test_translate_keeps_code_status_and_cause_and_not_found_is_recognised() -> None:
    exc = arm_error(404, "ResourceNotFound", "gone", ResourceNotFoundError)
    translated = translate(exc, "get server x")
    assert (translated.code, translated.status, translated.cause) == ("ResourceNotFound", 404, exc)
    assert is_not_found(exc) and not is_not_found(arm_error(409, "Conflict", "busy"))
