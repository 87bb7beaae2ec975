# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Names and ownership tags of the Azure resources a restore creates (flexible servers, Cosmos DB accounts).

The same rules as the RDS backend (rds_naming): a re-run finds what the first run started
because the default target name is a pure function of the source and the restore point, and the
resource carries tags saying who made it, from what and for which point.  A resource under the
target name without those tags is someone else's: never ours to continue, modify or report.

Azure names of both kinds are lowercase letters, digits and hyphens, not starting or ending with
a hyphen; flexible servers take 3-63 characters, Cosmos DB accounts 3-44.  Azure tags are a plain
``{name: value}`` object (ARM's form), so the tags here are dicts; the keys are the RDS backend's.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.names import fit_within
from ansible_collections.scalarops.pitr.plugins.module_utils.rds_naming import (
    MANAGED_BY,
    OUR_TAG_PREFIX,
    STATE_PREPARED,
    STATE_RESTORING,
    STATE_VERIFIED,
    TAG_LATEST,
    TAG_MANAGED_BY,
    TAG_POINT,
    TAG_SOURCE,
    TAG_STATE,
    point_label,
    point_tag,
)

__all__ = [
    "COSMOS_MAX", "FLEXIBLE_MAX", "MANAGED_BY", "OUR_TAG_PREFIX", "STATE_PREPARED", "STATE_RESTORING", "STATE_VERIFIED", "TAG_LATEST",
    "TAG_MANAGED_BY", "TAG_POINT", "TAG_SOURCE", "TAG_STATE", "AzureNamingError", "check_name", "default_target", "fit",
    "is_ours", "ownership_problem", "ownership_tags", "point_label", "point_tag", "tags_of", "without_ours",
]

FLEXIBLE_MAX = 63  # Microsoft.DBforMySQL / Microsoft.DBforPostgreSQL flexibleServers
COSMOS_MAX = 44    # Microsoft.DocumentDB databaseAccounts
MIN_LENGTH = 3
_HASH_CHARS = 6
_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")


class AzureNamingError(ValueError):
    """A name Azure would refuse; the message names the value and the rule."""


def check_name(name: Any, max_len: int, what: str = "name") -> str:
    """``name`` lowercased if Azure accepts it (3-``max_len`` lowercase letters, digits, hyphens; no hyphen at either end)."""
    if not isinstance(name, str) or not name.strip():
        raise AzureNamingError(f"{what} is empty")
    lowered = name.strip().lower()
    if not MIN_LENGTH <= len(lowered) <= max_len or not _NAME.match(lowered):
        raise AzureNamingError(
            f"{what} {name!r} is not a valid Azure name here: {MIN_LENGTH}-{max_len} lowercase letters, digits and hyphens, "
            f"not starting or ending with a hyphen"
        )
    return lowered


def fit(base: str, suffix: str, max_len: int) -> str:
    """``base + suffix`` within ``max_len``: a long ``base`` is cut and a hash of it added, so names stay distinct."""
    return fit_within(base, suffix, max_len, _HASH_CHARS, trim="-")


def default_target(source: str, restore_point: _dt.datetime | str, max_len: int) -> str:
    """``<source>-pitr-<restore point>`` within ``max_len`` (e.g. 63 for flexible servers, 44 for Cosmos DB accounts)."""
    base = check_name(source, max_len, "source name")
    return check_name(fit(base, f"-pitr-{point_label(restore_point)}", max_len), max_len, "derived target name")


def ownership_tags(source: str, restore_point: _dt.datetime | str, use_latest: bool, state: str = STATE_RESTORING) -> dict[str, str]:
    """The tags that mark a resource as this restore's (ARM's ``{name: value}`` form)."""
    tags = {TAG_MANAGED_BY: MANAGED_BY, TAG_SOURCE: source, TAG_POINT: point_tag(restore_point), TAG_STATE: state}
    if use_latest:
        tags[TAG_LATEST] = "true"
    return tags


def tags_of(resource: Any) -> dict[str, str]:
    """The tags of an ARM resource (a dict with ``tags``, or an SDK model with ``.tags``) as ``{str: str}``."""
    tags = resource.get("tags") if isinstance(resource, dict) else getattr(resource, "tags", None)
    return {str(key): str(value) for key, value in (tags or {}).items()}


def without_ours(tags: dict[str, str] | None) -> dict[str, str]:
    """``tags`` minus this collection's (what a restored resource copies from its source)."""
    return {key: value for key, value in (tags or {}).items() if not key.lower().startswith(OUR_TAG_PREFIX)}


def is_ours(tags: dict[str, str]) -> bool:
    return tags.get(TAG_MANAGED_BY) == MANAGED_BY


def ownership_problem(tags: dict[str, str], source: str, restore_point: _dt.datetime | str, what: str) -> str | None:
    """None when ``tags`` say this restore made the resource; else why it is not ours to continue."""
    if not is_ours(tags):
        return (f"{what} already exists and was not created by scalarops.pitr (no {TAG_MANAGED_BY} tag): "
                f"choose another target name, or delete it if it is a leftover you do not need")
    if tags.get(TAG_SOURCE) != source or tags.get(TAG_POINT) != point_tag(restore_point):
        return (f"{what} already exists but holds a restore of {tags.get(TAG_SOURCE)!r} at {tags.get(TAG_POINT)!r}, "
                f"not of {source!r} at {point_tag(restore_point)!r}: choose another target name")
    return None
