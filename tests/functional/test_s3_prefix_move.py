"""scalarops.pitr's S3 folder move (module_utils/s3_prefix_move) against the AWS stand-in: moto in this process,
over real HTTP, through the same boto3 client the module builds (AwsConnection: no botocore retries, ours only).

The issue's acceptance: a folder of 2,000 objects, some copied as multipart uploads, moves with every object
verified (read back through a separate client: same keys, sizes and bodies), the source deleted only after the
verification; a run killed midway resumes without copying any object twice.  Also: the target of someone else,
a missing source or bucket, check mode, throttling (503 SlowDown answered by the HTTP layer botocore parses),
idempotent re-runs, sources written after a move, and what ``verify=content`` adds.

moto does not count S3 calls (its S3 bypasses the hook the stand-in counts with), so the tests wrap the client
(:class:`Recorder`) to count and to fail calls; faults that must look like S3's own answers are injected as HTTP
responses through botocore's ``before-send`` event, so botocore parses them like real ones.
"""
from __future__ import annotations

import json
import os
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import moto.backends
import moto.s3.models
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from moto.core import DEFAULT_ACCOUNT_ID

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import AwsConnection
from ansible_collections.scalarops.pitr.plugins.module_utils.progress_file import Progress
from ansible_collections.scalarops.pitr.plugins.module_utils.s3_prefix_move import (
    MANIFEST_NAME,
    MARKER_METADATA,
    MoveError,
    MoveRequest,
    move_prefix,
)
from standins.aws.env import DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY

pytestmark = pytest.mark.standin_only

BUCKET = "cloudnative-pg"
PART_MIN = 1024  # moto's smallest part, lowered from S3's 5 MiB so multipart objects stay small
THRESHOLD = 8 * 1024  # objects stored in one part above this are copied in parts...
PART_SIZE = 3 * 1024  # ...of this size


class Killed(BaseException):
    """The process died: nothing after it runs (not even the cleanup of an Exception handler)."""


class Recorder:
    """A boto3 S3 client that records each call that succeeded (operation, Key) and can fail calls on demand.

    ``fail(operation, kwargs, nth)`` may return an exception to raise instead of making the nth call of
    ``operation``.
    """

    def __init__(self, client: Any, fail: Callable[[str, dict[str, Any], int], BaseException | None] | None = None) -> None:
        self._client = client
        self._fail = fail
        self._lock = threading.Lock()
        self.attempts: Counter[str] = Counter()
        self.done: list[tuple[str, str | None]] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name.startswith("_") or not callable(attr):
            return attr

        def call(**kwargs: Any) -> Any:
            with self._lock:
                self.attempts[name] += 1
                nth = self.attempts[name]
            error = self._fail(name, kwargs, nth) if self._fail else None
            if error is not None:
                raise error
            result = attr(**kwargs)
            with self._lock:
                self.done.append((name, kwargs.get("Key")))
            return result

        return call

    def keys(self, *operations: str) -> list[str | None]:
        return [key for name, key in self.done if name in operations]

    def index(self, operation: str, last: bool = False) -> int:
        found = [i for i, (name, _key) in enumerate(self.done) if name == operation]
        return found[-1] if last else found[0]


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        yield self.body


def slow_down(every: int, operations: tuple[str, ...]) -> tuple[Callable[..., AWSResponse | None], Counter[str]]:
    """A before-send handler answering every ``every``-th request of ``operations`` with S3's 503 SlowDown."""
    seen: Counter[str] = Counter()
    answered: Counter[str] = Counter()
    lock = threading.Lock()

    def handler(request: Any, event_name: str, **_kwargs: Any) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]
        if operation not in operations:
            return None
        with lock:
            seen[operation] += 1
            if seen[operation] % every:
                return None
            answered[operation] += 1
        body = b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
        return AWSResponse(request.url, 503, {"Content-Type": "application/xml"}, _Raw(body))

    return handler, answered


