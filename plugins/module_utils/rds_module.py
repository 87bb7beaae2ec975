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
from ansible_collections.scalarops.pitr.plugins.module_utils.progress_file import Progress, write_progress
from ansible_collections.scalarops.pitr.plugins.module_utils.rds_resources import KINDS
from ansible_collections.scalarops.pitr.plugins.module_utils.rds_restore import (
    PHASES,
    Options,
    PreflightFailed,
    RestoreFailed,
    run_phase,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.rds_restore_plan import Request
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import RestorePointError, parse_timestamp

SOURCE_OPTION = {"instance": "source_instance", "cluster": "source_cluster"}


def argument_spec(kind: str, env_fallback: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "phase": {"type": "str", "required": True, "choices": list(PHASES)},
        SOURCE_OPTION[kind]: {"type": "str", "required": True},
        "target": {"type": "str"},
        "restore_point": {"type": "str"},
        "restore_use_latest": {"type": "bool", "default": False},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 7200},
        "poll_interval": {"type": "float", "default": 15.0},
        "require_reachable": {"type": "bool", "default": False},
        "progress_file": {"type": "path"},
    }
    if kind == "cluster":
        spec["reader_count"] = {"type": "int"}
    spec.update(aws_argument_spec(env_fallback))
    return spec


def _request(module: Any, kind: str) -> Request:
    params = module.params
    if bool(params["restore_point"]) == bool(params["restore_use_latest"]):
        module.fail_json(msg="give exactly one of restore_point and restore_use_latest=true")
    try:
        point = parse_timestamp(params["restore_point"]) if params["restore_point"] else None
    except RestorePointError as exc:
        module.fail_json(msg=str(exc))
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

    def progress(state: Progress) -> None:
        write_progress(params["progress_file"], {**state.to_dict(), "finished": False})

    def finish(**extra: Any) -> None:
        write_progress(params["progress_file"], {"phase": params["phase"], "finished": True, **extra})

    call: Callable[..., Any] = retrying
    try:
        connection = AwsConnection(params)
        result = run_phase(connection.client("rds"), request, params["phase"], options, call=call, on_progress=progress)
    except PreflightFailed as exc:
        finish(failed=True)
        module.fail_json(msg="preflight found problems, nothing was changed: " + "; ".join(exc.plan.problems),
                         problems=exc.plan.problems, preflight=exc.plan.to_dict(), changed=False)
    except (RestoreFailed, WaitTimeout) as exc:
        finish(failed=True)
        module.fail_json(msg=f"{label}: {exc}. Running the same phase again continues from here.", changed=True)
    except AwsError as exc:
        finish(failed=True)
        module.fail_json(msg=str(exc), changed=False)
    except Exception as exc:  # pylint: disable=broad-exception-caught  # botocore errors, translated into one line
        finish(failed=True)
        module.fail_json(msg=describe_error(exc, label, "rds") + ". Running the same phase again continues from here.")
    finish(done=1, total=1)
    module.exit_json(**result)
