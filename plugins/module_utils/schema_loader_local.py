# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Run a Schema Loader jar on the control node (``java -jar``), for users who prefer that to a Job.

Plain Python. The properties and schema go to a private temporary directory that is removed
afterwards; the release Secret's keys become environment variables, as ``envFrom`` does in a pod,
so ``${env:NAME}`` placeholders resolve the same way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

CONFIG_FILE = "database.properties"
SCHEMA_FILE = "schema.json"


@dataclass
class LocalOutcome:
    """``succeeded``, ``failed`` (with the exit code) or ``timed_out``, and the combined output."""

    status: str
    exit_code: int | None
    output: str


def run_local(
    java: str,
    jar: str,
    build_args: Callable[[str, str | None], Sequence[str]],
    *,
    properties: str,
    schema: str | None,
    env: Mapping[str, str],
    timeout: float,
) -> tuple[list[str], LocalOutcome]:
    """Write the files, run ``java -jar jar <args>``; return the arguments used and the outcome.

    ``build_args(config_path, schema_path)`` makes the Schema Loader arguments for the files.
    """
    workdir = tempfile.mkdtemp(prefix="scalarops-pitr-schema-")  # mode 0700
    try:
        config_path = os.path.join(workdir, CONFIG_FILE)
        with open(config_path, "w", encoding="utf-8") as handle:
            handle.write(properties)
        schema_path = None
        if schema is not None:
            schema_path = os.path.join(workdir, SCHEMA_FILE)
            with open(schema_path, "w", encoding="utf-8") as handle:
                handle.write(schema)
        args = list(build_args(config_path, schema_path))
        try:
            # plain subprocess, not AnsibleModule.run_command: the deadline (wait_timeout) needs a timeout
            proc = subprocess.run([java, "-jar", jar, *args], cwd=workdir, env={**os.environ, **env},  # pylint: disable=ansible-bad-function
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  timeout=max(timeout, 1), check=False)
        except subprocess.TimeoutExpired as exc:  # subprocess.run has killed it
            output = exc.output.decode("utf-8", "replace") if isinstance(exc.output, bytes) else (exc.output or "")
            return args, LocalOutcome("timed_out", None, output)
        except FileNotFoundError:
            return args, LocalOutcome("failed", None, f"java not found: {java!r}; install a Java runtime or set java_path")
        status = "succeeded" if proc.returncode == 0 else "failed"
        return args, LocalOutcome(status, proc.returncode, proc.stdout or "")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def tail(text: str, lines: int) -> str:
    """The last ``lines`` lines of ``text``."""
    kept = text.splitlines()[-lines:] if lines > 0 else []
    return "\n".join(kept) + ("\n" if kept else "")
