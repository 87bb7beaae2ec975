# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""What the rds_instance_restore and aurora_cluster_restore modules share: options and the run.

The two modules differ only in the kind of source (a DB instance or an Aurora cluster, named by
``source_instance`` / ``source_cluster``) and Aurora's ``reader_count``; one body keeps them from
drifting apart.
"""

from __future__ import annotations

from typing import Any, Callable

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import (
    AwsConnection,
    AwsError,
    aws_argument_spec,
    describe_error,
    retrying,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.concurrency import Deadline, WaitTimeout
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_wait import Poller
from ansible_collections.scalarops.pitr.plugins.module_utils.progress_file import Progress
from ansible_collections.scalarops.pitr.plugins.module_utils.rds_resources import KINDS
from ansible_collections.scalarops.pitr.plugins.module_utils.rds_restore import PHASES, Options, RestoreFailed, run_phase
from ansible_collections.scalarops.pitr.plugins.module_utils.rds_restore_plan import Request
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_phase import AGAIN, phase_argument_spec, requested_point, run_module

SOURCE_OPTION = {"instance": "source_instance", "cluster": "source_cluster"}


def argument_spec(kind: str, env_fallback: Any) -> dict[str, Any]:
    spec = phase_argument_spec(PHASES, **{SOURCE_OPTION[kind]: {"type": "str", "required": True}, "target": {"type": "str"}})
    spec["poll_interval"] = {"type": "float", "default": 15.0}
    if kind == "cluster":
        spec["reader_count"] = {"type": "int"}
    spec.update(aws_argument_spec(env_fallback))
    return spec


def _request(module: Any, kind: str) -> Request:
    params = module.params
    point = requested_point(module)
    # RDS keeps identifiers in lowercase; so do the ownership tags, so "ScalarDB-PG" and "scalardb-pg" are one source.
    return Request(kind=KINDS[kind], source=params[SOURCE_OPTION[kind]].strip().lower(), target=params["target"] or None, restore_point=point,
                   use_latest=params["restore_use_latest"], reader_count=params.get("reader_count"))


def run(module: Any, kind: str) -> None:
    """Run the requested phase and exit the module with its result."""
    params = module.params
    request = _request(module, kind)
    label = f"{KINDS[kind].label} restore ({params['phase']})"
    options = Options(check_mode=module.check_mode, wait=params["wait"], require_reachable=params["require_reachable"],
                      poller=Poller(deadline=Deadline(float(params["wait_timeout"])), first_delay=min(1.0, params["poll_interval"]),
                                    max_delay=params["poll_interval"]))

    def body(progress: Callable[[Progress], None]) -> dict[str, Any]:
        connection = AwsConnection(params)
        return run_phase(connection.client("rds"), request, params["phase"], options, call=retrying, on_progress=progress)

    def failure(exc: Exception) -> dict[str, Any]:
        if isinstance(exc, (RestoreFailed, WaitTimeout)):
            return {"msg": f"{label}: {exc}. {AGAIN}", "changed": True}
        if isinstance(exc, AwsError):
            return {"msg": str(exc), "changed": False}
        # botocore errors, translated into one line
        return {"msg": describe_error(exc, label, "rds") + f". {AGAIN}"}

    module.exit_json(**run_module(module, body, failure))
