# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Read a CloudNativePG Barman object-store archive in S3: base backups, WAL files, empty folders.

barman-cloud (which CloudNativePG runs in-tree and through the Barman Cloud plugin) lays out one folder per
serverName under the cluster's ``destinationPath``::

    <prefix>/<serverName>/base/<backupID>/backup.info      key=value lines: status, begin/end time and WAL, timeline
    <prefix>/<serverName>/base/<backupID>/data.tar[.gz]   the base backup itself (plus one tar per tablespace)
    <prefix>/<serverName>/wals/<first 16 hex>/<24-hex WAL name>[.gz|.bz2|...]
    <prefix>/<serverName>/wals/<8 hex>.history

A recovery to a target time starts from the newest base backup with status DONE whose end_time is not after
the target (what the operator picks too: ``Catalog.findClosestBackupFromTargetTime``) and needs every WAL
segment from that backup's begin_wal to its end_wal to reach consistency. A new cluster refuses to archive
into a folder that already holds data ("Expected empty archive"). This module checks all of that from the
control node, before anything is created, so the operator never gets a Cluster stuck in "Setting up primary".

Plain Python: ``client`` is a boto3 S3 client, ``call`` wraps every API call (aws_client.retrying by default).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import BotoCoreError, ClientError, describe_error, retrying
from ansible_collections.scalarops.pitr.plugins.module_utils.s3_prefix_move import MANIFEST_NAME as MOVE_MANIFEST

__all__ = [
    "DEFAULT_SEGMENT_SIZE", "ArchiveError", "ArchiveScan", "BaseBackup", "check_recovery", "choose_backup", "describe_backups",
    "first_object", "list_server_folders", "parse_backup_info", "parse_destination", "read_move_manifest", "required_wals",
    "scan_server", "server_prefix", "url", "wal_name", "wal_position",
]

DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024
STATUS_DONE = "DONE"
# A WAL segment (timeline, log, segment: 24 hex digits) as barman-cloud stores it, possibly compressed.
_WAL_FILE = re.compile(r"^(?P<name>[0-9A-F]{24})(?:\.(?:gz|bz2|snappy|xz|lz4|zst))?$")
_DESTINATION = re.compile(r"^s3a?://(?P<bucket>[^/]+)/?(?P<prefix>.*)$", re.IGNORECASE)
# Reading more backup.info files than this means something else is wrong (a prefix pointing at a whole bucket).
_MAX_BACKUPS = 2000


class ArchiveError(RuntimeError):
    """The archive cannot serve the recovery: the message says what is missing and how to fix it."""


def parse_destination(destination_path: str) -> tuple[str, str]:
    """``s3://bucket/optional/prefix`` -> (bucket, prefix without slashes at either end)."""
    match = _DESTINATION.match((destination_path or "").strip())
    if not match or not match.group("bucket"):
        raise ArchiveError(f"destinationPath {destination_path!r} is not an S3 URL (s3://bucket/optional/prefix): the archive "
                           "check reads S3 only; for Azure Blob or Google Cloud Storage set check_archive: false")
    return match.group("bucket"), match.group("prefix").strip("/")


def server_prefix(prefix: str, server: str) -> str:
    """The key prefix of a serverName's folder, with its trailing slash."""
    return f"{prefix}/{server}/" if prefix else f"{server}/"


def url(bucket: str, key_prefix: str) -> str:
    return f"s3://{bucket}/{key_prefix}"


# --- backup.info and WAL names -------------------------------------------------------------------------------
def _time(value: str | None) -> _dt.datetime | None:
    """barman's "2026-11-20 10:00:03.123456+00:00" (str of an aware datetime), or None."""
    if not value or value == "None":
        return None
    try:
        parsed = _dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    # barman writes aware times; a naive one would be the server's local time, which we cannot know: read as UTC
    # rather than drop the backup (the operator reads it the same way).
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=_dt.timezone.utc)


def parse_backup_info(text: str) -> dict[str, str | None]:
    """The ``key=value`` lines of a backup.info; the literal ``None`` becomes None."""
    info: dict[str, str | None] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            value = value.strip()
            info[key.strip()] = None if value == "None" else value
    return info


@dataclass(frozen=True)
class BaseBackup:
    """One base backup of the archive, from its backup.info."""

    backup_id: str
    status: str
    begin_time: _dt.datetime | None
    end_time: _dt.datetime | None
    begin_wal: str | None
    end_wal: str | None
    timeline: int | None
    segment_size: int = DEFAULT_SEGMENT_SIZE
    key: str = ""

    @classmethod
    def from_info(cls, backup_id: str, text: str, key: str = "") -> BaseBackup:
        info = parse_backup_info(text)
        try:
            timeline = int(info["timeline"]) if info.get("timeline") else None
        except ValueError:
            timeline = None
        try:
            segment_size = int(info.get("xlog_segment_size") or DEFAULT_SEGMENT_SIZE)
        except ValueError:
            segment_size = DEFAULT_SEGMENT_SIZE
        return cls(backup_id=info.get("backup_id") or backup_id, status=(info.get("status") or "").upper(),
                   begin_time=_time(info.get("begin_time")), end_time=_time(info.get("end_time")), begin_wal=info.get("begin_wal"),
                   end_wal=info.get("end_wal"), timeline=timeline, segment_size=segment_size or DEFAULT_SEGMENT_SIZE, key=key)

    @property
    def done(self) -> bool:
        return self.status == STATUS_DONE and self.end_time is not None