@dataclass
class Stage:
    """A bucket on the in-process stand-in, a client like the module's, and a separate client to look with."""

    url: str
    looker: Any
    client: Any
    bodies: dict[str, bytes] = field(default_factory=dict)
    multipart: set[str] = field(default_factory=set)

    def request(self, **changes: Any) -> MoveRequest:
        base: dict[str, Any] = {"bucket": BUCKET, "source_prefix": "postgres-v17", "target_prefix": "postgres-v17-backup",
                                "concurrency": 16, "multipart_threshold": THRESHOLD, "part_size": PART_SIZE}
        return MoveRequest(**{**base, **changes})

    def move(self, client: Any = None, **changes: Any) -> dict[str, Any]:
        return move_prefix(client or self.client, self.request(**changes))

    def put(self, key: str, body: bytes, **extra: Any) -> None:
        self.looker.put_object(Bucket=BUCKET, Key=key, Body=body, **extra)
        self.bodies[key] = body

    def put_parts(self, key: str, parts: list[bytes], **extra: Any) -> None:
        upload = self.looker.create_multipart_upload(Bucket=BUCKET, Key=key, **extra)["UploadId"]
        done = []
        for number, part in enumerate(parts, start=1):
            answer = self.looker.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=number, Body=part)
            done.append({"PartNumber": number, "ETag": answer["ETag"]})
        self.looker.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload, MultipartUpload={"Parts": done})
        self.bodies[key] = b"".join(parts)

    def fill(self, prefix: str, small: int, seed: int = 0) -> None:
        """``small`` small objects (WAL names, then base backup files) plus 10 copied as multipart uploads, listed
        after the 80th base file: 5 stored in parts (two with uneven parts: part 1 cannot tell the layout, part 1
        misleads), 4 stored in one part above the threshold (with boto3's default CRC32), 1 like those without checksum."""
        rng = random.Random(seed)
        names = [f"{prefix}wals/0000000100000000000000{i:02X}" if i < 200 else f"{prefix}base/20261121T0930/data/{i:05d} ü +.bin"
                 for i in range(small)]
        # Straight into moto's store: 2,000 uploads over HTTP would cost ~10 s of setup; the move itself uses HTTP.
        backend = moto.s3.models.s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        for name in names:
            self.bodies[name] = rng.randbytes(rng.randrange(0, 2048))
            backend.put_object(BUCKET, name, self.bodies[name])
        data = f"{prefix}base/20261121T0930/data/"
        layouts = [[PART_MIN * 3, PART_MIN, PART_MIN * 2], [PART_MIN * 2, PART_MIN, PART_MIN * 2]] + \
            [[PART_MIN * 2, PART_MIN * 2, PART_MIN + n] for n in range(3)]
        for n, layout in enumerate(layouts):
            self.put_parts(f"{data}00280.tar.{n}", [os.urandom(size) for size in layout], ContentType="application/x-tar",
                           Metadata={"barman": str(n)})
        for n in range(4):
            self.put(f"{data}00281.big-{n}", os.urandom(THRESHOLD + 1 + 977 * n), ContentType="application/octet-stream")
        body = os.urandom(THRESHOLD * 2)
        _plain_client(self.url).put_object(Bucket=BUCKET, Key=f"{data}00282.no-checksum", Body=body)
        self.bodies[f"{data}00282.no-checksum"] = body
        self.multipart = {key for key in self.bodies if key.startswith((f"{data}00280.", f"{data}00281.", f"{data}00282."))}

    def keys(self, prefix: str) -> dict[str, int]:
        found: dict[str, int] = {}
        for page in self.looker.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
            found.update({entry["Key"]: entry["Size"] for entry in page.get("Contents", [])})
        return found

    def body(self, key: str) -> bytes:
        return self.looker.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def manifest(self, target: str = "postgres-v17-backup/") -> dict[str, Any]:
        return json.loads(self.body(target + MANIFEST_NAME))


def _plain_client(url: str) -> Any:
    import boto3  # pylint: disable=import-outside-toplevel

    return boto3.session.Session(aws_access_key_id=DUMMY_ACCESS_KEY_ID, aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY,
                                 region_name="us-east-1").client(
        "s3", endpoint_url=url, config=Config(request_checksum_calculation="when_required", response_checksum_validation="when_required"))


