#!/usr/bin/python
# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Restore the DynamoDB tables of a ScalarDB/ScalarDL deployment to one point in time."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dynamodb_restore
short_description: Restore every DynamoDB table of a ScalarDB/ScalarDL deployment to one point in time
version_added: 0.1.0
description:
  - Restores a set of DynamoDB tables - by default every table of a ScalarDB deployment (the tables
    named in C(<prefix>scalardb.metadata), the metadata and namespaces tables themselves and
    C(<prefix>coordinator.state)) - to one point in time, concurrently, in phases the
    C(scalarops.pitr.dynamodb_restore) role calls at the right moments.
  - O(mode=in_place) is the same-name procedure. C(prepare) (while the application runs) restores
    each table A to a staging table C(<A>-pitr-<point>), takes an on-demand backup
    C(<A>-restore-<point>) of it and deletes it. C(cutover) (while the application is stopped) takes
    a safety backup C(<A>-safety-<point>) of A, turns deletion protection off, deletes A and
    restores the backup as A. A is never deleted unless its restore backup is AVAILABLE and holds
    as many items as the staging table had, and its safety backup is AVAILABLE.
  - O(mode=new_prefix) restores each table under O(target_prefix) instead of O(namespace_prefix) in
    C(prepare), renames ScalarDB's secondary indexes and the prefixed keys of the metadata and
    namespaces tables to match, and leaves the source tables untouched (the rollback path). Its
    C(cutover) only checks the restored tables; the caller switches
    C(scalar.db.dynamo.namespace.prefix) (returned in RV(properties)).
  - Both modes re-apply what a restored table loses, captured from the source before anything
    changes - point-in-time recovery, Application Auto Scaling targets and policies, TTL, tags,
    stream and deletion protection. The captured settings and staging item counts are kept in a
    small journal table (O(journal_table)) so they survive the deletion of the source.
  - Every phase starts with a read-only preflight and fails with every problem found before
    anything changes. Names are derived from the table and the restore point only, and each step
    checks what already exists, so running a phase again after any failure continues where it
    stopped. O(phase=preflight) only checks and returns the plan.
author:
  - scalarops.pitr developers (@scalarops)
options:
  phase:
    description:
      - C(preflight) checks and returns the plan; C(prepare), C(cutover) and C(verify) are described above.
      - C(verify) checks that every restored table exists, came from this restore and has the source's settings
        (and, in place, that the safety backups exist and no staging table is left).
    type: str
    required: true
    choices: [preflight, prepare, cutover, verify]
  mode:
    description: How to restore; see the description.
    type: str
    choices: [in_place, new_prefix]
    default: in_place
  restore_point:
    description:
      - The point in time, a timezone-aware ISO 8601 timestamp (for example the C(time) the
        C(scalarops.pitr.restore_point) module returns).
      - Exactly one of O(restore_point) and O(restore_use_latest) is required.
    type: str
  restore_use_latest:
    description:
      - Restore to the latest moment B(every) table can be restored to (the earliest of their latest
        restorable times), so all tables share one point.
      - The point chosen is kept in the journal until C(verify) succeeds, so running the restore again after a
        failure reuses it (and the names derived from it).
    type: bool
    default: false
  namespace_prefix:
    description: The C(scalar.db.dynamo.namespace.prefix) the deployment uses now (empty for none).
    type: str
    default: ""
  target_prefix:
    description: O(mode=new_prefix) only, required there. The prefix of the restored tables; must differ from O(namespace_prefix).
    type: str
  tables:
    description:
      - Restore these tables (full DynamoDB names) instead of the whole deployment.
      - Restoring only part of a ScalarDB deployment breaks transactional consistency across the rest; use it for
        deployments whose metadata cannot be read, or on purpose.
    type: list
    elements: str
  system_namespace:
    description: ScalarDB's system namespace (C(scalar.db.system_namespace_name)), which holds the metadata table.
    type: str
    default: scalardb
  coordinator_namespace:
    description: The namespace of the Consensus Commit coordinator table.
    type: str
    default: coordinator
  concurrency:
    description:
      - How many tables are worked on at once. AWS allows 50 concurrent restores per account, shared with
        everything else that runs there.
      - The C(scalarops.pitr.dynamodb_restore) role uses a higher value for the in-place cutover, which is the
        downtime window.
    type: int
    default: 10
  journal_table:
    description: The DynamoDB table that keeps captured settings and staging item counts; created on first use.
    type: str
    default: scalarops-pitr-journal
  wait:
    description:
      - Wait until every table's steps of this phase are done.
      - With V(false), start what can start and return; tables still waiting are reported V(in_progress), and
        running the phase again continues them.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds the whole phase may take. A timeout loses nothing; running the phase again continues.
    type: int
    default: 7200
  poll_interval:
    description:
      - Longest pause in seconds between two status checks of a table or backup (checks start at 1 second and grow).
      - Each wait ends on average about half of this after AWS finished, twice per table during an in-place cutover,
        so it adds directly to the downtime; status checks are cheap.
    type: float
    default: 5
  progress_file:
    description:
      - A file to write the progress into (JSON, rewritten as tables finish and at least every O(progress_interval)
        seconds), for a caller that runs this module asynchronously and shows the progress.
    type: path
  progress_interval:
    description: Seconds between progress updates while no table finishes.
    type: float
    default: 30
