"""Unit tests of the restore-point arithmetic every restore depends on."""
from __future__ import annotations

import datetime as dt

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import (
    PauseWindow,
    RestorePointError,
    check_within,
    parse_timestamp,
    resolve,
    to_epoch_ms,
    to_iso,
)

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-11-21T09:30:05+00:00", dt.datetime(2026, 11, 21, 9, 30, 5, tzinfo=UTC)),
        ("2026-11-21T09:30:05Z", dt.datetime(2026, 11, 21, 9, 30, 5, tzinfo=UTC)),
        ("2026-11-21T18:30:05.250+09:00", dt.datetime(2026, 11, 21, 9, 30, 5, 250000, tzinfo=UTC)),
    ],
)
def test_parse_accepts_aware_timestamps(text: str, expected: dt.datetime) -> None:
    assert parse_timestamp(text) == expected


def test_parse_rejects_naive_timestamp_and_says_how_to_fix() -> None:
    with pytest.raises(RestorePointError, match=r"restore_point: 2026-11-21T09:30:05 has no time zone; add one"):
        parse_timestamp("2026-11-21T09:30:05")


@pytest.mark.parametrize("bad", ["yesterday", "", None, 12])
def test_parse_rejects_garbage(bad: object) -> None:
    with pytest.raises(RestorePointError, match="restore_point"):
        parse_timestamp(bad)


def test_iso_and_epoch_are_utc_with_milliseconds() -> None:
    moment = parse_timestamp("2026-11-21T18:30:05.250+09:00")
    assert to_iso(moment) == "2026-11-21T09:30:05.250+00:00"
    assert to_epoch_ms(moment) == int(dt.datetime(2026, 11, 21, 9, 30, 5, 250000, tzinfo=UTC).timestamp() * 1000)


def test_explicit_point() -> None:
    point = resolve(restore_point="2026-11-21T09:30:05+00:00", now=NOW)
    assert point.source == "explicit" and not point.use_latest
    assert point.as_dict()["time"] == "2026-11-21T09:30:05.000+00:00"


def test_latest_has_no_moment() -> None:
    point = resolve(use_latest=True, now=NOW)
    assert point.use_latest and point.as_dict()["time"] is None and point.source == "latest"


def test_pause_window_midpoint_from_iso_and_from_epoch_ms() -> None:
    start = dt.datetime(2026, 11, 21, 9, 30, 0, tzinfo=UTC)
    end = start + dt.timedelta(seconds=10)
    for window in (
        {"start": to_iso(start), "end": to_iso(end)},
        {"start_ms": to_epoch_ms(start), "end_ms": to_epoch_ms(end)},
    ):
        point = resolve(pause_window=window, now=NOW)
        assert point.source == "pause_window"
        assert point.moment == start + dt.timedelta(seconds=5)
        assert point.as_dict()["pause_window"]["duration_seconds"] == 10.0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "none was given"),
        ({"restore_point": "2026-11-21T09:30:05Z", "use_latest": True}, "got restore_point and restore_use_latest"),
        ({"restore_point": "2026-11-22T09:30:05Z"}, "is in the future"),
        ({"pause_window": {"start": "2026-11-21T09:30:10Z", "end": "2026-11-21T09:30:00Z"}}, "is not after start"),
        ({"pause_window": {"start": "2026-11-21T09:30:00Z"}}, "missing 'end'"),
        ({"pause_window": {"start": "2026-11-21T09:30:00Z", "end": "2026-11-21T09:30:06Z"}}, "less than the clock-skew margin of 5s"),
    ],
)
def test_bad_input_is_refused_with_the_reason(kwargs: dict, message: str) -> None:
    with pytest.raises(RestorePointError, match=message):
        resolve(now=NOW, **kwargs)


def test_check_within_names_the_resource_and_the_window() -> None:
    earliest = dt.datetime(2026, 11, 1, tzinfo=UTC)
    latest = dt.datetime(2026, 11, 21, 10, tzinfo=UTC)
    check_within(dt.datetime(2026, 11, 10, tzinfo=UTC), earliest, latest, "table ns.t")
    with pytest.raises(RestorePointError) as err:
        check_within(dt.datetime(2026, 11, 21, 11, tzinfo=UTC), earliest, latest, "table ns.t")
    assert str(err.value) == (
        "table ns.t: restore point 2026-11-21T11:00:00.000+00:00 is outside its restorable window "
        "2026-11-01T00:00:00.000+00:00 .. 2026-11-21T10:00:00.000+00:00"
    )


def test_pause_window_rejects_non_mapping() -> None:
    with pytest.raises(RestorePointError, match="expected a mapping"):
        PauseWindow.from_mapping("09:30-09:31")


def test_a_window_read_back_from_its_record_has_the_same_midpoint() -> None:
    start = dt.datetime(2026, 11, 20, 6, 51, 20, 42_917, tzinfo=UTC)  # sub-millisecond parts, as a clock gives them
    window = PauseWindow(start=start, end=start + dt.timedelta(seconds=1, microseconds=1_003))
    record = window.as_dict()
    again = PauseWindow.from_mapping({"start": record["start"], "end": record["end"]})
    assert again.as_dict() == record
    assert record["midpoint_ms"] == to_epoch_ms(parse_timestamp(record["midpoint"]))
    assert record["midpoint"] == to_iso(again.midpoint)


def test_a_window_is_rounded_inwards_to_milliseconds() -> None:
    start = dt.datetime(2026, 11, 20, 6, 51, 20, 42_001, tzinfo=UTC)
    end = dt.datetime(2026, 11, 20, 6, 51, 21, 42_999, tzinfo=UTC)
    window = PauseWindow(start=start, end=end)
    assert window.start == dt.datetime(2026, 11, 20, 6, 51, 20, 43_000, tzinfo=UTC) >= start
    assert window.end == dt.datetime(2026, 11, 20, 6, 51, 21, 42_000, tzinfo=UTC) <= end