def module_client(url: str, concurrency: int = 16) -> Any:
    """The client the module builds (AwsConnection: one attempt per call, retries are ours)."""
    params = {"endpoint_url": url, "region": "us-east-1", "access_key": DUMMY_ACCESS_KEY_ID, "secret_key": DUMMY_SECRET_ACCESS_KEY}
    return AwsConnection(params, pool_size=2 * concurrency + 4).client("s3")


@pytest.fixture(name="stage")
def stage_fixture(aws_inproc: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> Stage:
    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", PART_MIN)
    # moto lists its own package directory on every request to route it (~5 ms); the list does not change.
    modules = tuple(moto.backends.list_of_moto_modules())
    monkeypatch.setattr(moto.backends, "list_of_moto_modules", lambda: modules)
    monkeypatch.setenv("SCALAROPS_PITR_RETRY_BASE_DELAY", "0.001")
    aws = aws_inproc()
    looker = aws.client("s3")
    looker.create_bucket(Bucket=BUCKET)
    return Stage(url=aws.url, looker=looker, client=module_client(aws.url))


def mapped(keys: dict[str, int], source: str = "postgres-v17/", target: str = "postgres-v17-backup/") -> dict[str, int]:
    return {target + key[len(source):]: size for key, size in keys.items()}


def test_a_folder_of_2000_objects_moves_verified_and_the_source_goes_only_after_verification(stage: Stage) -> None:
    stage.fill("postgres-v17/", 1990)
    stage.put("postgres-v17-backup-old/keep", b"a neighbour sharing the name's start")
    source = stage.keys("postgres-v17/")
    assert len(source) == 2000
    recorder = Recorder(stage.client)
    progress: list[Progress] = []

    result = move_prefix(recorder, stage.request(delete_source=True), on_progress=progress.append)

    assert result["changed"] is True and result["state"] == "source_deleted"
    assert (result["objects"], result["bytes"], result["copied"], result["copied_bytes"]) == (2000, sum(source.values()), 2000,
                                                                                              sum(source.values()))
    assert (result["verified"], result["already_copied"], result["deleted"], result["source_remaining"]) == (2000, 0, 2000, 0)
    assert result["multipart"] == 10 and result["plan"]["multipart"] == 10
    # The 5 stored in parts keep their layout (equal ETags); 4 copied in parts get a CRC32 like their sources; the
    # one without any checksum is proven by size and the checks made while copying.
    assert result["verification"] == {"etag": 1995, "checksum": 4, "content": 0, "size": 1}

    # Read back through another client: the same keys, sizes, and bodies (a sample, and every multipart one).
    assert stage.keys("postgres-v17/") == {}
    moved = stage.keys("postgres-v17-backup/")
    manifest_key = "postgres-v17-backup/" + MANIFEST_NAME
    assert moved.pop(manifest_key) > 0 and moved == mapped(source)
    sample = sorted(source)[::97] + sorted(stage.multipart)
    for key in sample:
        assert stage.body(mapped({key: 0}).popitem()[0]) == stage.bodies[key], key
    tar = stage.looker.head_object(Bucket=BUCKET, Key="postgres-v17-backup/base/20261121T0930/data/00280.tar.0")
    assert tar["ContentType"] == "application/x-tar" and tar["Metadata"]["barman"] == "0" and tar["ETag"].endswith('-3"')
    assert stage.body("postgres-v17-backup-old/keep") == b"a neighbour sharing the name's start"

    record = stage.manifest()
    assert {key: record[key] for key in ("bucket", "source", "target", "state", "objects", "bytes")} == {
        "bucket": BUCKET, "source": "postgres-v17/", "target": "postgres-v17-backup/", "state": "source_deleted",
        "objects": 2000, "bytes": sum(source.values())}
    # The manifest first, every copy, the target listed again, the manifest "verified", and only then deletes.
    assert recorder.done[recorder.index("put_object")][1] == manifest_key
    assert recorder.index("put_object") < recorder.index("copy_object")
    last_copy = max(recorder.index("copy_object", last=True), recorder.index("complete_multipart_upload", last=True))
    verified_at = [i for i, (name, key) in enumerate(recorder.done) if name == "put_object" and key == manifest_key][1]
    assert last_copy < verified_at < recorder.index("delete_objects")
    # Each object copied once - but the one whose part 1 misled: copied again with the layout every part told.
    copies = Counter(recorder.keys("copy_object", "complete_multipart_upload"))
    assert len(copies) == 2000 and {key for key, count in copies.items() if count != 1} == {"postgres-v17-backup/base/20261121T0930/data/00280.tar.1"}
    assert {p.phase for p in progress} >= {"plan", "copy", "verify", "delete"} and progress[-1].unit == "objects"
    assert max(p.done for p in progress if p.phase == "copy") == 2000

    again = stage.move(delete_source=True)
    assert (again["changed"], again["copied"], again["deleted"], again["state"], again["objects"]) == (False, 0, 0, "source_deleted", 2000)


def test_a_copy_that_does_not_verify_stops_the_move_before_any_delete(stage: Stage) -> None:
    stage.fill("postgres-v17/", 40)
    before = stage.keys("postgres-v17/")
    victim = "postgres-v17-backup/wals/00000001000000000000000A"

    def overwrite_after_copy(operation: str, kwargs: dict[str, Any], _nth: int) -> None:
        if operation == "list_objects_v2" and kwargs["Prefix"] == "postgres-v17-backup/" and stage.keys("postgres-v17-backup/wals/"):
            # Someone (or a broken store) replaces a copy between copying and the final listing.
            stage.looker.put_object(Bucket=BUCKET, Key=victim, Body=b"something else")
        return None

    with pytest.raises(MoveError, match=r"verification failed for 1 of 50 object\(s\), nothing was deleted: .*0A' has 14 bytes") as failed:
        stage.move(client=Recorder(stage.client, overwrite_after_copy), delete_source=True)
    assert failed.value.changed is True
    assert stage.keys("postgres-v17/") == before and stage.manifest()["state"] == "copying"


def test_a_run_killed_midway_resumes_and_copies_no_object_twice(stage: Stage) -> None:
    stage.fill("postgres-v17/", 290)
    source = stage.keys("postgres-v17/")
    victim = "postgres-v17-backup/base/20261121T0930/data/00280.tar.3"

    def kill(operation: str, kwargs: dict[str, Any], _nth: int) -> BaseException | None:
        # The process dies while copying the second part of a multipart object listed after ~80 others.
        return Killed() if operation == "upload_part_copy" and kwargs["Key"] == victim and kwargs["PartNumber"] == 2 else None

    first = Recorder(stage.client, kill)
    with pytest.raises(Killed):
        stage.move(client=first, delete_source=True, concurrency=4)
    copied_first = Counter(first.keys("copy_object", "complete_multipart_upload"))
    assert 50 < len(copied_first) < 150 and victim not in copied_first
    assert stage.manifest()["state"] == "copying" and stage.keys("postgres-v17/") == source, "a killed run deleted something"
    stale = stage.looker.list_multipart_uploads(Bucket=BUCKET, Prefix="postgres-v17-backup/").get("Uploads", [])
    assert [upload["Key"] for upload in stale] == [victim]

    plan = stage.move(check_mode=True, delete_source=True)
    assert plan["plan"]["to_copy"] + plan["plan"]["to_skip"] == 300 and plan["plan"]["to_skip"] == len(copied_first)
    assert plan["plan"]["stale_uploads"] == 1 and plan["changed"] is True

    second = Recorder(stage.client)
    result = stage.move(client=second, delete_source=True)
    copied_second = Counter(second.keys("copy_object", "complete_multipart_upload"))
    assert (result["already_copied"], result["copied"], result["aborted_uploads"]) == (len(copied_first), 300 - len(copied_first), 1)
    assert not set(copied_first) & set(copied_second), "an object copied by the killed run was copied again"
    assert set(copied_first) | set(copied_second) == set(mapped(source))
    assert not set(second.keys("upload_part_copy")) & set(copied_first)
    assert (result["verified"], result["deleted"], result["state"]) == (300, 300, "source_deleted")
    assert stage.looker.list_multipart_uploads(Bucket=BUCKET, Prefix="postgres-v17-backup/").get("Uploads", []) == []
    moved = stage.keys("postgres-v17-backup/")
    moved.pop("postgres-v17-backup/" + MANIFEST_NAME)
    assert moved == mapped(source) and stage.body(victim) == stage.bodies[victim.replace("-backup", "")]


def test_a_target_that_is_not_ours_and_a_missing_source_fail_before_anything_changes(stage: Stage) -> None:
    stage.fill("postgres-v17/", 5)
    stage.put("postgres-v17-backup/wals/unrelated", b"someone else's")
    theirs = {"kind": "scalarops.pitr/s3_prefix_move", "bucket": BUCKET, "source": "other/", "target": "elsewhere/"}
    stage.put("elsewhere/" + MANIFEST_NAME, json.dumps(theirs).encode())
    everything = stage.keys("")

    cases: list[tuple[dict[str, Any], str]] = [
        ({}, r"the target s3://cloudnative-pg/postgres-v17-backup/ already holds 1 object\(s\) .* and is not a move of ours"),
        ({"target_prefix": "elsewhere"}, r"holds a move from s3://cloudnative-pg/other/, not from s3://cloudnative-pg/postgres-v17/"),
        ({"source_prefix": "postgres-v16", "target_prefix": "fresh"},
         "nothing under s3://cloudnative-pg/postgres-v16/: the source folder is missing or empty"),
        ({"bucket": "no-such-bucket", "target_prefix": "fresh"}, "the bucket 'no-such-bucket' does not exist"),
        ({"target_prefix": "postgres-v17/old"}, "is inside source_prefix"),
    ]
    for changes, message in cases:
        with pytest.raises(MoveError, match=message) as failed:
            stage.move(delete_source=True, **changes)
        assert failed.value.changed is False, changes
    assert stage.keys("") == everything


def test_check_mode_plans_and_changes_nothing(stage: Stage) -> None:
    stage.fill("postgres-v17/", 30)
    everything = stage.keys("")
    plan = stage.move(check_mode=True, delete_source=True)
    assert (plan["changed"], plan["state"], plan["copied"], plan["deleted"], plan["verified"]) == (True, None, 0, 0, 0)
    assert plan["plan"] == {"to_copy": 40, "to_copy_bytes": sum(everything.values()), "to_skip": 0, "to_check": 0, "multipart": 10,
                            "stale_uploads": 0, "to_delete": 40}
    assert stage.keys("") == everything

    stage.move()
    assert stage.move(check_mode=True)["changed"] is False
    after = stage.move(check_mode=True, delete_source=True)
    assert after["changed"] is True and after["plan"]["to_delete"] == 40 and after["plan"]["to_skip"] == 40
    assert stage.keys("postgres-v17/") == everything


def test_throttling_is_retried(stage: Stage) -> None:
    stage.fill("postgres-v17/", 120)
    handler, answered = slow_down(3, ("CopyObject", "UploadPartCopy", "ListObjectsV2", "HeadObject", "CompleteMultipartUpload"))
    stage.client.meta.events.register("before-send.s3", handler)
    try:
        result = stage.move(delete_source=True)
    finally:
        stage.client.meta.events.unregister("before-send.s3", handler)
    assert answered["CopyObject"] >= 30 and answered["UploadPartCopy"] >= 3 and answered["ListObjectsV2"] >= 1
    assert result["retries"] == sum(answered.values())
    assert (result["verified"], result["deleted"], result["state"]) == (130, 130, "source_deleted")
    assert len(stage.keys("postgres-v17-backup/")) == 131


def test_reruns_are_idempotent_and_pick_up_new_source_objects_until_the_source_is_deleted(stage: Stage) -> None:
    stage.fill("postgres-v17/", 20)
    first = stage.move()
    assert (first["changed"], first["copied"], first["state"]) == (True, 30, "verified")
    again = stage.move()
    assert (again["changed"], again["copied"], again["already_copied"], again["verified"]) == (False, 0, 30, 30)
    assert again["verification"] == first["verification"]

    stage.put("postgres-v17/wals/000000010000000000000099", b"archived meanwhile")
    third = stage.move(delete_source=True)
    assert (third["changed"], third["copied"], third["already_copied"], third["deleted"]) == (True, 1, 30, 31)

    # A new cluster archiving under the old name afterwards: not mixed into the finished move's target.
    stage.put("postgres-v17/wals/000000020000000000000001", b"the new cluster's")
    with pytest.raises(MoveError, match="finished on .* and deleted the source, but the source holds 1 object"):
        stage.move(delete_source=True)
    assert "postgres-v17-backup/wals/000000020000000000000001" not in stage.keys("postgres-v17-backup/")


def test_verify_content_reads_back_what_metadata_cannot_prove(stage: Stage) -> None:
    plain = _plain_client(stage.url)
    for n in range(3):
        plain.put_object(Bucket=BUCKET, Key=f"postgres-v17/base/x{n}", Body=os.urandom(THRESHOLD + 500 * n + 1))
    stage.put("postgres-v18/base/crc", os.urandom(THRESHOLD + 1))  # boto3's default CRC32

    def swap_ranges(operation: str, kwargs: dict[str, Any], _nth: int) -> None:
        # A broken store (or copier) that copies part 1's bytes into part 2: same size, other content.
        if operation == "upload_part_copy" and kwargs["PartNumber"] == 2:
            kwargs["CopySourceRange"] = f"bytes=0-{PART_SIZE - 1}"
        return None

    broken = Recorder(stage.client, swap_ranges)
    # Without checksums in the store, the metadata cannot tell (documented: verified by size and the copy checks)...
    weak = move_prefix(broken, stage.request(target_prefix="weak"))
    assert weak["verification"] == {"etag": 0, "checksum": 0, "content": 0, "size": 3}
    assert stage.body("weak/base/x0") != plain.get_object(Bucket=BUCKET, Key="postgres-v17/base/x0")["Body"].read()
    # ...a full-object checksum the store computes over the copied data does...
    with pytest.raises(MoveError, match="has another ChecksumCRC32 than the source"):
        move_prefix(broken, stage.request(source_prefix="postgres-v18", target_prefix="v18-copy"))
    # ...and so does reading the contents back; nothing is deleted.
    with pytest.raises(MoveError, match=r"differs from the source .*\(SHA-256"):
        move_prefix(broken, stage.request(target_prefix="strict", verify="content", delete_source=True))
    assert len(stage.keys("postgres-v17/")) == 3
    # A correct copy passes the content check, which counts these objects as read back.
    good = stage.move(target_prefix="good", verify="content", delete_source=True)
    assert good["verification"] == {"etag": 0, "checksum": 0, "content": 3, "size": 0} and good["deleted"] == 3


def test_mirroring_off_copies_objects_stored_in_parts_whole_and_marks_them(stage: Stage) -> None:
    stage.put_parts("postgres-v17/wals/000000010000000000000001", [os.urandom(PART_MIN * 2), os.urandom(100)],
                    ContentType="application/octet-stream", Metadata={"k": "v"})
    stage.looker.put_object_tagging(Bucket=BUCKET, Key="postgres-v17/wals/000000010000000000000001",
                                    Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    result = stage.move(preserve_etags=False)
    assert (result["copied"], result["multipart"]) == (1, 0)
    copy = stage.looker.head_object(Bucket=BUCKET, Key="postgres-v17-backup/wals/000000010000000000000001")
    assert copy["Metadata"] == {"k": "v", MARKER_METADATA: stage.looker.head_object(
        Bucket=BUCKET, Key="postgres-v17/wals/000000010000000000000001")["ETag"].strip('"')}
    assert not copy["ETag"].strip('"').endswith("-2")
    assert stage.looker.get_object_tagging(Bucket=BUCKET, Key="postgres-v17-backup/wals/000000010000000000000001")["TagSet"] == [
        {"Key": "a", "Value": "b"}]
    # The marker makes the copy recognisable: a second run skips it.
    again = stage.move(preserve_etags=False)
    assert (again["changed"], again["already_copied"]) == (False, 1)
