"""Shared helpers of the DynamoDB restore tests (``test_dynamodb_restore*.py``).

Every test drives ``dynamodb_restore.run_phase`` with real boto3 clients over HTTP against the
in-process moto stand-in (``aws_inproc``: delays, faults, call counters), on a small ScalarDB-like
deployment built by ``standins.aws.scalardb_tables``.  The helpers here build that deployment with
the settings a restore loses (TTL, tags, deletion protection on top of auto scaling and PITR),
run phases, look at what AWS holds afterwards, and simulate a killed run (``Killer``).
"""
from __future__ import annotations

import datetime as _dt
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import retrying
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_restore import Options, Progress, Request, run_phase
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_settings import TableSettings, capture
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_wait import Poller
from standins.aws.inprocess import InProcessAws
from standins.aws.scalardb_tables import Deployment, create_deployment, table_names, user_backups, versions

PREFIX = "p_"
TARGET_PREFIX = "r_"
JOURNAL = "scalarops-pitr-journal"
# The smallest deployment that still has every kind of table: metadata, namespaces, coordinator and
# one user table with a secondary index (a GSI named after the table).
SMALL_LAYOUT: dict[str, dict[str, list[str]]] = {"sample": {"accounts": ["email"]}}
USER_TABLE = f"{PREFIX}sample.accounts"
METADATA_TABLE = f"{PREFIX}scalardb.metadata"
NAMESPACES_TABLE = f"{PREFIX}scalardb.namespaces"
TTL_ATTRIBUTE = "expire_at"
EXTRA_TAGS = {"team": "payments"}
ITEMS = 3
_STAGING = re.compile(r"-pitr-\d{8}T\d{6}")  # dynamodb_naming.staging_name: <table>-pitr-<restore point label>


def poller() -> Poller:
    return Poller(deadline=60, first_delay=0.02, max_delay=0.2)


def options(**overrides: Any) -> Options:
    """Small waits: the stand-in's delays are fractions of a second."""
    values: dict[str, Any] = {"poller": poller(), "progress_interval": 30.0, "concurrency": 10}
    values.update(overrides)
    return Options(**values)


def now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


@dataclass
class Stage:
    """A started stand-in with a deployment on it, and the clients the restore and the test use."""

    aws: InProcessAws
    deployment: Deployment
    point: _dt.datetime  # after the v1 items were written, before anything else
    ddb: Any  # the test's own client (botocore retries on)
    core_ddb: Any  # the restore's client: no botocore retries, so ours are what retries
    scaling: Any
    before: dict[str, TableSettings] = field(default_factory=dict)  # every table's settings before the restore

    @property
    def tables(self) -> list[str]:
        return self.deployment.tables

    @property
    def user_tables(self) -> list[str]:
        return self.deployment.user_tables

    def request(self, mode: str = "in_place", point: _dt.datetime | None | str = "stage", **kwargs: Any) -> Request:
        """A request for this deployment; ``point`` defaults to the stage's point (None: use the latest)."""
        moment = self.point if point == "stage" else point
        assert moment is None or isinstance(moment, _dt.datetime)
        if mode == "new_prefix":
            kwargs.setdefault("target_prefix", TARGET_PREFIX)
        return Request(mode=mode, restore_point=moment, prefix=self.deployment.prefix, **kwargs)

    def run(self, request: Request, phase: str, call: Callable[..., Any] | None = None,
            on_progress: Callable[[Progress], None] | None = None, **option_overrides: Any) -> dict[str, Any]:
        return run_phase(self.core_ddb, self.scaling, request, phase, options(**option_overrides), call=call, on_progress=on_progress)

    def settings(self, tables: Iterable[str]) -> dict[str, TableSettings]:
        return {name: capture(self.ddb, self.scaling, name) for name in tables}

    def table_names(self) -> set[str]:
        return table_names(self.ddb)

    def backups(self) -> dict[str, dict[str, Any]]:
        """Every user backup by name (BackupSummary)."""
        return user_backups(self.ddb)

    def staging_tables(self) -> set[str]:
        return {name for name in self.table_names() if _STAGING.search(name)}

    def versions(self, table: str) -> dict[int, str]:
        return versions(self.ddb, table)


