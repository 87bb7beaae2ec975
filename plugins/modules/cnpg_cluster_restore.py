#!/usr/bin/python
# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Recover a CloudNativePG cluster from its Barman object-store backups (in-tree barmanObjectStore or the Barman Cloud plugin)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cnpg_cluster_restore
short_description: Recover a CloudNativePG cluster to a point in time from its Barman object-store backups
version_added: 0.1.0
description:
  - CloudNativePG restores by bootstrapping a new C(Cluster) (postgresql.cnpg.io/v1) from an object-store archive. This
    module builds that Cluster from the source Cluster's own spec - instances, image, storage, PostgreSQL parameters,
    resources, affinity, backup settings - with C(bootstrap.recovery) pointing at an C(externalClusters) entry for the
    archive folder O(recovery_server_name), C(recoveryTarget.targetTime) set from O(target_time), and the new cluster's own
    backup C(serverName) set to O(new_server_name).
  - The external cluster uses the source's mode - a copy of its C(spec.backup.barmanObjectStore) (in-tree), or the
    Barman Cloud plugin (C(plugin.name=barman-cloud.cloudnative-pg.io) with the C(barmancloud.cnpg.io/v1) ObjectStore).
  - The work is split in phases so that a role can stop applications in between. V(preflight) runs every check and
    returns the plan; V(remove) deletes a Cluster of the target name that is in the way (only with O(replace)); V(recover)
    creates the recovery Cluster and waits until it is healthy. Every phase checks again before it changes anything.
  - "Checks: the names, O(target_time) (with a zone, not in the future), the Cluster of the target name (absent, this
    restore's own, or in the way), PVCs left by an earlier cluster of that name, and with O(check_archive) the archive as
    seen from the control node - a base backup with status DONE that ended at or before O(target_time), its WAL segments,
    and that the new cluster's archive folder is empty (else the cluster would hang in C(Setting up primary) with
    C(Expected empty archive))."
  - Before phase V(remove) deletes a Cluster it saves its manifest in the ConfigMap C(<name>-pitr-removed). When the
    source Cluster no longer exists (it was the removed one), phase V(recover) takes the spec from there.
  - Idempotent. The created Cluster carries the annotations C(scalarops.pitr/restored-from), C(scalarops.pitr/target-time)
    and C(scalarops.pitr/managed-by); a re-run finds it and changes nothing (and waits again with O(wait)).
author:
  - scalarops.pitr developers (@scalarops)
requirements:
  - kubernetes (Python library)
  - boto3 with O(check_archive=true)
