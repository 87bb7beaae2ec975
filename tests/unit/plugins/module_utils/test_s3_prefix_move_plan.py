"""The pure parts of s3_prefix_move: folder normalisation and overlap, option checks, part layouts, S3's ETag
arithmetic, the ownership check of the target and the plan (what to copy, skip, check).  The copying itself runs
against the moto stand-in in tests/functional/test_s3_prefix_move.py."""
from __future__ import annotations

import hashlib
from typing import Any

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.s3_prefix_move import (
    MANIFEST_NAME,
    MAX_SINGLE_COPY,
    MoveError,
    MoveRequest,
    S3Object,
    check_overlap,
    check_target,
    compare_checksums,
    copy_method,
    copy_ranges,
    etag_part_count,
    make_plan,
    mirrored_sizes,
    multipart_etag,
    normalise_prefix,
    validate_request,
)

MD5_A = hashlib.md5(b"a").hexdigest()  # nosec - S3 ETags are MD5s
MD5_B = hashlib.md5(b"b").hexdigest()  # nosec


def request(**changes: Any) -> MoveRequest:
    return validate_request(MoveRequest(**{"bucket": "bkt", "source_prefix": "pg", "target_prefix": "pg-backup", **changes}))


def manifest(**changes: Any) -> dict[str, Any]:
    return {"kind": "scalarops.pitr/s3_prefix_move", "bucket": "bkt", "source": "pg/", "target": "pg-backup/", "state": "copying", **changes}


@pytest.mark.parametrize(("given", "expected"), [
    ("postgres-v17", "postgres-v17/"),
    ("postgres-v17/", "postgres-v17/"),
    ("/postgres-v17//", "postgres-v17/"),
    ("  backups/pg/v17 ", "backups/pg/v17/"),
    ("a b/ü", "a b/ü/"),
])
def test_prefixes_get_folder_semantics(given: str, expected: str) -> None:
    assert normalise_prefix(given, "source_prefix") == expected


@pytest.mark.parametrize(("given", "message"), [
    ("", "source_prefix is empty"),
    ("///", "source_prefix is empty"),
    (None, "source_prefix is empty"),
    ("s3://bucket/pg", "is a URL: give the bucket as 'bucket'"),
])
def test_prefixes_that_are_no_folder_are_refused(given: str | None, message: str) -> None:
    with pytest.raises(MoveError, match=message):
        normalise_prefix(given, "source_prefix")


def test_a_folder_is_not_a_prefix_of_its_longer_namesake() -> None:
    # "postgres-v17" must not swallow "postgres-v17-backup": the trailing "/" makes them disjoint folders.
    check_overlap(normalise_prefix("postgres-v17", "s"), normalise_prefix("postgres-v17-backup", "t"))
    assert request(source_prefix="postgres-v17", target_prefix="postgres-v17-backup").target_key("postgres-v17/wals/1") == \
        "postgres-v17-backup/wals/1"


@pytest.mark.parametrize(("source", "target", "message"), [
    ("pg", "pg/", "are the same folder"),
    ("pg", "pg/old", "target_prefix 'pg/old/' is inside source_prefix 'pg/'"),
    ("pg/v17", "pg", "source_prefix 'pg/v17/' is inside target_prefix 'pg/'"),
])
def test_overlapping_folders_are_refused(source: str, target: str, message: str) -> None:
    with pytest.raises(MoveError, match=message):
        request(source_prefix=source, target_prefix=target)


@pytest.mark.parametrize(("changes", "message"), [
    ({"bucket": " "}, "bucket is empty"),
    ({"concurrency": 0}, "concurrency must be at least 1"),
    ({"multipart_threshold": MAX_SINGLE_COPY + 1}, "multipart_threshold must be between 0 and 5 GiB"),
    ({"part_size": 0}, "part_size must be between"),
    ({"part_size": MAX_SINGLE_COPY + 1}, "part_size must be between"),
    ({"verify": "everything"}, "verify must be one of metadata, content"),
])
def test_bad_options_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(MoveError, match=message):
        request(**changes)


def test_etag_part_counts() -> None:
    assert etag_part_count(f"{MD5_A}-12") == 12
    assert etag_part_count(f"{MD5_A}-1") == 1
    assert etag_part_count(MD5_A) is None
    assert etag_part_count(f"{MD5_A}-0") is None
    assert etag_part_count("not-an-md5-3") is None


def test_multipart_etag_is_the_md5_of_the_parts_md5s() -> None:
    parts = [b"x" * 10, b"y" * 7]
    digests = [hashlib.md5(part).hexdigest() for part in parts]  # nosec
    expected = hashlib.md5(b"".join(hashlib.md5(part).digest() for part in parts)).hexdigest() + "-2"  # nosec
    assert multipart_etag([f'"{digests[0]}"', digests[1]]) == expected
    assert multipart_etag([]) is None
    assert multipart_etag([digests[0], "opaque-etag-of-another-store"]) is None


@pytest.mark.parametrize(("size", "part_size"), [(1, 5), (10, 5), (11, 5), (12_345, 1000), (10 ** 9, 1)])
def test_copy_ranges_tile_the_object_exactly_in_at_most_10000_parts(size: int, part_size: int) -> None:
    ranges = copy_ranges(size, part_size)
    assert ranges[0][0] == 0 and ranges[-1][1] == size - 1 and len(ranges) <= 10_000
    assert all(later[0] == earlier[1] + 1 for earlier, later in zip(ranges, ranges[1:]))
    assert all(end >= start for start, end in ranges)
    if size // part_size <= 10_000:
        assert all(end - start + 1 == part_size for start, end in ranges[:-1])


