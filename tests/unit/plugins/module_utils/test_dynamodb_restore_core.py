"""Unit tests of the DynamoDB restore core's pure parts and its waits (fake clients, no sleeping).

The restore's behaviour against DynamoDB is tested end to end in tests/functional/test_dynamodb_restore*.py;
here: the request checks, the choice of the "latest" point, and what counts as a deleted table.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any

import pytest

from botocore.exceptions import ClientError

from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_api import direct
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_lookup import describe, table_status
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_restore import latest_key
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_restore_plan import Request, TablePlan, latest_common_point
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_restore_steps import Context
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_wait import Poller

UTC = _dt.timezone.utc
POINT = _dt.datetime(2026, 11, 21, 9, 30, 5, tzinfo=UTC)


class Deleting:
    """DescribeTable answers DELETING ``times`` times, then ResourceNotFoundException."""

    def __init__(self, times: int) -> None:
        self.left = times
        self.calls = 0

    def describe_table(self, TableName: str) -> dict[str, Any]:  # noqa: N803  # boto3's argument name
        self.calls += 1
        if self.left > 0:
            self.left -= 1
            return {"Table": {"TableName": TableName, "TableStatus": "DELETING"}}
        raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "not found"}}, "DescribeTable")


def test_a_deleting_table_is_no_table_to_describe_but_still_holds_its_name() -> None:
    fake = Deleting(1)
    assert describe(fake, "t") is None  # nothing to read, restore or compare
    assert table_status(Deleting(1), "t") == "DELETING"  # but a restore into the name would fail
    assert table_status(fake, "t") is None


def test_wait_gone_waits_until_describe_table_no_longer_finds_the_table() -> None:
    fake = Deleting(3)
    sleeps: list[float] = []
    poller = Poller(deadline=100, first_delay=1.0, max_delay=4.0, sleep=sleeps.append)
    context = Context(dynamodb=fake, autoscaling=None, journal=None, restore_point=POINT, call=direct, poller=poller)  # type: ignore[arg-type]

    context.wait_gone("t")

    assert fake.calls == 4 and len(sleeps) == 3


def window(latest: str | None, earliest: str = "2026-11-01T00:00:00.000+00:00") -> dict[str, str | None]:
    return {"earliest": earliest, "latest": latest}


def test_latest_common_point_is_the_earliest_latest_of_the_tables_that_still_need_pitr() -> None:
    plans = [
        TablePlan("a", "a", window=window("2026-11-21T09:30:07.000+00:00")),
        TablePlan("b", "b", window=window("2026-11-21T09:30:05.000+00:00")),
        TablePlan("c", "c"),  # already restored: no window read
    ]
    assert latest_common_point(plans) == POINT
    assert latest_common_point([TablePlan("c", "c")]) is None


@pytest.mark.parametrize(("request_", "problem"), [
    (Request("in_place", POINT, prefix="p_", tables=[]), "tables is empty"),
    (Request("new_prefix", POINT, prefix="p_"), "mode new_prefix needs target_prefix"),
    (Request("new_prefix", POINT, prefix="p_", target_prefix="p_"), "is the prefix in use"),
    (Request("in_place", POINT, prefix="p_", target_prefix="r_"), "target_prefix is only used with mode new_prefix"),
    (Request("in_place", POINT, prefix="bad prefix"), "is not valid"),
    (Request("in_place", POINT, tables=["no spaces allowed"]), "is not valid for DynamoDB"),
    (Request("both", POINT), "mode must be one of in_place, new_prefix"),
], ids=["empty-tables", "no-target-prefix", "same-prefix", "target-prefix-in-place", "bad-prefix", "bad-table", "bad-mode"])
def test_request_problems(request_: Request, problem: str) -> None:
    problems = request_.problems()
    assert any(problem in found for found in problems), problems


def test_good_requests_have_no_problems() -> None:
    assert Request("in_place", POINT, prefix="p_").problems() == []
    assert Request("new_prefix", None, prefix="", target_prefix="r_", tables=["sample.accounts"]).problems() == []


def test_latest_key_separates_deployments_modes_and_table_sets() -> None:
    keys = {
        latest_key(Request("in_place", None, prefix="p_")),
        latest_key(Request("in_place", None, prefix="q_")),
        latest_key(Request("new_prefix", None, prefix="p_", target_prefix="r_")),
        latest_key(Request("in_place", None, prefix="p_", tables=["p_a.b"])),
    }
    assert len(keys) == 4
    same = {latest_key(Request("in_place", None, prefix="p_", tables=tables)) for tables in (["p_b", "p_a"], ["p_a", "p_b"])}
    assert len(same) == 1
