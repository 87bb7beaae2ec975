#!/usr/bin/python
# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Restore an Azure Database for MySQL / PostgreSQL flexible server to a point in time into a new server."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flexible_server_restore
short_description: Restore an Azure Database for MySQL or PostgreSQL flexible server to a point in time
version_added: 0.1.0
description:
  - Restores O(source_server) (Azure Database for MySQL or PostgreSQL flexible server, O(engine)) to a point in
    time into a new server in the same resource group and region, in phases the
    C(scalarops.pitr.azure_database_restore) role calls at the right moments; see O(phase).
  - Unlike a plain point-in-time restore, the new server also gets the source's tags, compute SKU, storage size,
    backup retention and high availability mode (set after the restore where the restore does not carry them),
    and carries ownership tags so that a run that died anywhere is continued, never restored twice.
author:
  - scalarops.pitr developers (@scalarops)
options:
  phase:
    description:
      - C(preflight) checks everything and returns the plan; nothing changes.
      - C(prepare) is the whole restore, made while the application still runs. The restore is started once;
        a target that already exists and carries this restore's tags is continued (a restore still running is
        waited for until the server is C(Ready)), one that does not carry them is an error.
      - C(cutover) changes nothing in Azure; it returns RV(endpoint_switch), what the workloads' JDBC URLs must
        change from and to.
      - C(verify) checks the target is C(Ready) and probes its endpoint, then tags it C(verified).
    type: str
    required: true
    choices: [preflight, prepare, cutover, verify]
  engine:
    description: The flexible server service of the source.
    type: str
    required: true
    choices: [mysql, postgresql]
  source_server:
    description: The name of the flexible server to restore from, in O(resource_group).
    type: str
    required: true
  target_server:
    description:
      - The name of the new server. Default C(<source>-pitr-<restore point>), for example
        C(scalardb-mysql-pitr-20261121093005), shortened with a hash beyond 63 characters.
      - 3-63 lowercase letters, digits and hyphens, not starting or ending with a hyphen; the name must be
        unused across Azure (it becomes C(<name>.mysql.database.azure.com) or C(<name>.postgres.database.azure.com)).
    type: str
  restore_point:
    description:
      - The point in time, a timezone-aware ISO 8601 timestamp (for example the C(time) the
        C(scalarops.pitr.restore_point) module returns). It must lie between the source's
        C(backup.earliestRestoreDate) and now.
      - Exactly one of O(restore_point) and O(restore_use_latest) is required.
    type: str
  restore_use_latest:
    description:
      - Restore to the latest point, taken as now minus 60 seconds in whole seconds (Azure's latest restore point
        is the present; the margin absorbs clock differences between this machine and Azure).
      - The point is recorded in the target's tags, and while that target is not verified a run with
        O(restore_use_latest=true) reuses it, so running again after a failure never starts a second restore.
    type: bool
    default: false
  wait:
    description:
      - Wait until the target is C(Ready) with the source's settings.
      - With V(false), C(prepare) returns once the restore was started (RV(status) V(in_progress)); running it
        again continues.
    type: bool
    default: true
  wait_timeout:
    description: Seconds the phase may wait. A timeout loses nothing; running the phase again continues.
    type: int
    default: 7200
  require_reachable:
    description:
      - In C(verify), fail unless the target's endpoint resolves and accepts a TCP connection from where the module
        runs. By default an unreachable endpoint (private access in a virtual network) is only reported in
        RV(reachability).
    type: bool
    default: false
  progress_file:
    description:
      - A file to write the progress into (JSON), for a caller that runs this module asynchronously and shows the
        progress (the C(scalarops.pitr.azure_database_restore) role with C(scalarops.pitr.job_watch)).
    type: path
  sdk:
    description:
      - Which Azure SDK to use.
      - V(standalone) uses C(azure-mgmt-mysqlflexibleservers) / C(azure-mgmt-postgresqlflexibleservers),
        V(rdbms) uses the flexible-server modules of C(azure-mgmt-rdbms) (older API versions, deprecated by
        Microsoft), V(auto) the standalone package when it is installed, else C(azure-mgmt-rdbms).
    type: str
    choices: [auto, rdbms, standalone]
    default: auto
extends_documentation_fragment:
  - scalarops.pitr.azure
attributes:
  check_mode:
    support: full
    description: Runs the preflight and returns the plan and the steps that would run; changes nothing.
  diff_mode:
    support: none
    description: RV(steps) says what would change.
