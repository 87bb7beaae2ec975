"""Unit tests of RDS naming and ownership: identifiers RDS accepts, derived target/member names, the tags
that say a resource is this restore's, and the messages when it is not."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.rds_naming import (
    MANAGED_BY,
    MAX_IDENTIFIER,
    TAG_LATEST,
    TAG_MANAGED_BY,
    TAG_POINT,
    TAG_SOURCE,
    TAG_STATE,
    RdsNamingError,
    check_identifier,
    default_target,
    fit,
    member_identifier,
    ownership_problem,
    ownership_tags,
    point_label,
    point_tag,
    tag_dict,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import RestorePointError

UTC = dt.timezone.utc
POINT = dt.datetime(2026, 11, 21, 9, 30, 5, tzinfo=UTC)
RDS_RULE = re.compile(r"^[a-z](?:[a-z0-9]|-(?!-))*$")


def valid(name: str) -> bool:
    """RDS's rule, restated independently of the code under test."""
    return 1 <= len(name) <= 63 and bool(RDS_RULE.match(name)) and not name.endswith("-")


@pytest.mark.parametrize("name, expected", [("a", "a"), ("ScalarDB-PG", "scalardb-pg"), ("db1-x2", "db1-x2"), ("a" * 63, "a" * 63)])
def test_check_identifier_accepts_what_rds_accepts_and_lowercases_it(name: str, expected: str) -> None:
    assert check_identifier(name) == expected


@pytest.mark.parametrize("name", ["1db", "-db", "db-", "db--pg", "db_pg", "db.pg", "a" * 64, "dé"])
def test_check_identifier_refuses_what_rds_refuses_naming_value_and_rule(name: str) -> None:
    with pytest.raises(RdsNamingError) as refused:
        check_identifier(name, "target identifier")
    message = str(refused.value)
    assert message.startswith(f"target identifier {name!r} is not a valid RDS identifier")
    assert "starting with a letter" in message and "not ending with a hyphen" in message


@pytest.mark.parametrize("name", ["", None, 5])
def test_check_identifier_refuses_empty_and_non_text(name: object) -> None:
    with pytest.raises(RdsNamingError, match="source identifier is empty"):
        check_identifier(name, "source identifier")


@pytest.mark.parametrize(
    "moment, label",
    [
        (POINT, "20261121093005"),
        (POINT.replace(microsecond=123456), "20261121093005123"),  # milliseconds, truncated
        (POINT.replace(microsecond=999), "20261121093005"),  # below a millisecond: whole seconds
        ("2026-11-21T18:30:05.250+09:00", "20261121093005250"),  # any offset: labelled in UTC
        ("2026-11-21T09:30:05Z", "20261121093005"),
    ],
)
def test_point_label_is_utc_with_milliseconds_only_when_present(moment: dt.datetime | str, label: str) -> None:
    assert point_label(moment) == label


def test_point_label_and_tag_refuse_a_naive_time() -> None:
    for func in (point_label, point_tag):
        with pytest.raises(RestorePointError, match="has no time zone"):
            func("2026-11-21T09:30:05")


def test_point_tag_is_the_same_moment_in_any_offset() -> None:
    assert point_tag("2026-11-21T18:30:05.250+09:00") == point_tag(POINT.replace(microsecond=250000)) == "2026-11-21T09:30:05.250+00:00"


def test_fit_keeps_short_names_and_cuts_long_ones_keeping_them_distinct() -> None:
    assert fit("scalardb-pg", "-pitr-20261121093005") == "scalardb-pg-pitr-20261121093005"
    long_a, long_b = "a" * 40 + "-x" + "b" * 30, "a" * 40 + "-y" + "b" * 30
    cut_a, cut_b = fit(long_a, "-pitr-20261121093005"), fit(long_b, "-pitr-20261121093005")
    assert len(cut_a) == len(cut_b) == MAX_IDENTIFIER
    assert cut_a.endswith("-pitr-20261121093005") and cut_a != cut_b
    assert fit(long_a, "-pitr-20261121093005") == cut_a, "deterministic: a re-run derives the same name"
    assert valid(cut_a) and valid(cut_b)
    # A cut that ends in a hyphen never gives two in a row before the hash.
    hyphen_at_cut = "a" * 35 + "-" + "b" * 40
    assert "--" not in fit(hyphen_at_cut, "-pitr-20261121093005123")


