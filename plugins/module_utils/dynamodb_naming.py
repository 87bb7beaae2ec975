# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Names of DynamoDB tables and backups the restore creates, derived only from their inputs.

State lives in the cloud, not on the control node: a re-run of a restore (after a crash, from
another machine) must find the staging tables and backups the first run made.  So every name here
is a pure function of the source table name and the restore point - never of the current time,
a random value or a counter - and a re-run with the same restore point computes the same names.

DynamoDB table and backup names share one rule: 3-255 characters from ``[a-zA-Z0-9_.-]``.  Names
that would be too long are shortened deterministically: the table part is cut and an 8-character
hash of the full table name is added, so two long names that share a beginning stay distinct.
"""

from __future__ import annotations

import datetime as _dt
import re

from ansible_collections.scalarops.pitr.plugins.module_utils.names import fit_within
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import UTC, parse_timestamp

MIN_NAME = 3
MAX_NAME = 255
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_PREFIX = re.compile(r"^[A-Za-z0-9_.-]*$")
_KIND = re.compile(r"^[a-z][a-z0-9]{0,15}$")
_HASH_CHARS = 8


class NamingError(ValueError):
    """A table, prefix or backup name DynamoDB would refuse; the message names the value and the rule."""


def check_name(name: str, what: str = "table name") -> str:
    """Return ``name`` if DynamoDB accepts it as a table or backup name, else raise ``NamingError``."""
    if not isinstance(name, str) or not _NAME.match(name) or not MIN_NAME <= len(name) <= MAX_NAME:
        raise NamingError(
            f"{what} {name!r} is not valid for DynamoDB: use {MIN_NAME}-{MAX_NAME} characters from a-z, A-Z, 0-9, '_', '-', '.'"
        )
    return name


def check_prefix(prefix: str, what: str = "prefix") -> str:
    """A ScalarDB namespace prefix: may be empty, else characters a table name allows."""
    if not isinstance(prefix, str) or not _PREFIX.match(prefix) or len(prefix) > MAX_NAME - MIN_NAME:
        raise NamingError(f"{what} {prefix!r} is not valid: use characters from a-z, A-Z, 0-9, '_', '-', '.'")
    return prefix


def rename_with_prefix(table: str, old_prefix: str, new_prefix: str) -> str:
    """``<old_prefix><rest>`` -> ``<new_prefix><rest>``: the table's name under another ScalarDB prefix."""
    check_name(table)
    check_prefix(old_prefix, "old prefix")
    check_prefix(new_prefix, "new prefix")
    if new_prefix == old_prefix:
        raise NamingError(f"new prefix {new_prefix!r} is the same as the old one: the restored tables would replace the source tables")
    if not table.startswith(old_prefix):
        raise NamingError(f"table {table!r} does not start with the prefix {old_prefix!r}")
    return check_name(new_prefix + table[len(old_prefix):], "renamed table name")


def restore_point_label(restore_point: _dt.datetime | str) -> str:
    """The restore point in UTC as ``YYYYMMDDTHHMMSSZ`` (``...SS.mmmZ`` when it has milliseconds).

    Milliseconds are kept when present because the midpoint of a pause window usually has them,
    and two restores a fraction of a second apart must not share staging names.
    """
    moment = parse_timestamp(restore_point).astimezone(UTC)
    label = moment.strftime("%Y%m%dT%H%M%S")
    millis = moment.microsecond // 1000
    if millis:
        label += f".{millis:03d}"
    return label + "Z"


def _fit(base: str, suffix: str) -> str:
    """``base + suffix``, shortening ``base`` (cut + hash of the whole ``base``) to stay within 255 characters."""
    return fit_within(base, suffix, MAX_NAME, _HASH_CHARS)


def staging_name(table: str, restore_point: _dt.datetime | str) -> str:
    """The table a same-name restore first restores ``table`` into: ``<table>-pitr-<restore point>``."""
    check_name(table)
    return check_name(_fit(table, f"-pitr-{restore_point_label(restore_point)}"), "staging table name")


def backup_name(table: str, restore_point: _dt.datetime | str, kind: str = "restore") -> str:
    """An on-demand backup's name: ``<table>-<kind>-<restore point>``.

    ``kind`` says what the backup is for, e.g. ``restore`` (the backup of the staging table that
    becomes the new ``table``) or ``safety`` (the source table's state just before it is deleted).
    """
    check_name(table)
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise NamingError(f"backup kind {kind!r} is not valid: use 1-16 lowercase letters or digits, starting with a letter")
    return check_name(_fit(table, f"-{kind}-{restore_point_label(restore_point)}"), "backup name")
