# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Restore-point arithmetic shared by every restore: parsing, resolution, window checks.

Plain Python (no Ansible imports) so it is unit-testable and reusable from modules and filters.
Every time that enters or leaves the collection is timezone-aware: a timestamp without an offset
is an error, never silently read as local time or UTC, because a restore point that is off by a
time zone restores the wrong data without any other symptom.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

UTC = _dt.timezone.utc

# datetime.fromisoformat accepts "Z" since 3.11; older controllers (ansible-core 2.17 supports
# Python 3.10) need it spelled as an offset.
_ZULU = re.compile(r"[zZ]$")


class RestorePointError(ValueError):
    """Bad input about time: the message says what is wrong and how to fix it."""


def parse_timestamp(value, what="restore_point"):
    """Parse a timezone-aware ISO 8601 timestamp (or an aware datetime) into an aware datetime."""
    if isinstance(value, _dt.datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        text = _ZULU.sub("+00:00", value.strip())
        try:
            parsed = _dt.datetime.fromisoformat(text)
        except ValueError:
            raise RestorePointError(
                f"{what}: {value!r} is not an ISO 8601 timestamp; use e.g. 2026-11-21T09:30:05+00:00"
            ) from None
    else:
        raise RestorePointError(f"{what}: expected an ISO 8601 timestamp string, got {value!r}")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise RestorePointError(
            f"{what}: {value!s} has no time zone; add one (e.g. +00:00 or Z) so the restore point is unambiguous"
        )
    return parsed


def from_epoch_ms(value, what="timestamp"):
    """Epoch milliseconds (as Scalar Admin tooling records them) to an aware UTC datetime."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RestorePointError(f"{what}: expected epoch milliseconds, got {value!r}")
    return _dt.datetime.fromtimestamp(value / 1000.0, tz=UTC)


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=UTC)
_MS = _dt.timedelta(milliseconds=1)


def to_epoch_ms(moment):
    """Aware datetime to integer epoch milliseconds, truncated like to_iso so the two always agree."""
    return (moment - _EPOCH) // _MS


def _floor_ms(moment):
    return moment - _dt.timedelta(microseconds=moment.microsecond % 1000)


def _ceil_ms(moment):
    rest = moment.microsecond % 1000
    return moment + _dt.timedelta(microseconds=1000 - rest) if rest else moment


def to_iso(moment):
    """Aware datetime to ISO 8601 in UTC with millisecond precision, e.g. 2026-11-21T09:30:05.000+00:00."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _timestamp_field(mapping, key, what):
    """Read ``key`` (ISO 8601) or ``key_ms`` (epoch ms) from a mapping."""
    if mapping.get(key) not in (None, ""):
        return parse_timestamp(mapping[key], f"{what}.{key}")
    if mapping.get(f"{key}_ms") not in (None, ""):
        return from_epoch_ms(mapping[f"{key}_ms"], f"{what}.{key}_ms")
    raise RestorePointError(f"{what}: missing '{key}' (ISO 8601) or '{key}_ms' (epoch milliseconds)")


@dataclass(frozen=True)
class PauseWindow:
    """A period in which Scalar Admin held every node paused: no transaction was outstanding."""

    start: _dt.datetime
    end: _dt.datetime

    def __post_init__(self):
        # Records keep millisecond precision. Holding the window at exactly that precision makes a
        # window read back from a record give the very same midpoint as the one that wrote it, and
        # rounding inwards (start up, end down) keeps it inside the time every node was paused.
        object.__setattr__(self, "start", _ceil_ms(self.start))
        object.__setattr__(self, "end", _floor_ms(self.end))

    @classmethod
    def from_mapping(cls, mapping, what="restore_pause_window"):
        if not isinstance(mapping, dict):
            raise RestorePointError(f"{what}: expected a mapping with 'start' and 'end', got {mapping!r}")
        start = _timestamp_field(mapping, "start", what)
        end = _timestamp_field(mapping, "end", what)
        if end <= start:
            raise RestorePointError(f"{what}: end {to_iso(end)} is not after start {to_iso(start)}")
        return cls(start=start, end=end)

    @property
    def duration(self):
        return self.end - self.start

    @property
    def midpoint(self):
        # The midpoint is the point farthest from both edges, so it tolerates the most clock skew
        # between the machine that recorded the window and the database's clock.
        return self.start + self.duration / 2

    def as_dict(self):
        return {
            "start": to_iso(self.start),
            "end": to_iso(self.end),
            "midpoint": to_iso(self.midpoint),
            "start_ms": to_epoch_ms(self.start),
            "end_ms": to_epoch_ms(self.end),
            "midpoint_ms": to_epoch_ms(self.midpoint),
            "duration_seconds": self.duration.total_seconds(),
        }


@dataclass(frozen=True)
class RestorePoint:
    """Where to restore to: a moment, or "latest restorable" (moment is None)."""

    source: str  # "explicit" | "latest" | "pause_window" | "pause_record"
    moment: _dt.datetime | None = None
    window: PauseWindow | None = None

    @property
    def use_latest(self):
        return self.moment is None

    def as_dict(self):
        result = {
            "source": self.source,
            "use_latest": self.use_latest,
            "time": to_iso(self.moment) if self.moment else None,
            "epoch_ms": to_epoch_ms(self.moment) if self.moment else None,
            "pause_window": self.window.as_dict() if self.window else None,
        }
        return result


def resolve(restore_point=None, use_latest=False, pause_window=None, now=None, clock_skew_margin=5.0,
            recorded_window=None):
    """Turn the user's one chosen form of restore point into a RestorePoint.

    Exactly one of ``restore_point`` (ISO 8601), ``use_latest``, ``pause_window`` (a mapping) and
    ``recorded_window`` (the PauseWindow of a restore_pause_record) must be given. A pause-window
    midpoint must lie at least ``clock_skew_margin`` seconds from both edges.
    """
    given = [name for name, value in (
        ("restore_point", restore_point not in (None, "")),
        ("restore_use_latest", bool(use_latest)),
        ("restore_pause_window", pause_window not in (None, {}, "")),
        ("restore_pause_record", recorded_window is not None),
    ) if value]
    if len(given) != 1:
        detail = "none was given" if not given else "got " + " and ".join(given)
        raise RestorePointError(
            "give exactly one of restore_point, restore_use_latest, restore_pause_window or restore_pause_record: " + detail
        )
    now = now or _dt.datetime.now(UTC)
    if use_latest:
        return RestorePoint(source="latest")
    if restore_point not in (None, ""):
        moment = parse_timestamp(restore_point)
        if moment > now:
            raise RestorePointError(f"restore_point: {to_iso(moment)} is in the future (now is {to_iso(now)})")
        return RestorePoint(source="explicit", moment=moment)
    window = recorded_window or PauseWindow.from_mapping(pause_window)
    what = "restore_pause_record" if recorded_window else "restore_pause_window"
    half = window.duration.total_seconds() / 2
    if half < clock_skew_margin:
        raise RestorePointError(
            f"{what}: a {window.duration.total_seconds():g}s pause leaves only {half:g}s on each side of "
            f"its midpoint, less than the clock-skew margin of {clock_skew_margin:g}s; pause for at least "
            f"{2 * clock_skew_margin:g}s (or lower the margin if the clocks are known to agree more closely)"
        )
    if window.end > now:
        raise RestorePointError(f"{what}: end {to_iso(window.end)} is in the future (now is {to_iso(now)})")
    return RestorePoint(source="pause_record" if recorded_window else "pause_window", moment=window.midpoint, window=window)


def check_within(moment, earliest, latest, resource):
    """Raise unless ``earliest <= moment <= latest``; the message names the resource and its window."""
    if (earliest is not None and moment < earliest) or (latest is not None and moment > latest):
        low = to_iso(earliest) if earliest is not None else "(no lower bound)"
        high = to_iso(latest) if latest is not None else "(no upper bound)"
        raise RestorePointError(
            f"{resource}: restore point {to_iso(moment)} is outside its restorable window {low} .. {high}"
        )
