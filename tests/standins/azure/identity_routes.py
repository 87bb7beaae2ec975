"""Token endpoints, so azure-identity credentials can run unchanged against the stand-in.

* Microsoft Entra ID (AAD) v2: ``/{tenant}/v2.0/.well-known/openid-configuration`` and
  ``/{tenant}/oauth2/v2.0/token`` -- for ``ClientSecretCredential(tenant, id, secret,
  authority=<stand-in url>, disable_instance_discovery=True)``.
* App Service managed identity: ``/msi/token`` -- with ``IDENTITY_ENDPOINT=<url>/msi/token`` and
  ``IDENTITY_HEADER=<anything>`` in the environment, ``DefaultAzureCredential()`` obtains a token
  through its ManagedIdentityCredential without any network access beyond this server.

Every client and secret is accepted; the ARM routes accept any bearer token anyway.
"""
from __future__ import annotations

import time
import urllib.parse
import uuid

from .routing import Request, Response, Router

TOKEN_LIFETIME = 3600


def _token() -> str:
    return f"standin-{uuid.uuid4().hex}"


class IdentityRoutes:
    def register(self, router: Router) -> None:
        router.add("GET", "/{tenant}/v2.0/.well-known/openid-configuration", self.openid_configuration, arm=False)
        router.add("POST", "/{tenant}/oauth2/v2.0/token", self.aad_token, arm=False)
        router.add("GET", "/msi/token", self.managed_identity_token, arm=False)

    @staticmethod
    def openid_configuration(req: Request, p: dict[str, str]) -> Response:
        base = f"{req.base_url}/{p['tenant']}"
        return Response(
            200,
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "code id_token", "token id_token"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
                "tenant_region_scope": "NA",
            },
        )

    @staticmethod
    def aad_token(req: Request, _p: dict[str, str]) -> Response:
        form = dict(urllib.parse.parse_qsl(req.body.decode(errors="replace")))
        if not form.get("client_id") or not form.get("grant_type"):
            return Response(
                400, {"error": "invalid_request", "error_description": "client_id and grant_type are required."}
            )
        return Response(
            200,
            {
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME,
                "ext_expires_in": TOKEN_LIFETIME,
                "access_token": _token(),
            },
        )

    @staticmethod
    def managed_identity_token(req: Request, _p: dict[str, str]) -> Response:
        if not req.header("x-identity-header"):
            return Response(400, {"statusCode": 400, "message": "The X-IDENTITY-HEADER header is required."})
        return Response(
            200,
            {
                "access_token": _token(),
                "expires_on": str(int(time.time()) + TOKEN_LIFETIME),
                "resource": req.query.get("resource", ""),
                "token_type": "Bearer",
                "client_id": "00000000-0000-0000-0000-000000000000",
            },
        )