extends_documentation_fragment:
  - scalarops.pitr.aws
attributes:
  check_mode:
    support: full
    description: Runs the preflight and returns the plan, with the steps each table would go through; changes nothing.
  diff_mode:
    support: none
    description: The plan in RV(tables) says what would change.
notes:
  - Restored tables keep their indexes, capacity and encryption. IAM policies and CloudWatch alarms that are not
    created by target-tracking policies are not re-created.
  - The stand-in used by this collection's tests reports exact item counts; AWS refreshes C(ItemCount) about every
    six hours, and the comparison uses the counts AWS reports for the staging table and its backup.
requirements:
  - boto3 >= 1.34
"""

EXAMPLES = r"""
- name: Check a same-name restore of the whole deployment
  scalarops.pitr.dynamodb_restore:
    phase: preflight
    restore_point: "2026-11-21T09:30:05+00:00"
    region: us-east-1

- name: Prepare (the application keeps running)
  scalarops.pitr.dynamodb_restore:
    phase: prepare
    restore_point: "{{ point.restore_point.time }}"
    namespace_prefix: prod_

- name: Cut over, once the application is stopped
  scalarops.pitr.dynamodb_restore:
    phase: cutover
    restore_point: "{{ point.restore_point.time }}"
    namespace_prefix: prod_

- name: Restore under a new prefix instead; the old tables stay
  scalarops.pitr.dynamodb_restore:
    phase: prepare
    mode: new_prefix
    restore_use_latest: true
    namespace_prefix: prod_
    target_prefix: r20261121_
    concurrency: 20
  register: restored
"""

RETURN = r"""
phase:
  description: The phase that ran.
  returned: always
  type: str
  sample: prepare
mode:
  description: The mode.
  returned: always
  type: str
  sample: in_place
restore_point:
  description: The restore point, ISO 8601 in UTC with milliseconds.
  returned: always
  type: str
  sample: "2026-11-21T09:30:05.000+00:00"
restore_point_label:
  description: The restore point as it appears in staging table and backup names.
  returned: always
  type: str
  sample: 20261121T093005Z
use_latest:
  description: Whether the point was chosen as the latest common restorable time.
  returned: always
  type: bool
properties:
  description: O(mode=new_prefix) only. The properties the workloads must get to use the restored tables.
  returned: when mode is new_prefix
  type: dict
  sample: {"scalar.db.dynamo.namespace.prefix": "r20261121_"}
tables_failed:
  description: How many tables failed in this phase.
  returned: always
  type: int
tables_in_progress:
  description: How many tables are still waiting on AWS (only with O(wait=false)).
  returned: always
  type: int
problems:
  description: O(phase=verify) - every difference found between what was expected and what is there.
  returned: when phase is not preflight
  type: list
  elements: str
