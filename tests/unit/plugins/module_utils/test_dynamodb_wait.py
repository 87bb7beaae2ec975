"""Unit tests of waiting for DynamoDB tables and of the settings' stored form (fake clients, no real sleeping)."""
from __future__ import annotations

from typing import Any

import pytest

from botocore.exceptions import ClientError

from ansible_collections.scalarops.pitr.plugins.module_utils.concurrency import Deadline, WaitTimeout
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_settings import (
    ScalableTarget,
    SettingsError,
    TableSettings,
    diff,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_wait import Poller


class Sleeps:
    """A ``sleep`` that records instead of sleeping."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)


class FakeDynamo:
    """describe_table answers with the given statuses in turn (the last one repeats)."""

    def __init__(self, statuses: list[tuple[str, str]]) -> None:
        self.statuses = statuses
        self.calls = 0

    def describe_table(self, TableName: str) -> dict[str, Any]:  # noqa: N803  # boto3's argument name
        table, index = self.statuses[min(self.calls, len(self.statuses) - 1)]
        self.calls += 1
        return {"Table": {"TableName": TableName, "TableStatus": table, "GlobalSecondaryIndexes": [{"IndexName": "i", "IndexStatus": index}]}}


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "UpdateContinuousBackups")


def test_wait_active_waits_for_table_and_indexes() -> None:
    sleeps = Sleeps()
    fake = FakeDynamo([("UPDATING", "ACTIVE"), ("ACTIVE", "UPDATING"), ("ACTIVE", "CREATING"), ("ACTIVE", "ACTIVE")])

    description = Poller(deadline=100, first_delay=1.0, max_delay=4.0, sleep=sleeps).wait_active(fake, "t1")

    assert description["TableStatus"] == "ACTIVE" and fake.calls == 4
    assert sleeps.sleeps == [1.0, 1.5, 2.25]  # growing delays


def test_wait_active_gives_up_at_the_deadline_naming_table_and_state() -> None:
    with pytest.raises(WaitTimeout, match="table t1 to be ACTIVE.*UPDATING"):
        Poller(deadline=Deadline(0.05), first_delay=0.01, max_delay=0.02).wait_active(FakeDynamo([("UPDATING", "ACTIVE")]), "t1")


def test_retry_while_retries_only_the_named_codes() -> None:
    sleeps = Sleeps()
    busy = "ContinuousBackupsUnavailableException"
    answers: list[Any] = [client_error(busy), client_error(busy), "done"]

    def flaky() -> Any:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert Poller(sleep=sleeps).retry_while((busy,), flaky) == "done"
    assert len(sleeps.sleeps) == 2
    with pytest.raises(ClientError, match="AccessDeniedException"):
        Poller(sleep=sleeps).retry_while((busy,), _raise, client_error("AccessDeniedException"))


def _raise(exc: Exception) -> None:
    raise exc


def test_settings_from_dict_refuses_unknown_format() -> None:
    with pytest.raises(SettingsError, match="format 2 is not supported"):
        TableSettings.from_dict({"table": "t1", "version": 2})
    with pytest.raises(SettingsError, match="unknown keys"):
        TableSettings.from_dict({"table": "t1", "colour": "blue"})


def test_diff_ignores_capacity_managed_by_auto_scaling_and_extra_tags() -> None:
    target = ScalableTarget(index=None, dimension="dynamodb:table:ReadCapacityUnits", min_capacity=5, max_capacity=50)
    expected = TableSettings(table="a", read_capacity=10, write_capacity=10, tags={"k": "v"}, scalable_targets=[target])
    actual = TableSettings(table="b", read_capacity=37, write_capacity=10, tags={"k": "v", "extra": "x"}, scalable_targets=[target])
    assert diff(expected, actual) == []
    actual.write_capacity = 11
    assert diff(expected, actual) == ["write capacity of the table: expected 10, found 11"]
