# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The ``kubernetes`` client as every module of the collection uses it.

One place for the import guard (modules report a missing library with ``missing_required_lib``),
the connection options and their K8S_AUTH_* fallbacks (the same variables kubernetes.core reads,
so AWX/Controller Kubernetes credentials and ``module_defaults`` work alike), building an
ApiClient from a kubeconfig or in-cluster, and turning API errors into readable messages.
"""

from __future__ import annotations

import json
import os
from typing import Any

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.rest import ApiException
    from urllib3.exceptions import HTTPError as Urllib3HTTPError

    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError as _exc:  # the module reports it with missing_required_lib
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = _exc
    k8s_client = None  # pylint: disable=invalid-name
    k8s_config = None  # pylint: disable=invalid-name

    class ApiException(Exception):  # type: ignore[no-redef]  # keeps except clauses valid without the library
        status = 0

    class Urllib3HTTPError(Exception):  # type: ignore[no-redef]
        pass


# ApiException and Urllib3HTTPError are imported here once for every caller's except clauses.
__all__ = [
    "HAS_KUBERNETES", "KUBERNETES_IMPORT_ERROR", "ApiException", "KubeError", "Urllib3HTTPError",
    "api_message", "auth_argument_spec", "k8s_client", "k8s_config", "new_api_client",
]


def auth_argument_spec(env_fallback: Any) -> dict[str, Any]:
    """Connection options (documented by the scalarops.pitr.k8s_auth doc fragment).

    ``env_fallback`` is ansible.module_utils.basic.env_fallback, passed in so this file stays
    importable without Ansible.
    """
    return {
        "kubeconfig": {"type": "path", "fallback": (env_fallback, ["K8S_AUTH_KUBECONFIG"])},
        "context": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_CONTEXT"])},
    }


class KubeError(RuntimeError):
    """A Kubernetes API call failed; the message names the call and the server's reason."""


def api_message(exc: Exception) -> str:
    """The server's explanation inside an ApiException (its Status ``message``), else str(exc)."""
    body = getattr(exc, "body", None)
    if body:
        try:
            return json.loads(body).get("message") or str(body)
        except (ValueError, AttributeError):
            return str(body)
    return str(getattr(exc, "reason", "") or exc)


def new_api_client(kubeconfig: str | None = None, context: str | None = None) -> Any:
    """An ApiClient from a kubeconfig (``kubeconfig``, else $KUBECONFIG or ~/.kube/config), or in-cluster."""
    default_file = os.path.expanduser("~/.kube/config")
    if kubeconfig or context or os.environ.get("KUBECONFIG") or os.path.exists(default_file):
        try:
            return k8s_config.new_client_from_config(config_file=kubeconfig, context=context)
        except (k8s_config.ConfigException, OSError) as exc:
            raise KubeError(f"cannot load kubeconfig {kubeconfig or os.environ.get('KUBECONFIG') or default_file}: {exc}") from None
    if os.environ.get("KUBERNETES_SERVICE_HOST"):  # running in a pod (e.g. an AWX execution environment)
        configuration = k8s_client.Configuration()
        k8s_config.load_incluster_config(client_configuration=configuration)
        return k8s_client.ApiClient(configuration)
    raise KubeError("no Kubernetes credentials: give kubeconfig (or K8S_AUTH_KUBECONFIG / KUBECONFIG)")