def _segments_per_log(segment_size: int) -> int:
    return 0x100000000 // segment_size


def wal_position(name: str, segment_size: int = DEFAULT_SEGMENT_SIZE) -> tuple[int, int]:
    """A WAL file name -> (timeline, segment number)."""
    return int(name[:8], 16), int(name[8:16], 16) * _segments_per_log(segment_size) + int(name[16:24], 16)


def wal_name(timeline: int, segment: int, segment_size: int = DEFAULT_SEGMENT_SIZE) -> str:
    """(timeline, segment number) -> the 24-hex WAL file name."""
    per_log = _segments_per_log(segment_size)
    return f"{timeline:08X}{segment // per_log:08X}{segment % per_log:08X}"


def required_wals(backup: BaseBackup, limit: int = 100000) -> list[str]:
    """The WAL segments from the backup's begin_wal to its end_wal: all of them must be archived to recover from it."""
    if not backup.begin_wal or not backup.end_wal:
        return []
    timeline, first = wal_position(backup.begin_wal, backup.segment_size)
    end_timeline, last = wal_position(backup.end_wal, backup.segment_size)
    if end_timeline != timeline or last < first or last - first > limit:
        return [backup.begin_wal, backup.end_wal]  # not a plain range: at least both ends
    return [wal_name(timeline, segment, backup.segment_size) for segment in range(first, last + 1)]


def choose_backup(backups: Iterable[BaseBackup], target: _dt.datetime | None) -> BaseBackup | None:
    """The newest DONE base backup whose end_time is not after ``target`` (any DONE one without a target)."""
    usable = [backup for backup in backups if backup.done and (target is None or backup.end_time <= target)]  # type: ignore[operator]
    return max(usable, key=lambda backup: (backup.end_time, backup.backup_id)) if usable else None


# --- S3 --------------------------------------------------------------------------------------------------------
@dataclass
class ArchiveScan:
    """What one serverName folder holds."""

    bucket: str
    prefix: str
    server: str
    objects: int = 0
    backups: list[BaseBackup] = field(default_factory=list)
    wals: set[str] = field(default_factory=set)
    unreadable: list[str] = field(default_factory=list)
    move_manifest: str | None = None  # the key of s3_prefix_move's manifest: the folder is the target of a folder move

    @property
    def folder(self) -> str:
        return server_prefix(self.prefix, self.server)

    @property
    def url(self) -> str:
        return url(self.bucket, self.folder)

    @property
    def latest_wal(self) -> str | None:
        return max(self.wals) if self.wals else None


