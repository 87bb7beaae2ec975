"""Watch streams (``?watch=1``): initial events, bookmarks, and changes from a resourceVersion.

Semantics follow the real API server closely enough for client-go reflectors, helm 4's status
watcher (``sendInitialEvents=true`` + ``allowWatchBookmarks=true``: ADDED for each existing
object, then a BOOKMARK annotated ``k8s.io/initial-events-end``) and the Python client's
``watch.Watch``. An object that stops (starts) matching the selectors is sent as DELETED (ADDED).
"""
from __future__ import annotations

import json
import select
import socket
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable

from .api import Api
from .errors import ApiError, bad_request
from .resources import ResourceType
from .selectors import SelectorError, make_filter
from .store import Event

BOOKMARK_EVERY = 10.0  # seconds; real servers send one about every minute


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true")


def _event_type(event: Event, rt: ResourceType, namespace: str | None, matches: Callable[[dict[str, Any]], bool]) -> str | None:
    """What a watcher of (rt, namespace, selectors) sees of ``event``, or None."""
    if event.key != rt.key or (namespace and event.obj["metadata"].get("namespace") != namespace):
        return None
    now_matches = matches(event.obj)
    if event.type == "ADDED":
        return "ADDED" if now_matches else None
    if event.type == "DELETED":
        return "DELETED" if now_matches else None
    was_matching = event.old is not None and matches(event.old)
    if now_matches:
        return "MODIFIED" if was_matching else "ADDED"
    return "DELETED" if was_matching else None


def _client_gone(handler: BaseHTTPRequestHandler) -> bool:
    try:
        readable, _writable, _errored = select.select([handler.connection], [], [], 0)
        return bool(readable) and handler.connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _write_chunk(handler: BaseHTTPRequestHandler, payload: dict[str, Any] | None) -> None:
    data = b"" if payload is None else json.dumps(payload).encode() + b"\n"
    handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    handler.wfile.flush()


@dataclass
class WatchRequest:
    """What one watch asks for: which objects, from where, and how to present them."""

    api: Api
    rt: ResourceType
    version: str
    namespace: str | None
    query: dict[str, str]
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # kubectl's Tables

    def __post_init__(self) -> None:
        try:
            self.matches = make_filter(self.query.get("labelSelector"), self.query.get("fieldSelector"))
            rv = self.query.get("resourceVersion")
            self.requested = int(rv) if rv not in (None, "", "0") else None
        except (SelectorError, ValueError) as exc:
            raise bad_request(str(exc)) from exc
        self.send_initial = _truthy(self.query.get("sendInitialEvents"))
        self.bookmarks = _truthy(self.query.get("allowWatchBookmarks"))
        self.deadline = time.monotonic() + float(self.query.get("timeoutSeconds") or 1800)

    def present(self, obj: dict[str, Any]) -> dict[str, Any]:
        served = self.api.present(self.rt, obj, self.version)
        return self.transform(served) if self.transform else served

    def bookmark(self, rv: int, initial_end: bool = False) -> dict[str, Any]:
        md: dict[str, Any] = {"resourceVersion": str(rv)}
        if initial_end:
            md["annotations"] = {"k8s.io/initial-events-end": "true"}
        return {"type": "BOOKMARK", "object": {"kind": self.rt.kind, "apiVersion": self.rt.api_version(self.version), "metadata": md}}

    def start(self) -> tuple[int, list[dict[str, Any]], ApiError | None]:
        """(cursor, synthetic ADDED objects, error) taken atomically, so no change falls between."""
        store = self.api.store
        with store.cond:
            cursor = store.resource_version
            if self.send_initial or self.requested is None:
                return cursor, [o for o in store.list(self.rt.key, self.namespace) if self.matches(o)], None
            if self.requested < store.oldest_event_rv() - 1:
                return cursor, [], ApiError(410, "Expired", f"too old resource version: {self.requested} ({cursor})")
            return self.requested, [], None


def serve_watch(handler: BaseHTTPRequestHandler, request: WatchRequest) -> None:
    """Answer a watch request on ``handler`` until timeoutSeconds passes or the client leaves."""
    cursor, initial, expired = request.start()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.send_header("Cache-Control", "no-cache, private")
    handler.end_headers()
    try:
        if expired is not None:
            _write_chunk(handler, {"type": "ERROR", "object": expired.status()})
        else:
            for obj in initial:
                _write_chunk(handler, {"type": "ADDED", "object": request.present(obj)})
            if request.send_initial and request.bookmarks:
                _write_chunk(handler, request.bookmark(cursor, initial_end=True))
            _follow(handler, request, cursor)
        _write_chunk(handler, None)
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        handler.close_connection = True


def _follow(handler: BaseHTTPRequestHandler, request: WatchRequest, cursor: int) -> None:
    """Stream the changes after ``cursor`` until the deadline or until the client hangs up."""
    store = request.api.store
    last_write = time.monotonic()
    while time.monotonic() < request.deadline:
        with store.cond:
            events = store.events_after(cursor)
            if not events:
                if store.resource_version > cursor:  # the log was reset: nothing to replay
                    cursor = store.resource_version
                else:
                    store.cond.wait(timeout=max(0.05, min(1.0, request.deadline - time.monotonic())))
        if not events:
            if _client_gone(handler):
                return
            if request.bookmarks and time.monotonic() - last_write > BOOKMARK_EVERY:
                _write_chunk(handler, request.bookmark(cursor))
                last_write = time.monotonic()
            continue
        for event in events:
            cursor = event.rv
            kind = _event_type(event, request.rt, request.namespace, request.matches)
            if kind is not None:
                _write_chunk(handler, {"type": kind, "object": request.present(event.obj)})
                last_write = time.monotonic()