options:
  namespace:
    description: Namespace of the recovery Cluster (and of the source Cluster, its Secrets and ObjectStore).
    type: str
    required: true
  name:
    description:
      - Name of the recovery Cluster to create. The same name as O(source_cluster) replaces the source (applications keep
        using its C(<name>-rw) Service) and needs O(replace).
    type: str
    required: true
  phase:
    description:
      - V(preflight) - every check; returns the plan; changes nothing.
      - V(remove) - with O(replace), delete the Cluster of that name if it is in the way (saving its manifest first) and wait until
        it, its Pods and its PVCs are gone. Nothing to do when there is none or it is this restore's own.
      - V(recover) - create the recovery Cluster (kept if this restore's own exists) and with O(wait) wait until it is healthy.
    type: str
    required: true
    choices: [preflight, remove, recover]
  source_cluster:
    description:
      - The existing Cluster whose backups are restored and whose spec is the template (status, bootstrap, replica settings and
        metadata noise dropped). Default O(name).
    type: str
  cluster_spec:
    description:
      - A Cluster spec, for when the source Cluster no longer exists (for example from a GitOps C(cluster.yaml)); it then is the
        template.
      - "When the source Cluster exists (or phase V(remove) saved it), these fields are merged over its spec instead - mappings key
        by key, anything else replaced, a null value removes the key - so V({instances: 1}) changes only that."
      - C(bootstrap) and C(replica) are ignored; the recovery sets them.
    type: dict
  recovery_server_name:
    description:
      - The archive folder (Barman C(serverName)) to recover from.
      - Default the source's backup serverName (C(barmanObjectStore.serverName) or the plugin's C(parameters.serverName)), else
        O(source_cluster).
    type: str
  new_server_name:
    description:
      - The serverName the new cluster archives to; its folder must be empty.
      - Default the source's serverName - only usable when that folder was moved away first (then give O(recovery_server_name) the
        moved folder); else the module fails and says so.
      - V(auto) means C(<name>-<UTC YYYYMMDDHHMMSS of the run>), or, when this restore's Cluster already exists, the serverName it
        has. Pass the value a V(preflight) returned (C(new_server_name) of RV(recovery)) to later phases to keep one name.
    type: str
  move_from:
    description:
      - For a caller that moves the archive folder away (seed 004's fix, M(scalarops.pitr.s3_prefix_move)) between phase V(remove)
        and phase V(recover) - the folder moved to O(recovery_server_name), usually the one the new cluster then archives to
        (O(new_server_name)).
      - Phase V(preflight) (before the move) inspects this folder while it still holds the backups, and accepts O(new_server_name)
        equal to it (the move empties it; RV(archive) reports C(pending_move)). Phase V(recover) checks O(recovery_server_name)
        and the empty new folder as always; a folder the move did not delete is named as such.
    type: str
  target_time:
    description:
      - The point in time to recover to, ISO 8601 with a time zone (for example V(2026-11-20T10:30:00+09:00)); written as RFC 3339 UTC
        into C(bootstrap.recovery.recoveryTarget.targetTime).
      - Empty (or V(latest)) recovers to the end of the archive.
    type: str
  object_store:
    description:
      - Where the archive is, over the source's backup configuration (for example when the backups were copied elsewhere). Only the
        external cluster the recovery reads changes; the new cluster archives as the source did.
    type: dict
    suboptions:
      destination_path:
        description: In-tree - C(destinationPath), V(s3://bucket/optional/prefix).
        type: str
      endpoint_url:
        description: In-tree - C(endpointURL) of an S3-compatible store.
        type: str
      s3_credentials:
        description:
          - "In-tree - C(s3Credentials) in CloudNativePG's form, Secret references such as
            V({accessKeyId: {name: s3-creds, key: ACCESS_KEY_ID}, secretAccessKey: {name: s3-creds, key: ACCESS_SECRET_KEY}}), or
            V({inheritFromIAMRole: true})."
        type: dict
      barman_object_name:
        description: Plugin mode - the C(barmancloud.cnpg.io/v1) ObjectStore to recover through. Not together with the in-tree keys.
        type: str
  replace:
    description:
      - Allow phase V(remove) to delete a Cluster of the target name that is not this restore's - and with it its PVCs, that is its
        data - and PVCs left by an earlier cluster of that name.
    type: bool
    default: false
  check_archive:
    description:
      - Inspect the object store from the control node (S3 only) before creating anything. See the description for what is checked.
    type: bool
    default: true
  aws_access_key_id:
    description:
      - Access key for the archive check. Default the keys of the C(s3Credentials) Secret the cluster references, when readable
        (never returned or logged), else the AWS default credential chain.
    type: str
  aws_secret_access_key:
    description: Secret key that goes with O(aws_access_key_id).
    type: str
  aws_session_token:
    description: Session token for temporary credentials.
    type: str
  aws_region:
    description: Region for the archive check. Default C(AWS_REGION), C(AWS_DEFAULT_REGION), then the Secret's C(region) reference.
    type: str
  s3_endpoint_url:
    description:
      - S3 endpoint the control node uses, when the cluster's C(endpointURL) is not reachable from it (an in-cluster MinIO Service).
      - Default the object store's C(endpointURL), else AWS (or C(AWS_ENDPOINT_URL)).
    type: str
  validate_certs:
    description: Verify the S3 endpoint's TLS certificate.
    type: bool
    default: true
  wait:
    description: Phase V(recover) - wait until the Cluster is healthy (phase C(Cluster in healthy state), all instances ready).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds the whole run may take, including waiting for a removed Cluster to be gone and for the recovery to become healthy.
      - On timeout the error names the Cluster's last C(status.phase) and C(phaseReason); the Cluster is left to go on.
    type: int
    default: 1800
  poll_interval:
    description: Seconds between two looks at the Cluster while waiting.
    type: float
    default: 5
extends_documentation_fragment:
  - scalarops.pitr.k8s_auth
notes:
  - A Cluster reporting C(Expected empty archive) (in its phase, phaseReason or a Ready=False condition) fails the wait at once,
    with the two fixes - move the folder away (M(scalarops.pitr.s3_prefix_move)) or another serverName.
  - The labels of the source are kept except the operator's (C(cnpg.io/...)); its annotations are not.
  - "Permissions: get, create and delete of clusters.postgresql.cnpg.io; get of objectstores.barmancloud.cnpg.io (plugin mode);
    list of pods; list and delete of persistentvolumeclaims; get, create and update of configmaps; get of the s3Credentials Secret
    (optional); with O(check_archive) s3:ListBucket and s3:GetObject on the archive."
attributes:
  check_mode:
    support: full
    description: Every phase only plans - nothing is deleted or created; C(changed) and RV(plan) say what would be done.
  diff_mode:
    support: none
    description: No diff is reported; RV(manifest) shows the Cluster.
"""

EXAMPLES = r"""
- name: Check a restore of postgres-v17 to 09:30 under a new serverName (nothing changes)
  scalarops.pitr.cnpg_cluster_restore:
    namespace: database
    name: postgres-v17
    target_time: "2026-11-21T09:30:00+00:00"
    new_server_name: auto
    replace: true
    phase: preflight
  register: plan

- name: Delete the old cluster (its manifest is kept in the ConfigMap postgres-v17-pitr-removed)
  scalarops.pitr.cnpg_cluster_restore:
    namespace: database
    name: postgres-v17
    target_time: "2026-11-21T09:30:00+00:00"
    replace: true
    phase: remove

- name: Recover it from its archive and wait until it is healthy
  scalarops.pitr.cnpg_cluster_restore:
    namespace: database
    name: postgres-v17
    target_time: "2026-11-21T09:30:00+00:00"
    new_server_name: "{{ plan.recovery.new_server_name }}"
    phase: recover
    wait_timeout: 3600

- name: Seed 004 - recover from the folder moved to postgres-v17-backup, archiving under the old name again
  scalarops.pitr.cnpg_cluster_restore:
    namespace: database
    name: postgres-v17
    recovery_server_name: postgres-v17-backup
    s3_endpoint_url: https://gateway.storjshare.io
    phase: recover

- name: Restore next to the source, from a GitOps spec, through the Barman Cloud plugin
  scalarops.pitr.cnpg_cluster_restore:
    namespace: database
    name: postgres-restored
    source_cluster: postgres-v17
    cluster_spec: "{{ (lookup('ansible.builtin.file', 'cluster.yaml') | from_yaml).spec }}"
    object_store:
      barman_object_name: storj-store
    new_server_name: postgres-restored
    phase: recover
"""

RETURN = r"""
cluster:
  description: Namespace and name of the recovery Cluster.
  returned: always
  type: dict
  sample: {namespace: database, name: postgres-v17}
manifest:
  description:
    - The recovery Cluster - as planned, as created, or as found (this restore's own). Secrets appear only as references,
      as CloudNativePG has them. Null in phase V(remove).
  returned: always
  type: dict
  sample:
    apiVersion: postgresql.cnpg.io/v1
    kind: Cluster
    metadata: {name: postgres-v17, namespace: database, annotations: {scalarops.pitr/restored-from: postgres-v17}}
    spec:
      instances: 3
      bootstrap: {recovery: {source: postgres-v17, recoveryTarget: {targetTime: "2026-11-21T09:30:00Z"}}}
      externalClusters: [{name: postgres-v17, barmanObjectStore: {destinationPath: "s3://cloudnative-pg", serverName: postgres-v17}}]
      backup: {barmanObjectStore: {destinationPath: "s3://cloudnative-pg", serverName: postgres-v17-20261121100000}}
recovery:
  description:
    - C(server_name) the folder recovered from, C(new_server_name) the one the new cluster archives to (null when it has no backup
      configuration), C(target_time) (RFC 3339 UTC, null for the end of the archive), C(source_mode) (V(barman_object_store) or
      V(plugin)), C(backup_id) and C(backup_end_time) of the base backup the recovery starts from, and C(inspected_server_name) the
      folder the archive check read (O(move_from) before the move, else C(server_name)); nulls without O(check_archive).
  returned: always
  type: dict
  sample: {server_name: postgres-v17, new_server_name: postgres-v17-20261121100000, target_time: "2026-11-21T09:30:00Z",
           source_mode: barman_object_store, backup_id: 20261121T000003, backup_end_time: "2026-11-21T00:00:05.181329+00:00",
           inspected_server_name: postgres-v17}
archive:
  description:
    - What the archive check saw - C(bucket), C(prefix), C(base_backups) (DONE ones), C(wal_files), C(new_folder_empty),
      C(latest_wal), C(credentials) (where the S3 keys came from - V(options), V(secret) or V(default)), C(pending_move) (O(move_from)
      still holds the backups, so the move is to come). Nulls without O(check_archive).
  returned: always
  type: dict
  sample: {bucket: cloudnative-pg, prefix: "", base_backups: 7, wal_files: 1520, new_folder_empty: true,
           latest_wal: "0000000100000005000000F0", credentials: secret, pending_move: false}
removed:
  description: Whether this run deleted a Cluster (or leftover PVCs) of the target name.
  returned: always
  type: bool
created:
  description: Whether this run created the recovery Cluster.
  returned: always
  type: bool
status:
  description: The Cluster's C(phase), wanted C(instances) and C(ready_instances) when the module finished (nulls when there is none).
  returned: always
  type: dict
  sample: {phase: Cluster in healthy state, instances: 3, ready_instances: 3}
plan:
  description: What the phases do or would do - C(remove) (a Cluster or PVCs in the way) and C(create).
  returned: always
  type: dict
  sample: {remove: true, create: true}
existing:
  description:
    - What the Cluster of the target name was - V(absent), V(recovery) (this restore's own), V(other_recovery) (created by another
      restore of this collection) or V(foreign).
  returned: always
  type: str
template:
  description:
    - Where the spec came from - V(cluster) (the live source), V(saved) (the copy phase remove kept), V(cluster_spec), or
      V(recovery) (this restore's own Cluster).
  returned: always
  type: str
saved_configmap:
  description: The ConfigMap phase remove saved the deleted Cluster in.
  returned: always
  type: str
  sample: postgres-v17-pitr-removed
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import BOTO3_IMPORT_ERROR, HAS_BOTO3, AwsConnection, AwsError
from ansible_collections.scalarops.pitr.plugins.module_utils.cnpg_recovery import PHASES, CnpgRestore, CnpgRestoreError, RestoreRequest
from ansible_collections.scalarops.pitr.plugins.module_utils.k8s_client import (
    HAS_KUBERNETES,
    KUBERNETES_IMPORT_ERROR,
    KubeError,
    auth_argument_spec,
    new_api_client,
)

ARGUMENT_SPEC = dict(
    namespace=dict(type="str", required=True),
    name=dict(type="str", required=True),
    phase=dict(type="str", required=True, choices=list(PHASES)),
    source_cluster=dict(type="str"),
    cluster_spec=dict(type="dict"),
    recovery_server_name=dict(type="str"),
    new_server_name=dict(type="str"),
    target_time=dict(type="str"),
    move_from=dict(type="str"),
    object_store=dict(type="dict", options=dict(
        destination_path=dict(type="str"),
        endpoint_url=dict(type="str"),
        # Secret references (name and key), never the secret itself.
        s3_credentials=dict(type="dict", no_log=False),
        barman_object_name=dict(type="str"),
    )),
    replace=dict(type="bool", default=False),
    check_archive=dict(type="bool", default=True),
    aws_access_key_id=dict(type="str", no_log=True),
    aws_secret_access_key=dict(type="str", no_log=True),
    aws_session_token=dict(type="str", no_log=True),
    aws_region=dict(type="str", fallback=(env_fallback, ["AWS_REGION", "AWS_DEFAULT_REGION"])),
    s3_endpoint_url=dict(type="str"),
    validate_certs=dict(type="bool", default=True),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=1800),
    poll_interval=dict(type="float", default=5),
    **auth_argument_spec(env_fallback),
)


def s3_client(params: dict) -> object:
    """An S3 client for the archive check (aws_client: one attempt per call, our retries)."""
    try:
        return AwsConnection(params, pool_size=4).client("s3")
    except AwsError as exc:
        raise CnpgRestoreError(str(exc)) from None


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           required_together=[("aws_access_key_id", "aws_secret_access_key")])
    p = module.params
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=str(KUBERNETES_IMPORT_ERROR))
    if p["check_archive"] and p["phase"] != "remove" and not HAS_BOTO3:
        module.fail_json(msg=missing_required_lib("boto3") + " (or set check_archive: false)", exception=str(BOTO3_IMPORT_ERROR))
    request = RestoreRequest(
        namespace=p["namespace"], name=p["name"], phase=p["phase"], source_cluster=p["source_cluster"], cluster_spec=p["cluster_spec"],
        recovery_server_name=p["recovery_server_name"], new_server_name=p["new_server_name"], target_time=p["target_time"],
        move_from=p["move_from"],
        object_store={key: value for key, value in (p["object_store"] or {}).items() if value not in (None, "", {})} or None,
        replace=p["replace"], check_archive=p["check_archive"], wait=p["wait"], wait_timeout=p["wait_timeout"],
        poll_interval=p["poll_interval"], check_mode=module.check_mode, aws_access_key_id=p["aws_access_key_id"],
        aws_secret_access_key=p["aws_secret_access_key"], aws_session_token=p["aws_session_token"], aws_region=p["aws_region"],
        s3_endpoint_url=p["s3_endpoint_url"], validate_certs=p["validate_certs"],
    )
    try:
        api_client = new_api_client(p["kubeconfig"], p["context"])
    except KubeError as exc:
        module.fail_json(msg=str(exc), changed=False)
        return  # not reached: fail_json exits
    restore = CnpgRestore(request, api_client, s3_client)
    error: CnpgRestoreError | None = None
    try:
        result = restore.run()
    except CnpgRestoreError as exc:
        error = exc
        result = {**restore.result, "changed": exc.changed}
    # Keys read from the cluster's s3Credentials Secret are no module parameters: register them so Ansible masks
    # them wherever they could show (they are never put in the result).
    module.no_log_values.update(restore.secret_values)
    for warning in restore.warnings:
        module.warn(warning)
    if error is not None:  # outside the except block: an expected failure, not a traceback to report
        module.fail_json(msg=str(error), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
