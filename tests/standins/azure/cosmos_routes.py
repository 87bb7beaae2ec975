"""Microsoft.DocumentDB routes: database accounts (incl. point-in-time restore), keys, SQL
resources and the restorable-account feeds of continuous backup.

Status codes follow azure-mgmt-cosmosdb: PUT and PATCH answer 200 (the SDK rejects 201/202),
DELETE answers 202; all three carry Azure-AsyncOperation and Location headers.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable

from .cosmos_model import (
    ACCOUNT_TYPE,
    NAMESPACE,
    CosmosAccount,
    RestorableAccount,
    consistency_policy,
    databases_at,
    master_keys,
    normalize_location,
)
from .errors import ArmError, bad_request, not_found
from .lro import Operation
from .routing import Request, Response, Router
from .store import Store, resource_key
from .timeutil import format_time, parse_time, utc_now

ACCOUNTS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DocumentDB/databaseAccounts"
ACCOUNT = ACCOUNTS + "/{name}"
RESTORABLE = "/subscriptions/{sub}/providers/Microsoft.DocumentDB/locations/{location}/restorableDatabaseAccounts"
ACCOUNT_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,42}[a-z0-9]$")
RESTORE_SOURCE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.DocumentDB/locations/(?P<location>[^/]+)"
    r"/restorableDatabaseAccounts/(?P<instance>[^/]+)/?$",
    re.IGNORECASE,
)


def listing(values: list[dict[str, Any]]) -> Response:
    return Response(200, {"value": values})


class CosmosRoutes:
    def __init__(self, store: Store) -> None:
        self.store = store

    def register(self, router: Router) -> None:
        router.add("GET", ACCOUNT, self.get_account)
        router.add("PUT", ACCOUNT, self.put_account)
        router.add("PATCH", ACCOUNT, self.patch_account)
        router.add("DELETE", ACCOUNT, self.delete_account)
        router.add("GET", ACCOUNTS, self.list_by_resource_group)
        router.add("GET", "/subscriptions/{sub}/providers/Microsoft.DocumentDB/databaseAccounts", self.list_all)
        router.add("POST", ACCOUNT + "/listKeys", self.list_keys)
        router.add("GET", ACCOUNT + "/sqlDatabases", self.list_databases)
        router.add("GET", ACCOUNT + "/sqlDatabases/{db}", self.get_database)
        router.add("GET", ACCOUNT + "/sqlDatabases/{db}/containers", self.list_containers)
        router.add("GET", ACCOUNT + "/sqlDatabases/{db}/containers/{container}", self.get_container)
        router.add("GET", ACCOUNT + "/sqlDatabases/{db}/containers/{container}/storedProcedures", self.list_procedures)
        router.add("GET", RESTORABLE, self.list_restorable_by_location)
        router.add("GET", RESTORABLE + "/{instance}", self.get_restorable)
        router.add("GET", RESTORABLE + "/{instance}/restorableSqlDatabases", self.list_restorable_databases)
        router.add("GET", RESTORABLE + "/{instance}/restorableSqlResources", self.list_restorable_resources)
        router.add("GET", "/subscriptions/{sub}/providers/Microsoft.DocumentDB/restorableDatabaseAccounts", self.list_restorable)

    # -- helpers -------------------------------------------------------------------------------
    def _find(self, p: dict[str, str]) -> CosmosAccount | None:
        return self.store.cosmos_accounts.get(resource_key(p["sub"], p["rg"], p["name"]))

    def _account(self, p: dict[str, str]) -> CosmosAccount:
        account = self._find(p)
        if account is None:
            raise not_found(ACCOUNT_TYPE, p["name"], p["rg"])
        return account

    def _render(self, account: CosmosAccount) -> dict[str, Any]:
        return account.render(self.store.config.host_template("cosmosdb"))

    def _restorable(self, p: dict[str, str]) -> RestorableAccount:
        found = self.store.restorable_accounts.get(p["instance"].lower())
        if found is None or found.subscription_id.lower() != p["sub"].lower():
            raise ArmError(404, "NotFound", f"Restorable database account '{p['instance']}' was not found.")
        return found

    # -- accounts ------------------------------------------------------------------------------
    def get_account(self, _req: Request, p: dict[str, str]) -> Response:
        self.store.observe(self._account(p).pending_op)
        return Response(200, self._render(self._account(p)))  # a finished delete makes this 404

    def put_account(self, req: Request, p: dict[str, str]) -> Response:
        body = req.json()
        props = body.get("properties") or {}
        create_mode = str(props.get("createMode") or "Default")
        existing = self._find(p)
        if existing is not None:
            if create_mode.lower() == "restore":
                raise ArmError(409, "Conflict", f"Database account '{p['name']}' already exists; a restore needs a new account name.")
            return self._update(req, existing, body)
        if not ACCOUNT_NAME.match(p["name"]):
            raise bad_request(
                f"Invalid account name '{p['name']}': 3-44 characters, lowercase letters, numbers and '-'.",
                "InvalidResourceName",
            )
        location = body.get("location") or ""
        if not location:
            raise bad_request("The 'location' property is required.", "LocationRequired")
        now = utc_now()
        account = CosmosAccount(
            subscription_id=p["sub"],
            resource_group=p["rg"],
            name=p["name"],
            location=location,
            creation_time=now,
            consistency=consistency_policy(props.get("consistencyPolicy")),
            kind=body.get("kind") or "GlobalDocumentDB",
            backup_policy=props.get("backupPolicy") or {"type": "Periodic"},
            create_mode=create_mode,
            tags=body.get("tags") or {},
            provisioning_state="Creating",
        )
        kind = "create"
        if create_mode.lower() == "restore":
            kind = "restore"
            self._prepare_restore(account, props, now)
        elif create_mode.lower() != "default":
            raise bad_request(f"createMode '{create_mode}' is not supported by the stand-in (Default or Restore).")
        account.pending_op = self._start(
            req,
            kind,
            account,
            on_success=lambda: self._settled(account, "Succeeded"),
            on_failure=lambda: self._settled(account, "Failed"),
        )
        self.store.cosmos_accounts[resource_key(p["sub"], p["rg"], p["name"])] = account
        if account.continuous:
            self.store.restorable_accounts[account.instance_id.lower()] = RestorableAccount(
                instance_id=account.instance_id,
                subscription_id=account.subscription_id,
                account_name=account.name,
                location=account.location,
                creation_time=now,
                oldest_restorable_time=now,
                databases=account.databases,
            )
        op = account.pending_op
        self.store.settle(op)
        return Response(200, self._render(account), op.headers(req.base_url, self.store.config.retry_after))

    def _prepare_restore(self, account: CosmosAccount, props: dict[str, Any], now: dt.datetime) -> None:
        params = props.get("restoreParameters") or {}
        source_id = str(params.get("restoreSource") or "")
        if not source_id or not params.get("restoreTimestampInUtc"):
            raise bad_request("createMode Restore needs restoreParameters.restoreSource and restoreTimestampInUtc.")
        if str(params.get("restoreMode", "PointInTime")) != "PointInTime":
            raise bad_request(f"Unsupported restoreMode '{params.get('restoreMode')}'; expected PointInTime.")
        found = RESTORE_SOURCE.match(source_id)
        source = self.store.restorable_accounts.get(found.group("instance").lower()) if found else None
        if source is None:
            raise ArmError(404, "NotFound", f"Restorable database account '{source_id}' was not found.")
        if normalize_location(account.location) != source.short_location:
            raise bad_request(
                f"The restored account must be created in a region the source was in ({source.location}), "
                f"not '{account.location}'."
            )
        try:
            at = parse_time(str(params["restoreTimestampInUtc"]))
        except ValueError as exc:
            raise bad_request(f"Invalid restore timestamp '{params['restoreTimestampInUtc']}': {exc}") from exc
        source.check_restore_time(at, now)
        account.databases = databases_at(source.databases, at, params.get("databasesToRestore"))
        # A restored account comes back with the default consistency (Session) whatever was asked for.
        account.consistency = consistency_policy(None)
        account.backup_policy = props.get("backupPolicy") or {"type": "Continuous"}
        account.restore_parameters = dict(params, restoreTimestampInUtc=format_time(at))

    def _start(
        self,
        req: Request,
        kind: str,
        account: CosmosAccount,
        *,
        on_success: Callable[[], None],
        on_failure: Callable[[], None] | None = None,
    ) -> Operation:
        """Start an LRO on ``account``; a failed update/delete leaves the account as it was."""
        return self.store.start_operation(
            provider="cosmosdb",
            namespace=NAMESPACE,
            subscription_id=account.subscription_id,
            kind=kind,
            name=account.name,
            location=normalize_location(account.location),
            resource_id=account.resource_id,
            api_version=req.api_version,
            on_success=on_success,
            on_failure=on_failure or (lambda: self._settled(account, "Succeeded")),
            result=lambda: self._render(account),
        )

    @staticmethod
    def _settled(account: CosmosAccount, state: str) -> None:
        account.provisioning_state = state
        account.pending_op = None

    def patch_account(self, req: Request, p: dict[str, str]) -> Response:
        return self._update(req, self._account(p), req.json())

    def _update(self, req: Request, account: CosmosAccount, body: dict[str, Any]) -> Response:
        if account.pending_op is not None:
            raise ArmError(
                412,
                "PreconditionFailed",
                "There is already an operation in progress which requires exclusive lock on this service.",
            )
        props = body.get("properties") or {}
        new_consistency = consistency_policy(props["consistencyPolicy"]) if props.get("consistencyPolicy") else None
        new_tags = body.get("tags")

        def apply() -> None:
            if new_consistency is not None:
                account.consistency = new_consistency
            if new_tags is not None:
                account.tags = dict(new_tags)
            self._settled(account, "Succeeded")

        account.pending_op = self._start(req, "update", account, on_success=apply)
        account.provisioning_state = "Updating"
        op = account.pending_op
        self.store.settle(op)
        return Response(200, self._render(account), op.headers(req.base_url, self.store.config.retry_after))

    def delete_account(self, req: Request, p: dict[str, str]) -> Response:
        account = self._find(p)
        if account is None:
            return Response(204)  # ARM deletes are idempotent
        key = resource_key(p["sub"], p["rg"], p["name"])

        def remove() -> None:
            self.store.cosmos_accounts.pop(key, None)
            restorable = self.store.restorable_accounts.get(account.instance_id.lower())
            if restorable is not None:
                restorable.deletion_time = utc_now()
            account.pending_op = None

        op = self._start(req, "delete", account, on_success=remove)
        account.pending_op = op
        account.provisioning_state = "Deleting"
        self.store.settle(op)
        return Response(202, None, op.headers(req.base_url, self.store.config.retry_after))

    def list_by_resource_group(self, _req: Request, p: dict[str, str]) -> Response:
        sub, rg = p["sub"].lower(), p["rg"].lower()
        return listing([self._render(a) for k, a in self.store.cosmos_accounts.items() if k[:2] == (sub, rg)])

    def list_all(self, _req: Request, p: dict[str, str]) -> Response:
        sub = p["sub"].lower()
        return listing([self._render(a) for k, a in self.store.cosmos_accounts.items() if k[0] == sub])

    def list_keys(self, _req: Request, p: dict[str, str]) -> Response:
        return Response(200, master_keys(self._account(p).instance_id))

    # -- SQL resources -------------------------------------------------------------------------
    def list_databases(self, _req: Request, p: dict[str, str]) -> Response:
        account = self._account(p)
        return listing([account.render_database(db) for db in account.databases.values()])

    def _database(self, p: dict[str, str]) -> tuple[CosmosAccount, Any]:
        account = self._account(p)
        db = account.databases.get(p["db"])
        if db is None:
            raise ArmError(404, "NotFound", f"Database '{p['db']}' was not found in account '{account.name}'.")
        return account, db

    def get_database(self, _req: Request, p: dict[str, str]) -> Response:
        account, db = self._database(p)
        return Response(200, account.render_database(db))

    def list_containers(self, _req: Request, p: dict[str, str]) -> Response:
        account, db = self._database(p)
        return listing([account.render_container(db, c) for c in db.containers.values()])

    def _container(self, p: dict[str, str]) -> tuple[CosmosAccount, Any, Any]:
        account, db = self._database(p)
        container = db.containers.get(p["container"])
        if container is None:
            raise ArmError(404, "NotFound", f"Container '{p['container']}' was not found in database '{db.name}'.")
        return account, db, container

    def get_container(self, _req: Request, p: dict[str, str]) -> Response:
        account, db, container = self._container(p)
        return Response(200, account.render_container(db, container))

    def list_procedures(self, _req: Request, p: dict[str, str]) -> Response:
        account, db, container = self._container(p)
        return listing([account.render_stored_procedure(db, container, n) for n in container.stored_procedures])

    # -- restorable accounts (continuous backup) -----------------------------------------------
    def list_restorable_by_location(self, _req: Request, p: dict[str, str]) -> Response:
        sub, location = p["sub"].lower(), normalize_location(p["location"])
        return listing(
            [
                r.render()
                for r in self.store.restorable_accounts.values()
                if r.subscription_id.lower() == sub and r.short_location == location
            ]
        )

    def list_restorable(self, _req: Request, p: dict[str, str]) -> Response:
        sub = p["sub"].lower()
        return listing([r.render() for r in self.store.restorable_accounts.values() if r.subscription_id.lower() == sub])

    def get_restorable(self, _req: Request, p: dict[str, str]) -> Response:
        return Response(200, self._restorable(p).render())

    def list_restorable_databases(self, _req: Request, p: dict[str, str]) -> Response:
        return listing(self._restorable(p).render_sql_databases())

    def list_restorable_resources(self, req: Request, p: dict[str, str]) -> Response:
        restorable = self._restorable(p)
        raw = req.query.get("restoreTimestampInUtc")
        try:
            at = parse_time(raw) if raw else utc_now()
        except ValueError as exc:
            raise bad_request(f"Invalid restoreTimestampInUtc '{raw}': {exc}") from exc
        restorable.check_restore_time(at, utc_now())
        return listing(restorable.render_sql_resources(at))
