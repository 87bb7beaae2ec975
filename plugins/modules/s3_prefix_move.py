#!/usr/bin/python
# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Move an S3 folder (every object under a prefix) to another prefix of the bucket: copy, verify, optionally delete the source."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: s3_prefix_move
short_description: Move an S3 folder to another folder of the bucket, verified and resumable
version_added: 0.1.0
description:
  - Copies every object under O(source_prefix) of O(bucket) to the same key under O(target_prefix), server-side,
    verifies every copy, and with O(delete_source=true) deletes the source objects only after every copy was verified.
  - Made for CloudNativePG restores - moving a cluster's backup folder (C(<destinationPath>/<serverName>/)) away so
    that a cluster recovered under the old name finds an empty WAL archive ("Expected empty archive") - and works
    for any folder. Works with AWS S3 and S3-compatible stores (MinIO, Storj, Ceph...) through O(endpoint_url).
  - The target must not exist, unless it is a move of ours from this source that a failed or killed run left
    behind; then the move continues. The first object written is the manifest
    C(<target_prefix>.scalarops-pitr-move.json) (source, target, started, state); objects already copied and verified
    are skipped, multipart uploads left behind are aborted.
  - A missing or empty source folder, a target that is not ours, overlapping folders or keys too long for S3 fail
    before anything changes.
  - Idempotent. A second run finds every object copied and changes nothing; after a move that deleted the source it
    reports the move and changes nothing.
author:
  - scalarops.pitr developers (@scalarops)
