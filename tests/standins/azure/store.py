"""All state of the fake: resources, operations, knobs, injected failures and a request log.

One lock guards everything: the server runs each request under it, so handlers never race.
"""
from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable

from .cosmos_model import CosmosAccount, RestorableAccount
from .errors import ArmError
from .flexible_model import FlexibleServer
from .lro import Operation

REQUEST_LOG_LIMIT = 2000

DEFAULT_FQDN = {
    "cosmosdb": "https://{name}.documents.azure.com:443/",
    "mysql": "{name}.mysql.database.azure.com",
    "postgresql": "{name}.postgres.database.azure.com",
}


@dataclass
class Config:
    """Knobs set with ``POST /_standin/config``."""

    lro_polls: int = 1  # observations answered InProgress before an operation may finish
    lro_seconds: float = 0.0  # minimum duration of an operation
    retry_after: int | None = None  # Retry-After header on LRO responses (overrides polling_interval)
    cosmos_endpoint_template: str = DEFAULT_FQDN["cosmosdb"]
    mysql_fqdn_template: str = DEFAULT_FQDN["mysql"]
    postgresql_fqdn_template: str = DEFAULT_FQDN["postgresql"]

    def update(self, values: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        unknown = set(values) - known
        if unknown:
            raise ArmError(400, "InvalidConfig", f"unknown config keys {sorted(unknown)}; known: {sorted(known)}")
        try:
            for key, value in values.items():
                setattr(self, key, _CONFIG_TYPES.get(key, str)(value))
        except (TypeError, ValueError) as exc:
            raise ArmError(400, "InvalidConfig", f"bad config value: {exc}") from exc

    def host_template(self, provider: str) -> str:
        return {
            "cosmosdb": self.cosmos_endpoint_template,
            "mysql": self.mysql_fqdn_template,
            "postgresql": self.postgresql_fqdn_template,
        }[provider]


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


_CONFIG_TYPES: dict[str, Callable[[Any], Any]] = {"lro_polls": int, "lro_seconds": float, "retry_after": _optional_int}


@dataclass
class FailureRule:
    """An injected failure, consumed by the next ``times`` matching mutating requests."""

    provider: str = "*"  # cosmosdb | mysql | postgresql | *
    operation: str = "*"  # create | restore | update | delete | *
    name: str = "*"  # resource name or *
    code: str = "InternalServerError"
    message: str = "Injected failure from the Azure stand-in."
    phase: str = "async"  # async: the LRO ends Failed; initial: the request itself is refused
    status: int = 500  # HTTP status for phase=initial
    times: int = 1

    def matches(self, provider: str, operation: str, name: str) -> bool:
        return (
            self.provider in ("*", provider)
            and self.operation in ("*", operation)
            and (self.name == "*" or self.name.lower() == name.lower())
        )


def resource_key(subscription_id: str, resource_group: str, name: str) -> tuple[str, str, str]:
    """ARM names are case-insensitive."""
    return subscription_id.lower(), resource_group.lower(), name.lower()


@dataclass
class Store:  # pylint: disable=too-many-instance-attributes  # one place for all state, on purpose
    subscription_id: str
    lock: threading.RLock = field(default_factory=threading.RLock)
    config: Config = field(default_factory=Config)
    cosmos_accounts: dict[tuple[str, str, str], CosmosAccount] = field(default_factory=dict)
    restorable_accounts: dict[str, RestorableAccount] = field(default_factory=dict)  # by instance id
    servers: dict[str, dict[tuple[str, str, str], FlexibleServer]] = field(
        default_factory=lambda: {"mysql": {}, "postgresql": {}}
    )
    operations: dict[str, Operation] = field(default_factory=dict)
    failures: list[FailureRule] = field(default_factory=list)
    request_log: list[dict[str, Any]] = field(default_factory=list)

    def reset(self) -> None:
        self.config = Config()
        self.cosmos_accounts.clear()
        self.restorable_accounts.clear()
        for servers in self.servers.values():
            servers.clear()
        self.operations.clear()
        self.failures.clear()
        self.request_log.clear()

    def take_failure(self, provider: str, operation: str, name: str) -> FailureRule | None:
        for rule in self.failures:
            if rule.matches(provider, operation, name):
                rule.times -= 1
                if rule.times <= 0:
                    self.failures.remove(rule)
                return rule
        return None

    def start_operation(  # pylint: disable=too-many-arguments
        self,
        *,
        provider: str,
        namespace: str,
        subscription_id: str,
        kind: str,
        name: str,
        location: str,
        resource_id: str,
        api_version: str,
        on_success: Callable[[], None],
        on_failure: Callable[[], None],
        result: Callable[[], Any] | None = None,
    ) -> Operation:
        """Create an operation; an injected ``initial`` failure raises before anything changes."""
        rule = self.take_failure(provider, kind, name)
        if rule is not None and rule.phase == "initial":
            raise ArmError(rule.status, rule.code, rule.message)
        op = Operation(
            provider=provider,
            namespace=namespace,
            kind=kind,
            subscription_id=subscription_id,
            location=location,
            resource_id=resource_id,
            api_version=api_version,
            on_success=on_success,
            on_failure=on_failure,
            result=result,
            failure=None if rule is None else (rule.code, rule.message),
        )
        self.operations[op.id] = op
        return op

    def settle(self, op: Operation) -> None:
        """Call once the resource is in place: with no polls and no delay asked for, finish at once."""
        if self.config.lro_polls <= 0 and self.config.lro_seconds <= 0:
            op.finish()

    def observe(self, op: Operation | None) -> None:
        if op is not None:
            op.observe(self.config.lro_polls, self.config.lro_seconds)

    def log_request(self, entry: dict[str, Any]) -> None:
        self.request_log.append(entry)
        del self.request_log[:-REQUEST_LOG_LIMIT]

    def snapshot(self) -> dict[str, Any]:
        """A debugging view of everything (``GET /_standin/state``)."""
        return {
            "subscription_id": self.subscription_id,
            "config": asdict(self.config),
            "cosmos_accounts": [a.resource_id for a in self.cosmos_accounts.values()],
            "restorable_accounts": [r.summary() for r in self.restorable_accounts.values()],
            "servers": {p: [s.resource_id for s in servers.values()] for p, servers in self.servers.items()},
            "failures": [asdict(f) for f in self.failures],
        }
