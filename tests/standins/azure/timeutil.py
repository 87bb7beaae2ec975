"""Timestamps as Azure Resource Manager writes and reads them (timezone-aware UTC, ISO 8601)."""
from __future__ import annotations

import datetime as dt
import re

UTC = dt.timezone.utc

# .NET services print up to 7 fractional digits; Python's parser takes at most 6.
_FRACTION = re.compile(r"(\.\d{6})\d+")


def utc_now() -> dt.datetime:
    return dt.datetime.now(UTC)


def parse_time(value: str | dt.datetime) -> dt.datetime:
    """Parse an ISO 8601 time; a naive one is taken as UTC, as Azure does."""
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        text = _FRACTION.sub(r"\1", value.strip())
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_time(value: dt.datetime | None) -> str | None:
    """RFC 3339 with a ``Z`` suffix, the shape every SDK deserializer accepts."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
