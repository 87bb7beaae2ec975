"""Polling routes: Azure-AsyncOperation status and Location (operationResults) for every provider."""
from __future__ import annotations

from .errors import ArmError
from .lro import Operation
from .routing import Request, Response, Router
from .store import Store

OPERATIONS = "/subscriptions/{sub}/providers/{ns}/locations/{location}"


class OperationRoutes:
    def __init__(self, store: Store) -> None:
        self.store = store

    def register(self, router: Router) -> None:
        for segment in ("operationsStatus", "azureAsyncOperation"):
            router.add("GET", f"{OPERATIONS}/{segment}/{{op}}", self.get_status)
        router.add("GET", OPERATIONS + "/operationResults/{op}", self.get_result)

    def _operation(self, p: dict[str, str]) -> Operation:
        op = self.store.operations.get(p["op"])
        if op is None or op.namespace.lower() != p["ns"].lower():
            raise ArmError(404, "OperationNotFound", f"Operation '{p['op']}' was not found.")
        return op

    def _retry_after(self, op: Operation) -> dict[str, str]:
        retry_after = self.store.config.retry_after
        return {} if op.done or retry_after is None else {"Retry-After": str(retry_after)}

    def get_status(self, _req: Request, p: dict[str, str]) -> Response:
        op = self._operation(p)
        op.polls += 1
        self.store.observe(op)
        return Response(200, op.status_body(), self._retry_after(op))

    def get_result(self, req: Request, p: dict[str, str]) -> Response:
        """202 while running; then the resource (or 204 after a delete), or the error."""
        op = self._operation(p)
        op.location_polls += 1
        self.store.observe(op)
        if not op.done:
            return Response(202, None, {"Location": op.location_url(req.base_url), **self._retry_after(op)})
        if op.status == "Failed":
            assert op.failure is not None
            raise ArmError(400, op.failure[0], op.failure[1])
        if op.kind == "delete" or op.result is None:
            return Response(204)
        return Response(200, op.result())
