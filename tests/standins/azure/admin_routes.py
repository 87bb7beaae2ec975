"""Stand-in-only routes under ``/_standin`` (no token, no api-version): reset, knobs, injected
failures, seeding of source accounts/servers with chosen times, and what happened (operations,
requests). ``standins.azure.admin.AzureAdmin`` is the Python client; README.md documents the bodies.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, fields
from typing import Any

from .cosmos_model import CosmosAccount, RestorableAccount, consistency_policy, databases_from_seed
from .errors import ArmError, bad_request
from .flexible_model import ENGINES, FlexibleServer
from .routing import Request, Response, Router
from .store import FailureRule, Store, resource_key
from .timeutil import format_time, parse_time, utc_now

PREFIX = "/_standin"


def _time(body: dict[str, Any], key: str, default: dt.datetime | None) -> dt.datetime | None:
    value = body.get(key)
    if value in (None, ""):
        return default
    try:
        return parse_time(value)
    except (TypeError, ValueError) as exc:
        raise bad_request(f"'{key}' is not an ISO 8601 time: {value!r}") from exc


def _required(body: dict[str, Any], *keys: str) -> None:
    missing = [k for k in keys if not body.get(k)]
    if missing:
        raise bad_request(f"missing {', '.join(missing)}")


class AdminRoutes:
    def __init__(self, store: Store) -> None:
        self.store = store

    def register(self, router: Router) -> None:
        def add(method: str, path: str, handler: Any) -> None:
            router.add(method, PREFIX + path, handler, arm=False)

        add("POST", "/reset", self.reset)
        add("GET", "/config", self.get_config)
        add("POST", "/config", self.set_config)
        add("GET", "/failures", self.list_failures)
        add("POST", "/failures", self.add_failure)
        add("DELETE", "/failures", self.clear_failures)
        add("POST", "/seed/cosmosdb", self.seed_cosmosdb)
        add("POST", "/seed/{engine}", self.seed_server)
        add("GET", "/operations", self.list_operations)
        add("GET", "/requests", self.list_requests)
        add("GET", "/state", self.state)

    def reset(self, _req: Request, _p: dict[str, str]) -> Response:
        self.store.reset()
        return Response(200, {"reset": True})

    def get_config(self, _req: Request, _p: dict[str, str]) -> Response:
        return Response(200, asdict(self.store.config))

    def set_config(self, req: Request, _p: dict[str, str]) -> Response:
        self.store.config.update(req.json())
        return Response(200, asdict(self.store.config))

    def list_failures(self, _req: Request, _p: dict[str, str]) -> Response:
        return Response(200, [asdict(f) for f in self.store.failures])

    def add_failure(self, req: Request, _p: dict[str, str]) -> Response:
        body = req.json()
        known = {f.name for f in fields(FailureRule)}
        if set(body) - known:
            raise bad_request(f"unknown failure keys {sorted(set(body) - known)}; known: {sorted(known)}")
        rule = FailureRule(**body)
        if rule.phase not in ("async", "initial"):
            raise bad_request("phase must be 'async' or 'initial'")
        self.store.failures.append(rule)
        return Response(201, asdict(rule))

    def clear_failures(self, _req: Request, _p: dict[str, str]) -> Response:
        self.store.failures.clear()
        return Response(200, [])

    def seed_cosmosdb(self, req: Request, _p: dict[str, str]) -> Response:
        """A source account with continuous backup; with ``deletion_time`` only its restorable entry."""
        body = req.json()
        _required(body, "name", "resource_group")
        now = utc_now()
        sub = body.get("subscription_id") or self.store.subscription_id
        created = _time(body, "creation_time", now - dt.timedelta(days=7))
        assert created is not None
        oldest = _time(body, "oldest_restorable_time", max(created, now - dt.timedelta(days=30)))
        assert oldest is not None
        deleted = _time(body, "deletion_time", None)
        account = CosmosAccount(
            subscription_id=sub,
            resource_group=body["resource_group"],
            name=body["name"],
            location=body.get("location") or "westus",
            creation_time=created,
            consistency=consistency_policy({"defaultConsistencyLevel": body.get("consistency", "Strong")}),
            databases=databases_from_seed(body.get("databases") or {}, created),
            tags=body.get("tags") or {},
        )
        if body.get("instance_id"):
            account.instance_id = str(body["instance_id"])
        key = resource_key(sub, account.resource_group, account.name)
        if deleted is None:
            if key in self.store.cosmos_accounts:
                raise ArmError(409, "Conflict", f"account {account.name} already exists")
            self.store.cosmos_accounts[key] = account
        restorable = RestorableAccount(
            instance_id=account.instance_id,
            subscription_id=sub,
            account_name=account.name,
            location=account.location,
            creation_time=created,
            oldest_restorable_time=oldest,
            databases=account.databases,
            deletion_time=deleted,
        )
        self.store.restorable_accounts[account.instance_id.lower()] = restorable
        return Response(
            201,
            {
                "id": None if deleted else account.resource_id,
                "instance_id": account.instance_id,
                "restorable_id": restorable.resource_id,
                "document_endpoint": None if deleted else self.store.config.cosmos_endpoint_template.format(name=account.name),
                "creation_time": format_time(created),
                "oldest_restorable_time": format_time(oldest),
                "deletion_time": format_time(deleted),
            },
        )

    def seed_server(self, req: Request, p: dict[str, str]) -> Response:
        """A source flexible server (``mysql`` or ``postgresql``) with a chosen restore window."""
        engine = ENGINES.get(p["engine"].lower())
        if engine is None:
            raise ArmError(404, "NotFound", f"unknown engine {p['engine']}; expected one of {sorted(ENGINES)}")
        body = req.json()
        _required(body, "name", "resource_group")
        now = utc_now()
        sub = body.get("subscription_id") or self.store.subscription_id
        created = _time(body, "creation_time", now - dt.timedelta(days=7))
        assert created is not None
        retention = int(body.get("backup_retention_days", 7))
        earliest = _time(body, "earliest_restore_date", max(created, now - dt.timedelta(days=retention)))
        assert earliest is not None
        sku = body.get("sku") or {"name": engine.default_sku[0], "tier": engine.default_sku[1]}
        server = FlexibleServer(
            engine=engine,
            subscription_id=sub,
            resource_group=body["resource_group"],
            name=body["name"],
            location=body.get("location") or "eastus",
            creation_time=created,
            earliest_restore_date=earliest,
            version=str(body.get("version") or engine.default_version),
            sku=dict(sku),
            administrator_login=body.get("administrator_login") or "scalar",
            storage_gb=int(body.get("storage_gb", 32)),
            backup_retention_days=retention,
            tags=body.get("tags") or {},
        )
        key = resource_key(sub, server.resource_group, server.name)
        servers = self.store.servers[engine.provider]
        if key in servers:
            raise ArmError(409, "Conflict", f"server {server.name} already exists")
        servers[key] = server
        return Response(
            201,
            {
                "id": server.resource_id,
                "fully_qualified_domain_name": self.store.config.host_template(engine.provider).format(name=server.name),
                "creation_time": format_time(created),
                "earliest_restore_date": format_time(earliest),
            },
        )

    def list_operations(self, _req: Request, _p: dict[str, str]) -> Response:
        return Response(200, [op.summary() for op in self.store.operations.values()])

    def list_requests(self, _req: Request, _p: dict[str, str]) -> Response:
        return Response(200, list(self.store.request_log))

    def state(self, _req: Request, _p: dict[str, str]) -> Response:
        return Response(200, self.store.snapshot())