tables:
  description:
    - One entry per table. In check mode and for C(preflight), the plan (names, state, restorable window,
      C(planned_steps)); otherwise the outcome.
  returned: always
  type: list
  elements: dict
  contains:
    source:
      description: The table restored.
      type: str
    target:
      description: The table holding the restore (the source's name in place).
      type: str
    status:
      description: V(ok), V(failed), V(skipped) or V(in_progress).
      type: str
    seconds:
      description: Time this table's steps took in this phase.
      type: float
    steps:
      description: Each step with its status (V(ok), V(failed), V(already done)), start time and duration.
      type: list
      elements: dict
    settings_changes:
      description: The settings re-applied to the restored table.
      type: list
      elements: str
    item_count:
      description: The item count DynamoDB reports for the restored table (or backup).
      type: int
    error:
      description: Why this table failed.
      type: str
preflight:
  description: The full preflight (tables, names, states, windows).
  returned: always
  type: dict
journal_table:
  description: The journal table used.
  returned: always
  type: str
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import (
    BOTO3_IMPORT_ERROR,
    HAS_BOTO3,
    AwsConnection,
    AwsError,
    aws_argument_spec,
    describe_error,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.concurrency import Deadline
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_restore import Options, PreflightFailed, Progress, Request, run_phase
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_wait import Poller
from ansible_collections.scalarops.pitr.plugins.module_utils.progress_file import write_progress
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import RestorePointError, parse_timestamp

ARGUMENT_SPEC: dict[str, Any] = dict(
    phase=dict(type="str", required=True, choices=["preflight", "prepare", "cutover", "verify"]),
    mode=dict(type="str", choices=["in_place", "new_prefix"], default="in_place"),
    restore_point=dict(type="str"),
    restore_use_latest=dict(type="bool", default=False),
    namespace_prefix=dict(type="str", default=""),
    target_prefix=dict(type="str"),
    tables=dict(type="list", elements="str"),
    system_namespace=dict(type="str", default="scalardb"),
    coordinator_namespace=dict(type="str", default="coordinator"),
    concurrency=dict(type="int", default=10),
    journal_table=dict(type="str", default="scalarops-pitr-journal"),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=7200),
    poll_interval=dict(type="float", default=5.0),
    progress_file=dict(type="path"),
    progress_interval=dict(type="float", default=30.0),
    **aws_argument_spec(env_fallback),
)


def _request(module: AnsibleModule) -> Request:
    p = module.params
    if bool(p["restore_point"]) == bool(p["restore_use_latest"]):
        module.fail_json(msg="give exactly one of restore_point and restore_use_latest=true")
    try:
        moment = parse_timestamp(p["restore_point"]) if p["restore_point"] else None
    except RestorePointError as exc:
        module.fail_json(msg=str(exc))
    for name, low, high in (("concurrency", 1, 50), ("wait_timeout", 1, None)):
        if p[name] < low or (high is not None and p[name] > high):
            module.fail_json(msg=f"{name} must be between {low} and {high}" if high else f"{name} must be at least {low}")
    if p["poll_interval"] <= 0 or p["progress_interval"] <= 0:
        module.fail_json(msg="poll_interval and progress_interval must be positive")
    return Request(
        mode=p["mode"], restore_point=moment, prefix=p["namespace_prefix"] or "", target_prefix=p["target_prefix"],
        tables=p["tables"], system_namespace=p["system_namespace"], coordinator_namespace=p["coordinator_namespace"],
    )


def _failure_message(result: dict[str, Any]) -> str:
    failed = [entry for entry in result["tables"] if entry.get("status") == "failed"]
    lines = [f"{entry['source']}: {entry.get('error', 'failed')}" for entry in failed]
    skipped = sum(1 for entry in result["tables"] if entry.get("status") == "skipped")
    head = f"{result['phase']}: {len(failed)} of {len(result['tables'])} tables failed"
    if skipped:
        head += f" ({skipped} not started)"
    message = head + (": " + "; ".join(lines) if lines else "")
    if result.get("problems"):
        message += ("; " if lines else ": ") + "; ".join(result["problems"])
    return message + ". Nothing was lost: fix the cause and run again to continue."


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if not HAS_BOTO3:
        module.fail_json(msg=missing_required_lib("boto3"), exception=str(BOTO3_IMPORT_ERROR))
    p = module.params
    request = _request(module)
    deadline = Deadline(float(p["wait_timeout"]) if p["wait"] else 0.0)
    options = Options(
        concurrency=p["concurrency"], journal_table=p["journal_table"], check_mode=module.check_mode, wait=p["wait"],
        poller=Poller(deadline=deadline, first_delay=min(1.0, p["poll_interval"]), max_delay=p["poll_interval"]),
        progress_interval=p["progress_interval"],
    )

    def progress(state: Progress) -> None:
        write_progress(p["progress_file"], {**state.to_dict(), "finished": False})

    try:
        connection = AwsConnection(p, pool_size=max(10, p["concurrency"] * 2))
        result = run_phase(connection.client("dynamodb"), connection.client("application-autoscaling"), request, p["phase"], options,
                           on_progress=progress)
    except PreflightFailed as exc:
        write_progress(p["progress_file"], {"phase": p["phase"], "finished": True, "failed": True})
        module.fail_json(msg="preflight found problems, nothing was changed: " + "; ".join(exc.result.problems),
                         problems=exc.result.problems, preflight=exc.result.to_dict(), changed=False)
    except AwsError as exc:
        module.fail_json(msg=str(exc), changed=False)
    except Exception as exc:  # pylint: disable=broad-exception-caught  # botocore errors of the preflight, translated
        module.fail_json(msg=describe_error(exc, f"DynamoDB restore ({p['phase']})", "dynamodb"), changed=False)
    write_progress(p["progress_file"], {"phase": p["phase"], "finished": True, "done": len(result["tables"]), "total": len(result["tables"]),
                                        "failed": result["tables_failed"]})
    if result["tables_failed"] or result.get("problems"):
        module.fail_json(msg=_failure_message(result), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
