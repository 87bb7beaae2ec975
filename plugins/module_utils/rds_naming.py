# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Names and ownership tags of the RDS instances and Aurora clusters a restore creates.

State lives in the cloud: a re-run (after a crash, from another machine) finds the instance or
cluster the first run started because its default name is a pure function of the source and the
restore point, and because the resource carries tags that say who made it, from what and for
which point.  A resource under the target name without those tags is someone else's: never ours
to continue, modify or report as restored.

RDS identifiers: 1-63 letters, digits and hyphens, starting with a letter, no two consecutive
hyphens, not ending with a hyphen; RDS stores them lowercase.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.names import fit_within
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import UTC, parse_timestamp, to_iso

MAX_IDENTIFIER = 63
_IDENTIFIER = re.compile(r"^[a-z](?:[a-z0-9]|-(?!-))*$")
_HASH_CHARS = 6

# Tags on everything the restore creates (keys may not start with "aws:"; ":" is allowed).
TAG_MANAGED_BY = "scalarops-pitr:managed-by"
TAG_SOURCE = "scalarops-pitr:source"
TAG_POINT = "scalarops-pitr:restore-point"
TAG_LATEST = "scalarops-pitr:use-latest"
TAG_STATE = "scalarops-pitr:state"
MANAGED_BY = "scalarops.pitr"
OUR_TAG_PREFIX = "scalarops-pitr:"

STATE_RESTORING = "restoring"  # the restore call was made; settings and members may be missing
STATE_PREPARED = "prepared"    # available with the source's settings (and members): ready to switch to
STATE_VERIFIED = "verified"    # the workloads were switched to it and it answered: the restore is done


class RdsNamingError(ValueError):
    """An identifier RDS would refuse; the message names the value and the rule."""


def check_identifier(name: Any, what: str = "identifier") -> str:
    """``name`` lowercased if RDS accepts it as a DB instance or cluster identifier, else ``RdsNamingError``."""
    if not isinstance(name, str) or not name:
        raise RdsNamingError(f"{what} is empty")
    lowered = name.lower()
    if len(lowered) > MAX_IDENTIFIER or not _IDENTIFIER.match(lowered) or lowered.endswith("-"):
        raise RdsNamingError(
            f"{what} {name!r} is not a valid RDS identifier: 1-{MAX_IDENTIFIER} letters, digits and hyphens, "
            f"starting with a letter, without two hyphens in a row and not ending with a hyphen"
        )
    return lowered


def point_label(restore_point: _dt.datetime | str) -> str:
    """The restore point in UTC as ``YYYYMMDDHHMMSS`` plus 3 digits of milliseconds when it has them."""
    moment = parse_timestamp(restore_point).astimezone(UTC)
    label = moment.strftime("%Y%m%d%H%M%S")
    millis = moment.microsecond // 1000
    return label + (f"{millis:03d}" if millis else "")


def fit(base: str, suffix: str) -> str:
    """``base + suffix`` within 63 characters: a long ``base`` is cut and a hash of it added, so names stay distinct."""
    return fit_within(base, suffix, MAX_IDENTIFIER, _HASH_CHARS, trim="-")


def default_target(source: str, restore_point: _dt.datetime | str) -> str:
    """``<source>-pitr-<restore point>``: the instance or cluster a restore of ``source`` creates by default."""
    return check_identifier(fit(check_identifier(source, "source identifier"), f"-pitr-{point_label(restore_point)}"),
                            "derived target identifier")


def member_identifier(cluster: str, number: int) -> str:
    """The ``number``-th instance (1 = the writer) of a restored cluster: ``<cluster>-<number>``."""
    return check_identifier(fit(cluster, f"-{number}"), "cluster instance identifier")


def point_tag(restore_point: _dt.datetime | str) -> str:
    """The restore point as the tag holds it (ISO 8601, UTC, milliseconds)."""
    return to_iso(parse_timestamp(restore_point))


def ownership_tags(source: str, restore_point: _dt.datetime | str, use_latest: bool, state: str = STATE_RESTORING) -> list[dict[str, str]]:
    """The tags that mark a resource as this restore's (RDS's Key/Value list form)."""
    tags = {TAG_MANAGED_BY: MANAGED_BY, TAG_SOURCE: source, TAG_POINT: point_tag(restore_point), TAG_STATE: state}
    if use_latest:
        tags[TAG_LATEST] = "true"
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def tag_dict(tag_list: Any) -> dict[str, str]:
    """RDS's ``TagList`` as a dict."""
    return {str(tag.get("Key")): str(tag.get("Value", "")) for tag in tag_list or [] if isinstance(tag, dict)}


def ownership_problem(tags: dict[str, str], source: str, restore_point: _dt.datetime | str, what: str) -> str | None:
    """None when ``tags`` say this restore made the resource; else why it is not ours to continue."""
    if tags.get(TAG_MANAGED_BY) != MANAGED_BY:
        return (f"{what} already exists and was not created by scalarops.pitr (no {TAG_MANAGED_BY} tag): "
                f"choose another target name, or delete it if it is a leftover you do not need")
    if tags.get(TAG_SOURCE) != source or tags.get(TAG_POINT) != point_tag(restore_point):
        return (f"{what} already exists but holds a restore of {tags.get(TAG_SOURCE)!r} at {tags.get(TAG_POINT)!r}, "
                f"not of {source!r} at {point_tag(restore_point)!r}: choose another target name")
    return None
