"""The delay model: how long a resource reports "creating" after moto created it.

moto makes every table, backup, instance and cluster ACTIVE/available at once.  Here a resource
is "still creating" while its age - wall time since moto created it, read from the model's own
creation timestamp - is below the configured number of seconds.  Nothing sleeps: requests stay
fast, a restore of 100 tables just makes 100 tables report CREATING until each one's time is up,
exactly what a client polling AWS sees.  Changing a delay takes effect at once, also for
resources that already exist.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from moto.core.utils import utcnow
from moto.dynamodb.models.table import Backup, RestoredPITTable, RestoredTable


@dataclass
class Delays:
    """Seconds each kind of resource reports creating (0 = moto's immediate behaviour)."""

    restore_seconds: float = 0.0  # DynamoDB tables made by RestoreTableToPointInTime / RestoreTableFromBackup
    backup_seconds: float = 0.0  # DynamoDB on-demand backups (CreateBackup)
    rds_seconds: float = 0.0  # RDS DB instances and Aurora clusters (create and restore alike)


def _younger_than(created: datetime | None, seconds: float) -> bool:
    # moto stamps models with its naive-UTC ``utcnow``; compare with the same clock.
    return seconds > 0 and created is not None and (utcnow() - created).total_seconds() < seconds


def table_restoring(table: Any, delays: Delays) -> bool:
    """A DynamoDB table made by a restore that has not finished yet."""
    return isinstance(table, (RestoredPITTable, RestoredTable)) and _younger_than(
        getattr(table, "created_at", None), delays.restore_seconds
    )


def backup_creating(backup: Backup, delays: Delays) -> bool:
    """A DynamoDB on-demand backup that is not AVAILABLE yet."""
    return _younger_than(getattr(backup, "creation_date_time", None), delays.backup_seconds)


def rds_creating(resource: Any, delays: Delays) -> bool:
    """An RDS DB instance or cluster that is not available yet."""
    return _younger_than(getattr(resource, "created", None), delays.rds_seconds)
