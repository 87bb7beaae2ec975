# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Documentation of the Kubernetes connection options (module_utils/k8s_client.auth_argument_spec)."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig. Default C(K8S_AUTH_KUBECONFIG), then C(KUBECONFIG) or C(~/.kube/config),
        then the in-cluster service account (for example in an AWX execution environment).
    type: path
  context:
    description: Context of the kubeconfig to use. Default C(K8S_AUTH_CONTEXT), then the current context.
    type: str
"""
