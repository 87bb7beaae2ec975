"""Unit tests of the Azure names and ownership tags (flexible servers and Cosmos DB accounts)."""
from __future__ import annotations

import datetime as _dt

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.azure_naming import (
    COSMOS_MAX,
    FLEXIBLE_MAX,
    TAG_LATEST,
    TAG_MANAGED_BY,
    TAG_POINT,
    TAG_SOURCE,
    TAG_STATE,
    AzureNamingError,
    check_name,
    default_target,
    is_ours,
    ownership_problem,
    ownership_tags,
    tags_of,
    without_ours,
)

POINT = _dt.datetime(2026, 11, 21, 9, 30, 5, tzinfo=_dt.timezone.utc)


@pytest.mark.parametrize("name", ["abc", "scalardb-mysql", "a1-b2", "0db", "a" * 63])
def test_valid_flexible_server_names(name: str) -> None:
    assert check_name(name.upper() if name[0].isalpha() else name, FLEXIBLE_MAX) == name


@pytest.mark.parametrize("name", ["ab", "-db", "db-", "db_1", "db.1", "a" * 64, "", "  "])
def test_invalid_names_say_the_rule(name: str) -> None:
    with pytest.raises(AzureNamingError, match="empty|3-63 lowercase letters, digits and hyphens"):
        check_name(name, FLEXIBLE_MAX, "target_server")


def test_cosmos_accounts_are_shorter() -> None:
    assert check_name("a" * 44, COSMOS_MAX) == "a" * 44
    with pytest.raises(AzureNamingError, match="3-44"):
        check_name("a" * 45, COSMOS_MAX)


def test_default_target_is_source_pitr_point() -> None:
    assert default_target("scalardb-mysql", POINT, FLEXIBLE_MAX) == "scalardb-mysql-pitr-20261121093005"
    with_millis = POINT.replace(microsecond=250000)
    assert default_target("scalardb-mysql", with_millis, FLEXIBLE_MAX) == "scalardb-mysql-pitr-20261121093005250"
    # The same point in another time zone is the same name.
    assert default_target("db1", POINT.astimezone(_dt.timezone(_dt.timedelta(hours=9))), FLEXIBLE_MAX) == "db1-pitr-20261121093005"


@pytest.mark.parametrize(("limit", "length"), [(FLEXIBLE_MAX, 50), (COSMOS_MAX, 28)])
def test_long_sources_are_cut_with_a_hash_and_stay_distinct(limit: int, length: int) -> None:
    first_source, second_source = "scalardb-" + "a" * length + "-one", "scalardb-" + "a" * length + "-two"
    first, second = default_target(first_source, POINT, limit), default_target(second_source, POINT, limit)
    assert len(first) == limit and len(second) == limit and first != second
    assert first.endswith("-pitr-20261121093005") and first == default_target(first_source, POINT, limit)
    assert not first.startswith(first_source) and check_name(first, limit) == first


def test_ownership_tags_are_a_dict_and_mark_use_latest() -> None:
    tags = ownership_tags("src", POINT, True, "prepared")
    assert tags == {TAG_MANAGED_BY: "scalarops.pitr", TAG_SOURCE: "src", TAG_POINT: "2026-11-21T09:30:05.000+00:00", TAG_STATE: "prepared",
                    TAG_LATEST: "true"}
    assert TAG_LATEST not in ownership_tags("src", POINT, False) and ownership_tags("src", POINT, False)[TAG_STATE] == "restoring"


def test_ownership_problem() -> None:
    ours = ownership_tags("src", POINT, False)
    assert ownership_problem(ours, "src", POINT.isoformat(), "server 'x'") is None and is_ours(ours)
    assert "was not created by scalarops.pitr" in str(ownership_problem({"team": "a"}, "src", POINT, "server 'x'"))
    other = ownership_problem(ours, "src", POINT + _dt.timedelta(seconds=1), "server 'x'")
    assert other is not None and "holds a restore of 'src' at '2026-11-21T09:30:05.000+00:00'" in other
    assert "holds a restore of 'src'" in str(ownership_problem(ours, "other", POINT, "server 'x'"))


def test_tags_of_models_and_dicts_and_without_ours() -> None:
    class Model:  # pylint: disable=too-few-public-methods
        tags = {"team": "a", TAG_STATE: "prepared"}

    assert tags_of(Model()) == {"team": "a", TAG_STATE: "prepared"} and tags_of({"tags": None}) == {} and tags_of({}) == {}
    assert without_ours({"team": "a", TAG_STATE: "prepared", "Scalarops-Pitr:Source": "x"}) == {"team": "a"}