def build(aws: InProcessAws, layout: Mapping[str, Mapping[str, list[str]]] | None = None, protect: Iterable[str] = (USER_TABLE,)) -> Stage:
    """A deployment (``layout``, default ``SMALL_LAYOUT``) with ``ITEMS`` v1 items per user table, TTL
    and an extra tag on every user table, deletion protection on ``protect``; ``point`` is taken after the writes.
    """
    ddb = aws.client("dynamodb")
    scaling = aws.client("application-autoscaling")
    deployment = create_deployment(ddb, scaling, prefix=PREFIX, layout=layout or SMALL_LAYOUT, items=ITEMS, version="v1")
    for table in deployment.user_tables:
        ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE})
        arn = ddb.describe_table(TableName=table)["Table"]["TableArn"]
        ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": key, "Value": value} for key, value in EXTRA_TAGS.items()])
    for table in protect:
        if table in deployment.tables:
            ddb.update_table(TableName=table, DeletionProtectionEnabled=True)
    point = point_after_writes()
    stage = Stage(aws=aws, deployment=deployment, point=point, ddb=ddb, core_ddb=aws.client("dynamodb", max_attempts=1), scaling=scaling)
    stage.before = stage.settings(deployment.tables)
    return stage


def point_after_writes() -> _dt.datetime:
    """A restore point after every write so far and before any later one (milliseconds apart on both
    sides; the in-process stand-in's clock is this process's)."""
    time.sleep(0.005)
    point = now()
    time.sleep(0.005)
    return point


def write_v2(stage: Stage) -> None:
    """The application keeps writing: every item of every user table becomes v2."""
    for table in stage.user_tables:
        for number in range(ITEMS):
            stage.ddb.update_item(
                TableName=table,
                Key={"concatenatedPartitionKey": {"B": f"{table}/{number}".encode()}, "concatenatedClusteringKey": {"B": b"0"}},
                UpdateExpression="SET #v = :v", ExpressionAttributeNames={"#v": "version"}, ExpressionAttributeValues={":v": {"S": "v2"}},
            )


def v1() -> dict[int, str]:
    return {number: "v1" for number in range(ITEMS)}


def v2() -> dict[int, str]:
    return {number: "v2" for number in range(ITEMS)}


def failures(result: Mapping[str, Any]) -> list[str]:
    """Every table error and problem of a phase result, for assertion messages."""
    found = [f"{entry['source']}: {entry.get('error')}" for entry in result["tables"] if entry.get("error")]
    return found + list(result.get("problems") or [])


def ok(result: Mapping[str, Any]) -> Mapping[str, Any]:
    """Assert a phase finished for every table without errors or problems; return the result."""
    assert result["tables_failed"] == 0 and result["tables_in_progress"] == 0 and not result.get("problems"), failures(result)
    assert all(entry["status"] == "ok" for entry in result["tables"]), [(e["source"], e["status"]) for e in result["tables"]]
    return result


def renamed(table: str) -> str:
    return TARGET_PREFIX + table[len(PREFIX):]


# --- crash simulation -------------------------------------------------------------------------------
class Killed(BaseException):
    """The simulated end of the process (kill -9): not an Exception, so no ``except Exception`` in
    the code under test can swallow it, and every worker dies at its next AWS call."""


_MUTATING = re.compile(r"^(create|delete|update|restore|put|tag|untag|register|deregister)_")


def is_mutating(operation: str) -> bool:
    """A boto3 method that changes something in AWS (by name: create_backup, put_item, ...)."""
    return bool(_MUTATING.match(operation))


def mentions(kwargs: Mapping[str, Any], table: str) -> bool:
    """The request is about ``table`` (by name, ARN or auto scaling resource id)."""
    for value in kwargs.values():
        text = str(value)
        if text == table or text.endswith(f":table/{table}") or text == f"table/{table}" or text.startswith(f"table/{table}/"):
            return True
    return False


class Killer:
    """A ``call`` for ``run_phase`` that kills the run right after the ``nth`` successful ``operation``
    (boto3 method name) about ``table``: AWS did it, the process never saw the answer.
    """

    def __init__(self, operation: str, table: str | None = None, nth: int = 1) -> None:
        self.operation, self.table, self.nth = operation, table, nth
        self.seen = 0
        self.fired = False
        self._lock = threading.Lock()

    def __call__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            if self.fired:
                raise Killed("the process is gone")
        value = retrying(func, *args, **kwargs)
        with self._lock:
            if getattr(func, "__name__", "") == self.operation and (self.table is None or mentions(kwargs, self.table)):
                self.seen += 1
                if self.seen == self.nth:
                    self.fired = True
                    raise Killed(f"killed after {self.operation} #{self.nth} about {self.table}")
        return value
