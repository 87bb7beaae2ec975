# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Documentation of the Azure connection options (module_utils/azure_client.azure_argument_spec)."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = r"""
options:
  subscription_id:
    description:
      - The Azure subscription that holds the resources.
      - Default C(AZURE_SUBSCRIPTION_ID).
    type: str
    required: true
  resource_group:
    description: The resource group of the source and of the restored resource.
    type: str
    required: true
  arm_endpoint:
    description:
      - Base URL of Azure Resource Manager.
      - Change it for a national cloud (for example C(https://management.chinacloudapi.cn)),
        Azure Stack, or a local stand-in used by tests and demos.
      - The token is requested for this endpoint's audience (C(<arm_endpoint>/.default)).
      - Default C(SCALAROPS_PITR_AZURE_ARM_ENDPOINT), then C(https://management.azure.com).
    type: str
    default: https://management.azure.com
  ca_bundle:
    description:
      - CA bundle (PEM) to verify the TLS certificates of O(arm_endpoint) and of O(authority).
      - Default the bundle of C(REQUESTS_CA_BUNDLE), else the system's.
    type: path
  auth_source:
    description:
      - Where the credential comes from.
      - V(auto) uses a service principal when O(client_id), O(secret) and O(tenant) are given,
        else azure-identity's C(DefaultAzureCredential) (environment variables, workload identity,
        managed identity, Azure CLI, Azure Developer CLI, Azure PowerShell; never an interactive browser).
      - V(env) uses only the C(AZURE_CLIENT_ID)/C(AZURE_CLIENT_SECRET)/C(AZURE_TENANT_ID) (or certificate) variables.
      - V(msi) uses only the managed identity (user-assigned when O(client_id) is given).
      - V(cli) uses only the account logged in with C(az login).
    type: str
    choices: [auto, env, msi, cli]
    default: auto
  client_id:
    description:
      - Application (client) ID of a service principal, used with O(secret) and O(tenant).
      - With O(auth_source=msi) or O(auth_source=auto) without a secret, the client ID of a
        user-assigned managed identity.
      - Default C(AZURE_CLIENT_ID).
    type: str
  secret:
    description: Client secret of the service principal. Default C(AZURE_SECRET), then C(AZURE_CLIENT_SECRET).
    type: str
  tenant:
    description: Directory (tenant) ID of the service principal. Default C(AZURE_TENANT), then C(AZURE_TENANT_ID).
    type: str
  authority:
    description:
      - Microsoft Entra authority host to get tokens from, for example C(login.chinacloudapi.cn).
      - Default C(AZURE_AUTHORITY_HOST), then the public cloud's C(login.microsoftonline.com).
    type: str
  poll_interval:
    description:
      - Seconds between two polls of a long-running Azure operation, unless Azure sends
        C(Retry-After), which wins.
    type: float
    default: 15.0
requirements:
  - azure-core >= 1.30
  - azure-mgmt-core >= 1.4
  - azure-identity >= 1.15
notes:
  - Transient failures (connection errors, HTTP 408, 429, 500, 502, 503, 504, or any answer with
    C(Retry-After)) are retried by azure-core's retry policy with full-jitter exponential
    backoff (up to 10 retries, first delay up to 0.8 seconds, doubling, at most 60 seconds;
    C(Retry-After) is honoured). The environment variable C(SCALAROPS_PITR_RETRY_BASE_DELAY)
    (seconds) changes the first delay.
  - Credentials are never returned or logged.
"""
