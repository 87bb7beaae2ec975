"""A fresh in-process AWS stand-in holding N small ScalarDB-like tables, and a restore point for them.

Every measurement gets its own ``InProcessAws`` so no run sees another's tables, backups or
journal.  The deployment is ``standins.aws.scalardb_tables.create_deployment`` with N - 3 user
tables in one namespace (plus ``scalardb.metadata``, ``scalardb.namespaces`` and
``coordinator.state``: N tables in all, every one of them restored), no secondary indexes and two
items each, so building 100 tables takes a few seconds and every table's chain is the same length.
"""
from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from standins.aws.inprocess import InProcessAws
from standins.aws.scalardb_tables import create_deployment

SYSTEM_TABLES = 3  # scalardb.metadata, scalardb.namespaces, coordinator.state
NAMESPACE = "bench"
ITEMS_PER_TABLE = 2


@dataclass
class Stand:
    """A running stand-in with a deployment on it."""

    aws: InProcessAws
    tables: list[str]  # every table of the deployment, sorted
    restore_point: _dt.datetime  # after every item was written, inside every table's window
    build_seconds: float


def layout(total_tables: int) -> dict[str, dict[str, list[str]]]:
    """``create_deployment``'s layout for ``total_tables`` tables in all (system tables included)."""
    if total_tables <= SYSTEM_TABLES:
        raise ValueError(f"a deployment has at least {SYSTEM_TABLES + 1} tables (the {SYSTEM_TABLES} system tables and one user table)")
    return {NAMESPACE: {f"t{number:03d}": [] for number in range(total_tables - SYSTEM_TABLES)}}


def _wait_restorable(ddb: Any, tables: list[str], point: _dt.datetime, timeout: float = 30.0) -> None:
    """Wait until ``point`` lies inside every table's PITR window (the stand-in's latest is now minus a lag)."""
    deadline = time.monotonic() + timeout
    for table in tables:
        while True:
            window = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
            latest = window.get("LatestRestorableDateTime")
            if latest is not None and latest >= point:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"table {table}: the restore point {point.isoformat()} is still after LatestRestorableDateTime {latest}")
            time.sleep(0.1)


def _next_second(moment: _dt.datetime) -> _dt.datetime:
    """The first whole second after ``moment``.  Whole seconds because the AWS CLI v1 sends
    timestamps truncated to seconds (the boto3 the module uses sends milliseconds), and after
    ``moment`` so the point does not fall before the last item written."""
    return moment.replace(microsecond=0) + _dt.timedelta(seconds=1)


@contextmanager
def standing(total_tables: int, seconds: float) -> Iterator[Stand]:
    """A stand-in where restores and backups take ``seconds``, with ``total_tables`` tables on it."""
    with InProcessAws(restore_seconds=seconds, backup_seconds=seconds) as aws:
        ddb = aws.client("dynamodb")
        started = time.monotonic()
        made = create_deployment(ddb, aws.client("application-autoscaling"), layout=layout(total_tables), items=ITEMS_PER_TABLE)
        build_seconds = time.monotonic() - started
        point = _next_second(_dt.datetime.now(_dt.timezone.utc))
        _wait_restorable(ddb, made.tables, point)
        yield Stand(aws, sorted(made.tables), point, build_seconds)
