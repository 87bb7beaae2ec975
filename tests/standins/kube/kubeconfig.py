"""Write a kubeconfig that points kubectl, helm, the Python client and kubernetes.core at a server."""
from __future__ import annotations

import os
from pathlib import Path

import yaml

CONTEXT = "standin"


def write_kubeconfig(path: str | os.PathLike[str], url: str, context: str = CONTEXT, namespace: str = "default") -> Path:
    """Plain http, no credentials: every client here accepts that (``user: {}`` would too, but a
    token keeps clients that insist on some auth method quiet)."""
    path = Path(path)
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": url}}],
        "users": [{"name": context, "user": {"token": "standin"}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context, "namespace": namespace}}],
        "current-context": context,
        "preferences": {},
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    tmp.chmod(0o600)  # helm warns about group/world-readable kubeconfigs
    os.replace(tmp, path)
    return path
