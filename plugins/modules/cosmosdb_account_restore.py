#!/usr/bin/python
# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Restore an Azure Cosmos DB for NoSQL account to a point in time into a new account with Strong consistency."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cosmosdb_account_restore
short_description: Restore a Cosmos DB for NoSQL account to a point in time into a new account with Strong consistency
version_added: 0.1.0
description:
  - Restores the Cosmos DB for NoSQL account O(source_account) (continuous backup) to a point in time into a new
    account, in phases the C(scalarops.pitr.cosmosdb_restore) role calls at the right moments; see O(phase).
  - Finds the restorable source correctly when the account name was reused (deleted and created again) - the
    incarnation that existed at the restore point is restored.
  - Sets the restored account's default consistency to C(Strong) (a restored account comes back with C(Session),
    ScalarDB needs C(Strong)) and copies the source's tags.
  - C(azure.azcollection.azure_rm_cosmosdbaccount) cannot restore at all.
author:
  - scalarops.pitr developers (@scalarops)
options:
  phase:
    description:
      - V(preflight) checks everything and returns the plan; nothing changes.
      - V(prepare) is the whole restore, made while the application still runs - the restore into the new account,
        waited for, then consistency C(Strong). The restore is started once; an account that already exists under
        the target name and carries this restore's tags is continued (a run that died anywhere is finished by
        running again), one that does not is an error.
      - V(cutover) changes nothing in Azure; it returns RV(properties) (the new document endpoint as
        C(scalar.db.contact_points)) and RV(secret_properties) (the new account's primary key as C(scalar.db.password)).
        Run it with C(no_log=true) - its result holds the key.
      - V(verify) checks the target is C(Succeeded), C(Strong) and holds the databases restored, probes its endpoint,
        then tags it C(verified).
    type: str
    required: true
    choices: [preflight, prepare, cutover, verify]
  source_account:
    description:
      - The name of the Cosmos DB account to restore from. It may no longer exist (deleted accounts with continuous
        backup stay restorable for their retention period).
    type: str
    required: true
  target_account:
    description:
      - The name of the new account. Default C(<source_account>-pitr-<restore point>), for example
        C(scalardb-pitr-20261121093005), shortened with a hash beyond 44 characters.
      - Cosmos DB account names are global across Azure; 3-44 lowercase letters, digits and hyphens.
    type: str
  location:
    description:
      - The region to create the new account in. It must be a region the source was in.
      - Default the source's region.
    type: str
  databases:
    description:
      - The databases to restore (all their containers). Default every database that existed at the restore point.
      - Each must have existed at the restore point.
    type: list
    elements: str
  restore_point:
    description:
      - The point in time, a timezone-aware ISO 8601 timestamp (for example the C(time) the
        C(scalarops.pitr.restore_point) module returns). It must lie inside the source's restorable window
        (from the later of its oldest restorable time and its creation, to its deletion or now) and not in the future.
      - Exactly one of O(restore_point) and O(restore_use_latest) is required.
    type: str
  restore_use_latest:
    description:
      - Restore to 5 minutes before now, in whole seconds (continuous backup's latest restorable time trails the
        present). Needs a source account that still exists.
      - The point is recorded in the target's tags, and while that target is not verified a run with
        O(restore_use_latest=true) reuses it, so running again after a failure never starts a second restore.
    type: bool
    default: false
  wait:
    description:
      - Wait until the restore and the consistency change are done.
      - With V(false), V(prepare) returns once the next operation was started (RV(status) V(in_progress)); running it
        again continues.
    type: bool
    default: true
  wait_timeout:
    description: Seconds the phase may wait. A timeout loses nothing; running the phase again continues.
    type: int
    default: 7200
  require_reachable:
    description:
      - In V(verify), fail unless the account's document endpoint resolves and accepts a TCP connection from where the
        module runs. By default an unreachable endpoint (a private network) is only reported in RV(reachability).
    type: bool
    default: false
  progress_file:
    description:
      - A file to write the progress into (JSON), for a caller that runs this module asynchronously and shows the
        progress (the C(scalarops.pitr.cosmosdb_restore) role with C(scalarops.pitr.job_watch)).
    type: path
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
  - Azure does not restore network settings (IP firewall rules, virtual network rules, private endpoints) nor
    stored procedures, triggers and user-defined functions. The module warns about the source's network settings;
    ScalarDB's stored procedure comes back with Schema Loader C(--repair-all) (M(scalarops.pitr.schema_repair)).
  - Everything this module creates carries the tags C(scalarops-pitr:managed-by), C(scalarops-pitr:source),
    C(scalarops-pitr:restore-point) and C(scalarops-pitr:state) (restoring, prepared, verified), plus
    C(scalarops-pitr:use-latest) for O(restore_use_latest=true), next to the source's own tags.
  - The account key is read (C(listKeys)) only in the V(cutover) phase and returned only in its
    RV(secret_properties); no other result or error message holds it.
  - Needs the role C(DocumentDB Account Contributor) (or C(Contributor)) on the resource group, and
    C(Microsoft.DocumentDB/locations/restorableDatabaseAccounts/*/read) on the subscription (C(Cosmos DB Operator)
    has it) to list restorable accounts.
requirements:
  - azure-mgmt-cosmosdb >= 9.9
"""

EXAMPLES = r"""
- name: Check that the restore can run (nothing changes)
  scalarops.pitr.cosmosdb_account_restore:
    phase: preflight
    source_account: scalardb
    restore_point: "2026-11-21T09:30:05+00:00"
    subscription_id: 00000000-0000-0000-0000-000000000000
    resource_group: rg-scalardb

- name: Restore into scalardb-pitr-20261121093005 while the application runs
  scalarops.pitr.cosmosdb_account_restore:
    phase: prepare
    source_account: scalardb
    restore_point: "2026-11-21T09:30:05+00:00"
    resource_group: rg-scalardb
  register: restored

- name: Get the properties to switch to (the result holds the account key)
  scalarops.pitr.cosmosdb_account_restore:
    phase: cutover
    source_account: scalardb
    restore_point: "2026-11-21T09:30:05+00:00"
    resource_group: rg-scalardb
  register: switch
  no_log: true

- name: Show the new endpoint (never the key)
  ansible.builtin.debug:
    msg: "{{ switch.properties['scalar.db.contact_points'] }}"
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
source:
  description: The source account name (lowercase).
  returned: success
  type: str
  sample: scalardb
restore_point:
  description:
    - The restore point used, ISO 8601 in UTC with milliseconds. With O(restore_use_latest=true) the resolved time;
      pass it as O(restore_point) to later phases.
  returned: success
  type: str
  sample: "2026-11-21T09:30:05.000+00:00"
restore_called:
  description: Whether this run started the restore; V(false) when it continued a target an earlier run started.
  returned: success
  type: bool
preflight:
  description:
    - The plan - C(source) (the incarnation restored - C(instance_id), C(id), C(creation_time), C(deletion_time),
      C(oldest_restorable_time), C(alive), C(document_endpoint) while it exists), C(candidates) (every restorable
      incarnation of the name), C(restorable_window), C(restore_point) (C(time), and C(source) - V(explicit),
      V(latest), or V(reused) when an unfinished earlier O(restore_use_latest) run's point was taken), C(location),
      C(databases) (name and containers restored), C(target) (C(identifier), C(exists), C(state), C(status)),
      C(notes), C(warnings) and C(problems).
  returned: always
  type: dict
target:
  description:
    - The target as Azure shows it now - C(identifier), C(resource_group), C(exists), and when it exists C(id),
      C(status) (provisioningState), C(state) (our tag), C(consistency), C(document_endpoint) and C(location).
  returned: success
  type: dict
  sample: {identifier: scalardb-pitr-20261121093005, resource_group: rg-scalardb, exists: true, status: Succeeded, state: prepared,
           consistency: Strong, document_endpoint: "https://scalardb-pitr-20261121093005.documents.azure.com:443/", location: westus}
steps:
  description: What this run did (or would do in check mode), each with the resource, whether it changed it and its seconds.
  returned: success
  type: list
  elements: dict
properties:
  description:
    - Cutover only. The ScalarDB properties the workloads switch to - C(scalar.db.contact_points) is the new
      account's document endpoint. Empty in check mode before the account exists.
  returned: when phase is cutover
  type: dict
  sample: {scalar.db.contact_points: "https://scalardb-pitr-20261121093005.documents.azure.com:443/"}
secret_properties:
  description:
    - Cutover only. The secret properties - C(scalar.db.password) is the new account's primary key. Run the
      cutover with C(no_log=true) and put this only into a Kubernetes Secret.
  returned: when phase is cutover
  type: dict
reachability:
  description: Verify only. Whether the document endpoint resolved (C(resolved), C(addresses)) and accepted a TCP
    connection (C(reachable)), else C(error).
  returned: when phase is verify
  type: dict
databases:
  description: Verify only. The SQL databases the restored account holds.
  returned: when phase is verify
  type: list
  elements: str
problems:
  description: Every problem preflight found (the module failed, nothing was changed).
  returned: failure
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.scalarops.pitr.plugins.module_utils.azure_client import AZURE_IMPORT_ERROR, missing_libraries
from ansible_collections.scalarops.pitr.plugins.module_utils.cosmosdb_module import argument_spec, run
from ansible_collections.scalarops.pitr.plugins.module_utils.cosmosdb_restore import COSMOSDB_IMPORT_ERROR, HAS_COSMOSDB


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(env_fallback), supports_check_mode=True)
    missing = missing_libraries() + ([] if HAS_COSMOSDB else ["azure-mgmt-cosmosdb"])
    if missing:
        module.fail_json(msg=missing_required_lib(" and ".join(missing)), exception=str(AZURE_IMPORT_ERROR or COSMOSDB_IMPORT_ERROR))
    run(module)


if __name__ == "__main__":
    main()
