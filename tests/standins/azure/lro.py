"""Long-running operations: the Azure-AsyncOperation / Location contract the SDK pollers follow.

A mutating request creates an ``Operation`` and answers with two absolute URLs (both carrying
``api-version``, because the SDK polls header URLs verbatim):

* ``Azure-AsyncOperation`` -> ``.../locations/{loc}/{status_segment}/{id}``: ``{"status": ...}``;
* ``Location`` -> ``.../locations/{loc}/operationResults/{id}``: 202 while running, then the
  resource (200) or 204 for a delete; this is the final GET of ``final-state-via: location``.

An operation stays ``InProgress`` until it has been observed more than ``lro_polls`` times
(status polls, result polls or GETs of the resource itself) and ``lro_seconds`` have passed;
then it runs its ``on_success`` (or, when a failure was injected, ``on_failure``).
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from .timeutil import format_time, utc_now

# Per resource provider: the path segment real ARM uses for the Azure-AsyncOperation URL.
STATUS_SEGMENT = {
    "Microsoft.DocumentDB": "operationsStatus",
    "Microsoft.DBforMySQL": "azureAsyncOperation",
    "Microsoft.DBforPostgreSQL": "azureAsyncOperation",
}


@dataclass
class Operation:  # pylint: disable=too-many-instance-attributes
    provider: str  # short name: cosmosdb | mysql | postgresql
    namespace: str  # ARM namespace, e.g. Microsoft.DocumentDB
    kind: str  # create | restore | update | delete
    subscription_id: str
    location: str  # normalised (lower case, no spaces)
    resource_id: str
    api_version: str
    on_success: Callable[[], None]
    on_failure: Callable[[], None]
    result: Callable[[], Any] | None = None  # the resource body the Location URL answers with at the end
    failure: tuple[str, str] | None = None  # (code, message) injected by a failure rule
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = "InProgress"
    started: dt.datetime = field(default_factory=utc_now)
    ended: dt.datetime | None = None
    polls: int = 0  # GETs of the Azure-AsyncOperation URL
    location_polls: int = 0  # GETs of the Location (operationResults) URL
    observations: int = 0  # everything that lets time pass for this operation

    @property
    def done(self) -> bool:
        return self.status != "InProgress"

    def _path(self, segment: str) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/providers/{self.namespace}/locations/{self.location}"
            f"/{segment}/{self.id}"
        )

    def async_url(self, base_url: str) -> str:
        return f"{base_url}{self._path(STATUS_SEGMENT[self.namespace])}?api-version={self.api_version}"

    def location_url(self, base_url: str) -> str:
        return f"{base_url}{self._path('operationResults')}?api-version={self.api_version}"

    def headers(self, base_url: str, retry_after: int | None) -> dict[str, str]:
        headers = {"Azure-AsyncOperation": self.async_url(base_url), "Location": self.location_url(base_url)}
        if retry_after is not None and not self.done:
            headers["Retry-After"] = str(retry_after)
        return headers

    def observe(self, lro_polls: int, lro_seconds: float) -> None:
        """Let the operation progress; finish it once enough polls and time have passed."""
        if self.done:
            return
        self.observations += 1
        elapsed = (utc_now() - self.started).total_seconds()
        if self.observations > lro_polls and elapsed >= lro_seconds:
            self.finish()

    def finish(self) -> None:
        self.ended = utc_now()
        if self.failure is None:
            self.status = "Succeeded"
            self.on_success()
        else:
            self.status = "Failed"
            self.on_failure()

    def status_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self._path(STATUS_SEGMENT[self.namespace]),
            "name": self.id,
            "status": self.status,
            "startTime": format_time(self.started),
        }
        if self.ended is not None:
            body["endTime"] = format_time(self.ended)
        if self.failure is not None and self.status == "Failed":
            body["error"] = {"code": self.failure[0], "message": self.failure[1]}
        return body

    def summary(self) -> dict[str, Any]:
        """What the admin route ``/_standin/operations`` reports."""
        return {
            "id": self.id,
            "provider": self.provider,
            "operation": self.kind,
            "resource_id": self.resource_id,
            "status": self.status,
            "polls": self.polls,
            "location_polls": self.location_polls,
            "observations": self.observations,
            "started": format_time(self.started),
            "ended": format_time(self.ended),
            "error": None if self.failure is None else {"code": self.failure[0], "message": self.failure[1]},
        }
