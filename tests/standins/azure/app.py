"""Dispatch: route a request, enforce what ARM enforces (bearer token, api-version), turn
``ArmError`` into ARM error bodies, and keep a log of the ARM calls for tests to inspect.
"""
from __future__ import annotations

import logging
import re
import uuid

from .admin_routes import PREFIX as ADMIN_PREFIX
from .admin_routes import AdminRoutes
from .cosmos_routes import CosmosRoutes
from .errors import ArmError, error_body
from .flexible_routes import register_all as register_flexible
from .identity_routes import IdentityRoutes
from .lro_routes import OperationRoutes
from .routing import Request, Response, Router
from .store import Store
from .timeutil import format_time, utc_now

LOG = logging.getLogger("standins.azure")
API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")


def build_router(store: Store) -> Router:
    router = Router()
    AdminRoutes(store).register(router)
    IdentityRoutes().register(router)
    OperationRoutes(store).register(router)
    CosmosRoutes(store).register(router)
    register_flexible(router, store)
    return router


class App:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.router = build_router(store)

    def handle(self, req: Request) -> Response:
        try:
            response = self._handle(req)
        except ArmError as err:
            response = Response(err.status, err.body())
        except Exception as exc:  # pylint: disable=broad-exception-caught  # a bug must reach the client as a 500
            LOG.exception("unhandled error for %s %s", req.method, req.path)
            response = Response(500, error_body("InternalServerError", f"stand-in error: {exc!r}"))
        response.headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
        if not req.path.startswith(ADMIN_PREFIX):
            with self.store.lock:
                self.store.log_request(
                    {
                        "time": format_time(utc_now()),
                        "method": req.method,
                        "path": req.path,
                        "api_version": req.api_version or None,
                        "status": response.status,
                    }
                )
        return response

    def _handle(self, req: Request) -> Response:
        route, params, path_known = self.router.match(req.method, req.path)
        if route is None:
            if path_known:
                raise ArmError(405, "MethodNotAllowed", f"The method {req.method} is not allowed on {req.path}.")
            raise ArmError(404, "InvalidResourceType", f"The stand-in has no route for {req.method} {req.path}.")
        if route.arm:
            if not req.header("authorization").lower().startswith("bearer "):
                raise ArmError(
                    401,
                    "AuthenticationFailed",
                    "Authentication failed. The 'Authorization' header is missing or not a Bearer token.",
                )
            if not req.api_version:
                raise ArmError(
                    400,
                    "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests.",
                )
            if not API_VERSION.match(req.api_version):
                raise ArmError(
                    400, "InvalidApiVersionParameter", f"The api-version '{req.api_version}' is invalid."
                )
        with self.store.lock:
            return route.handler(req, params)
