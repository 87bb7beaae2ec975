"""Unit tests of the Cosmos DB restore planning that needs no Azure: which incarnation of a reused
account name a restore point belongs to, the restorable-window checks and their messages, reading
the SDK's restorable-account entries, target names, and Azure's reason of a failed operation."""
from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.azure_naming import COSMOS_MAX, default_target
from ansible_collections.scalarops.pitr.plugins.module_utils.cosmosdb_restore import azure_reason
from ansible_collections.scalarops.pitr.plugins.module_utils.cosmosdb_restore_plan import (
    Candidate,
    choose_candidate,
    latest_candidate,
    network_notes,
    short_location,
    utc_text,
    window_problem,
)

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)
COSMOS_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,42}[a-z0-9]$")  # Azure's rule, restated independently


def days(count: float) -> dt.datetime:
    return NOW - dt.timedelta(days=count)


def incarnation(instance: str, created: dt.datetime, deleted: dt.datetime | None = None,
                oldest: dt.datetime | None = None) -> Candidate:
    return Candidate(id=f"/subscriptions/s/providers/Microsoft.DocumentDB/locations/westus/restorableDatabaseAccounts/{instance}",
                     instance_id=instance, account_name="scalardb", location="West US", creation_time=created, deletion_time=deleted,
                     oldest_restorable_time=oldest or created, locations=("westus",))


# Three incarnations of one name: deleted, deleted, alive - with gaps between them.
FIRST = incarnation("first", days(20), days(15))
SECOND = incarnation("second", days(10), days(6))
THIRD = incarnation("third", days(4))
REUSED = [THIRD, FIRST, SECOND]  # the API's order is no order


@pytest.mark.parametrize(("moment", "expected"), [
    (days(18), FIRST), (days(15), FIRST), (days(8), SECOND), (days(10), SECOND), (days(1), THIRD), (NOW, THIRD),
])
def test_the_incarnation_alive_at_the_point_is_chosen(moment: dt.datetime, expected: Candidate) -> None:
    chosen, problem = choose_candidate(REUSED, moment, NOW)
    assert (chosen, problem) == (expected, None)


def test_when_one_incarnation_ends_as_the_next_begins_the_later_one_is_chosen() -> None:
    touching = incarnation("next", days(6))
    assert choose_candidate([SECOND, touching], days(6), NOW)[0] is touching


@pytest.mark.parametrize("moment", [days(12), days(5), days(30)], ids=["gap", "gap before the live one", "before all"])
def test_a_point_no_incarnation_was_alive_at_is_refused_listing_them_all_oldest_first(moment: dt.datetime) -> None:
    chosen, problem = choose_candidate(REUSED, moment, NOW)
    assert chosen is None and problem is not None
    assert problem.startswith(f"no restorable Cosmos DB account named 'scalardb' existed at {moment.isoformat(timespec='milliseconds')}")
    assert problem.index("instance first") < problem.index("instance second") < problem.index("instance third")
    assert "deleted 2026-11-06T12:00:00.000+00:00" in problem and "(created 2026-11-17T12:00:00.000+00:00, alive)" in problem


def test_no_candidates_is_no_choice_and_no_message_of_its_own() -> None:
    assert choose_candidate([], NOW, NOW) == (None, None)


def test_a_name_never_reused_is_chosen_whatever_the_point_for_the_window_check_to_explain() -> None:
    chosen, problem = choose_candidate([SECOND], days(12), NOW)
    assert (chosen, problem) == (SECOND, None)
    message = window_problem(SECOND, days(12), NOW)
    assert message is not None and "is before its oldest restorable time 2026-11-11T12:00:00.000+00:00" in message


def test_latest_takes_the_live_incarnation_and_refuses_a_deleted_name() -> None:
    assert latest_candidate(REUSED) == (THIRD, None)
    chosen, problem = latest_candidate([FIRST, SECOND])
    assert chosen is None and problem is not None
    assert "no longer exists (deleted 2026-11-15T12:00:00.000+00:00)" in problem
    assert "give restore_point instead, between 2026-11-11T12:00:00.000+00:00 and 2026-11-15T12:00:00.000+00:00" in problem


