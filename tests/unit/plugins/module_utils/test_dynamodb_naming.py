"""Unit tests of the DynamoDB naming rules: prefix renames, staging tables and backups."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_naming import (
    NamingError,
    backup_name,
    check_name,
    rename_with_prefix,
    restore_point_label,
    staging_name,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import RestorePointError

UTC = dt.timezone.utc
POINT = dt.datetime(2026, 11, 21, 9, 30, 5, tzinfo=UTC)
VALID = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


@pytest.mark.parametrize("name", ["abc", "p1_app.orders", "a" * 255, "x-y.z_0"])
def test_check_name_accepts_valid_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["ab", "a" * 256, "app/orders", "app orders", "", "tablé"])
def test_check_name_refuses_invalid_names(name: str) -> None:
    with pytest.raises(NamingError, match="not valid for DynamoDB"):
        check_name(name)


@pytest.mark.parametrize(
    "table, old, new, expected",
    [
        ("app.orders", "", "r1_", "r1_app.orders"),
        ("p1_app.orders", "p1_", "p2_", "p2_app.orders"),
        ("p1_app.orders", "p1_", "", "app.orders"),
        ("p1_scalardb.metadata", "p1_", "restored-", "restored-scalardb.metadata"),
    ],
)
def test_rename_with_prefix(table: str, old: str, new: str, expected: str) -> None:
    assert rename_with_prefix(table, old, new) == expected


def test_rename_refuses_same_prefix() -> None:
    with pytest.raises(NamingError, match="same as the old one"):
        rename_with_prefix("p1_app.orders", "p1_", "p1_")


def test_rename_refuses_table_without_the_old_prefix() -> None:
    with pytest.raises(NamingError, match="does not start with the prefix 'p1_'"):
        rename_with_prefix("app.orders", "p1_", "p2_")


@pytest.mark.parametrize("prefix", ["bad prefix", "p/1", "ü_"])
def test_rename_refuses_invalid_new_prefix(prefix: str) -> None:
    with pytest.raises(NamingError, match="new prefix"):
        rename_with_prefix("app.orders", "", prefix)


def test_rename_refuses_result_too_long() -> None:
    with pytest.raises(NamingError, match="renamed table name"):
        rename_with_prefix("a" * 250, "", "prefix_")


def test_restore_point_label_is_utc_and_keeps_milliseconds() -> None:
    assert restore_point_label(POINT) == "20261121T093005Z"
    assert restore_point_label("2026-11-21T18:30:05.250+09:00") == "20261121T093005.250Z"


def test_restore_point_label_refuses_naive_time() -> None:
    with pytest.raises(RestorePointError, match="no time zone"):
        restore_point_label("2026-11-21T09:30:05")


def test_staging_name_is_deterministic_and_valid() -> None:
    first = staging_name("p1_app.orders", POINT)
    assert first == "p1_app.orders-pitr-20261121T093005Z"
    # A re-run with the same restore point (in any spelling of it) finds the same table.
    assert staging_name("p1_app.orders", "2026-11-21T10:30:05+01:00") == first
    assert staging_name("p1_app.orders", POINT + dt.timedelta(seconds=1)) != first


def test_long_names_are_shortened_with_a_hash_of_the_full_name() -> None:
    long_a = "a" * 250
    long_b = "a" * 249 + "b"  # same first 229 characters: the cut alone would collide
    name_a, name_b = staging_name(long_a, POINT), staging_name(long_b, POINT)
    for name in (name_a, name_b):
        assert VALID.match(name), name
        assert len(name) == 255
        assert name.endswith("-pitr-20261121T093005Z")
    assert name_a != name_b
    assert staging_name(long_a, POINT) == name_a


def test_backup_names() -> None:
    assert backup_name("p1_app.orders", POINT) == "p1_app.orders-restore-20261121T093005Z"
    assert backup_name("p1_app.orders", POINT, kind="safety") == "p1_app.orders-safety-20261121T093005Z"
    long_name = backup_name("t" * 255, POINT, kind="safety")
    assert VALID.match(long_name) and long_name.endswith("-safety-20261121T093005Z")


@pytest.mark.parametrize("kind", ["", "Safety", "a b", "x" * 17])
def test_backup_name_refuses_bad_kind(kind: str) -> None:
    with pytest.raises(NamingError, match="backup kind"):
        backup_name("app.orders", POINT, kind=kind)


def test_staging_name_refuses_invalid_table() -> None:
    with pytest.raises(NamingError):
        staging_name("no", POINT)
