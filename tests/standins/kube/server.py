"""HTTP layer of the Kubernetes API stand-in: routing, content negotiation, errors as ``Status``.

Paths served:

* ``/version``, ``/healthz``, ``/readyz``, ``/livez``;
* discovery ``/api``, ``/api/v1``, ``/apis``, ``/apis/{group}``, ``/apis/{group}/{version}``;
* ``/openapi/v3`` and ``/openapi/v3/{api/v1|apis/g/v}`` (``/openapi/v2`` is 404: see openapi.py);
* resources ``/api/v1/...`` and ``/apis/{g}/{v}/...``: ``[namespaces/{ns}/]{plural}[/{name}[/{sub}]]``
  with ``?watch=1`` streams, and subresources ``status``, ``scale`` and ``log`` (pods);
* stand-in-only test hooks under ``/_standin/`` (see ``__init__`` for the list).
"""
from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import openapi
from .api import parse_body
from .cluster import Cluster
from .errors import ApiError, bad_request
from .resources import ResourceType
from .tables import to_table, wants_table
from .watch import WatchRequest, serve_watch

LOG = logging.getLogger("standins.kube")
VERSION = {"major": "1", "minor": "35", "emulationMajor": "1", "emulationMinor": "35", "minCompatibilityMajor": "1",
           "minCompatibilityMinor": "34", "gitVersion": "v1.35.0-standin", "gitCommit": "0000000000000000000000000000000000000000",
           "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.25.0", "compiler": "gc",
           "platform": "linux/amd64"}
NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


def _verb(method: str, name: str | None, query: dict[str, str]) -> str:
    """The authorization verb of a request (``kubectl auth can-i`` speaks these)."""
    if method == "GET":
        if name is not None:
            return "get"
        return "watch" if query.get("watch", "").lower() in ("1", "true") else "list"
    if method == "DELETE":
        return "delete" if name is not None else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())