def _api(call: Callable[..., Any], method: Callable[..., Any], action: str, **kwargs: Any) -> Any:
    try:
        return call(method, **kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise ArchiveError(describe_error(exc, action, "s3")) from None


def _list(client: Any, call: Callable[..., Any], bucket: str, key_prefix: str, **extra: Any) -> Iterable[dict[str, Any]]:
    """Pages of ListObjectsV2 under ``key_prefix``."""
    token: dict[str, str] = {}
    while True:
        page = _api(call, client.list_objects_v2, f"list {url(bucket, key_prefix)}", Bucket=bucket, Prefix=key_prefix, **extra, **token)
        yield page
        if not page.get("IsTruncated") or not page.get("NextContinuationToken"):
            return
        token = {"ContinuationToken": page["NextContinuationToken"]}


def first_object(client: Any, bucket: str, prefix: str, server: str, *, call: Callable[..., Any] = retrying) -> str | None:
    """The first key in the serverName folder, None when it is empty (one listing call of one key)."""
    key_prefix = server_prefix(prefix, server)
    page = _api(call, client.list_objects_v2, f"list {url(bucket, key_prefix)}", Bucket=bucket, Prefix=key_prefix, MaxKeys=1)
    contents = page.get("Contents") or []
    return contents[0]["Key"] if contents else None


def list_server_folders(client: Any, bucket: str, prefix: str, *, call: Callable[..., Any] = retrying, limit: int = 20) -> list[str]:
    """The folder names directly under ``prefix`` (the serverNames archived there), for error messages."""
    key_prefix = f"{prefix}/" if prefix else ""
    names: list[str] = []
    for page in _list(client, call, bucket, key_prefix, Delimiter="/"):
        names.extend(entry["Prefix"][len(key_prefix):].rstrip("/") for entry in page.get("CommonPrefixes") or [])
        if len(names) >= limit:
            break
    return names[:limit]


def scan_server(client: Any, bucket: str, prefix: str, server: str, *, call: Callable[..., Any] = retrying) -> ArchiveScan:
    """List a serverName folder and read every backup.info in it."""
    scan = ArchiveScan(bucket=bucket, prefix=prefix, server=server)
    base = f"{scan.folder}base/"
    wals = f"{scan.folder}wals/"
    infos: list[tuple[str, str]] = []
    for page in _list(client, call, bucket, scan.folder):
        for entry in page.get("Contents") or []:
            key = entry["Key"]
            scan.objects += 1
            if key == f"{scan.folder}{MOVE_MANIFEST}":
                scan.move_manifest = key
            elif key.startswith(base) and key.endswith("/backup.info"):
                backup_id = key[len(base):-len("/backup.info")]
                if backup_id and "/" not in backup_id:
                    infos.append((backup_id, key))
            elif key.startswith(wals):
                match = _WAL_FILE.match(key.rsplit("/", 1)[-1])
                if match:
                    scan.wals.add(match.group("name"))
    if len(infos) > _MAX_BACKUPS:
        raise ArchiveError(f"{scan.url} holds {len(infos)} base backups, more than the {_MAX_BACKUPS} this check reads; "
                           "check destinationPath and the serverName, or set check_archive: false")
    for backup_id, key in sorted(infos):
        body = _api(call, client.get_object, f"read {url(bucket, key)}", Bucket=bucket, Key=key)["Body"]
        try:
            text = body.read().decode("utf-8", "replace")
        finally:
            body.close()
        backup = BaseBackup.from_info(backup_id, text, key)
        if backup.status:
            scan.backups.append(backup)
        else:
            scan.unreadable.append(key)
    return scan


def read_move_manifest(client: Any, bucket: str, key: str, *, call: Callable[..., Any] = retrying) -> dict[str, Any]:
    """s3_prefix_move's manifest (source, target, state) at ``key``; {} when it cannot be read as JSON."""
    body = _api(call, client.get_object, f"read {url(bucket, key)}", Bucket=bucket, Key=key)["Body"]
    try:
        manifest = json.loads(body.read().decode("utf-8", "replace"))
    except ValueError:
        return {}
    finally:
        body.close()
    return manifest if isinstance(manifest, dict) else {}


def describe_backups(backups: Iterable[BaseBackup]) -> str:
    """A short list "id (end_time)" of DONE backups, oldest first, for error messages."""
    done = sorted((backup for backup in backups if backup.done), key=lambda backup: backup.end_time)  # type: ignore[arg-type, return-value]
    shown = [f"{backup.backup_id} (ended {backup.end_time.isoformat()})" for backup in done[:5]]  # type: ignore[union-attr]
    return ", ".join(shown) + (f" and {len(done) - 5} more" if len(done) > 5 else "")


def check_recovery(scan: ArchiveScan, target: _dt.datetime | None, folders: Callable[[], list[str]] | None = None) -> BaseBackup:
    """The base backup a recovery to ``target`` (None: the end of the archive) starts from; ArchiveError if there is none.

    Checks, in order: the folder holds anything, a DONE base backup ended at or before the target, WAL files exist,
    and every WAL segment the chosen backup needs to become consistent is archived. ``folders`` lists the serverName
    folders that do exist, named when the recovery folder is missing.
    """
    if scan.objects == 0:
        found = sorted(folders()) if folders is not None else []
        hint = f"; folders there: {', '.join(found)}" if found else "; the bucket/prefix holds no folder at all"
        raise ArchiveError(f"nothing under {scan.url}: the recovery folder (recovery_server_name {scan.server!r}) is missing - "
                           f"check recovery_server_name, the destinationPath, the endpoint and the credentials{hint}")
    done = [backup for backup in scan.backups if backup.done]
    if not done:
        statuses = sorted({backup.status or "?" for backup in scan.backups})
        found = f" (found {len(scan.backups)} with status {', '.join(statuses)})" if scan.backups else ""
        raise ArchiveError(f"no base backup with status DONE under {scan.url}base/{found}: a recovery needs a completed base backup; "
                           "take one (a Backup or ScheduledBackup of the source cluster) first")
    chosen = choose_backup(done, target)
    if chosen is None:
        raise ArchiveError(f"no base backup under {scan.url}base/ ended at or before target_time {target.isoformat() if target else ''}: "
                           f"the earliest restorable point is the end of the first backup - {describe_backups(done)}; choose a later "
                           "target_time")
    if not scan.wals:
        raise ArchiveError(f"no WAL files under {scan.url}wals/: the base backup {chosen.backup_id} cannot be recovered without its WAL; "
                           "check that WAL archiving of the source cluster works (its ContinuousArchiving condition)")
    missing = [name for name in required_wals(chosen) if name not in scan.wals]
    if missing:
        raise ArchiveError(f"the base backup {chosen.backup_id} needs the WAL segment(s) {', '.join(missing[:5])}"
                           f"{' ...' if len(missing) > 5 else ''} (from its begin_wal {chosen.begin_wal} to its end_wal {chosen.end_wal}), "
                           f"which are not under {scan.url}wals/: the archive is incomplete; choose a target_time after a later backup")
    return chosen
