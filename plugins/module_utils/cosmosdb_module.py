# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The cosmosdb_account_restore module's body: options, the connection, the run and its messages.

Kept out of the module file so the module stays documentation plus ``main()``, like the RDS modules.
"""

from __future__ import annotations

from typing import Any, Callable

from ansible_collections.scalarops.pitr.plugins.module_utils.azure_client import (
    AzureConnection,
    AzureCoreError,
    AzureError,
    azure_argument_spec,
    describe_azure_error,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.cosmosdb_restore import PHASES, Options, RestoreFailed, run_phase
from ansible_collections.scalarops.pitr.plugins.module_utils.cosmosdb_restore_plan import Request
from ansible_collections.scalarops.pitr.plugins.module_utils.progress_file import Progress
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_phase import phase_argument_spec, requested_point, run_module


def argument_spec(env_fallback: Any) -> dict[str, Any]:
    spec = phase_argument_spec(PHASES, source_account={"type": "str", "required": True}, target_account={"type": "str"},
                               location={"type": "str"}, databases={"type": "list", "elements": "str"})
    spec.update(azure_argument_spec(env_fallback))
    return spec


def _request(module: Any) -> Request:
    params = module.params
    point = requested_point(module)
    databases = params["databases"]
    # Cosmos DB account names are lowercase; so are the ownership tags, so "ScalarDB" and "scalardb" are one source.
    return Request(source=params["source_account"].strip().lower(), resource_group=params["resource_group"],
                   target=params["target_account"] or None, location=params["location"] or None,
                   databases=tuple(databases) if databases is not None else None, restore_point=point,
                   use_latest=params["restore_use_latest"])


def run(module: Any) -> None:
    """Run the requested phase and exit the module with its result."""
    params = module.params
    request = _request(module)
    interval = max(0.05, float(params["poll_interval"]))
    options = Options(check_mode=module.check_mode, wait=params["wait"], wait_timeout=float(params["wait_timeout"]),
                      first_delay=min(1.0, interval), max_delay=interval, progress_every=min(5.0, max(0.5, interval)),
                      require_reachable=params["require_reachable"])
    connection = AzureConnection(params)
    label = f"Cosmos DB account restore ({params['phase']})"

    def body(progress: Callable[[Progress], None]) -> dict[str, Any]:
        return run_phase(connection.cosmosdb(), request, params["phase"], options, on_progress=progress,
                         subscription_hint=f"subscription {connection.subscription_id}")

    def failure(exc: Exception) -> dict[str, Any] | None:
        if isinstance(exc, RestoreFailed):
            return {"msg": f"{label}: {exc}", "changed": exc.changed}
        if isinstance(exc, AzureError):
            return {"msg": str(exc), "changed": False}
        if isinstance(exc, AzureCoreError):
            return {"msg": describe_azure_error(exc, label, "Microsoft.DocumentDB"), "changed": False}
        return None  # not an Azure error: raised as it is

    try:
        result = run_module(module, body, failure)
    finally:
        connection.close()
    if params["phase"] in ("preflight", "prepare"):
        for warning in result["preflight"]["warnings"]:
            module.warn(warning)
    module.exit_json(**result)
