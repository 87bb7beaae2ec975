"""Microsoft.DBforMySQL and Microsoft.DBforPostgreSQL flexible servers, incl. point-in-time restore.

Create, update and delete answer 202 with an empty body plus Azure-AsyncOperation and Location:
azure-mgmt-postgresqlflexibleservers 3.x accepts nothing else, azure-mgmt-rdbms and
azure-mgmt-mysqlflexibleservers accept it too (the latter reads the final resource from Location).
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable

from .errors import ArmError, bad_request, not_found
from .flexible_model import ENGINES, Engine, FlexibleServer
from .lro import Operation
from .routing import Request, Response, Router
from .store import Store, resource_key
from .timeutil import format_time, parse_time, utc_now

SERVER_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
SOURCE_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/(?P<ns>[^/]+)"
    r"/flexibleServers/(?P<name>[^/]+)/?$",
    re.IGNORECASE,
)
UNSUPPORTED_MODES = ("georestore", "replica", "revivedropped")


class FlexibleRoutes:
    """The same routes for both engines; ``engine`` says which namespace and restore-time field."""

    def __init__(self, store: Store, engine: Engine) -> None:
        self.store = store
        self.engine = engine

    @property
    def servers(self) -> dict[tuple[str, str, str], FlexibleServer]:
        return self.store.servers[self.engine.provider]

    def register(self, router: Router) -> None:
        ns = self.engine.namespace
        servers = f"/subscriptions/{{sub}}/resourceGroups/{{rg}}/providers/{ns}/flexibleServers"
        router.add("GET", servers + "/{name}", self.get_server)
        router.add("PUT", servers + "/{name}", self.put_server)
        router.add("PATCH", servers + "/{name}", self.patch_server)
        router.add("DELETE", servers + "/{name}", self.delete_server)
        router.add("GET", servers, self.list_by_resource_group)
        router.add("GET", f"/subscriptions/{{sub}}/providers/{ns}/flexibleServers", self.list_all)

    # -- helpers -------------------------------------------------------------------------------
    def _find(self, p: dict[str, str]) -> FlexibleServer | None:
        return self.servers.get(resource_key(p["sub"], p["rg"], p["name"]))

    def _server(self, p: dict[str, str]) -> FlexibleServer:
        server = self._find(p)
        if server is None:
            raise not_found(f"{self.engine.namespace}/flexibleServers", p["name"], p["rg"])
        return server

    def _render(self, server: FlexibleServer) -> dict[str, Any]:
        return server.render(self.store.config.host_template(self.engine.provider))

    def _start(
        self,
        req: Request,
        kind: str,
        server: FlexibleServer,
        *,
        on_success: Callable[[], None],
        on_failure: Callable[[], None],
    ) -> Operation:
        return self.store.start_operation(
            provider=self.engine.provider,
            namespace=self.engine.namespace,
            subscription_id=server.subscription_id,
            kind=kind,
            name=server.name,
            location=server.location.replace(" ", "").lower(),
            resource_id=server.resource_id,
            api_version=req.api_version,
            on_success=on_success,
            on_failure=on_failure,
            result=lambda: self._render(server),
        )

    def _accepted(self, req: Request, op: Operation) -> Response:
        self.store.settle(op)
        return Response(202, None, op.headers(req.base_url, self.store.config.retry_after))

    @staticmethod
    def _settled(server: FlexibleServer, state: str) -> None:
        server.state = state
        server.pending_op = None

    # -- servers -------------------------------------------------------------------------------
    def get_server(self, _req: Request, p: dict[str, str]) -> Response:
        self.store.observe(self._server(p).pending_op)
        return Response(200, self._render(self._server(p)))  # a finished delete makes this 404

    def put_server(self, req: Request, p: dict[str, str]) -> Response:  # pylint: disable=too-many-locals
        body = req.json()
        props = body.get("properties") or {}
        create_mode = str(props.get("createMode") or "Default")
        mode = create_mode.lower()
        existing = self._find(p)
        if existing is not None:
            if mode in ("pointintimerestore", *UNSUPPORTED_MODES):
                raise ArmError(409, "ServerAlreadyExists", f"Server '{p['name']}' already exists; restore into a new server name.")
            return self._update(req, existing, body)
        if mode in UNSUPPORTED_MODES:
            raise bad_request(f"createMode '{create_mode}' is not supported by the stand-in.", "InvalidParameterValue")
        if not SERVER_NAME.match(p["name"]):
            raise bad_request(
                f"Invalid server name '{p['name']}': 3-63 characters, lowercase letters, numbers and '-'.",
                "InvalidResourceName",
            )
        location = body.get("location") or ""
        if not location:
            raise bad_request("The 'location' property is required.", "LocationRequired")
        now = utc_now()
        if mode == "pointintimerestore":
            server = self._restored_server(p, location, props, now)
        else:
            default_sku, default_tier = self.engine.default_sku
            server = FlexibleServer(
                engine=self.engine,
                subscription_id=p["sub"],
                resource_group=p["rg"],
                name=p["name"],
                location=location,
                creation_time=now,
                earliest_restore_date=now,
                version=str(props.get("version") or self.engine.default_version),
                sku=body.get("sku") or {"name": default_sku, "tier": default_tier},
                administrator_login=props.get("administratorLogin") or "scalar",
                storage_gb=int((props.get("storage") or {}).get("storageSizeGB") or 32),
                create_mode=create_mode,
            )
        server.tags = body.get("tags") or {}
        key = resource_key(p["sub"], p["rg"], p["name"])

        def drop() -> None:
            # A failed provisioning leaves nothing behind (the name can be retried).
            self.servers.pop(key, None)
            server.pending_op = None

        op = self._start(
            req,
            "restore" if mode == "pointintimerestore" else "create",
            server,
            on_success=lambda: self._settled(server, "Ready"),
            on_failure=drop,
        )
        server.pending_op = op
        server.state = "Provisioning"
        self.servers[key] = server
        return self._accepted(req, op)

    def _restored_server(self, p: dict[str, str], location: str, props: dict[str, Any], now: dt.datetime) -> FlexibleServer:
        source_id = str(props.get("sourceServerResourceId") or "")
        found = SOURCE_ID.match(source_id)
        if found is None:
            raise bad_request(
                f"PointInTimeRestore needs a valid sourceServerResourceId, got '{source_id}'.", "InvalidParameterValue"
            )
        source = None
        if found.group("ns").lower() == self.engine.namespace.lower():
            source = self.servers.get(resource_key(found.group("sub"), found.group("rg"), found.group("name")))
        if source is None or (source.pending_op is not None and source.pending_op.kind in ("create", "restore")):
            raise not_found(f"{self.engine.namespace}/flexibleServers", found.group("name"), found.group("rg"))
        if location.replace(" ", "").lower() != source.location.replace(" ", "").lower():
            raise bad_request(
                f"A point-in-time restore must target the source server's region '{source.location}', not '{location}'.",
                "InvalidParameterValue",
            )
        raw = props.get(self.engine.time_field)
        if not raw:
            raise bad_request(f"PointInTimeRestore needs properties.{self.engine.time_field}.", "InvalidParameterValue")
        try:
            at = parse_time(str(raw))
        except ValueError as exc:
            raise bad_request(f"Invalid {self.engine.time_field} '{raw}': {exc}", "InvalidParameterValue") from exc
        if not source.earliest_restore_date <= at <= now:
            raise bad_request(
                f"The restore point in time {format_time(at)} is invalid: it must be between the earliest restore "
                f"date {format_time(source.earliest_restore_date)} of server '{source.name}' and the current time "
                f"{format_time(now)}.",
                "InvalidRestorePointInTime",
            )
        return FlexibleServer(
            engine=self.engine,
            subscription_id=p["sub"],
            resource_group=p["rg"],
            name=p["name"],
            location=location,
            creation_time=now,
            earliest_restore_date=now,
            version=source.version,
            sku=dict(source.sku),
            administrator_login=source.administrator_login,
            storage_gb=source.storage_gb,
            backup_retention_days=source.backup_retention_days,
            create_mode="PointInTimeRestore",
            source_server_resource_id=source.resource_id,
            restore_point_in_time=at,
        )

    def patch_server(self, req: Request, p: dict[str, str]) -> Response:
        return self._update(req, self._server(p), req.json())

    def _update(self, req: Request, server: FlexibleServer, body: dict[str, Any]) -> Response:
        if server.pending_op is not None:
            raise ArmError(409, "ServerBusy", f"Server '{server.name}' is busy with another operation; retry later.")
        props = body.get("properties") or {}

        def apply() -> None:
            if body.get("tags") is not None:
                server.tags = dict(body["tags"])
            if body.get("sku"):
                server.sku = dict(body["sku"])
            if (props.get("storage") or {}).get("storageSizeGB"):
                server.storage_gb = int(props["storage"]["storageSizeGB"])
            if (props.get("backup") or {}).get("backupRetentionDays"):
                server.backup_retention_days = int(props["backup"]["backupRetentionDays"])
            self._settled(server, "Ready")

        op = self._start(req, "update", server, on_success=apply, on_failure=lambda: self._settled(server, "Ready"))
        server.pending_op = op
        server.state = "Updating"
        return self._accepted(req, op)

    def delete_server(self, req: Request, p: dict[str, str]) -> Response:
        server = self._find(p)
        if server is None:
            return Response(204)  # ARM deletes are idempotent
        key = resource_key(p["sub"], p["rg"], p["name"])

        def remove() -> None:
            self.servers.pop(key, None)
            server.pending_op = None

        op = self._start(req, "delete", server, on_success=remove, on_failure=lambda: self._settled(server, "Ready"))
        server.pending_op = op
        server.state = "Dropping"
        return self._accepted(req, op)

    def list_by_resource_group(self, _req: Request, p: dict[str, str]) -> Response:
        sub, rg = p["sub"].lower(), p["rg"].lower()
        return Response(200, {"value": [self._render(s) for k, s in self.servers.items() if k[:2] == (sub, rg)]})

    def list_all(self, _req: Request, p: dict[str, str]) -> Response:
        sub = p["sub"].lower()
        return Response(200, {"value": [self._render(s) for k, s in self.servers.items() if k[0] == sub]})


def register_all(router: Router, store: Store) -> None:
    for engine in ENGINES.values():
        FlexibleRoutes(store, engine).register(router)