options:
  bucket:
    description: The bucket holding both folders.
    type: str
    required: true
  source_prefix:
    description:
      - The folder to move, for example V(postgres-v17) (the CloudNativePG serverName folder), or V(backups/postgres-v17).
      - A trailing C(/) is added and leading ones removed, so V(postgres-v17) never matches V(postgres-v17-backup/).
    type: str
    required: true
  target_prefix:
    description:
      - The folder to move to, for example V(postgres-v17-backup). Normalised like O(source_prefix).
      - Must not contain the source folder nor be inside it.
    type: str
    required: true
  delete_source:
    description:
      - Delete the source objects after every object was copied and verified.
      - Only objects still as they were listed are deleted; objects written to the source during the move are left
        (counted in RV(source_remaining)), and a second run moves them.
      - On a versioned bucket deleting leaves delete markers; older versions stay.
    type: bool
    default: false
  concurrency:
    description: How many objects, and how many parts of multipart copies, are copied at a time.
    type: int
    default: 16
  multipart_threshold:
    description:
      - Objects stored in one part and larger than this are copied in parts of O(part_size) instead of with one
        CopyObject. At most 5 GiB (CopyObject's limit), the default; a lower value copies big objects in parallel parts
        but verifies them less strongly (see the notes).
      - A number of bytes or a size such as V(512MB) (units of 1024).
    type: bytes
    default: 5GB
  part_size:
    description:
      - Part size of multipart copies of objects stored in one part, between 5 MiB and 5 GiB; grown so that no object
        needs more than 10,000 parts. Objects the source stored in parts keep their part sizes (O(preserve_etags)).
    type: bytes
    default: 64MB
  preserve_etags:
    description:
      - Copy an object the source stored in parts (an ETag ending in C(-N), for example every WAL file Barman uploaded
        with boto3) part for part with the same part sizes, so that the copy's ETag equals the source's and proves
        equal content. This costs a HeadObject and a multipart upload per such object.
      - V(false) copies them like any other object (one CopyObject up to O(multipart_threshold)); they are then
        verified by checksums where the store reports them, else by size (see the notes).
    type: bool
    default: true
  verify:
    description:
      - V(metadata) compares what the store reports (sizes, ETags, checksums) and reads no data.
      - V(content) also reads back, from source and copy, every object that the store's metadata cannot prove equal
        (see the notes) and compares their SHA-256. This downloads twice their size.
    type: str
    choices: [metadata, content]
    default: metadata
  progress_file:
    description:
      - A JSON file the module keeps up to date with its phase (plan, check, copy, verify, delete) and how many
        objects are done, for M(scalarops.pitr.job_watch) when the task runs asynchronously.
    type: path
extends_documentation_fragment:
  - scalarops.pitr.aws
notes:
  - "What is verified, per object, the strongest that applies (RV(verification) counts them): V(etag) - equal size and
    ETag (an S3 ETag is the MD5 of the content, or the MD5 of the parts' MD5s, so copies made with the same layout have
    equal ETags exactly when their contents are equal); V(checksum) - where ETags cannot be compared (SSE-KMS or SSE-C
    objects, objects stored in one part but copied in parts, objects stored in parts but copied whole), equal
    full-object checksums (SHA-256, SHA-1, CRC64NVME, CRC32C or CRC32) when the store reports one for both; V(content)
    - with O(verify=content), the SHA-256 of both objects read back; V(size) - otherwise equal size, plus the checks
    made while copying: every copy and part copy pinned to the listed source version (C(x-amz-copy-source-if-match)),
    the parts covering the object exactly, the completed object's ETag equal to the one its parts make, and the
    metadata C(scalarops-pitr-source-etag) naming the source's ETag."
  - Afterwards the target is listed again - every source object must have its copy with the size and the ETag the
    copy made - and the counts must agree. Nothing is deleted unless all of that holds.
  - Copies keep content headers, user metadata, tags and the storage class; they get the bucket's default encryption
    and the bucket owner's default ACL. Copies made as multipart uploads or with a replaced ETag carry the extra user
    metadata C(scalarops-pitr-source-etag). Objects in GLACIER or DEEP_ARCHIVE must be restored first; SSE-C objects
    are not supported.
  - Run one move of a folder at a time; a second concurrent run would abort the first one's multipart uploads.
  - After a move that deleted the source, a run finding objects in the source again (for example a new cluster
    archiving under the old name) fails rather than mixing them into the same target.
  - "IAM permissions: s3:ListBucket, s3:GetObject, s3:PutObject, s3:GetObjectTagging, s3:PutObjectTagging,
    s3:ListBucketMultipartUploads, s3:AbortMultipartUpload, and with O(delete_source) s3:DeleteObject."
  - Supports check mode - the plan (objects and bytes to copy, to skip, to delete) without any change.
attributes:
  check_mode:
    support: full
    description: Reports the plan in RV(plan) and whether the move would change anything; nothing is written.
  diff_mode:
    support: none
    description: No diff is reported.
"""

EXAMPLES = r"""
- name: Move the CloudNativePG backup folder away, deleting it once the copy is verified
  scalarops.pitr.s3_prefix_move:
    bucket: cloudnative-pg
    source_prefix: postgres-v17
    target_prefix: postgres-v17-backup
    delete_source: true
    endpoint_url: https://gateway.storjshare.io
    region: us-east-1
  register: moved

- name: Show what was moved
  ansible.builtin.debug:
    msg: "{{ moved.objects }} objects ({{ moved.bytes | human_readable }}), {{ moved.copied }} copied now, {{ moved.deleted }} deleted"

- name: The plan only
  scalarops.pitr.s3_prefix_move:
    bucket: cloudnative-pg
    source_prefix: postgres-v17
    target_prefix: postgres-v17-backup
  check_mode: true
  register: plan

- name: Move a large folder in the background and show its progress
  scalarops.pitr.s3_prefix_move:
    bucket: backups
    source_prefix: pg/cluster-a
    target_prefix: pg/cluster-a-2026-11-21
    concurrency: 32
    progress_file: /tmp/s3-move.json
  async: 7200
  poll: 0
  register: move_job

- name: Wait for it
  scalarops.pitr.job_watch:
    jid: "{{ move_job.ansible_job_id }}"
    progress_file: /tmp/s3-move.json
    label: s3 move
"""

RETURN = r"""
bucket:
  description: The bucket.
  returned: success
  type: str
  sample: cloudnative-pg
source:
  description: The source folder, normalised.
  returned: success
  type: str
  sample: postgres-v17/
target:
  description: The target folder, normalised.
  returned: success
  type: str
  sample: postgres-v17-backup/
manifest:
  description: The key of the manifest that marks the target as this move's.
  returned: success
  type: str
  sample: postgres-v17-backup/.scalarops-pitr-move.json
state:
  description:
    - The manifest's state after the run - V(copying), V(verified) (every object copied and verified),
      V(source_deleted); null in check mode before the first run.
  returned: success
  type: str
  sample: source_deleted
objects:
  description: Objects in the source folder (after a move that deleted it - the objects it moved).
  returned: success
  type: int
  sample: 2000
bytes:
  description: Their total size in bytes.
  returned: success
  type: int
copied:
  description: Objects this run copied.
  returned: success
  type: int
copied_bytes:
  description: Bytes this run copied.
  returned: success
  type: int
multipart:
  description: Of the objects copied, how many as multipart uploads.
  returned: success
  type: int
already_copied:
  description:
    - Objects found already copied (by an earlier run) and verified, so not copied again.
    - (Named so because Ansible reserves C(skipped) in results.)
  returned: success
  type: int
verified:
  description: Objects verified - every source object, when the run succeeds (0 in check mode).
  returned: success
  type: int
verification:
  description: How many objects each method verified - V(etag), V(checksum), V(content), V(size) (see the notes).
  returned: success
  type: dict
  sample: {etag: 1990, checksum: 10, content: 0, size: 0}
deleted:
  description: Source objects this run deleted.
  returned: success
  type: int
source_remaining:
  description: Objects left in the source after deleting (written there during the move); null without O(delete_source).
  returned: success
  type: int
aborted_uploads:
  description: Multipart uploads under the target that an interrupted run left and this run aborted.
  returned: success
  type: int
target_extra:
  description: Objects in the target that no source object maps to (the source lost them since an earlier run).
  returned: success
  type: int
retries:
  description: Calls retried after throttling (SlowDown, 503) or a transient error.
  returned: always
  type: int
plan:
  description: What the run found to do - C(to_copy), C(to_copy_bytes), C(to_skip), C(multipart), C(stale_uploads), C(to_delete).
  returned: success
  type: dict
  sample: {to_copy: 2000, to_copy_bytes: 52428800, to_skip: 0, to_check: 0, multipart: 12, stale_uploads: 0, to_delete: 0}
seconds:
  description: How long the run took.
  returned: success
  type: float
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import (
    BOTO3_IMPORT_ERROR,
    HAS_BOTO3,
    AwsConnection,
    AwsError,
    aws_argument_spec,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.progress_file import Progress, write_progress
from ansible_collections.scalarops.pitr.plugins.module_utils.s3_prefix_move import (
    MIN_PART_SIZE,
    VERIFY_CHOICES,
    MoveError,
    MoveRequest,
    move_prefix,
)

RESUME = "Running the module again resumes: objects already copied and verified are skipped."


def argument_spec() -> dict:
    spec = {
        "bucket": {"type": "str", "required": True},
        "source_prefix": {"type": "str", "required": True},
        "target_prefix": {"type": "str", "required": True},
        "delete_source": {"type": "bool", "default": False},
        "concurrency": {"type": "int", "default": 16},
        "multipart_threshold": {"type": "bytes", "default": "5GB"},
        "part_size": {"type": "bytes", "default": "64MB"},
        "preserve_etags": {"type": "bool", "default": True},
        "verify": {"type": "str", "choices": list(VERIFY_CHOICES), "default": "metadata"},
        "progress_file": {"type": "path"},
    }
    spec.update(aws_argument_spec(env_fallback))
    return spec


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_BOTO3:
        module.fail_json(msg=missing_required_lib("boto3"), exception=str(BOTO3_IMPORT_ERROR))
    params = module.params
    path = params["progress_file"]
    if params["part_size"] < MIN_PART_SIZE:
        module.fail_json(msg=f"part_size must be at least 5 MiB ({MIN_PART_SIZE} bytes; S3's smallest part), got {params['part_size']}")
    request = MoveRequest(bucket=params["bucket"], source_prefix=params["source_prefix"], target_prefix=params["target_prefix"],
                          delete_source=params["delete_source"], concurrency=params["concurrency"],
                          multipart_threshold=params["multipart_threshold"], part_size=params["part_size"],
                          preserve_etags=params["preserve_etags"], verify=params["verify"], check_mode=module.check_mode)

    def progress(state: Progress) -> None:
        write_progress(path, {**state.to_dict(), "finished": False})

    def fail(msg: str, changed: bool, **extra: object) -> None:
        write_progress(path, {"phase": "move", "finished": True, "failed": True})
        module.fail_json(msg=msg, changed=changed, **extra)

    result: dict = {}
    try:
        # Workers of the object pool and of the parts pool each hold a connection.
        client = AwsConnection(params, pool_size=2 * params["concurrency"] + 4).client("s3")
        result = move_prefix(client, request, on_progress=progress)
    except MoveError as exc:
        fail(f"{exc} {RESUME}" if exc.changed else str(exc), exc.changed, **exc.details)
    except AwsError as exc:  # the session or client could not be built
        fail(str(exc), False)
    write_progress(path, {"phase": "move", "finished": True, "done": result["objects"], "total": result["objects"], "unit": "objects"})
    if result.get("source_remaining"):
        module.warn(f"{result['source_remaining']} object(s) were written to the source during the move and were left there; "
                    "run the module again to move them")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