def test_copy_ranges_of_an_empty_object() -> None:
    assert not copy_ranges(0, 5)


def test_mirrored_sizes_follow_a_uniform_upload() -> None:
    assert mirrored_sizes(2_500, 1_000, 3) == [1_000, 1_000, 500]
    assert mirrored_sizes(3_000, 1_000, 3) == [1_000, 1_000, 1_000]
    assert mirrored_sizes(700, 700, 1) == [700]
    assert mirrored_sizes(3_001, 1_000, 3) is None  # last part bigger than the first: not uniform
    assert mirrored_sizes(2_000, 1_000, 3) is None  # last part empty
    assert mirrored_sizes(2_000, 0, 3) is None


def test_copy_method_per_object() -> None:
    req = request(multipart_threshold=1_000)
    assert copy_method(S3Object("pg/a", 999, MD5_A), req) == "copy"
    assert copy_method(S3Object("pg/a", 1_001, MD5_A), req) == "parts"
    assert copy_method(S3Object("pg/a", 10, f"{MD5_A}-2"), req) == "mirror"
    assert copy_method(S3Object("pg/a", 10, f"{MD5_A}-2"), request(multipart_threshold=1_000, preserve_etags=False)) == "copy"
    assert copy_method(S3Object("pg/a", 1_001, f"{MD5_A}-2"), request(multipart_threshold=1_000, preserve_etags=False)) == "parts"


def test_plan_copies_skips_and_checks() -> None:
    req = request()
    sources = [S3Object("pg/", 0, MD5_A), S3Object("pg/new", 5, MD5_A), S3Object("pg/same", 5, MD5_A), S3Object("pg/resized", 5, MD5_A),
               S3Object("pg/multi", 5, MD5_B), S3Object("pg/" + MANIFEST_NAME, 50, MD5_B)]
    targets = [S3Object("pg-backup/", 0, MD5_A), S3Object("pg-backup/same", 5, MD5_A), S3Object("pg-backup/resized", 4, MD5_A),
               S3Object("pg-backup/multi", 5, f"{MD5_A}-1"), S3Object("pg-backup/gone", 1, MD5_A),
               S3Object("pg-backup/" + MANIFEST_NAME, 50, MD5_B)]
    plan = make_plan(req, sources, targets)
    assert [obj.key for obj in plan.copies] == ["pg/new", "pg/resized"]
    assert plan.skips == {"pg/": MD5_A, "pg/same": MD5_A}
    assert [obj.key for obj in plan.candidates] == ["pg/multi"]
    assert plan.target_extra == ["pg-backup/gone"]
    # An earlier move's manifest in the source folder is never copied (it would replace ours).
    assert plan.source_manifest and plan.objects == 5 and plan.bytes == 20
    assert plan.counts(req) == {"to_copy": 2, "to_copy_bytes": 10, "to_skip": 2, "to_check": 1, "multipart": 0}


def test_plan_refuses_keys_s3_would_refuse() -> None:
    req = request(target_prefix="t" * 1000)
    with pytest.raises(MoveError, match="longer than S3's 1024 bytes"):
        make_plan(req, [S3Object("pg/" + "k" * 30, 1, MD5_A)], [])


def test_an_empty_target_or_one_with_a_folder_marker_is_free() -> None:
    check_target(request(), [], None)
    check_target(request(), [S3Object("pg-backup/", 0, MD5_A)], None)


def test_a_target_with_data_but_no_manifest_is_not_ours() -> None:
    with pytest.raises(MoveError, match="already holds 1 object.*is not a move of ours"):
        check_target(request(), [S3Object("pg-backup/base/x", 1, MD5_A)], None)


@pytest.mark.parametrize("other", [
    {"source": "other/"},
    {"bucket": "elsewhere"},
    {"target": "pg-old/"},
    {"kind": None},
])
def test_a_manifest_of_another_move_is_not_ours(other: dict[str, Any]) -> None:
    with pytest.raises(MoveError, match="holds a move from .*, not from s3://bkt/pg/"):
        check_target(request(), [S3Object("pg-backup/" + MANIFEST_NAME, 1, MD5_A)], manifest(**other))


def test_our_manifest_makes_the_target_resumable() -> None:
    check_target(request(), [S3Object("pg-backup/" + MANIFEST_NAME, 1, MD5_A), S3Object("pg-backup/x", 1, MD5_A)], manifest())


def test_checksums_compared_only_when_both_are_full_object() -> None:
    assert compare_checksums({"ChecksumCRC32": "a"}, {"ChecksumCRC32": "a"}) == ("ChecksumCRC32", True)
    assert compare_checksums({"ChecksumSHA256": "a", "ChecksumCRC32": "x"}, {"ChecksumSHA256": "b", "ChecksumCRC32": "x"}) == \
        ("ChecksumSHA256", False)
    assert compare_checksums({"ChecksumCRC32": "a-3"}, {"ChecksumCRC32": "a-3"}) is None
    assert compare_checksums({"ChecksumCRC32": "a", "ChecksumType": "COMPOSITE"}, {"ChecksumCRC32": "a"}) is None
    assert compare_checksums({"ChecksumCRC32": "a"}, {"ChecksumSHA256": "a"}) is None
