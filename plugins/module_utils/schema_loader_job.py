# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Kubernetes objects (plain dicts) that run Schema Loader as a Job, and the chart's values.

Plain Python. The Job mounts the properties from a Secret (they may hold literal credentials,
which do not belong in a ConfigMap) and the schema from a ConfigMap, takes the release's Secret
as environment variables (``envFrom``) so ``${env:NAME}`` placeholders resolve, and never retries
(``backoffLimit: 0``): a failed repair needs a human to read its log, not a loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

CONTAINER = "schema-loader"
CONFIG_DIR = "/scalarops-pitr/config"
SCHEMA_DIR = "/scalarops-pitr/schema"
CONFIG_FILE = "database.properties"
SCHEMA_FILE = "schema.json"
CONFIG_PATH = f"{CONFIG_DIR}/{CONFIG_FILE}"
SCHEMA_PATH = f"{SCHEMA_DIR}/{SCHEMA_FILE}"


def properties_secret_name(name: str) -> str:
    return f"{name}-properties"


def schema_configmap_name(name: str) -> str:
    return f"{name}-schema"


def labels(release: str) -> dict[str, str]:
    """Labels on everything the module creates: findable by release, owned by the collection."""
    return {
        "app.kubernetes.io/name": "schema-repair",
        "app.kubernetes.io/instance": release,
        "app.kubernetes.io/managed-by": "scalarops.pitr",
    }


def properties_secret(name: str, release: str, properties: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": properties_secret_name(name), "labels": labels(release)},
        "stringData": {CONFIG_FILE: properties},
    }


def schema_configmap(name: str, release: str, schema: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": schema_configmap_name(name), "labels": labels(release)},
        "data": {SCHEMA_FILE: schema},
    }


def job(
    name: str,
    release: str,
    *,
    image: str,
    args: Sequence[str],
    with_schema: bool,
    secret_name: str | None = None,
    schema_type: str | None = None,
    pod_annotations: Mapping[str, str] | None = None,
    image_pull_secrets: Sequence[str] = (),
) -> dict[str, Any]:
    """The Job: one container running ``image`` with ``args`` (the image's entrypoint runs Schema Loader)."""
    volumes: list[dict[str, Any]] = [{"name": "config", "secret": {"secretName": properties_secret_name(name)}}]
    mounts: list[dict[str, Any]] = [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}]
    if with_schema:
        volumes.append({"name": "schema", "configMap": {"name": schema_configmap_name(name)}})
        mounts.append({"name": "schema", "mountPath": SCHEMA_DIR, "readOnly": True})
    container: dict[str, Any] = {"name": CONTAINER, "image": image, "args": list(args), "volumeMounts": mounts}
    if schema_type:  # the ScalarDL image picks its built-in ledger or auditor schema by this variable
        container["env"] = [{"name": "SCHEMA_TYPE", "value": schema_type}]
    if secret_name:
        container["envFrom"] = [{"secretRef": {"name": secret_name}}]
    pod_spec: dict[str, Any] = {"restartPolicy": "Never", "containers": [container], "volumes": volumes}
    if image_pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": secret} for secret in image_pull_secrets]
    template_meta: dict[str, Any] = {"labels": labels(release)}
    if pod_annotations:
        template_meta["annotations"] = {str(k): str(v) for k, v in pod_annotations.items()}
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "labels": labels(release)},
        "spec": {"backoffLimit": 0, "template": {"metadata": template_meta, "spec": pod_spec}},
    }


def chart_values(
    name: str,
    schema_type: str,
    *,
    properties: str,
    command_args: Sequence[str],
    secret_name: str | None = None,
    image: str | None = None,
    version: str | None = None,
    image_pull_secrets: Sequence[str] = (),
) -> dict[str, Any]:
    """Values for the schema-loading chart; ``fullnameOverride`` makes the Job's name ``name``."""
    loading: dict[str, Any] = {
        "schemaType": schema_type,
        "databaseProperties": properties,
        "secretName": secret_name or "",
        "commandArgs": list(command_args),
    }
    image_values = {key: value for key, value in (("repository", image), ("version", version)) if value}
    if image_values:
        loading["image"] = image_values
    if image_pull_secrets:
        loading["imagePullSecrets"] = [{"name": secret} for secret in image_pull_secrets]
    return {"fullnameOverride": name, "schemaLoading": loading}
