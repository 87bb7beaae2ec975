"""Reading a CloudNativePG Barman archive (module_utils/cnpg_archive) in the AWS stand-in, through the client the module builds.

The archive is written as barman-cloud lays it out (cnpg_helpers.write_barman_archive); the scan must find the DONE
base backups and WAL segments, pick the backup the operator would pick for a target time (the newest DONE one that
ended at or before it), and refuse - with a message that names the fix - a missing folder, a target before every
backup, an archive without WAL or with the chosen backup's WAL missing.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import AwsConnection
from ansible_collections.scalarops.pitr.plugins.module_utils.cnpg_archive import (
    ArchiveError,
    check_recovery,
    first_object,
    list_server_folders,
    parse_destination,
    scan_server,
)
from cnpg_helpers import wal_name, write_barman_archive
from fixtures.aws import AwsTarget

pytestmark = pytest.mark.standin_only  # buckets are created and never cleaned up: the stand-in is reset per test

UTC = _dt.timezone.utc
DAY = _dt.datetime(2026, 11, 20, tzinfo=UTC)


def at(hours: float) -> _dt.datetime:
    return DAY + _dt.timedelta(hours=hours)


@pytest.fixture(name="s3")
def s3_fixture(aws: AwsTarget) -> Any:
    """The S3 client the module builds (single attempt, our retries), pointed at the stand-in."""
    return AwsConnection({"endpoint_url": aws.endpoint_url, "region": aws.region}).client("s3")


def test_scan_finds_backups_and_wals_and_picks_what_the_operator_picks(aws: AwsTarget, s3: Any) -> None:
    bucket = aws.unique("cnpg")
    written = write_barman_archive(aws.client("s3"), bucket, "clusters/prod", "pg-v17", wal_count=12, backups=[
        ("20261120T100000", at(10), at(10.01)),
        ("20261120T120000", at(12), at(12.02)),
        ("20261120T140000", at(14), at(14.01), "FAILED"),  # newer, but not usable
        ("20261120T160000", at(16), at(16.05)),
    ])
    write_barman_archive(aws.client("s3"), bucket, "clusters/prod", "pg-v17-backup", backups=[("x", at(1), at(2))], wal_count=2)
    assert parse_destination(f"s3://{bucket}/clusters/prod/") == (bucket, "clusters/prod")

    scan = scan_server(s3, bucket, "clusters/prod", "pg-v17")
    assert scan.objects == len(written["keys"]) and scan.folder == "clusters/prod/pg-v17/"
    assert {backup.backup_id: backup.status for backup in scan.backups} == {
        "20261120T100000": "DONE", "20261120T120000": "DONE", "20261120T140000": "FAILED", "20261120T160000": "DONE"}
    assert scan.wals == set(written["wals"]) and scan.latest_wal == wal_name(12)
    newest = next(backup for backup in scan.backups if backup.backup_id == "20261120T160000")
    assert (newest.end_time, newest.timeline, newest.begin_wal) == (at(16.05), 1, wal_name(10))  # 4th by end time, 12 WALs over 4: segments 10, 11

    # before the 12:00 backup ended -> the 10:00 one; between 12:00 and 16:00 (the FAILED 14:00 one skipped) -> 12:00; latest -> 16:00
    assert check_recovery(scan, at(12.01)).backup_id == "20261120T100000"
    assert check_recovery(scan, at(15)).backup_id == "20261120T120000"
    assert check_recovery(scan, at(16.05)).backup_id == "20261120T160000"  # ended exactly at the target: usable
    assert check_recovery(scan, None).backup_id == "20261120T160000"
    with pytest.raises(ArchiveError, match=r"no base backup .* ended at or before target_time .* the earliest restorable point is the end "
                                           r"of the first backup - 20261120T100000 \(ended 2026-11-20T10:00:36\+00:00\)"):
        check_recovery(scan, at(9))

    assert first_object(s3, bucket, "clusters/prod", "pg-v17-new") is None
    assert first_object(s3, bucket, "clusters/prod", "pg-v17") == written["keys"][0]
    assert sorted(list_server_folders(s3, bucket, "clusters/prod")) == ["pg-v17", "pg-v17-backup"]


def test_scan_refuses_missing_folder_no_done_backup_and_missing_wal(aws: AwsTarget, s3: Any) -> None:
    bucket = aws.unique("cnpg")
    client = aws.client("s3")
    write_barman_archive(client, bucket, "", "other", backups=[("a", at(1), at(2))])
    scan = scan_server(s3, bucket, "", "pg")
    with pytest.raises(ArchiveError, match=r"nothing under s3://[^/]+/pg/: the recovery folder .* is missing .* folders there: other"):
        check_recovery(scan, None, lambda: list_server_folders(s3, bucket, ""))

    write_barman_archive(client, bucket, "", "failed", backups=[("a", at(1), at(2), "FAILED")])
    with pytest.raises(ArchiveError, match=r"no base backup with status DONE .* \(found 1 with status FAILED\)"):
        check_recovery(scan_server(s3, bucket, "", "failed"), None)

    write_barman_archive(client, bucket, "", "nowal", backups=[("a", at(1), at(2))], wal_count=0)
    with pytest.raises(ArchiveError, match=r"no WAL files under s3://[^/]+/nowal/wals/"):
        check_recovery(scan_server(s3, bucket, "", "nowal"), None)

    # two backups, three WAL segments: the second backup's end_wal (segment 4... written only up to 3) is missing
    write_barman_archive(client, bucket, "", "gap", backups=[("a", at(1), at(2)), ("b", at(3), at(4))], wal_count=3)
    gap = scan_server(s3, bucket, "", "gap")
    assert check_recovery(gap, at(2.5)).backup_id == "a"
    with pytest.raises(ArchiveError, match=rf"the base backup b needs the WAL segment\(s\) {wal_name(4)} .* the archive is incomplete"):
        check_recovery(gap, None)

    with pytest.raises(ArchiveError, match="is not an S3 URL"):
        parse_destination("https://account.blob.core.windows.net/container")
    with pytest.raises(ArchiveError, match=r"list s3://pitr-no-such-bucket/pg/ failed: NoSuchBucket"):
        scan_server(s3, "pitr-no-such-bucket", "", "pg")
