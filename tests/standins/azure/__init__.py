"""An HTTPS fake of the Azure Resource Manager routes the Cosmos DB and Flexible Server SDKs call.

``start_azure(state_dir)`` runs ``python -m standins.azure`` as a child process and returns its
``Running`` (``info`` holds ``ca_bundle``, ``combined_ca_bundle``, ``subscription_id``,
``msi_endpoint``, ``authority``). ``AzureTarget.for_standin(running)`` builds SDK clients for it;
``AzureAdmin`` drives the stand-in-only ``/_standin`` routes. See README.md in this folder.
"""
from __future__ import annotations

import os

from .._process import Running, spawn

DEFAULT_SUBSCRIPTION_ID = "00000000-0000-4000-a000-000000000001"


def start_azure(
    state_dir: str | os.PathLike[str],
    subscription_id: str = DEFAULT_SUBSCRIPTION_ID,
    timeout: float = 30.0,
) -> Running:
    """Start the stand-in on an ephemeral port; CA bundles go into ``state_dir``."""
    return spawn(
        "azure",
        "standins.azure",
        state_dir,
        ["--state-dir", str(state_dir), "--subscription-id", subscription_id],
        timeout=timeout,
    )


__all__ = ["DEFAULT_SUBSCRIPTION_ID", "Running", "start_azure"]
