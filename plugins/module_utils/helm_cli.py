# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""A small runner for the ``helm`` binary (helm 3.8+ and helm 4).

Values always travel in a private temporary file (``-f``), never as ``--set`` on the command
line, where they would show in process listings and in errors. Errors carry helm's own message,
with secret-looking values masked.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.redact import mask_secrets


class HelmError(RuntimeError):
    """helm failed or could not run; the message includes what helm said."""


def _seconds(timeout: float) -> str:
    return f"{max(1, int(timeout))}s"


@dataclass
class Helm:
    """``helm`` against one cluster: ``kubeconfig``/``context`` become ``--kubeconfig``/``--kube-context``."""

    binary: str = "helm"
    kubeconfig: str | None = None
    context: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, timeout: float = 300) -> str:
        """Run helm with ``args`` plus the cluster flags; return stdout or raise HelmError."""
        what = " ".join(["helm", *itertools.takewhile(lambda arg: not arg.startswith("-"), args)])  # e.g. "helm get values r1"
        cmd = [self.binary, *args]
        if self.kubeconfig:
            cmd += ["--kubeconfig", self.kubeconfig]
        if self.context:
            cmd += ["--kube-context", self.context]
        try:
            # plain subprocess, not AnsibleModule.run_command: this runs without a module, and needs a timeout
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False,  # pylint: disable=ansible-bad-function
                                  env={**os.environ, **self.env})
        except FileNotFoundError:
            raise HelmError(f"helm binary {self.binary!r} not found; install helm or set binary_path") from None
        except subprocess.TimeoutExpired:
            raise HelmError(f"{what} did not finish within {int(timeout)}s") from None
        if proc.returncode != 0:
            detail = mask_secrets((proc.stderr or proc.stdout).strip())
            raise HelmError(f"{what} failed (exit {proc.returncode}): {detail}")
        return proc.stdout

    def find_release(self, release: str, namespace: str, timeout: float = 60) -> dict[str, Any] | None:
        """The ``helm list`` entry of ``release`` (any state), or None when there is none."""
        # every state by name: helm 4 dropped "--all"
        out = self.run("list", "--namespace", namespace, "--deployed", "--failed", "--pending", "--uninstalling",
                       "--filter", f"^{re.escape(release)}$", "--output", "json", timeout=timeout)
        entries = json.loads(out or "[]") or []
        return next((entry for entry in entries if entry.get("name") == release), None)

    def get_values(self, release: str, namespace: str, timeout: float = 60) -> dict[str, Any]:
        """The release's computed values (chart defaults merged with the user's)."""
        out = self.run("get", "values", release, "--namespace", namespace, "--all", "--output", "json", timeout=timeout)
        return json.loads(out or "{}") or {}

    def install(self, release: str, chart_ref: str, namespace: str, values: dict[str, Any], *,
                version: str | None = None, repo: str | None = None, timeout: float = 300) -> str:
        """``helm install`` with ``values`` written to a private temporary file, without ``--wait``."""
        fd, path = tempfile.mkstemp(prefix="scalarops-pitr-values-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp: mode 0600, ours only
                json.dump(values, handle)  # JSON is YAML, and needs no YAML library
            args = ["install", release, chart_ref, "--namespace", namespace, "--values", path, "--timeout", _seconds(timeout)]
            if version:
                args += ["--version", version]
            if repo:
                args += ["--repo", repo]
            return self.run(*args, timeout=timeout + 30)
        finally:
            os.unlink(path)

    def uninstall(self, release: str, namespace: str, timeout: float = 300) -> None:
        """``helm uninstall --wait``: returns once the release's objects are gone."""
        self.run("uninstall", release, "--namespace", namespace, "--wait", "--timeout", _seconds(timeout), timeout=timeout + 30)
