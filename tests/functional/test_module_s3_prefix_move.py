"""The scalarops.pitr.s3_prefix_move module as a playbook calls it: the real ansible-playbook, boto3 against the
AWS stand-in (moto in this process, over HTTP), connection options set once for the ``aws`` action group.

What it returns (the plan in check mode, the counts and verification of a move, an idempotent re-run), what it
writes (the progress file), the messages of bad input, and that the AWS secret key never shows, not even with
-vvv.  The core's acceptance matrix (2,000 objects, a killed run, throttling, verification) is in
``test_s3_prefix_move.py``.
"""
from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import moto.s3.models
import pytest
import yaml

from fixtures.common import run_playbook

pytestmark = pytest.mark.standin_only

MODULE = "scalarops.pitr.s3_prefix_move"
BUCKET = "cloudnative-pg"
PART_MIN = 1024  # moto's smallest part, lowered from S3's 5 MiB so objects stored in parts stay small
RESULT_KEYS = {"changed", "bucket", "source", "target", "manifest", "state", "objects", "bytes", "copied", "copied_bytes", "multipart",
               "already_copied", "verified", "verification", "deleted", "source_remaining", "aborted_uploads", "target_extra", "retries", "plan",
               "seconds"}


def task(register: str, ignore_errors: bool = False, check_mode: bool = False, **args: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": register, MODULE: {"bucket": BUCKET, **args}, "register": register}
    if ignore_errors:
        entry["ignore_errors"] = True
    if check_mode:
        entry["check_mode"] = True
    return entry


def listing(s3: Any, prefix: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        found.update({entry["Key"]: entry["Size"] for entry in page.get("Contents", [])})
    return found


def put_parts(s3: Any, key: str, parts: list[bytes]) -> None:
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    done = [{"PartNumber": n, "ETag": s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=n, Body=part)["ETag"]}
            for n, part in enumerate(parts, start=1)]
    s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload, MultipartUpload={"Parts": done})


def test_s3_prefix_move_module_plans_moves_reruns_and_refuses_bad_input(
    aws_inproc: Callable[..., Any], tool_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", PART_MIN)
    aws = aws_inproc()
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for n in range(60):
        s3.put_object(Bucket=BUCKET, Key=f"postgres-v17/wals/00000001000000000000{n:04X}", Body=os.urandom(n * 7))
    for n in range(2):
        put_parts(s3, f"postgres-v17/base/data.tar.{n}", [os.urandom(PART_MIN * 2), os.urandom(PART_MIN + n)])
    big = os.urandom(9 * 1024)
    s3.put_object(Bucket=BUCKET, Key="postgres-v17/base/backup.info", Body=big)
    s3.put_object(Bucket=BUCKET, Key="someone-else/x", Body=b"not ours")
    source = listing(s3, "postgres-v17/")

    secret = f"pitrSecret{uuid.uuid4().hex}"
    env = {**aws.target.env_for(tool_env), "AWS_SECRET_ACCESS_KEY": secret, "SCALAROPS_PITR_RETRY_BASE_DELAY": "0.01"}
    progress = str(tmp_path / "progress.json")
    move = {"source_prefix": "postgres-v17", "target_prefix": "postgres-v17-backup/"}
    bad: dict[str, tuple[dict[str, Any], str]] = {
        "missing": ({"source_prefix": "postgres-v16", "target_prefix": "fresh"},
                    "nothing under s3://cloudnative-pg/postgres-v16/: the source folder is missing or empty"),
        "not_ours": ({"source_prefix": "postgres-v17", "target_prefix": "someone-else"},
                     "already holds 1 object(s) (e.g. 'someone-else/x') and is not a move of ours"),
        "overlap": ({"source_prefix": "postgres-v17", "target_prefix": "postgres-v17/old"}, "is inside source_prefix"),
        "url": ({"source_prefix": "s3://cloudnative-pg/postgres-v17", "target_prefix": "x"}, "is a URL: give the bucket as 'bucket'"),
        "small_parts": ({**move, "part_size": "1MB"}, "part_size must be at least 5 MiB"),
    }
    names = ["plan", "moved", "progress", "again", *bad]
    dump = {"ansible.builtin.copy": {"dest": str(tmp_path / "results.json"),
                                     "content": "{{ {" + ", ".join(f"'{name}': {name}" for name in names) + "} | to_json }}"}}
    play = [{
        "hosts": "localhost", "gather_facts": False,
        # Connection options once, for the whole aws action group (meta/runtime.yml).
        "module_defaults": {"group/scalarops.pitr.aws": {"endpoint_url": aws.url, "region": aws.region}},
        "tasks": [
            task("plan", check_mode=True, delete_source=True, multipart_threshold="8KB", **move),
            # the secret given as an option too (not only through the environment): no_log either way
            task("moved", delete_source=True, multipart_threshold="8KB", progress_file=progress, concurrency=8,
                 secret_key="{{ lookup('ansible.builtin.env', 'AWS_SECRET_ACCESS_KEY') }}", **move),
            {"ansible.builtin.slurp": {"src": progress}, "register": "progress"},
            task("again", delete_source=True, multipart_threshold="8KB", **move),
            *[task(name, ignore_errors=True, **args) for name, (args, _message) in bad.items()],
            dump,
        ],
    }]
    proc = run_playbook(yaml.safe_dump(play, sort_keys=False), tmp_path, env, verbosity=3)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))

    plan = results["plan"]
    assert RESULT_KEYS <= set(plan) and (plan["changed"], plan["state"], plan["copied"], plan["verified"]) == (True, None, 0, 0)
    assert plan["plan"] == {"to_copy": 63, "to_copy_bytes": sum(source.values()), "to_skip": 0, "to_check": 0, "multipart": 3,
                            "stale_uploads": 0, "to_delete": 63}

    moved = results["moved"]
    assert (moved["changed"], moved["state"]) == (True, "source_deleted")
    assert (moved["source"], moved["target"]) == ("postgres-v17/", "postgres-v17-backup/")
    assert (moved["objects"], moved["bytes"], moved["copied"], moved["multipart"]) == (63, sum(source.values()), 63, 3)
    assert (moved["verified"], moved["deleted"], moved["source_remaining"]) == (63, 63, 0)
    assert moved["verification"] == {"etag": 62, "checksum": 1, "content": 0, "size": 0}
    assert moved["manifest"] == "postgres-v17-backup/.scalarops-pitr-move.json"
    written = json.loads(base64.b64decode(results["progress"]["content"]))
    assert written == {"phase": "move", "finished": True, "done": 63, "total": 63, "unit": "objects"}

    again = results["again"]
    assert (again["changed"], again["copied"], again["deleted"], again["objects"]) == (False, 0, 0, 63)

    for name, (_args, message) in bad.items():
        result = results[name]
        assert result["failed"] and message in result["msg"] and result["changed"] is False, (name, result["msg"])

    assert listing(s3, "postgres-v17/") == {}
    moved_keys = listing(s3, "postgres-v17-backup/")
    assert moved_keys.pop(moved["manifest"]) > 0
    assert moved_keys == {key.replace("postgres-v17/", "postgres-v17-backup/", 1): size for key, size in source.items()}
    assert s3.get_object(Bucket=BUCKET, Key="postgres-v17-backup/base/backup.info")["Body"].read() == big
    assert listing(s3, "someone-else/") == {"someone-else/x": 8} and listing(s3, "fresh/") == {}

    assert secret not in output, "the AWS secret key appeared in ansible's output"
    assert secret not in (tmp_path / "results.json").read_text(encoding="utf-8")
