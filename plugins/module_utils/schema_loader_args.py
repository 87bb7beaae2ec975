# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Schema Loader command lines for ``--repair-all``, per Scalar product and way of running it.

Plain Python (no Ansible, no Kubernetes imports). Facts it encodes:

* ScalarDB Schema Loader (image ``ghcr.io/scalar-labs/scalardb-schema-loader``, entrypoint
  ``java -jar /app.jar``) needs ``--config`` and, for ``--repair-all``, a schema file ``-f``;
  ``--coordinator`` also repairs the Consensus Commit coordinator tables.
* ScalarDL Schema Loader (image ``ghcr.io/scalar-labs/scalardl-schema-loader``) wraps it: its
  entrypoint adds ``-f ${SCHEMA_TYPE}-schema.json`` (the Ledger or Auditor schema baked into the
  image), so we pass no ``-f``; Ledger needs ``--coordinator``, Auditor has no coordinator.
* The schema-loading chart (ScalarDL only) itself adds ``--config ...`` and, for
  ``schemaType: ledger``, ``--coordinator``; what we control is ``schemaLoading.commandArgs``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

SCALARDB_PRODUCTS = ("scalardb", "scalardb_cluster")
SCALARDL_PRODUCTS = ("ledger", "auditor")
METHODS = ("chart", "job", "local")

SCALARDB_IMAGE = "ghcr.io/scalar-labs/scalardb-schema-loader"
SCALARDL_IMAGE = "ghcr.io/scalar-labs/scalardl-schema-loader"

# Modes of Schema Loader other than repair: passing one through extra_args would turn a repair
# into a delete/alter/import/upgrade, so they are refused rather than passed on.
_OTHER_MODES = ("-D", "--delete-all", "-A", "--alter", "-I", "--import", "--upgrade")
# Options the module sets itself; given again in extra_args they would contradict it.
_OWN_OPTIONS = ("-c", "--config", "-f", "--schema-file", "--repair-all")

# Helm release names are limited to 53 characters, Job names (used as a label value) to 63.
MAX_NAME_LENGTH = 53
NAME_SUFFIX = "-schema-repair"


class SchemaLoaderArgsError(ValueError):
    """Inputs that cannot make a valid repair command line; the message says what to change."""


def default_method(product: str) -> str:
    """``chart`` for ScalarDL (its documented way), ``job`` for ScalarDB (no chart exists)."""
    return "chart" if product in SCALARDL_PRODUCTS else "job"


def default_image(product: str) -> str:
    return SCALARDL_IMAGE if product in SCALARDL_PRODUCTS else SCALARDB_IMAGE


def uses_scalardl_image(product: str, method: str) -> bool:
    """Whether the ScalarDL image (which brings its own schema file) runs the repair."""
    return product in SCALARDL_PRODUCTS and method in ("chart", "job")


def needs_schema(product: str, method: str) -> bool:
    """A schema file is required unless the ScalarDL image supplies it."""
    return not uses_scalardl_image(product, method)


def repair_name(release: str) -> str:
    """Deterministic name of the Job (and helm release) for a release: ``<release>-schema-repair``.

    Shortened with a stable hash when too long, so a re-run from any machine finds the same name.
    """
    name = f"{release}{NAME_SUFFIX}"
    if len(name) <= MAX_NAME_LENGTH:
        return name
    digest = hashlib.sha256(release.encode("utf-8")).hexdigest()[:6]
    keep = MAX_NAME_LENGTH - len(NAME_SUFFIX) - len(digest) - 1
    return f"{release[:keep].rstrip('-')}-{digest}{NAME_SUFFIX}"


def check_extra_args(extra_args: Sequence[str]) -> list[str]:
    """The extra arguments as strings, refusing other modes and options the module owns."""
    args = [str(arg) for arg in extra_args or ()]
    for arg in args:
        option = arg.split("=", 1)[0]
        if option in _OTHER_MODES:
            raise SchemaLoaderArgsError(f"extra_args: {arg!r} selects another Schema Loader mode; this module only runs --repair-all")
        if option in _OWN_OPTIONS:
            raise SchemaLoaderArgsError(f"extra_args: {arg!r} is set by the module itself; use the matching module option instead")
    return args


def repair_options(
    *,
    no_backup: bool = False,
    no_scaling: bool = False,
    ru: int | None = None,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """``--repair-all`` and the options that tune it, in a stable order (also the chart's commandArgs)."""
    args = ["--repair-all"]
    if no_backup:
        args.append("--no-backup")
    if no_scaling:
        args.append("--no-scaling")
    if ru is not None:
        if int(ru) <= 0:
            raise SchemaLoaderArgsError(f"ru must be a positive number of request/resource units, not {ru!r}")
        args += ["--ru", str(int(ru))]
    return args + check_extra_args(extra_args)


def repair_command(
    product: str,
    method: str,
    *,
    config_path: str,
    schema_path: str | None = None,
    coordinator: bool = True,
    no_backup: bool = False,
    no_scaling: bool = False,
    ru: int | None = None,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """Schema Loader arguments (after ``java -jar loader.jar`` or the image's entrypoint).

    ``coordinator`` applies to ScalarDB; for ScalarDL it follows the product (Ledger has
    coordinator tables, Auditor has none), as the schema-loading chart does.
    """
    if method not in ("job", "local"):
        raise SchemaLoaderArgsError(f"repair_command builds job/local command lines, not {method!r}")
    args = ["--config", config_path]
    if needs_schema(product, method):
        if not schema_path:
            raise SchemaLoaderArgsError(f"a schema file is required to repair {product} with method {method}")
        args += ["-f", schema_path]
    wants_coordinator = product == "ledger" if product in SCALARDL_PRODUCTS else coordinator
    if wants_coordinator:
        args.append("--coordinator")
    return args + repair_options(no_backup=no_backup, no_scaling=no_scaling, ru=ru, extra_args=extra_args)


def schema_text(schema: Any) -> str:
    """The schema file content: a dict is dumped, a string must already be valid JSON."""
    if isinstance(schema, dict):
        return json.dumps(schema, indent=2, sort_keys=True) + "\n"
    if isinstance(schema, str) and schema.strip():
        try:
            parsed = json.loads(schema)
        except ValueError as exc:
            raise SchemaLoaderArgsError(f"schema is not valid JSON: {exc}") from None
        if not isinstance(parsed, dict):
            raise SchemaLoaderArgsError("schema must be a JSON object mapping '<namespace>.<table>' to table definitions")
        return schema if schema.endswith("\n") else schema + "\n"
    raise SchemaLoaderArgsError("schema is empty; give the ScalarDB schema (a dict or a JSON string)")
