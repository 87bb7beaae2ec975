#!/usr/bin/python
# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Restore an RDS DB instance to a point in time into a new instance carrying the source's settings."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rds_instance_restore
short_description: Restore an RDS DB instance to a point in time into a new instance with the source's settings
version_added: 0.1.0
description:
  - Restores O(source_instance) (RDS for PostgreSQL, MySQL, MariaDB, Oracle or SQL Server) to a point in time into a
    new DB instance, in phases the C(scalarops.pitr.rds_restore) role calls at the right moments; see O(phase).
  - Unlike a plain C(RestoreDBInstanceToPointInTime) (and C(amazon.aws.rds_instance)), the new instance gets the
    source's network, parameter, option group, storage, availability, authentication, protection, monitoring and
    tag settings; see the notes.
  - For an Aurora cluster use M(scalarops.pitr.aurora_cluster_restore).
author:
  - scalarops.pitr developers (@scalarops)
options:
  source_instance:
    description: The DB instance identifier to restore from.
    type: str
    required: true
extends_documentation_fragment:
  - scalarops.pitr.rds_restore
"""

EXAMPLES = r"""
- name: Check that the restore can run (nothing changes)
  scalarops.pitr.rds_instance_restore:
    phase: preflight
    source_instance: scalardb-pg
    restore_point: "2026-11-21T09:30:05+00:00"
    region: us-east-1

- name: Restore into scalardb-pg-pitr-20261121093005 while the application runs
  scalarops.pitr.rds_instance_restore:
    phase: prepare
    source_instance: scalardb-pg
    restore_point: "2026-11-21T09:30:05+00:00"
  register: restored

- name: Show the new endpoint
  ansible.builtin.debug:
    msg: "{{ restored.target.endpoint }}:{{ restored.target.port }}"
"""

RETURN = r"""
phase:
  description: The phase that ran.
  returned: always
  type: str
  sample: prepare
status:
  description:
    - V(checked) (preflight), V(planned) (check mode), V(in_progress) (O(wait=false)), V(prepared), V(switch) (cutover),
      V(verified) or V(retired).
  returned: success
  type: str
  sample: prepared
would_change:
  description: Whether the phase changed (or, in preflight and check mode, would change) anything.
  returned: success
  type: bool
restore_called:
  description: Whether this run made the restore call; V(false) when it continued a target an earlier run started.
  returned: success
  type: bool
preflight:
  description:
    - The plan - source (status, engine, the host names it is reached by), restorable window, the restore point
      used (C(source) is V(explicit), V(latest), or V(reused) when an unfinished earlier O(restore_use_latest) run's
      point was taken), the target (whether it exists, its state tag), the settings copied, the cluster's planned
      instances, and C(problems).
  returned: always
  type: dict
target:
  description: The target as AWS shows it now - identifier, exists, status, state tag, ARN, endpoint and port (clusters also
    reader_endpoint and members).
  returned: success
  type: dict
  sample: {identifier: scalardb-pg-pitr-20261121093005, exists: true, status: available, state: prepared,
           endpoint: scalardb-pg-pitr-20261121093005.abc.us-east-1.rds.amazonaws.com, port: 5432}
steps:
  description: What this run did (or would do in check mode), each with the resource, whether it changed it and its seconds.
  returned: success
  type: list
  elements: dict
settings_applied:
  description: Settings (API parameter names) applied after the restore because the restore call could not carry them or a
    crash left them out.
  returned: when phase is prepare
  type: list
  elements: str
endpoint_switch:
  description:
    - Cutover only. The host names the workloads may use for the source today (C(from_hosts)), and the target's
      C(to_host) and C(to_port), for the C(scalarops.pitr.scalar_workloads) role's C(scalar_workloads_endpoint_switch).
  returned: when phase is cutover
  type: dict
reachability:
  description: Verify only. Whether the target's endpoint resolved (C(resolved), C(addresses)) and accepted a TCP connection
    (C(reachable)), else C(error).
  returned: when phase is verify
  type: dict
final_snapshot:
  description: Retire only. The final snapshot the source is deleted with.
  returned: when phase is retire
  type: str
problems:
  description: Every problem preflight found (the module failed, nothing was changed).
  returned: failure
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import BOTO3_IMPORT_ERROR, HAS_BOTO3
from ansible_collections.scalarops.pitr.plugins.module_utils.rds_module import argument_spec, run


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec("instance", env_fallback), supports_check_mode=True)
    if not HAS_BOTO3:
        module.fail_json(msg=missing_required_lib("boto3"), exception=str(BOTO3_IMPORT_ERROR))
    run(module, "instance")


if __name__ == "__main__":
    main()
