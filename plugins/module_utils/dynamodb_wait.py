# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Waiting for a DynamoDB table to accept the next change.

DynamoDB takes one change per table at a time: after ``UpdateTable`` the table (or one of its
indexes) is UPDATING, and a second ``UpdateTable`` fails with ``ResourceInUseException`` until it
is ACTIVE again.  A freshly restored table also refuses ``UpdateContinuousBackups`` for a while
(``ContinuousBackupsUnavailableException``).  ``Poller`` waits for both through
``concurrency.wait_until`` (growing delays, a deadline, ``WaitTimeout`` naming what it waited for);
``sleep`` is injectable and the deadline can be shared by every step of a module run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import error_code
from ansible_collections.scalarops.pitr.plugins.module_utils.concurrency import Deadline, wait_until
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_api import Call, direct


def table_ready(description: dict[str, Any]) -> bool:
    """True when the table and all its global secondary indexes are ACTIVE."""
    if description.get("TableStatus") != "ACTIVE":
        return False
    return all(index.get("IndexStatus", "ACTIVE") == "ACTIVE" for index in description.get("GlobalSecondaryIndexes", []))


@dataclass
class Poller:
    """How to wait: a deadline (shared ``Deadline``, or seconds per wait) and delays growing to ``max_delay``."""

    deadline: Deadline | float = 1800.0
    first_delay: float = 1.0
    max_delay: float = 20.0
    sleep: Callable[[float], None] = time.sleep

    def until(self, probe: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
        """``probe()`` until ``done(value)``; return that value (``WaitTimeout`` naming ``what`` at the deadline)."""
        return wait_until(probe, self.deadline, self.first_delay, self.max_delay, what=what, done=done, factor=1.5, sleep=self.sleep)

    def wait_active(self, dynamodb: Any, table: str, call: Call = direct) -> dict[str, Any]:
        """Wait until ``table`` and its indexes are ACTIVE; return its description."""
        return self.until(lambda: call(dynamodb.describe_table, TableName=table)["Table"], table_ready, f"table {table} to be ACTIVE")

    def retry_while(self, codes: Collection[str], func: Callable[..., Any], *args: Any, call: Call = direct, **kwargs: Any) -> Any:
        """``call(func, ...)``, retried while it fails with one of ``codes`` (a transient refusal)."""

        def attempt() -> tuple[bool, Any]:
            try:
                return True, call(func, *args, **kwargs)
            except Exception as exc:  # pylint: disable=broad-exception-caught  # filtered by code just below
                if error_code(exc) not in codes:
                    raise
                return False, exc

        return self.until(attempt, lambda outcome: outcome[0], f"{getattr(func, '__name__', 'call')} to stop failing with {'/'.join(codes)}")[1]