notes:
  - The restored server has the source's administrator login and the passwords as of the restore point; it is
    created with the source's version, and with the source's network when the source uses private access
    (delegated subnet and private DNS zone).
  - Not copied - firewall rules, server parameters changed from their defaults, Microsoft Entra administrators,
    customer-managed keys, maintenance window, read replicas; check them after the restore.
  - Everything this module creates carries the tags C(scalarops-pitr:managed-by), C(scalarops-pitr:source),
    C(scalarops-pitr:restore-point) and C(scalarops-pitr:state) (restoring, prepared, verified).
  - Needs the C(Microsoft.DBforMySQL/flexibleServers/*) or C(Microsoft.DBforPostgreSQL/flexibleServers/*)
    read and write actions on the resource group (for example the Contributor role).
requirements:
  - azure-mgmt-mysqlflexibleservers >= 1.0 or azure-mgmt-rdbms >= 10.1 (MySQL)
  - azure-mgmt-postgresqlflexibleservers >= 3.0 or azure-mgmt-rdbms >= 10.1 (PostgreSQL)
"""

EXAMPLES = r"""
- name: Check that the restore can run (nothing changes)
  scalarops.pitr.flexible_server_restore:
    phase: preflight
    engine: mysql
    source_server: scalardb-mysql
    restore_point: "2026-11-21T09:30:05+00:00"
    resource_group: rg-scalardb

- name: Restore into scalardb-mysql-pitr-20261121093005 while the application runs
  scalarops.pitr.flexible_server_restore:
    phase: prepare
    engine: mysql
    source_server: scalardb-mysql
    restore_point: "2026-11-21T09:30:05+00:00"
    resource_group: rg-scalardb
  register: restored

- name: Show the new endpoint
  ansible.builtin.debug:
    msg: "{{ restored.target.fqdn }}:{{ restored.target.port }}"

- name: The JDBC URL switch for the workloads
  scalarops.pitr.flexible_server_restore:
    phase: cutover
    engine: mysql
    source_server: scalardb-mysql
    restore_point: "{{ restored.restore_point }}"
    resource_group: rg-scalardb
  register: cutover
"""

RETURN = r"""
phase:
  description: The phase that ran.
  returned: always
  type: str
  sample: prepare
status:
  description:
    - V(checked) (preflight), V(planned) (check mode), V(in_progress) (O(wait=false)), V(prepared), V(switch) (cutover)
      or V(verified).
  returned: success
  type: str
  sample: prepared
would_change:
  description: Whether the phase changed (or, in preflight and check mode, would change) anything.
  returned: success
  type: bool
engine:
  description: The engine (V(mysql) or V(postgresql)).
  returned: success
  type: str
sdk:
  description: The SDK family used, V(standalone) or V(rdbms).
  returned: success
  type: str
source:
  description: The source server's name (lowercase).
  returned: success
  type: str
restore_point:
  description: The restore point used (ISO 8601, UTC, milliseconds); with O(restore_use_latest) the resolved time.
  returned: success
  type: str
  sample: "2026-11-21T09:30:05.000+00:00"
restore_called:
  description: Whether this run started the restore; V(false) when it continued a target an earlier run started.
  returned: success
  type: bool
preflight:
  description:
    - The plan - source (name, id, state, location, version, the host names it is reached by), restorable window,
      the restore point used (C(source) is V(explicit), V(latest), or V(reused) when an unfinished earlier
      O(restore_use_latest) run's point was taken), the target (whether it exists, its state tag), the settings
      copied, and C(problems).
  returned: always
  type: dict
target:
  description:
    - The target as Azure shows it now - C(identifier), C(exists), C(status) (the server's state, for example
      C(Ready)), C(state) (our state tag), C(id), C(location), C(fqdn) and C(endpoint) (the same host name),
      C(port), C(version), C(sku), C(restore_point_in_time).
  returned: success
  type: dict
  sample: {identifier: scalardb-mysql-pitr-20261121093005, exists: true, status: Ready, state: prepared,
           fqdn: scalardb-mysql-pitr-20261121093005.mysql.database.azure.com, port: 3306}
steps:
  description: What this run did (or would do in check mode), each with the resource, whether it changed it and its seconds.
  returned: success
  type: list
  elements: dict
settings_applied:
  description: Settings (V(tags), V(sku), V(storage_gb), V(backup_retention_days), V(high_availability)) set after the
    restore because the restore did not carry them or a crash left them out.
  returned: when phase is prepare
  type: list
  elements: str
endpoint_switch:
  description:
    - The source's host names (C(from_hosts), its FQDN), the target's C(to_host) (FQDN) and C(to_port) (3306 or 5432)
      and a C(source) label, for the C(scalarops.pitr.scalar_workloads) role's C(scalar_workloads_endpoint_switch).
    - Returned by cutover, and by preflight (C(to_host) only when the target exists).
  returned: when phase is cutover or preflight
  type: dict
  sample: {from_hosts: [scalardb-mysql.mysql.database.azure.com], to_host: scalardb-mysql-pitr-20261121093005.mysql.database.azure.com,
           to_port: 3306, source: Azure Database for MySQL flexible server scalardb-mysql}
reachability:
  description: Verify only. Whether the target's endpoint resolved (C(resolved), C(addresses)) and accepted a TCP connection
    (C(reachable)), else C(error).
  returned: when phase is verify
  type: dict
problems:
  description: Every problem preflight found (the module failed, nothing was changed).
  returned: failure
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.scalarops.pitr.plugins.module_utils.azure_client import (
    AZURE_IDENTITY_IMPORT_ERROR,
    AZURE_IMPORT_ERROR,
    HAS_AZURE,
    HAS_AZURE_IDENTITY,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.azure_flexible_module import argument_spec, run


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(env_fallback), supports_check_mode=True)
    if not HAS_AZURE:
        module.fail_json(msg=missing_required_lib("azure-core"), exception=str(AZURE_IMPORT_ERROR))
    if not HAS_AZURE_IDENTITY:
        module.fail_json(msg=missing_required_lib("azure-identity"), exception=str(AZURE_IDENTITY_IMPORT_ERROR))
    run(module)


if __name__ == "__main__":
    main()