class KubeServer(ThreadingHTTPServer):
    """Threaded so watches (which block their thread) never stall other requests."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], cluster: Cluster) -> None:
        super().__init__(address, Handler)
        self.cluster = cluster
        self.url = f"http://{address[0]}:{self.server_address[1]}"


class Route:
    """A parsed resource path."""

    def __init__(self, rt: ResourceType, version: str, namespace: str | None, name: str | None, sub: str | None) -> None:
        self.rt, self.version, self.namespace, self.name, self.sub = rt, version, namespace, name, sub


class Handler(BaseHTTPRequestHandler):
    """One request; keep-alive (HTTP/1.1) so clients reuse connections."""

    protocol_version = "HTTP/1.1"
    server: KubeServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle + delayed ACK add 40 ms per request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # pylint: disable=invalid-name
    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")
    # pylint: enable=invalid-name

    def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
        LOG.info("%s %s", threading.current_thread().name, format % args)

    # ---- responses --------------------------------------------------------------------------
    def _send(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, code: int, payload: Any) -> None:
        self._send(code, json.dumps(payload).encode(), "application/json")

    def _text(self, code: int, text: str) -> None:
        self._send(code, text.encode(), "text/plain; charset=utf-8")

    # ---- dispatch ---------------------------------------------------------------------------
    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        cluster = self.server.cluster
        try:
            if not url.path.startswith("/_standin/"):
                fault = cluster.faults.take(method, url.path)
                if fault is not None:
                    raise ApiError(fault.code, "InternalError" if fault.code >= 500 else "BadRequest", fault.message)
            self._route(method, url.path.rstrip("/") or "/", query, body)
        except ApiError as exc:
            self._json(exc.code, exc.status())
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # pylint: disable=broad-except  # answer like the API server, keep serving
            LOG.exception("internal error on %s %s", method, self.path)
            self._json(500, ApiError(500, "InternalError", f"stand-in internal error: {exc}").status())

    def _route(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
        cluster = self.server.cluster
        parts = [p for p in path.split("/") if p]
        if path.startswith("/_standin/"):
            self._standin(method, parts[1:], body)
        elif path == "/version":
            self._json(200, VERSION)
        elif path in ("/healthz", "/readyz", "/livez"):
            self._text(200, "ok")
        elif path == "/openapi/v3":
            self._json(200, openapi.root_document(cluster.registry))
        elif path.startswith("/openapi/v3/"):
            gv = parts[2:]
            group, version = ("", gv[1]) if gv[0] == "api" and len(gv) == 2 else (gv[1], gv[2]) if len(gv) == 3 else ("", "")
            doc = openapi.group_version_document(cluster.registry, group, version) if version else None
            if doc is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            self._json(200, doc)
        elif parts[:1] == ["api"] and len(parts) <= 2:
            if len(parts) == 1:
                self._json(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": self.server.url.split("//", 1)[1]}]})
            else:
                self._discovery(cluster.registry.resource_list("", parts[1]))
        elif parts[:1] == ["apis"] and len(parts) <= 3:
            if len(parts) == 1:
                self._json(200, cluster.registry.api_group_list())
            elif len(parts) == 2:
                self._discovery(cluster.registry.api_group(parts[1]))
            else:
                self._discovery(cluster.registry.resource_list(parts[1], parts[2]))
        elif parts[:1] in (["api"], ["apis"]):
            self._resource(method, self._parse(parts), query, body)
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")

    def _discovery(self, doc: dict[str, Any] | None) -> None:
        if doc is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        self._json(200, doc)

    def _parse(self, parts: list[str]) -> Route:
        group, version, rest = ("", parts[1], parts[2:]) if parts[0] == "api" else (parts[1], parts[2], parts[3:])
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in NAMESPACE_SUBRESOURCES:
            namespace, rest = rest[1], rest[2:]
        rt = self.server.cluster.registry.get(group, version, rest[0]) if rest else None
        if rt is None or len(rest) > 3 or (namespace is not None and not rt.namespaced):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub is not None and sub not in rt.subresources and not (rt.kind == "Namespace" and sub == "finalize"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return Route(rt, version, namespace, name, sub)

    # ---- resources --------------------------------------------------------------------------
    def _resource(self, method: str, route: Route, query: dict[str, str], body: bytes) -> None:
        cluster = self.server.cluster
        api = cluster.api
        rt, ns, name, sub = route.rt, route.namespace, route.name, route.sub
        dry_run = query.get("dryRun") == "All"
        if rt.review:
            if method != "POST" or name is not None:
                raise ApiError(405, "MethodNotAllowed", f"{rt.plural} can only be created")
            body = parse_body(body, self.headers.get("Content-Type", ""))
            self._json(201, api.present(rt, cluster.authz.review(rt.kind, body if isinstance(body, dict) else {}), route.version))
            return
        cluster.authz.check(_verb(method, name, query), rt.group, rt.plural, sub or "", ns or "", name or "")
        if name is None:
            if method == "GET":
                if query.get("watch", "").lower() in ("1", "true"):
                    include = self._include_object()

                    def table(obj: dict[str, Any]) -> dict[str, Any]:
                        return to_table(rt.kind, [obj], obj["metadata"].get("resourceVersion", ""), include)

                    serve_watch(self, WatchRequest(api, rt, route.version, ns, query,
                                                   table if wants_table(self.headers.get("Accept", "")) else None))
                else:
                    listed = api.list(rt, route.version, ns, query)
                    self._json(200, self._maybe_table(rt, listed["items"], listed))
            elif method == "POST":
                created = api.create(rt, ns, parse_body(body, self.headers.get("Content-Type", "")), dry_run=dry_run)
                self._json(201, api.present(rt, created, route.version))
            elif method == "DELETE":
                self._json(200, api.delete_collection(rt, route.version, ns, query))
            else:
                raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on a collection")
            return
        if method == "GET":
            obj = api.get(rt, ns or "", name)
            if sub == "log":
                self._text(200, api.pod_log(rt, ns or "", name, query))
            elif sub == "scale":
                self._json(200, api.scale_of(rt, obj))
            else:
                self._json(200, self._maybe_table(rt, [api.present(rt, obj, route.version)], None))
        elif method == "PUT":
            if sub == "finalize":
                self._json(200, api.present(rt, api.get(rt, "", name), route.version))
                return
            result = api.update(rt, ns or "", name, sub, parse_body(body, self.headers.get("Content-Type", "")), dry_run=dry_run)
            self._json(200, result if sub == "scale" else api.present(rt, result, route.version))
        elif method == "PATCH":
            code, result = api.patch(rt, ns, name, sub, self.headers.get("Content-Type", ""), body, query)
            self._json(code, result if sub == "scale" else api.present(rt, result, route.version))
        elif method == "DELETE":
            options = parse_body(body, self.headers.get("Content-Type", "application/json")) if body else {}
            result = api.delete(rt, ns, name, options if isinstance(options, dict) else {}, query)
            self._json(200, result if result.get("kind") == "Status" else api.present(rt, result, route.version))
        else:
            raise ApiError(405, "MethodNotAllowed", f"{method} is not supported")

    def _maybe_table(self, rt: ResourceType, items: list[dict[str, Any]], listed: dict[str, Any] | None) -> dict[str, Any]:
        if not wants_table(self.headers.get("Accept", "")):
            return listed if listed is not None else items[0]
        rv = (listed or {}).get("metadata", {}).get("resourceVersion") or items[0]["metadata"].get("resourceVersion", "")
        return to_table(rt.kind, items, rv, self._include_object())

    def _include_object(self) -> str:
        query = parse_qs(urlsplit(self.path).query)
        return (query.get("includeObject") or ["Metadata"])[-1]

    # ---- stand-in test hooks ----------------------------------------------------------------
    def _standin(self, method: str, parts: list[str], body: bytes) -> None:
        cluster = self.server.cluster
        what = parts[0] if parts else ""
        if method == "POST" and what == "reset":
            cluster.reset()
            self._json(200, {"reset": True, "resourceVersion": cluster.store.resource_version})
        elif method == "POST" and what == "faults":
            spec = parse_body(body, "application/json")
            if not isinstance(spec, dict):
                raise bad_request("a fault is an object: {method, path, code, message, times}")
            cluster.faults.add(spec)
            self._json(201, spec)
        elif method == "DELETE" and what == "faults":
            cluster.faults.clear()
            self._json(200, {"cleared": True})
        elif method == "POST" and what == "deny":
            spec = parse_body(body, "application/json")
            if not isinstance(spec, dict):
                raise bad_request("a deny rule is an object: {verb, group, resource, subresource, namespace}")
            cluster.authz.deny(spec)
            self._json(201, spec)
        elif method == "DELETE" and what == "deny":
            cluster.authz.clear()
            self._json(200, {"cleared": True})
        elif method == "GET" and what == "objects":
            self._json(200, {f"{g}/{p}" if g else p: cluster.store.list((g, p)) for g, p in cluster.store.keys()})
        else:
            raise ApiError(404, "NotFound", f"unknown stand-in hook {method} /_standin/{'/'.join(parts)}")
