"""Python client of the stand-in-only ``/_standin`` routes (reset, knobs, failures, seeds, counters).

No dependency beyond the standard library, so Molecule, the demo and the fixtures can all use it.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import ssl
import urllib.error
import urllib.request
from typing import Any

from .timeutil import format_time


class AdminError(RuntimeError):
    """An admin route answered with an error."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return format_time(value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc))
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


class AzureAdmin:
    def __init__(self, url: str, ca_bundle: str | os.PathLike[str], timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        context = ssl.create_default_context(cafile=str(ca_bundle))
        # No proxies: the stand-in is on loopback whatever HTTPS_PROXY says.
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
        )

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(_jsonable(body)).encode()
        request = urllib.request.Request(
            f"{self.url}/_standin{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as err:
            raise AdminError(f"{method} /_standin{path}: HTTP {err.code}: {err.read().decode(errors='replace')}") from err
        return json.loads(raw) if raw else None

    # -- knobs -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every resource, operation, failure rule and request; knobs back to defaults."""
        self._call("POST", "/reset")

    def config(self, **knobs: Any) -> dict[str, Any]:
        """Set knobs (``lro_polls``, ``lro_seconds``, ``retry_after``, ``*_template``); returns them all."""
        return self._call("POST", "/config", knobs)

    def fail(  # pylint: disable=too-many-arguments
        self,
        provider: str = "*",
        operation: str = "*",
        name: str = "*",
        code: str = "InternalServerError",
        message: str = "Injected failure from the Azure stand-in.",
        phase: str = "async",
        status: int = 500,
        times: int = 1,
    ) -> dict[str, Any]:
        """Make the next ``times`` matching operations fail.

        ``provider``: cosmosdb | mysql | postgresql | *; ``operation``: create | restore | update |
        delete | *; ``phase="async"`` ends the LRO Failed with ``code``/``message``;
        ``phase="initial"`` refuses the request itself with HTTP ``status``.
        """
        return self._call(
            "POST",
            "/failures",
            {
                "provider": provider,
                "operation": operation,
                "name": name,
                "code": code,
                "message": message,
                "phase": phase,
                "status": status,
                "times": times,
            },
        )

    def clear_failures(self) -> None:
        self._call("DELETE", "/failures")

    # -- seeds -------------------------------------------------------------------------------
    def seed_cosmos_account(self, resource_group: str, name: str, **fields: Any) -> dict[str, Any]:
        """A source account with continuous backup. Fields: location, creation_time,
        oldest_restorable_time, deletion_time (then only its restorable entry exists), consistency,
        databases ``{db: {"containers": {c: {"partition_key", "stored_procedures": [...]}}}}``,
        subscription_id, instance_id, tags. Returns id, instance_id, restorable_id, document_endpoint.
        """
        return self._call("POST", "/seed/cosmosdb", {"resource_group": resource_group, "name": name, **fields})

    def seed_server(self, engine: str, resource_group: str, name: str, **fields: Any) -> dict[str, Any]:
        """A source flexible server (``engine`` mysql | postgresql). Fields: location, creation_time,
        earliest_restore_date, backup_retention_days, version, sku, administrator_login, storage_gb,
        subscription_id, tags. Returns id, fully_qualified_domain_name, earliest_restore_date.
        """
        return self._call("POST", f"/seed/{engine}", {"resource_group": resource_group, "name": name, **fields})

    def seed_mysql_server(self, resource_group: str, name: str, **fields: Any) -> dict[str, Any]:
        return self.seed_server("mysql", resource_group, name, **fields)

    def seed_postgresql_server(self, resource_group: str, name: str, **fields: Any) -> dict[str, Any]:
        return self.seed_server("postgresql", resource_group, name, **fields)

    # -- what happened -------------------------------------------------------------------------
    def operations(self, provider: str | None = None, operation: str | None = None) -> list[dict[str, Any]]:
        """Long-running operations with their ``polls``/``location_polls`` counters and outcome."""
        ops = self._call("GET", "/operations")
        return [
            op for op in ops if provider in (None, op["provider"]) and operation in (None, op["operation"])
        ]

    def requests(self) -> list[dict[str, Any]]:
        """The ARM/identity requests served (method, path, api_version, status), oldest first."""
        return self._call("GET", "/requests")

    def state(self) -> dict[str, Any]:
        return self._call("GET", "/state")
