#!/usr/bin/python
# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Restore an Aurora DB cluster to a point in time into a new cluster with a writer, readers and the source's settings."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aurora_cluster_restore
short_description: Restore an Aurora cluster to a point in time into a new cluster with its writer, readers and settings
version_added: 0.1.0
description:
  - Restores the Aurora MySQL or Aurora PostgreSQL cluster O(source_cluster) to a point in time into a new cluster,
    in phases the C(scalarops.pitr.rds_restore) role calls at the right moments; see O(phase).
  - AWS restores a cluster without instances. C(prepare) creates the writer C(<target>-1) and the readers
    C(<target>-2...), each copying the instance class, parameter group, availability zone, monitoring, Performance
    Insights and tags of the source's writer or reader in the same position (the writer's when the source has fewer
    readers than asked for).
  - The cluster gets the source's network, cluster parameter group, port, authentication, protection, backup, log
    export, Serverless v2 scaling and tag settings, which a plain C(RestoreDBClusterToPointInTime) (and
    C(amazon.aws.rds_cluster)) leaves at their defaults.
  - For an RDS DB instance use M(scalarops.pitr.rds_instance_restore). Multi-AZ DB clusters (non-Aurora) are refused.
author:
  - scalarops.pitr developers (@scalarops)
options:
  source_cluster:
    description: The Aurora DB cluster identifier to restore from.
    type: str
    required: true
  reader_count:
    description:
      - How many readers the restored cluster gets (0 for a writer only). Default - as many as the source has.
    type: int
extends_documentation_fragment:
  - scalarops.pitr.rds_restore
"""

EXAMPLES = r"""
- name: Check that the restore can run (nothing changes)
  scalarops.pitr.aurora_cluster_restore:
    phase: preflight
    source_cluster: scalardb-aurora
    restore_point: "2026-11-21T09:30:05+00:00"
    region: us-east-1

- name: Restore into scalardb-aurora-pitr-20261121093005 with a writer and one reader while the application runs
  scalarops.pitr.aurora_cluster_restore:
    phase: prepare
    source_cluster: scalardb-aurora
    reader_count: 1
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
    module = AnsibleModule(argument_spec=argument_spec("cluster", env_fallback), supports_check_mode=True)
    if not HAS_BOTO3:
        module.fail_json(msg=missing_required_lib("boto3"), exception=str(BOTO3_IMPORT_ERROR))
    run(module, "cluster")


if __name__ == "__main__":
    main()