def test_default_target_is_source_pitr_point_and_always_a_valid_identifier() -> None:
    assert default_target("ScalarDB-PG", POINT) == "scalardb-pg-pitr-20261121093005"
    assert default_target("scalardb-pg", POINT.replace(microsecond=5000)) == "scalardb-pg-pitr-20261121093005005"
    long_source = "s" + "-abc" * 15 + "x"  # 62 characters
    derived = default_target(long_source, POINT.replace(microsecond=123000))
    assert valid(derived) and derived.endswith("-pitr-20261121093005123") and len(derived) == MAX_IDENTIFIER
    assert default_target(long_source, POINT) != derived, "another point, another target"


def test_default_target_refuses_an_invalid_source() -> None:
    with pytest.raises(RdsNamingError, match="source identifier 'bad_source' is not a valid RDS identifier"):
        default_target("bad_source", POINT)


def test_member_identifier_numbers_the_instances_of_a_cluster() -> None:
    assert [member_identifier("aurora-pitr-1", number) for number in (1, 2, 3)] == ["aurora-pitr-1-1", "aurora-pitr-1-2", "aurora-pitr-1-3"]
    longest = "c" * MAX_IDENTIFIER
    members = [member_identifier(longest, number) for number in (1, 2, 10)]
    assert all(valid(member) and len(member) == MAX_IDENTIFIER for member in members)
    assert [member.rsplit("-", 1)[1] for member in members] == ["1", "2", "10"]


def test_ownership_tags_say_who_made_it_from_what_for_which_point() -> None:
    tags = tag_dict(ownership_tags("scalardb-pg", POINT, use_latest=False))
    assert tags == {TAG_MANAGED_BY: MANAGED_BY, TAG_SOURCE: "scalardb-pg", TAG_POINT: "2026-11-21T09:30:05.000+00:00",
                    TAG_STATE: "restoring"}
    latest = tag_dict(ownership_tags("scalardb-pg", POINT, use_latest=True, state="prepared"))
    assert (latest[TAG_LATEST], latest[TAG_STATE]) == ("true", "prepared")
    assert all(not key.startswith("aws:") for key in latest), "AWS refuses tag keys starting with aws:"


def test_tag_dict_reads_rds_tag_lists_and_tolerates_missing_ones() -> None:
    assert tag_dict([{"Key": "a", "Value": "1"}, {"Key": "b"}, "junk"]) == {"a": "1", "b": ""}
    assert tag_dict(None) == {} and tag_dict([]) == {}


def test_ownership_problem_is_none_only_for_this_restores_resource() -> None:
    ours = tag_dict(ownership_tags("scalardb-pg", POINT, use_latest=False, state="prepared"))
    assert ownership_problem(ours, "scalardb-pg", POINT, "RDS DB instance 'x'") is None
    # The same moment written with another offset is the same restore point.
    assert ownership_problem(ours, "scalardb-pg", "2026-11-21T18:30:05+09:00", "RDS DB instance 'x'") is None


def test_ownership_problem_names_a_foreign_resource_and_how_to_proceed() -> None:
    problem = ownership_problem({"team": "payments"}, "scalardb-pg", POINT, "RDS DB instance 'x'")
    assert problem is not None
    assert problem.startswith("RDS DB instance 'x' already exists and was not created by scalarops.pitr")
    assert "choose another target name" in problem


@pytest.mark.parametrize("source, point", [("other-db", POINT), ("scalardb-pg", POINT + dt.timedelta(seconds=1))])
def test_ownership_problem_names_the_restore_the_resource_holds(source: str, point: dt.datetime) -> None:
    tags = tag_dict(ownership_tags(source, point, use_latest=False))
    problem = ownership_problem(tags, "scalardb-pg", POINT, "Aurora DB cluster 'x'")
    assert problem == (f"Aurora DB cluster 'x' already exists but holds a restore of {source!r} at {point_tag(point)!r}, "
                       f"not of 'scalardb-pg' at '2026-11-21T09:30:05.000+00:00': choose another target name")