def test_the_window_starts_at_the_later_of_creation_and_oldest_restorable_time_and_ends_at_deletion_or_now() -> None:
    assert incarnation("a", days(40), oldest=days(30)).window(NOW) == (days(30), NOW)
    assert incarnation("b", days(3), oldest=days(30)).window(NOW) == (days(3), NOW)
    assert SECOND.window(NOW) == (days(10), days(6))


def test_window_problems_name_the_window_and_what_to_choose() -> None:
    retained = incarnation("kept", days(60), oldest=days(30))
    assert window_problem(retained, days(30), NOW) is None and window_problem(retained, NOW, NOW) is None

    early = window_problem(retained, days(31), NOW)
    assert early is not None and "is before its oldest restorable time 2026-10-22T12:00:00.000+00:00" in early
    assert "choose a point between 2026-10-22T12:00:00.000+00:00 and 2026-11-21T12:00:00.000+00:00" in early

    future = window_problem(retained, NOW + dt.timedelta(seconds=1), NOW)
    assert future == "restore point 2026-11-21T12:00:01.000+00:00 is in the future (now is 2026-11-21T12:00:00.000+00:00)"

    late = window_problem(SECOND, days(5), NOW)
    assert late is not None and "is after the account was deleted (2026-11-15T12:00:00.000+00:00)" in late


def test_sdk_entries_are_read_with_their_regions_and_the_feed_location_of_their_id() -> None:
    entry = SimpleNamespace(
        id="/subscriptions/s/providers/Microsoft.DocumentDB/locations/WestUS/restorableDatabaseAccounts/abc", name="abc",
        account_name="scalardb", location="West US", creation_time=dt.datetime(2026, 11, 1, 0, 0), deletion_time=None,
        oldest_restorable_time=dt.datetime(2026, 11, 2, tzinfo=UTC), api_type=SimpleNamespace(value="Sql"),
        restorable_locations=[SimpleNamespace(location_name="West US"), SimpleNamespace(location_name="East US 2")])
    candidate = Candidate.from_sdk(entry)
    assert candidate.creation_time == dt.datetime(2026, 11, 1, tzinfo=UTC)  # a naive time is UTC
    assert (candidate.api_type, candidate.locations, candidate.path_location, candidate.alive) == ("Sql", ("westus", "eastus2"), "WestUS", True)
    assert short_location("Germany West Central") == "germanywestcentral"


def test_times_sent_as_query_parameters_are_utc_with_z() -> None:
    assert utc_text(dt.datetime(2026, 11, 21, 18, 30, tzinfo=dt.timezone(dt.timedelta(hours=9)))) == "2026-11-21T09:30:00.000Z"


def test_network_settings_azure_does_not_restore_are_named() -> None:
    assert not network_notes(SimpleNamespace(ip_rules=[], virtual_network_rules=None, private_endpoint_connections=[],
                                             public_network_access="Enabled"))
    (note,) = network_notes(SimpleNamespace(ip_rules=[1, 2], virtual_network_rules=[1], private_endpoint_connections=[1],
                                            public_network_access=SimpleNamespace(value="Disabled")))
    assert "2 IP firewall rule(s)" in note and "1 virtual network rule(s)" in note and "1 private endpoint connection(s)" in note
    assert "public network access disabled" in note and "Azure does not restore network settings" in note


@pytest.mark.parametrize("source", ["scalardb", "a" * 44, "scalardl-ledger-production-account-westus-01"])
def test_default_targets_are_valid_cosmos_names_within_44_characters(source: str) -> None:
    target = default_target(source, dt.datetime(2026, 11, 21, 9, 30, 5, 250000, tzinfo=UTC), COSMOS_MAX)
    assert len(target) <= 44 and COSMOS_NAME.match(target) and target.endswith("-pitr-20261121093005250")
    if len(source) + 23 <= 44:
        assert target == f"{source}-pitr-20261121093005250"


class _Failed(Exception):
    """What azure-core raises for a failed operation: ``error`` with Azure's code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"({code}) {message}\nCode: {code}\nMessage: {message}")
        self.error = SimpleNamespace(code=code, message=message)


def test_azures_reason_is_its_code_and_message_on_one_line() -> None:
    assert azure_reason(_Failed("BadRequest", "Invalid restore timestamp.\nSee the docs.")) == "BadRequest: Invalid restore timestamp. See the docs."
    assert azure_reason(RuntimeError("connection reset")) == "RuntimeError: connection reset"
