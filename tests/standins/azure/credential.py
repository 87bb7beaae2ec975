"""A fixed-token credential for tests that build SDK clients in-process.

Test harness only: production code uses ``DefaultAzureCredential``. Subprocesses (modules run
by ansible-playbook) can use ``DefaultAzureCredential`` unchanged against the stand-in through its
managed-identity endpoint (see ``AzureTarget.env``).
"""
from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo


class StaticTokenCredential:
    """Implements ``TokenCredential`` and ``SupportsTokenInfo``; records the scopes asked for."""

    def __init__(self, token: str = "standin-static-token", lifetime: int = 3600) -> None:
        self.token = token
        self.lifetime = lifetime
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **_kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + self.lifetime)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:  # pylint: disable=unused-argument
        self.scopes.append(scopes)
        return AccessTokenInfo(self.token, int(time.time()) + self.lifetime)

    def close(self) -> None:
        """Nothing to release; present because SDK clients call it on exit."""

    def __enter__(self) -> StaticTokenCredential:
        return self

    def __exit__(self, *_args: Any) -> None:
        self.close()
