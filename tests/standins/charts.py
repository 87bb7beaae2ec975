"""Where the stand-in Scalar Helm charts live and how their objects are named.

The charts under ``tests/standins/charts/`` mimic scalar-labs/helm-charts (values layout, object
names, labels, named ports); see the README there. This module is the tests' (and the demo's) view
of them: which chart serves which product, under which values key, and what the rendered objects
are called. The collection keeps its own product table; this one exists so tests can check the
collection's results independently.
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

CHARTS_DIR = Path(__file__).resolve().parent / "charts"


@dataclass(frozen=True)
class Product:
    """One Scalar product as deployed by its chart."""

    chart: str                 # chart folder name (= real chart name)
    values_key: str            # top-level values key: <values_key>.replicaCount, .secretName, ...
    properties_key: str        # <values_key>.<properties_key> holds the Java properties string
    app_label: str             # value of the app.kubernetes.io/app label
    admin_port_name: str       # named port of "<fullname>-headless" that serves rpc.Admin
    admin_port: int
    deployment_suffix: str     # Deployment is "<fullname><deployment_suffix>"
    configmap_suffix: str      # ConfigMap holding the properties is "<fullname><configmap_suffix>"
    properties_file: str       # key of the properties file inside that ConfigMap

    @property
    def replica_key(self) -> str:
        """The dotted key ``helm --set`` takes to change the replica count."""
        return f"{self.values_key}.replicaCount"

    @property
    def secret_key(self) -> str:
        """The dotted key of the Secret injected into the pods with envFrom."""
        return f"{self.values_key}.secretName"

    @property
    def properties_path(self) -> str:
        """The dotted key of the properties string."""
        return f"{self.values_key}.{self.properties_key}"


PRODUCTS: dict[str, Product] = {
    "scalardb": Product(
        chart="scalardb", values_key="scalardb", properties_key="databaseProperties",
        app_label="scalardb", admin_port_name="scalardb", admin_port=60051,
        deployment_suffix="", configmap_suffix="-database-properties", properties_file="database.properties.tmpl",
    ),
    "scalardb_cluster": Product(
        chart="scalardb-cluster", values_key="scalardbCluster", properties_key="scalardbClusterNodeProperties",
        app_label="scalardb-cluster", admin_port_name="scalardb-cluster", admin_port=60053,
        deployment_suffix="-node", configmap_suffix="-node-properties", properties_file="scalardb-cluster-node.properties",
    ),
    "ledger": Product(
        chart="scalardl", values_key="ledger", properties_key="ledgerProperties",
        app_label="ledger", admin_port_name="scalardl-admin", admin_port=50053,
        deployment_suffix="-ledger", configmap_suffix="-ledger-properties", properties_file="ledger.properties.tmpl",
    ),
    "auditor": Product(
        chart="scalardl-audit", values_key="auditor", properties_key="auditorProperties",
        app_label="auditor", admin_port_name="scalardl-auditor-admin", admin_port=40053,
        deployment_suffix="-auditor", configmap_suffix="-auditor-properties", properties_file="auditor.properties.tmpl",
    ),
}

SCHEMA_LOADING_CHART = "schema-loading"
SCHEMA_LOADING_VALUES_KEY = "schemaLoading"


def chart_path(name: str) -> Path:
    """Absolute path of a stand-in chart (``scalardl``, ``schema-loading``, ...)."""
    path = CHARTS_DIR / name
    if not (path / "Chart.yaml").is_file():
        raise KeyError(f"no stand-in chart named {name!r} under {CHARTS_DIR}")
    return path


def fullname(release: str, chart: str, name_override: str = "", fullname_override: str = "") -> str:
    """The charts' ``fullname``: "<release>-<chart>", or the release alone if it contains the chart name."""
    if fullname_override:
        full = fullname_override
    else:
        name = name_override or chart
        full = release if name in release else f"{release}-{name}"
    return full[:63].removesuffix("-")  # helm: trunc 63 | trimSuffix "-"


def deployment_name(product: str, release: str) -> str:
    """Name of the product's Deployment in a release (default overrides)."""
    spec = PRODUCTS[product]
    return fullname(release, spec.chart) + spec.deployment_suffix


def headless_service_name(product: str, release: str) -> str:
    """Name of the headless Service whose named port leads to the admin port."""
    return fullname(release, PRODUCTS[product].chart) + "-headless"


def configmap_name(product: str, release: str) -> str:
    """Name of the ConfigMap that carries the product's properties file."""
    spec = PRODUCTS[product]
    return fullname(release, spec.chart) + spec.configmap_suffix


def render(
    chart: str,
    release: str,
    *,
    helm: str = "helm",
    namespace: str = "default",
    values: Mapping[str, Any] | None = None,
    set_values: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> list[dict[str, Any]]:
    """``helm template`` a stand-in chart and return its objects (raises CalledProcessError on failure).

    ``values`` is passed as a values file on stdin (``-f -``), ``set_values`` as ``--set`` items.
    """
    cmd = [helm, "template", release, str(chart_path(chart)), "--namespace", namespace, "-f", "-"]
    for item in set_values:
        cmd += ["--set", item]
    proc = subprocess.run(
        cmd, input=yaml.safe_dump(dict(values or {})), capture_output=True, text=True,
        env=dict(env) if env is not None else None, timeout=timeout, check=False,
    )
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd, proc.stdout, proc.stderr)
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]
