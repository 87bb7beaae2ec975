# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Options shared by rds_instance_restore and aurora_cluster_restore (module_utils/rds_module.py)."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = r"""
options:
  phase:
    description:
      - C(preflight) checks everything and returns the plan; nothing changes.
      - C(prepare) is the whole restore, made while the application still runs. The restore call is made once;
        a target that already exists and carries this restore's tags is continued (a run that died anywhere is
        finished by running again), one that does not is an error.
      - C(cutover) changes nothing in AWS; it returns RV(endpoint_switch), what the workloads' JDBC URLs must
        change from and to.
      - C(verify) checks the target is available and probes its endpoint, then tags it C(verified).
      - C(retire) deletes the source, only after its restore was verified, keeping a final snapshot
        (C(<source>-final-<point>)) and its automated backups. Never part of a restore unless asked for.
    type: str
    required: true
    choices: [preflight, prepare, cutover, verify, retire]
  restore_point:
    description:
      - The point in time, a timezone-aware ISO 8601 timestamp (for example the C(time) the
        C(scalarops.pitr.restore_point) module returns). It must lie inside the source's restorable window
        (from the earliest restorable time to C(LatestRestorableTime), which trails the present by up to
        about 5 minutes).
      - Exactly one of O(restore_point) and O(restore_use_latest) is required.
    type: str
  restore_use_latest:
    description:
      - Restore to the source's C(LatestRestorableTime), taken in whole seconds.
      - The point is recorded in the target's tags, and while that target is not verified a run with
        O(restore_use_latest=true) reuses it, so running again after a failure never starts a second restore.
    type: bool
    default: false
  target:
    description:
      - The identifier of the new instance or cluster. Default C(<source>-pitr-<restore point>), for example
        C(scalardb-pg-pitr-20261121093005), shortened with a hash beyond 63 characters.
    type: str
  wait:
    description:
      - Wait until the target (and, for Aurora, its instances) is available with the source's settings.
      - With V(false), C(prepare) returns once the restore was started (RV(status) V(in_progress)); running it
        again continues.
    type: bool
    default: true
  wait_timeout:
    description: Seconds the phase may wait. A timeout loses nothing; running the phase again continues.
    type: int
    default: 7200
  poll_interval:
    description: Longest pause in seconds between two status checks (checks start at 1 second and grow).
    type: float
    default: 15
  require_reachable:
    description:
      - In C(verify), fail unless the target's endpoint resolves and accepts a TCP connection from where the module
        runs. By default an unreachable endpoint (a private VPC) is only reported in RV(reachability).
    type: bool
    default: false
  progress_file:
    description:
      - A file to write the progress into (JSON), for a caller that runs this module asynchronously and shows the
        progress (the C(scalarops.pitr.rds_restore) role with C(scalarops.pitr.job_watch)).
    type: path
extends_documentation_fragment:
  - scalarops.pitr.aws
attributes:
  check_mode:
    support: full
    description: Runs the preflight and returns the plan and the steps that would run; changes nothing.
  diff_mode:
    support: none
    description: RV(steps) says what would change.
notes:
  - Copied from the source because AWS does not - VPC security groups, DB subnet group, DB (cluster) parameter group,
    option group, instance class, storage type, IOPS and throughput, Multi-AZ, port, IAM database authentication,
    deletion protection, tags, backup retention, log exports, enhanced monitoring and Performance Insights.
  - Everything this module creates carries the tags C(scalarops-pitr:managed-by), C(scalarops-pitr:source),
    C(scalarops-pitr:restore-point) and C(scalarops-pitr:state) (restoring, prepared, verified).
requirements:
  - boto3 >= 1.34
"""
