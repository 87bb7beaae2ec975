# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The flexible_server_restore module's options and run (the module file holds only its documentation)."""

from __future__ import annotations

from typing import Any, Callable

from ansible_collections.scalarops.pitr.plugins.module_utils.azure_client import (
    AzureConnection,
    AzureError,
    azure_argument_spec,
    describe_azure_error,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.azure_flexible_api import ENGINES, FlexibleApi, other_engine
from ansible_collections.scalarops.pitr.plugins.module_utils.azure_flexible_plan import Request
from ansible_collections.scalarops.pitr.plugins.module_utils.azure_flexible_restore import PHASES, Options, RestoreFailed, run_phase
from ansible_collections.scalarops.pitr.plugins.module_utils.concurrency import Deadline, WaitTimeout
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_wait import Poller
from ansible_collections.scalarops.pitr.plugins.module_utils.progress_file import Progress
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_phase import AGAIN, phase_argument_spec, requested_point, run_module


def argument_spec(env_fallback: Any) -> dict[str, Any]:
    spec = phase_argument_spec(PHASES, engine={"type": "str", "required": True, "choices": sorted(ENGINES)},
                               source_server={"type": "str", "required": True}, target_server={"type": "str"})
    spec["sdk"] = {"type": "str", "default": "auto", "choices": ["auto", "rdbms", "standalone"]}
    spec.update(azure_argument_spec(env_fallback))
    return spec


def _request(module: Any) -> Request:
    params = module.params
    point = requested_point(module, changed=False)
    # Azure server names are lowercase; so are the ownership tags, so "ScalarDB-PG" and "scalardb-pg" are one source.
    return Request(engine=ENGINES[params["engine"]], source=params["source_server"].strip().lower(),
                   target=params["target_server"] or None, restore_point=point, use_latest=params["restore_use_latest"])


def _other_api(connection: AzureConnection, request: Request) -> FlexibleApi | None:
    """The other engine's servers, to name a source given with the wrong engine; None when its SDK is missing."""
    try:
        return FlexibleApi(connection, other_engine(request.engine))
    except AzureError:
        return None


def run(module: Any) -> None:
    """Run the requested phase and exit the module with its result."""
    params = module.params
    request = _request(module)
    phase = params["phase"]
    label = f"{request.engine.label} restore ({phase})"
    interval = max(0.05, float(params["poll_interval"] or 0))
    options = Options(check_mode=module.check_mode, wait=params["wait"], require_reachable=params["require_reachable"],
                      poller=Poller(deadline=Deadline(float(params["wait_timeout"])), first_delay=min(1.0, interval), max_delay=interval))
    secrets = (params.get("secret") or "",)

    connection = AzureConnection(params)

    def body(progress: Callable[[Progress], None]) -> dict[str, Any]:
        api = FlexibleApi(connection, request.engine)
        return run_phase(api, request, phase, options, other=_other_api(connection, request), on_progress=progress)

    def failure(exc: Exception) -> dict[str, Any]:
        if isinstance(exc, (RestoreFailed, WaitTimeout)):
            # run_phase records on the exception whether anything had changed before it stopped.
            return {"msg": f"{label}: {exc}. {AGAIN}", "changed": bool(getattr(exc, "changed", True))}
        if isinstance(exc, AzureError):
            return {"msg": describe_azure_error(exc, label, secrets=secrets), "changed": False}
        # azure-core errors, translated into one line
        return {"msg": describe_azure_error(exc, label, request.engine.namespace, secrets) + f". {AGAIN}"}

    try:
        result = run_module(module, body, failure)
    finally:
        connection.close()
    module.exit_json(**result)
