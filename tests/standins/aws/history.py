"""Item history of DynamoDB tables: what a table held at any moment since PITR was enabled.

The scheme is the simplest one that is exactly right: just before a call writes to a table,
``record`` stores (time, copy of the table's items).  The items at time ``t`` are then the
copy stored by the first write at or after ``t`` (that write had not happened yet at ``t``), or
the current items when nothing was written since ``t``.

Cost: every write to a table with PITR enabled copies the whole table, so memory and time grow
with (writes x items): about 5 ms and 200 kB per write to a table of 1,000 small items, on top
of moto's own 4-8 ms per call.  That is nothing for test tables (tens to a few hundred items);
do not bulk-load a big table with PITR on through the stand-in (load it, then enable PITR).
The copies are pickled bytes: 2-3 times cheaper to take than ``copy.deepcopy``, several times
smaller, and only unpickled by a restore.  They are moto's own objects, never outside input.

Writers hold ``lock`` from the copy until moto has applied the write, and readers take it too, so
a copy is never interleaved with another request's write (moto serves requests on threads).

A table's history is keyed by a token stored on moto's table object, not by its name: a new table
of the same name (after DeleteTable or a moto reset) never sees an old history, while the deep
copy moto makes of a table to roll a failed transaction back keeps its token, and so its history.
A history also remembers when PITR was enabled: after a disable/enable cycle it starts afresh.
"""
from __future__ import annotations

import bisect
import copy
import pickle  # nosec - snapshots of moto's in-process objects, never outside input
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

_TOKEN = "_standin_pitr_history"  # attribute set on moto's Table objects


@dataclass
class _TableHistory:
    enabled_at: float  # when PITR was enabled (epoch seconds); identifies this PITR "era"
    times: list[float] = field(default_factory=list)  # ascending write times
    snapshots: list[bytes] = field(default_factory=list)  # pickled items just before the write at times[i]


class ItemHistory:
    """Snapshots of tables' items taken before each write (see the module docstring)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._histories: dict[str, _TableHistory] = {}

    def clear(self) -> None:
        """Forget every history (moto's reset made every table object obsolete)."""
        with self.lock:
            self._histories.clear()

    def forget(self, table: Any) -> None:
        """Drop one table's history (its PITR was disabled)."""
        with self.lock:
            self._histories.pop(table.__dict__.get(_TOKEN, ""), None)

    def record(self, table: Any, enabled_at: float, now: float) -> None:
        """Store the table's items as they are just before a write at ``now``.  Call with ``lock`` held."""
        history = self._history(table, enabled_at)
        if history.times and now < history.times[-1]:
            now = history.times[-1]  # the wall clock stepped back: keep the list sorted
        history.times.append(now)
        history.snapshots.append(pickle.dumps(table.items, pickle.HIGHEST_PROTOCOL))

    def items_at(self, table: Any, enabled_at: float, when: float) -> Any:
        """A deep copy of the table's items at ``when`` (``when`` must be >= ``enabled_at``)."""
        with self.lock:
            history = self._history(table, enabled_at)
            index = bisect.bisect_left(history.times, when)
            if index < len(history.times):
                return pickle.loads(history.snapshots[index])  # nosec - our own snapshot
            return copy.deepcopy(table.items)

    def __len__(self) -> int:
        """How many tables have a history."""
        with self.lock:
            return len(self._histories)

    def snapshot_count(self, table: Any) -> int:
        """How many snapshots a table has (for tests and debugging)."""
        with self.lock:
            history = self._histories.get(table.__dict__.get(_TOKEN, ""))
            return len(history.times) if history is not None else 0

    def _history(self, table: Any, enabled_at: float) -> _TableHistory:
        token = table.__dict__.get(_TOKEN)
        if token is None:
            token = table.__dict__[_TOKEN] = uuid.uuid4().hex
        history = self._histories.get(token)
        if history is None or history.enabled_at != enabled_at:
            history = self._histories[token] = _TableHistory(enabled_at)
        return history
