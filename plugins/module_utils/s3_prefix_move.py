# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Move an S3 "folder" (every object under a prefix) to another prefix of the same bucket: copy, verify, then delete.

What seed 004's ``s3-folder-rename.sh`` does for CloudNativePG (move ``<serverName>/`` away so a
recovered cluster finds an empty WAL archive), done so that a crash, a throttle or a large object
never loses data:

* **Ownership and resume.** The first write is a small manifest, ``<target>/.scalarops-pitr-move.json``
  (source, target, started, state).  A target folder that holds objects but not our manifest for
  this very source is someone else's: refused before anything changes.  A target with our manifest
  is a move to continue: objects already there and verified are skipped, multipart uploads a killed
  run left behind are aborted, the rest is copied.
* **Copies.** Objects are copied server-side (no data through this machine), at most ``concurrency``
  objects and ``concurrency`` part copies at a time.  An object the source stored in parts (its
  ETag ends in ``-N``) is copied part for part with the same part sizes (``preserve_etags``), so
  the copy's ETag equals the source's; an object stored in one part is copied with one CopyObject
  up to ``multipart_threshold`` (at most 5 GiB, S3's limit), above it in parts of ``part_size``.
  Every copy is pinned to the version listed (``x-amz-copy-source-if-match``).
* **Verification** (per object, the strongest that applies; see :data:`LEVELS`): equal size and
  ETag (S3's ETag is the MD5 of the content, or of the parts' MD5s: equal ETags of objects copied
  with the same layout mean equal content); else equal full-object checksums when the store
  reports them for both; else, with ``verify="content"``, both objects read back and SHA-256
  compared; else equal size plus the checks made while copying (source version pinned, parts
  tiling the object, the copy's ETag matching its parts) and the marker metadata
  ``scalarops-pitr-source-etag`` naming the source ETag.  Finally the target is listed again:
  every source object must have its copy there with the size and ETag the copy produced.
* **Delete** (``delete_source``) only after every object verified, only objects still as they
  were listed (written since: left alone and reported), in DeleteObjects batches of 1,000.

Plain Python: the boto3 S3 client and the retry helper (``aws_client.retrying``) are passed in.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import BotoCoreError, ClientError, describe_error, error_code, retrying
from ansible_collections.scalarops.pitr.plugins.module_utils.concurrency import run_bounded
from ansible_collections.scalarops.pitr.plugins.module_utils.progress_file import Progress

__all__ = [
    "DEFAULT_CONCURRENCY", "DEFAULT_MULTIPART_THRESHOLD", "DEFAULT_PART_SIZE", "LEVELS", "MANIFEST_NAME", "MARKER_METADATA",
    "MAX_SINGLE_COPY", "MIN_PART_SIZE", "MoveError", "MoveRequest", "Plan", "S3Object", "STATE_COPYING", "STATE_SOURCE_DELETED",
    "STATE_VERIFIED", "VERIFY_CHOICES", "check_overlap", "check_target", "compare_checksums", "copy_method", "copy_ranges", "etag_part_count",
    "make_plan", "mirrored_sizes", "move_prefix", "multipart_etag", "normalise_prefix", "validate_request",
]

MIB = 1024 ** 2
GIB = 1024 ** 3
MIN_PART_SIZE = 5 * MIB  # S3's smallest part (but the last)
MAX_SINGLE_COPY = 5 * GIB  # the largest object one CopyObject copies, and the largest part
MAX_PARTS = 10_000
MAX_KEY_BYTES = 1024
DEFAULT_MULTIPART_THRESHOLD = MAX_SINGLE_COPY
DEFAULT_PART_SIZE = 64 * MIB
DEFAULT_CONCURRENCY = 16
DELETE_BATCH = 1000  # DeleteObjects' limit

MANIFEST_NAME = ".scalarops-pitr-move.json"
MANIFEST_KIND = "scalarops.pitr/s3_prefix_move"
MARKER_METADATA = "scalarops-pitr-source-etag"  # user metadata: x-amz-meta-scalarops-pitr-source-etag

STATE_COPYING = "copying"
STATE_VERIFIED = "verified"
STATE_SOURCE_DELETED = "source_deleted"

VERIFY_CHOICES = ("metadata", "content")
# How an object was verified, strongest first.
LEVEL_ETAG = "etag"
LEVEL_CHECKSUM = "checksum"
LEVEL_CONTENT = "content"
LEVEL_SIZE = "size"
LEVELS = (LEVEL_ETAG, LEVEL_CHECKSUM, LEVEL_CONTENT, LEVEL_SIZE)

# S3's transient answers besides the throttling codes aws_client retries anyway ("SlowDown"):
# a 503/500 without a body comes as its status code.  Every call retried is idempotent
# (CompleteMultipartUpload's one exception is handled where it is made).
S3_RETRY_CODES = ("SlowDown", "503", "500", "ServiceUnavailable", "InternalError", "RequestTimeout")
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_KMS = frozenset({"aws:kms", "aws:kms:dsse"})
# Full-object checksums HeadObject reports with ChecksumMode=ENABLED, strongest first.
_CHECKSUMS = ("ChecksumSHA256", "ChecksumSHA1", "ChecksumCRC64NVME", "ChecksumCRC32C", "ChecksumCRC32")
# The algorithms S3 can compute over a whole object assembled from parts (ChecksumType FULL_OBJECT).
_FULL_OBJECT_MULTIPART = ("ChecksumCRC64NVME", "ChecksumCRC32C", "ChecksumCRC32")
# What a copy that cannot keep the source's headers (CopyObject with REPLACE, multipart) carries over explicitly.
_CARRIED = ("ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage", "CacheControl", "WebsiteRedirectLocation")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")


class MoveError(RuntimeError):
    """The move cannot start or stopped; the message says why and what to do.

    ``changed``: whether anything had been written before it stopped.  ``details``: counts so far.
    """

    def __init__(self, message: str, changed: bool = False, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.changed = changed
        self.details = dict(details or {})


@dataclass(frozen=True)
class S3Object:
    """One listed object: key, size in bytes, ETag (without quotes), storage class."""

    key: str
    size: int
    etag: str
    storage_class: str | None = None


@dataclass(frozen=True)
class MoveRequest:
    """What to move and how; :func:`validate_request` normalises the prefixes and checks the rest."""

    bucket: str
    source_prefix: str
    target_prefix: str
    delete_source: bool = False
    concurrency: int = DEFAULT_CONCURRENCY
    multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD
    part_size: int = DEFAULT_PART_SIZE
    preserve_etags: bool = True
    verify: str = "metadata"
    check_mode: bool = False

    @property
    def manifest_key(self) -> str:
        return self.target_prefix + MANIFEST_NAME

    @property
    def source_manifest_key(self) -> str:
        """Where a manifest lies when the source folder was itself the target of an earlier move (never copied)."""
        return self.source_prefix + MANIFEST_NAME

    def target_key(self, source_key: str) -> str:
        return self.target_prefix + source_key[len(self.source_prefix):]

    def url(self, prefix: str) -> str:
        return f"s3://{self.bucket}/{prefix}"


# --- options -------------------------------------------------------------------------------------------------------
def normalise_prefix(value: str | None, option: str) -> str:
    """A folder as S3 keys start with it: no leading "/", exactly one trailing "/" ("pg/v17" -> "pg/v17/")."""
    text = (value or "").strip()
    if text.lower().startswith("s3://"):
        raise MoveError(f"{option} {text!r} is a URL: give the bucket as 'bucket' and only the folder here (e.g. 'postgres-v17')")
    text = text.strip("/")
    if not text:
        raise MoveError(f"{option} is empty: give a folder of the bucket (moving the whole bucket is not supported)")
    return text + "/"


def check_overlap(source: str, target: str) -> None:
    """Refuse folders that contain each other: copies would land in the listing being copied, or the source in the target."""
    if source == target:
        raise MoveError(f"source_prefix and target_prefix are the same folder {source!r}")
    if target.startswith(source):
        raise MoveError(f"target_prefix {target!r} is inside source_prefix {source!r}: choose a target outside the source folder")
    if source.startswith(target):
        raise MoveError(f"source_prefix {source!r} is inside target_prefix {target!r}: choose a target outside the source folder")


def validate_request(request: MoveRequest) -> MoveRequest:
    """``request`` with normalised prefixes; :class:`MoveError` for anything S3 would refuse or we would regret."""
    if not (request.bucket or "").strip():
        raise MoveError("bucket is empty")
    source = normalise_prefix(request.source_prefix, "source_prefix")
    target = normalise_prefix(request.target_prefix, "target_prefix")
    check_overlap(source, target)
    if request.concurrency < 1:
        raise MoveError(f"concurrency must be at least 1, got {request.concurrency}")
    if not 0 <= request.multipart_threshold <= MAX_SINGLE_COPY:
        raise MoveError(f"multipart_threshold must be between 0 and 5 GiB ({MAX_SINGLE_COPY} bytes; CopyObject's limit), "
                        f"got {request.multipart_threshold}")
    if not 1 <= request.part_size <= MAX_SINGLE_COPY:
        raise MoveError(f"part_size must be between 1 byte and 5 GiB ({MAX_SINGLE_COPY} bytes), got {request.part_size}")
    if request.verify not in VERIFY_CHOICES:
        raise MoveError(f"verify must be one of {', '.join(VERIFY_CHOICES)}, got {request.verify!r}")
    return replace(request, bucket=request.bucket.strip(), source_prefix=source, target_prefix=target)


# --- layouts and ETags -----------------------------------------------------------------------------------------------
def strip_etag(value: str | None) -> str:
    return (value or "").strip().strip('"')


def etag_part_count(etag: str) -> int | None:
    """The number of parts an S3 multipart ETag ("<md5>-N") tells, else None (stored in one part, or not S3's format)."""
    head, sep, tail = etag.rpartition("-")
    if sep and _HEX32.match(head) and tail.isdigit() and int(tail) > 0:
        return int(tail)
    return None


def multipart_etag(part_etags: Iterable[str]) -> str | None:
    """The ETag S3 gives an object completed from parts with these ETags (MD5 of their MD5s, "-N"); None if a part's is no MD5."""
    digests = bytearray()
    count = 0
    for etag in part_etags:
        value = strip_etag(etag)
        if not _HEX32.match(value):
            return None
        digests.extend(bytes.fromhex(value))
        count += 1
    if not count:
        return None
    return f"{hashlib.md5(bytes(digests)).hexdigest()}-{count}"  # nosec - S3's ETag format, not a security use


def copy_ranges(size: int, part_size: int) -> list[tuple[int, int]]:
    """Inclusive byte ranges of ``part_size`` (grown if S3's 10,000 parts would not reach) covering ``size`` bytes."""
    if size <= 0:
        return []
    part = max(part_size, -(-size // MAX_PARTS))
    return [(start, min(size, start + part) - 1) for start in range(0, size, part)]


def mirrored_sizes(size: int, first_part: int, count: int) -> list[int] | None:
    """Part sizes of an object uploaded in ``count`` parts of ``first_part`` bytes but the last, if that adds up; else None."""
    if count < 1 or first_part < 1:
        return None
    last = size - (count - 1) * first_part
    if not 0 < last <= first_part:
        return None
    return [first_part] * (count - 1) + [last]


def ranges_of(sizes: Iterable[int]) -> list[tuple[int, int]]:
    ranges = []
    start = 0
    for part in sizes:
        ranges.append((start, start + part - 1))
        start += part
    return ranges


def copy_method(obj: S3Object, request: MoveRequest) -> str:
    """How ``obj`` is copied: "mirror" (part for part, same layout), "parts" (parts of part_size) or "copy" (one CopyObject)."""
    if request.preserve_etags and etag_part_count(obj.etag):
        return "mirror"
    if obj.size > request.multipart_threshold:
        return "parts"
    return "copy"


# --- the plan ----------------------------------------------------------------------------------------------------------
@dataclass
class Plan:
    """What the move finds and would do (pure data; :func:`make_plan`)."""

    sources: list[S3Object]
    copies: list[S3Object] = field(default_factory=list)
    skips: dict[str, str] = field(default_factory=dict)  # source key -> target ETag, already copied (equal size and ETag)
    candidates: list[S3Object] = field(default_factory=list)  # same size, other ETag: our marker decides (a HEAD)
    target_extra: list[str] = field(default_factory=list)  # target objects no source object maps to
    source_manifest: bool = False

    @property
    def objects(self) -> int:
        return len(self.sources)

    @property
    def bytes(self) -> int:
        return sum(obj.size for obj in self.sources)

    def counts(self, request: MoveRequest) -> dict[str, int]:
        multipart = sum(1 for obj in self.copies if copy_method(obj, request) != "copy")
        return {"to_copy": len(self.copies), "to_copy_bytes": sum(obj.size for obj in self.copies), "to_skip": len(self.skips),
                "to_check": len(self.candidates), "multipart": multipart}


def check_target(request: MoveRequest, targets: Iterable[S3Object], manifest: Mapping[str, Any] | None) -> None:
    """Refuse a target folder that is not empty and not a move of ours from this source."""
    data = [obj for obj in targets if obj.key != request.manifest_key and not (obj.key == request.target_prefix and obj.size == 0)]
    if manifest is None:
        if data:
            raise MoveError(f"the target {request.url(request.target_prefix)} already holds {len(data)} object(s) (e.g. {data[0].key!r}) "
                            f"and is not a move of ours (no {MANIFEST_NAME}): choose another target_prefix or empty it first; "
                            "nothing was changed")
        return
    mine = (manifest.get("kind") == MANIFEST_KIND and manifest.get("bucket") == request.bucket
            and manifest.get("source") == request.source_prefix and manifest.get("target") == request.target_prefix)
    if not mine:
        origin = f"s3://{manifest.get('bucket')}/{manifest.get('source')}" if manifest.get("kind") == MANIFEST_KIND else "an unknown source"
        raise MoveError(f"the target {request.url(request.target_prefix)} holds a move from {origin}, not from "
                        f"{request.url(request.source_prefix)} ({request.manifest_key}): choose another target_prefix; nothing was changed")


def make_plan(request: MoveRequest, sources: Iterable[S3Object], targets: Iterable[S3Object]) -> Plan:
    """Which source objects to copy, which are there already; refuses target keys longer than S3 allows."""
    listed = list(sources)
    plan = Plan(sources=[obj for obj in listed if obj.key != request.source_manifest_key])
    plan.source_manifest = len(plan.sources) != len(listed)
    existing = {obj.key: obj for obj in targets if obj.key != request.manifest_key}
    too_long = [obj.key for obj in plan.sources if len(request.target_key(obj.key).encode("utf-8")) > MAX_KEY_BYTES]
    if too_long:
        raise MoveError(f"{len(too_long)} object(s) would get keys longer than S3's {MAX_KEY_BYTES} bytes under {request.target_prefix!r} "
                        f"(e.g. {too_long[0]!r}): choose a shorter target_prefix; nothing was changed")
    mapped = set()
    for obj in plan.sources:
        key = request.target_key(obj.key)
        mapped.add(key)
        there = existing.get(key)
        if there is None or there.size != obj.size:
            plan.copies.append(obj)
        elif there.etag == obj.etag:
            plan.skips[obj.key] = there.etag
        else:
            plan.candidates.append(obj)
    plan.target_extra = sorted(key for key in existing if key not in mapped and key != request.target_prefix)
    return plan


def compare_checksums(source: Mapping[str, Any], copy: Mapping[str, Any]) -> tuple[str, bool] | None:
    """(name, equal) of the strongest full-object checksum both HeadObject answers report, else None.

    Composite checksums ("<value>-N", of the parts) are not compared: they depend on the part layout.
    """
    for name in _CHECKSUMS:
        mine, theirs = source.get(name), copy.get(name)
        full = all(head.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT" for head in (source, copy))
        if mine and theirs and full and "-" not in mine and "-" not in theirs:
            return name, mine == theirs
    return None


# --- the run -------------------------------------------------------------------------------------------------------------
@dataclass
class _Copied:
    """One object done: the target's ETag (as the copy made it, or as found), how it was verified, whether this run copied it."""

    etag: str
    level: str
    copied: bool
    multipart: bool = False


class _Mover:  # pylint: disable=too-many-instance-attributes  # one run's state, shared by its workers
    def __init__(self, client: Any, request: MoveRequest, call: Callable[..., Any], on_progress: Callable[[Progress], None] | None,
                 now: Callable[[], _dt.datetime]) -> None:
        self.client, self.request, self.call, self.on_progress, self.now = client, request, call, on_progress, now
        self.started = time.monotonic()
        self.lock = threading.Lock()
        self.retries = 0
        self.running: dict[str, str] = {}
        self.parts_pool: ThreadPoolExecutor | None = None
        self.changed = False
        self.counts: dict[str, int] = {"copied": 0, "copied_bytes": 0, "multipart": 0, "deleted": 0, "aborted_uploads": 0}

    # --- calls ---------------------------------------------------------------------------------------------------------
    def api(self, operation: str, **kwargs: Any) -> Any:
        return self.call(getattr(self.client, operation), extra_codes=S3_RETRY_CODES, on_retry=self._retried, **kwargs)

    def _retried(self, _attempt: int, _delay: float, _exc: BaseException) -> None:
        with self.lock:
            self.retries += 1

    def list_prefix(self, prefix: str) -> list[S3Object]:
        """Every object under ``prefix`` (list_objects_v2, 1,000 a page)."""
        objects: list[S3Object] = []
        token = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.request.bucket, "Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            try:
                page = self.api("list_objects_v2", **kwargs)
            except ClientError as exc:
                if error_code(exc) == "NoSuchBucket":
                    raise MoveError(f"the bucket {self.request.bucket!r} does not exist (check bucket, endpoint_url and region); "
                                    "nothing was changed") from None
                raise
            objects.extend(S3Object(entry["Key"], int(entry.get("Size", 0)), strip_etag(entry.get("ETag")), entry.get("StorageClass"))
                           for entry in page.get("Contents", []))
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return objects

    def head(self, key: str, **extra: Any) -> dict[str, Any] | None:
        try:
            return self.api("head_object", Bucket=self.request.bucket, Key=key, **extra)
        except ClientError as exc:
            if error_code(exc) in _MISSING_CODES:
                return None
            raise

    def read_manifest(self) -> dict[str, Any] | None:
        try:
            body = self.api("get_object", Bucket=self.request.bucket, Key=self.request.manifest_key)["Body"].read()
        except ClientError as exc:
            if error_code(exc) in _MISSING_CODES:
                return None
            raise
        try:
            data = json.loads(body)
        except ValueError:
            return {"kind": None}
        return data if isinstance(data, dict) else {"kind": None}

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        manifest["updated"] = self.now().isoformat(timespec="seconds")
        self.api("put_object", Bucket=self.request.bucket, Key=self.request.manifest_key, ContentType="application/json",
                 Body=json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8"))
        self.changed = True

    # --- progress --------------------------------------------------------------------------------------------------------
    def report(self, phase: str, done: int, total: int) -> None:
        if self.on_progress is not None:
            with self.lock:
                running = dict(self.running)
            self.on_progress(Progress(phase, done, total, time.monotonic() - self.started, running, unit="objects"))

    def doing(self, key: str, what: str | None) -> None:
        with self.lock:
            if what is None:
                self.running.pop(key, None)
            else:
                self.running[key] = what

    # --- copies ------------------------------------------------------------------------------------------------------------
    def source_properties(self, obj: S3Object, multipart: bool, checksum: bool = True) -> dict[str, Any]:
        """What a copy that cannot take the source's headers along gets explicitly: content headers, metadata with our
        marker, storage class; for a multipart upload (which cannot copy them) the tags.

        With ``checksum``, if the source has a full-object checksum the copy is asked for one of the same algorithm (S3
        computes it from the copied data), so the two can be compared.
        """
        head = self.head(obj.key, IfMatch=f'"{obj.etag}"', ChecksumMode="ENABLED")
        if head is None:
            raise MoveError(f"{obj.key!r} disappeared from the source while it was being moved")
        props: dict[str, Any] = {name: head[name] for name in _CARRIED if head.get(name)}
        metadata = dict(head.get("Metadata") or {})
        metadata[MARKER_METADATA] = obj.etag
        props["Metadata"] = metadata
        if head.get("StorageClass") and head["StorageClass"] != "STANDARD":
            props["StorageClass"] = head["StorageClass"]
        names = _FULL_OBJECT_MULTIPART if multipart else _CHECKSUMS
        algorithm = next((name for name in names if checksum and head.get(name) and "-" not in head[name]
                          and head.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT"), None)
        if algorithm:
            props["ChecksumAlgorithm"] = algorithm[len("Checksum"):]
            if multipart:
                props["ChecksumType"] = "FULL_OBJECT"
        if multipart:
            try:
                tag_set = self.api("get_object_tagging", Bucket=self.request.bucket, Key=obj.key).get("TagSet") or []
            except ClientError as exc:
                if error_code(exc) not in ("NotImplemented", "MethodNotAllowed"):  # stores without object tags
                    raise
                tag_set = []
            if tag_set:
                props["Tagging"] = urlencode([(tag["Key"], tag["Value"]) for tag in tag_set])
        return props

    def copy_single(self, obj: S3Object, target: str) -> _Copied:
        """One CopyObject; headers go along unless the copy's ETag cannot equal the source's (then REPLACE with the marker)."""
        kwargs: dict[str, Any] = {"Bucket": self.request.bucket, "Key": target, "CopySource": {"Bucket": self.request.bucket, "Key": obj.key},
                                  "CopySourceIfMatch": f'"{obj.etag}"'}
        if etag_part_count(obj.etag):
            # The copy's ETag will be the MD5 of the whole, not the source's: mark it as ours (tags are copied as they are).
            kwargs.update(self.source_properties(obj, multipart=False), MetadataDirective="REPLACE")
        elif obj.storage_class and obj.storage_class != "STANDARD":
            kwargs["StorageClass"] = obj.storage_class
        result = self.api("copy_object", **kwargs)
        etag = strip_etag(result.get("CopyObjectResult", {}).get("ETag"))
        level = LEVEL_ETAG if etag == obj.etag else self.weaker_level(obj, target, etag_comparable=not etag_part_count(obj.etag))
        return _Copied(etag, level, copied=True)

    def part_sizes(self, obj: S3Object) -> tuple[list[int] | None, bool]:
        """The source's part sizes and whether they were guessed (a uniform layout, from part 1); (None, False) if unknown.

        Uploaders (boto3, the AWS CLI, Barman, rclone, mc) use equal parts but the last, so part 1's size usually tells
        all; where it cannot (the last part would not fit), every part is asked (a HeadObject per part).
        """
        count = etag_part_count(obj.etag)
        head = self.head(obj.key, PartNumber=1)
        if not count or head is None or int(head.get("PartsCount") or 0) != count:
            return None, False  # the store does not tell part sizes (or the object changed): copy it like any object
        if count == 1:
            return [obj.size], False
        guess = mirrored_sizes(obj.size, int(head.get("ContentLength") or 0), count)
        if guess is not None:
            return guess, True
        return self.exact_part_sizes(obj, count), False  # uneven parts: ask each

    def exact_part_sizes(self, obj: S3Object, count: int) -> list[int] | None:
        sizes = []
        for number in range(1, count + 1):
            head = self.head(obj.key, PartNumber=number)
            if head is None:
                return None
            sizes.append(int(head.get("ContentLength") or 0))
        return sizes if sum(sizes) == obj.size and all(sizes) else None

    def copy_parts(self, obj: S3Object, target: str, ranges: list[tuple[int, int]], props: dict[str, Any]) -> str:
        """CreateMultipartUpload, UploadPartCopy for each range (on the parts pool), CompleteMultipartUpload; the new ETag.

        The upload is aborted if a part fails (a killed run's uploads are aborted by the next run).  The completed
        object's ETag must be the one its parts make: the parts were assembled as copied.
        """
        bucket = self.request.bucket
        upload = self.api("create_multipart_upload", Bucket=bucket, Key=target, **props)["UploadId"]
        try:
            pool = self.parts_pool
            if pool is None:
                raise RuntimeError("no parts pool")  # _Mover.run sets it up before any copy
            checksum = f"Checksum{props['ChecksumAlgorithm']}" if props.get("ChecksumAlgorithm") else None
            futures: list[Future[dict[str, Any]]] = [pool.submit(self.copy_part, obj, target, upload, number, span)
                                                     for number, span in enumerate(ranges, start=1)]
            try:
                copied = [future.result() for future in futures]
            finally:
                for future in futures:
                    future.cancel()
            # S3 wants each part's checksum back when the upload has an algorithm.
            parts = [{"PartNumber": number, "ETag": part["ETag"], **({checksum: part[checksum]} if checksum and part.get(checksum) else {})}
                     for number, part in enumerate(copied, start=1)]
            expected = multipart_etag(part["ETag"] for part in copied)
            etag = self.complete(target, upload, parts, expected)
        except Exception:
            self.abort(target, upload)
            raise
        if expected is not None and etag != expected:
            raise MoveError(f"the multipart copy {target!r} has ETag {etag} but its parts make {expected}: the store assembled other parts")
        return etag

    def copy_part(self, obj: S3Object, target: str, upload: str, number: int, span: tuple[int, int]) -> dict[str, Any]:
        result = self.api("upload_part_copy", Bucket=self.request.bucket, Key=target, UploadId=upload, PartNumber=number,
                          CopySource={"Bucket": self.request.bucket, "Key": obj.key}, CopySourceIfMatch=f'"{obj.etag}"',
                          CopySourceRange=f"bytes={span[0]}-{span[1]}")
        return result["CopyPartResult"]

    def complete(self, target: str, upload: str, parts: list[dict[str, Any]], expected: str | None) -> str:
        try:
            result = self.api("complete_multipart_upload", Bucket=self.request.bucket, Key=target, UploadId=upload,
                              MultipartUpload={"Parts": parts})
        except ClientError as exc:
            # A retried Complete whose first try went through finds no upload any more: the object tells.
            if error_code(exc) != "NoSuchUpload" or expected is None:
                raise
            head = self.head(target)
            if head is None or strip_etag(head.get("ETag")) != expected:
                raise
            return expected
        return strip_etag(result.get("ETag"))

    def abort(self, target: str, upload: str) -> None:
        try:
            self.api("abort_multipart_upload", Bucket=self.request.bucket, Key=target, UploadId=upload)
        except ClientError:
            pass  # best effort: the next run aborts what is left under the target

    def copy_multipart(self, obj: S3Object, target: str) -> _Copied:
        sizes, guessed = (self.part_sizes(obj) if copy_method(obj, self.request) == "mirror" else (None, False))
        if sizes is None and obj.size <= self.request.multipart_threshold:
            return self.copy_single(obj, target)  # the source's layout is unknown and the object is small enough for one copy
        # Same-layout copies are proven by their ETag; a checksum is asked for only where the ETag cannot tell.
        props = self.source_properties(obj, multipart=True, checksum=sizes is None)
        self.doing(obj.key, f"multipart copy ({len(sizes) if sizes else len(copy_ranges(obj.size, self.request.part_size))} parts)")
        if sizes is None:
            etag = self.copy_parts(obj, target, copy_ranges(obj.size, self.request.part_size), props)
            return _Copied(etag, self.weaker_level(obj, target, etag_comparable=False), copied=True, multipart=True)
        etag = self.copy_parts(obj, target, ranges_of(sizes), props)
        if etag != obj.etag and guessed:
            # Part 1 told the size of all parts but the last; a source uploaded with uneven parts differs: ask each part.
            exact = self.exact_part_sizes(obj, len(sizes))
            if exact is not None and exact != sizes:
                etag = self.copy_parts(obj, target, ranges_of(exact), props)
        level = LEVEL_ETAG if etag == obj.etag else self.weaker_level(obj, target, etag_comparable=True)
        return _Copied(etag, level, copied=True, multipart=True)

    def copy_one(self, obj: S3Object) -> _Copied:
        target = self.request.target_key(obj.key)
        self.doing(obj.key, "copy")
        try:
            method = copy_method(obj, self.request)
            done = self.copy_single(obj, target) if method == "copy" else self.copy_multipart(obj, target)
            if done.level == LEVEL_SIZE and self.request.verify == "content":
                done.level = self.content_level(obj, target)
            with self.lock:
                self.counts["copied"] += 1
                self.counts["copied_bytes"] += obj.size
                self.counts["multipart"] += int(done.multipart)
            self.changed = True
            return done
        finally:
            self.doing(obj.key, None)

    # --- verification ------------------------------------------------------------------------------------------------------
    def heads(self, obj: S3Object, target: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """HeadObject of the source and of its copy, with their checksums."""
        source = self.head(obj.key, ChecksumMode="ENABLED")
        copy = self.head(target, ChecksumMode="ENABLED")
        if source is None or copy is None:
            raise MoveError(f"{obj.key!r} or its copy {target!r} disappeared during the move")
        return source, copy

    def weaker_level(self, obj: S3Object, target: str, etag_comparable: bool) -> str:
        """How a copy whose ETag differs from the source's is verified: checksums, else size; a real ETag mismatch fails.

        ``etag_comparable``: both ETags should be the content's MD5 (or made of the same parts) - unless an object is
        SSE-KMS or SSE-C encrypted, whose ETags are no MD5, which the HEADs tell.
        """
        source, copy = self.heads(obj, target)
        if int(copy.get("ContentLength", -1)) != obj.size or int(source.get("ContentLength", -1)) != obj.size:
            raise MoveError(f"the copy {target!r} has {copy.get('ContentLength')} bytes, the source {obj.key!r} {obj.size}")
        encrypted = any(head.get("ServerSideEncryption") in _KMS or head.get("SSECustomerAlgorithm") for head in (source, copy))
        if etag_comparable and not encrypted:
            raise MoveError(f"the copy {target!r} has ETag {strip_etag(copy.get('ETag'))}, the source {obj.key!r} {obj.etag}: "
                            "the contents differ")
        compared = compare_checksums(source, copy)
        if compared is None:
            return LEVEL_SIZE
        name, equal = compared
        if not equal:
            raise MoveError(f"the copy {target!r} has another {name} than the source {obj.key!r}: the contents differ")
        return LEVEL_CHECKSUM

    def content_level(self, obj: S3Object, target: str) -> str:
        """Read both objects and compare their SHA-256 (``verify="content"``)."""
        if self.digest(obj.key, obj.etag) != self.digest(target, None):
            raise MoveError(f"the copy {target!r} differs from the source {obj.key!r} (SHA-256 of their contents)")
        return LEVEL_CONTENT

    def digest(self, key: str, etag: str | None) -> str:
        kwargs: dict[str, Any] = {"Bucket": self.request.bucket, "Key": key}
        if etag:
            kwargs["IfMatch"] = f'"{etag}"'
        body = self.api("get_object", **kwargs)["Body"]
        digest = hashlib.sha256()
        for chunk in iter(lambda: body.read(MIB), b""):
            digest.update(chunk)
        return digest.hexdigest()

    def check_candidate(self, obj: S3Object) -> _Copied | None:
        """A target object of the source's size with another ETag: already copied, or None (copy it again).

        Already copied: the full-object checksums are equal, or - the store reports none - it carries our marker
        naming this source ETag (a copy of this version that completed; S3 completes a multipart upload atomically).
        """
        target = self.request.target_key(obj.key)
        source, copy = self.heads(obj, target)
        if int(copy.get("ContentLength", -1)) != obj.size:
            return None
        compared = compare_checksums(source, copy)
        if compared is not None:
            return _Copied(strip_etag(copy.get("ETag")), LEVEL_CHECKSUM, copied=False) if compared[1] else None
        if (copy.get("Metadata") or {}).get(MARKER_METADATA) != obj.etag:
            return None
        level = self.content_level(obj, target) if self.request.verify == "content" else LEVEL_SIZE
        return _Copied(strip_etag(copy.get("ETag")), level, copied=False)

    # --- phases ----------------------------------------------------------------------------------------------------------
    def bounded(self, phase: str, items: list[S3Object], worker: Callable[[S3Object], Any]) -> list[Any]:
        """``worker`` over ``items`` with the configured concurrency, stopping at the first failure (raised)."""
        results = run_bounded(items, worker, self.request.concurrency, stop_on_error=True, progress_interval=10.0,
                              on_progress=lambda done, total, _elapsed, _running: self.report(phase, done, total))
        failed = [result for result in results if result.error is not None]
        if failed:
            raise failed[0].error  # type: ignore[misc]
        return [result.value for result in results]

    def stale_uploads(self) -> list[tuple[str, str]]:
        """Multipart uploads under the target (a killed run's), as (key, upload id)."""
        uploads: list[tuple[str, str]] = []
        markers: dict[str, str] = {}
        while True:
            page = self.api("list_multipart_uploads", Bucket=self.request.bucket, Prefix=self.request.target_prefix, **markers)
            uploads.extend((entry["Key"], entry["UploadId"]) for entry in page.get("Uploads", []))
            if not page.get("IsTruncated"):
                return uploads
            markers = {"KeyMarker": page.get("NextKeyMarker", ""), "UploadIdMarker": page.get("NextUploadIdMarker", "")}

    def delete_sources(self, plan: Plan, verified: set[str]) -> int:
        """Delete the verified source objects still as listed; returns how many are left in the source."""
        current = {obj.key: obj for obj in self.list_prefix(self.request.source_prefix)}
        listed = {obj.key: obj for obj in plan.sources}
        doomed = [key for key, obj in current.items()
                  if key in verified and (obj.size, obj.etag) == (listed[key].size, listed[key].etag)]
        if self.request.source_manifest_key in current:
            doomed.append(self.request.source_manifest_key)  # an earlier move's record of this folder goes with it
        for start in range(0, len(doomed), DELETE_BATCH):
            batch = doomed[start:start + DELETE_BATCH]
            answer = self.api("delete_objects", Bucket=self.request.bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True})
            self.changed = True
            errors = answer.get("Errors") or []
            self.counts["deleted"] += len(batch) - len(errors)
            if errors:
                first = errors[0]
                raise MoveError(f"deleting the source failed for {len(errors)} object(s), e.g. {first.get('Key')!r}: "
                                f"{first.get('Code')}: {first.get('Message')}")
            self.report("delete", min(len(doomed), start + len(batch)), len(doomed))
        return len(current) - len(doomed)

    def run(self) -> dict[str, Any]:  # pylint: disable=too-many-locals,too-many-branches,too-many-statements
        request = self.request
        self.report("plan", 0, 0)
        sources = self.list_prefix(request.source_prefix)
        targets = self.list_prefix(request.target_prefix)
        manifest = self.read_manifest()
        check_target(request, targets, manifest)
        plan = make_plan(request, sources, targets)
        if not plan.sources:
            return self.finished_before(manifest, targets)
        if manifest is not None and manifest.get("state") == STATE_SOURCE_DELETED:
            raise MoveError(f"the move {request.url(request.source_prefix)} -> {request.target_prefix} finished on {manifest.get('updated')} "
                            f"and deleted the source, but the source holds {plan.objects} object(s) again (written since, e.g. by a new "
                            "cluster archiving there): not mixing them into that target; choose another target_prefix; nothing was changed")

        levels: dict[str, _Copied] = {key: _Copied(etag, LEVEL_ETAG, copied=False) for key, etag in plan.skips.items()}
        found = self.bounded("check", plan.candidates, self.check_candidate) if plan.candidates else []
        for obj, done in zip(plan.candidates, found):
            if done is None:
                plan.copies.append(obj)
            else:
                levels[obj.key] = done
        stale = self.stale_uploads() if manifest is not None else []
        planned = {**plan.counts(request), "to_check": 0, "to_skip": len(levels), "stale_uploads": len(stale),
                   "to_delete": plan.objects + int(plan.source_manifest) if request.delete_source else 0}

        if request.check_mode:
            would = bool(plan.copies or stale or manifest is None or request.delete_source
                         or manifest.get("state") != STATE_VERIFIED or manifest.get("objects") != plan.objects)
            return self.result(plan, manifest or {}, levels, planned, changed=would, remaining=None)

        if manifest is None:
            manifest = {"kind": MANIFEST_KIND, "version": 1, "bucket": request.bucket, "source": request.source_prefix,
                        "target": request.target_prefix, "started": self.now().isoformat(timespec="seconds"), "state": STATE_COPYING,
                        "objects": None, "bytes": None}
            self.write_manifest(manifest)  # first: from now on the target is recognisably ours
        for key, upload in stale:
            self.abort(key, upload)
            self.counts["aborted_uploads"] += 1
            self.changed = True

        with ThreadPoolExecutor(max_workers=request.concurrency, thread_name_prefix="pitr-s3-part") as pool:
            self.parts_pool = pool
            try:
                copied = self.bounded("copy", plan.copies, self.copy_one)
            finally:
                self.parts_pool = None
        levels.update({obj.key: done for obj, done in zip(plan.copies, copied)})

        self.report("verify", 0, plan.objects)
        self.verify_listing(plan, levels)
        if manifest.get("state") != STATE_VERIFIED or (manifest.get("objects"), manifest.get("bytes")) != (plan.objects, plan.bytes):
            manifest.update(state=STATE_VERIFIED, objects=plan.objects, bytes=plan.bytes)
            self.write_manifest(manifest)
        remaining = None
        if request.delete_source:
            remaining = self.delete_sources(plan, set(levels))
            if remaining == 0:
                manifest.update(state=STATE_SOURCE_DELETED)
                self.write_manifest(manifest)
        return self.result(plan, manifest, levels, planned, changed=self.changed, remaining=remaining)

    def verify_listing(self, plan: Plan, levels: dict[str, _Copied]) -> None:
        """List the target again: every source object's copy must be there with its size and the ETag the copy made."""
        after = {obj.key: obj for obj in self.list_prefix(self.request.target_prefix)}
        problems = []
        for obj in plan.sources:
            key = self.request.target_key(obj.key)
            there = after.get(key)
            done = levels.get(obj.key)
            if there is None or done is None:
                problems.append(f"{key!r} is missing")
            elif there.size != obj.size:
                problems.append(f"{key!r} has {there.size} bytes, the source {obj.size}")
            elif there.etag != done.etag:
                problems.append(f"{key!r} changed after it was copied (ETag {there.etag}, copied as {done.etag})")
        if problems:
            raise MoveError(f"verification failed for {len(problems)} of {plan.objects} object(s), nothing was deleted: "
                            + "; ".join(problems[:5]) + (" ..." if len(problems) > 5 else ""), changed=self.changed)

    def finished_before(self, manifest: dict[str, Any] | None, targets: list[S3Object]) -> dict[str, Any]:
        """The source is empty: fine only if our manifest says the move is done (a re-run), else the source is missing."""
        request = self.request
        state = (manifest or {}).get("state")
        if state not in (STATE_VERIFIED, STATE_SOURCE_DELETED) or manifest is None:
            raise MoveError(f"nothing under {request.url(request.source_prefix)}: the source folder is missing or empty "
                            "(check bucket, source_prefix, endpoint_url and the credentials); nothing was changed")
        data = [obj for obj in targets if obj.key != request.manifest_key]
        if len(data) < int(manifest.get("objects") or 0):
            raise MoveError(f"the source {request.url(request.source_prefix)} is empty and the target holds {len(data)} of the "
                            f"{manifest.get('objects')} objects the move verified: objects were deleted from the target since")
        planned = {"to_copy": 0, "to_copy_bytes": 0, "to_skip": 0, "to_check": 0, "multipart": 0, "stale_uploads": 0, "to_delete": 0}
        changed = False
        if state == STATE_VERIFIED and request.delete_source:
            # A run stopped between deleting the last source object and recording it.
            changed = True
            if not request.check_mode:
                manifest.update(state=STATE_SOURCE_DELETED)
                self.write_manifest(manifest)
        result = self.result(Plan(sources=[]), manifest, {}, planned, changed=changed, remaining=0 if request.delete_source else None)
        result.update(objects=int(manifest.get("objects") or 0), bytes=int(manifest.get("bytes") or 0))
        return result

    def result(self, plan: Plan, manifest: Mapping[str, Any], levels: Mapping[str, _Copied], planned: dict[str, int], changed: bool,
               remaining: int | None) -> dict[str, Any]:
        request = self.request
        verification = dict.fromkeys(LEVELS, 0)
        for done in levels.values():
            verification[done.level] += 1
        return {
            "changed": changed, "bucket": request.bucket, "source": request.source_prefix, "target": request.target_prefix,
            "manifest": request.manifest_key, "state": manifest.get("state"), "objects": plan.objects, "bytes": plan.bytes,
            "copied": self.counts["copied"], "copied_bytes": self.counts["copied_bytes"], "multipart": self.counts["multipart"],
            "already_copied": sum(1 for done in levels.values() if not done.copied), "verified": 0 if request.check_mode else len(levels),
            "verification": verification if not request.check_mode else dict.fromkeys(LEVELS, 0), "deleted": self.counts["deleted"],
            "source_remaining": remaining, "aborted_uploads": self.counts["aborted_uploads"], "target_extra": len(plan.target_extra),
            "retries": self.retries, "plan": planned, "seconds": round(time.monotonic() - self.started, 3),
        }


def move_prefix(
    client: Any,
    request: MoveRequest,
    *,
    call: Callable[..., Any] = retrying,
    on_progress: Callable[[Progress], None] | None = None,
    now: Callable[[], _dt.datetime] = lambda: _dt.datetime.now(_dt.timezone.utc),
) -> dict[str, Any]:
    """Move (copy, verify, optionally delete) ``request.source_prefix`` to ``request.target_prefix``; the result dict.

    ``client`` is a boto3 S3 client (thread-safe; give it a connection pool of at least twice the
    concurrency).  ``call`` wraps every API call (default :func:`aws_client.retrying`: throttling
    and S3's transient errors retried).  Raises :class:`MoveError` (with ``changed``) for bad input,
    a target that is not ours, a missing source, failed copies or failed verification; other
    botocore errors as they are (the module words them with ``describe_error``).
    """
    request = validate_request(request)
    mover = _Mover(client, request, call, on_progress, now)
    try:
        return mover.run()
    except MoveError as exc:
        exc.changed = exc.changed or mover.changed
        exc.details.update(copied=mover.counts["copied"], deleted=mover.counts["deleted"], retries=mover.retries)
        raise
    except (ClientError, BotoCoreError) as exc:
        if error_code(exc) in ("PreconditionFailed", "412"):
            message = (f"an object under {request.url(request.source_prefix)} was overwritten while it was being copied "
                       "(its ETag no longer matches the listing)")
        else:
            message = describe_error(exc, f"moving {request.url(request.source_prefix)} to {request.target_prefix}", "s3")
        details = {"copied": mover.counts["copied"], "deleted": mover.counts["deleted"], "retries": mover.retries}
        raise MoveError(message, changed=mover.changed, details=details) from exc
