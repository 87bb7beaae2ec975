"""In-memory object store: one global resourceVersion counter, an event log for watches, hooks.

Every write gets the next resourceVersion and is recorded as a watch event; watchers wait on the
store's condition variable and read the log from their own cursor, so a client that lists at
resourceVersion N and then watches from N misses nothing. Hooks (the fake controller) run after
each commit, under the same re-entrant lock, so a client never sees a half-reconciled write.
"""
from __future__ import annotations

import bisect
import copy
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator

LOG = logging.getLogger(__name__)
Key = tuple[str, str]  # (group, plural)
MAX_EVENTS = 50_000


@dataclass(frozen=True)
class Event:
    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    key: Key
    obj: dict[str, Any]
    old: dict[str, Any] | None = None


def meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.setdefault("metadata", {})


class Store:
    """Objects by (group, plural) then (namespace, name); cluster-scoped objects use namespace ""."""

    def __init__(self) -> None:
        self.cond = threading.Condition(threading.RLock())
        self._objects: dict[Key, dict[tuple[str, str], dict[str, Any]]] = {}
        self._rv = 0
        self._events: list[Event] = []
        self.hooks: list[Callable[[Event], None]] = []
        # last configuration each field manager applied (server-side apply pruning)
        self.applied: dict[tuple[Key, str, str, str], dict[str, Any]] = {}

    @property
    def resource_version(self) -> int:
        with self.cond:
            return self._rv

    def get(self, key: Key, namespace: str, name: str) -> dict[str, Any] | None:
        with self.cond:
            obj = self._objects.get(key, {}).get((namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def list(self, key: Key, namespace: str | None = None) -> list[dict[str, Any]]:
        with self.cond:
            items = self._objects.get(key, {})
            return [copy.deepcopy(obj) for (ns, _name), obj in sorted(items.items()) if namespace is None or ns == namespace]

    def keys(self) -> list[Key]:
        with self.cond:
            return list(self._objects)

    def iter_all(self) -> Iterator[tuple[Key, dict[str, Any]]]:
        """Every object (copies), for garbage collection and namespace deletion."""
        with self.cond:
            snapshot = [(key, copy.deepcopy(obj)) for key, objs in self._objects.items() for obj in objs.values()]
        yield from snapshot

    def put(self, key: Key, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or replace ``obj`` (already validated); returns the stored copy."""
        with self.cond:
            md = meta(obj)
            slot = (md.get("namespace", ""), md["name"])
            old = self._objects.get(key, {}).get(slot)
            self._rv += 1
            md["resourceVersion"] = str(self._rv)
            stored = copy.deepcopy(obj)
            self._objects.setdefault(key, {})[slot] = stored
            self._record(Event(self._rv, "MODIFIED" if old else "ADDED", key, stored, old))
            return copy.deepcopy(stored)

    def remove(self, key: Key, namespace: str, name: str) -> dict[str, Any] | None:
        with self.cond:
            old = self._objects.get(key, {}).pop((namespace, name), None)
            if old is None:
                return None
            self._rv += 1
            gone = copy.deepcopy(old)
            meta(gone)["resourceVersion"] = str(self._rv)
            for applied_key in [k for k in self.applied if k[:3] == (key, namespace, name)]:
                del self.applied[applied_key]
            self._record(Event(self._rv, "DELETED", key, gone, old))
            return copy.deepcopy(gone)

    def _record(self, event: Event) -> None:
        self._events.append(event)
        if len(self._events) > MAX_EVENTS:
            del self._events[: MAX_EVENTS // 2]
        self.cond.notify_all()
        for hook in self.hooks:
            try:
                hook(event)
            except Exception:  # pylint: disable=broad-except  # a controller bug must not fail the write
                LOG.exception("hook failed on %s %s", event.type, event.key)

    def events_after(self, rv: int) -> list[Event]:
        with self.cond:
            start = bisect.bisect_right(self._events, rv, key=lambda e: e.rv)
            return self._events[start:]

    def oldest_event_rv(self) -> int:
        with self.cond:
            return self._events[0].rv if self._events else self._rv

    def clear(self) -> None:
        """Drop every object (the reset hook); resourceVersion keeps increasing."""
        with self.cond:
            self._objects.clear()
            self.applied.clear()
            self._rv += 1
            self._events.clear()
            self.cond.notify_all()
