# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The four Scalar products as their Helm charts deploy them (scalar-labs/helm-charts).

One table, used wherever the collection needs to know where a release keeps its replica count,
its properties and its Secret, how its pods are labelled, and which port serves Scalar Admin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class ScalarProductError(ValueError):
    """A release description that does not match a Scalar product or chart."""


@dataclass(frozen=True)
class ScalarProduct:
    name: str               # the collection's product id: scalardb | scalardb_cluster | ledger | auditor
    chart: str              # chart name in scalar-labs/helm-charts
    values_key: str         # top-level values key: <values_key>.replicaCount, .secretName, ...
    properties_key: str     # <values_key>.<properties_key> is the multi-line Java properties string
    app_label: str          # value of the pods' app.kubernetes.io/app label
    deployment_suffix: str  # the Deployment is "<helm fullname><deployment_suffix>"
    admin_port_name: str    # named port of "<fullname>-headless" that serves rpc.Admin
    admin_port: int
    properties_file: str    # what the product calls its properties file, for messages

    @property
    def replica_path(self):
        return f"{self.values_key}.replicaCount"

    @property
    def properties_path(self):
        return f"{self.values_key}.{self.properties_key}"

    @property
    def secret_name_path(self):
        return f"{self.values_key}.secretName"

    def as_dict(self):
        return {
            "name": self.name,
            "chart": self.chart,
            "values_key": self.values_key,
            "properties_key": self.properties_key,
            "app_label": self.app_label,
            "deployment_suffix": self.deployment_suffix,
            "admin_port_name": self.admin_port_name,
            "admin_port": self.admin_port,
            "properties_file": self.properties_file,
            "replica_path": self.replica_path,
            "properties_path": self.properties_path,
            "secret_name_path": self.secret_name_path,
        }


PRODUCTS = {
    product.name: product
    for product in (
        ScalarProduct("scalardb", "scalardb", "scalardb", "databaseProperties", "scalardb", "",
                      "scalardb", 60051, "database.properties"),
        ScalarProduct("scalardb_cluster", "scalardb-cluster", "scalardbCluster", "scalardbClusterNodeProperties",
                      "scalardb-cluster", "-node", "scalardb-cluster", 60053, "scalardb-cluster-node.properties"),
        ScalarProduct("ledger", "scalardl", "ledger", "ledgerProperties", "ledger", "-ledger",
                      "scalardl-admin", 50053, "ledger.properties"),
        ScalarProduct("auditor", "scalardl-audit", "auditor", "auditorProperties", "auditor", "-auditor",
                      "scalardl-auditor-admin", 40053, "auditor.properties"),
    )
}


def get_product(name):
    """The product called ``name``, or an error listing the valid names."""
    try:
        return PRODUCTS[name]
    except (KeyError, TypeError):
        raise ScalarProductError(
            f"unknown Scalar product {name!r}; expected one of: {', '.join(sorted(PRODUCTS))}"
        ) from None


# helm reports a release's chart as "<name>-<semver>", and chart names may contain dashes.
_CHART_FIELD = re.compile(r"^(?P<name>.+?)-(?P<version>v?\d+\.\d+\.\d+\S*)$")


def split_chart_field(chart):
    """'scalardl-audit-2.12.0' -> ('scalardl-audit', '2.12.0')."""
    match = _CHART_FIELD.match(chart or "")
    if not match:
        raise ScalarProductError(f"cannot read the chart name and version from {chart!r}")
    return match.group("name"), match.group("version")


def chart_ref_name(chart_ref):
    """The chart name a chart reference points at: 'scalar-labs/scalardl' or '/path/to/scalardl' -> 'scalardl'.

    OCI references ('oci://ghcr.io/x/scalardl') and repository URLs to a .tgz
    ('https://.../scalardl-4.12.0.tgz') are understood too.
    """
    if not chart_ref or not str(chart_ref).strip():
        raise ScalarProductError("chart_ref is empty; give the chart the release was installed from, e.g. scalar-labs/scalardl")
    last = str(chart_ref).rstrip("/").rsplit("/", 1)[-1]
    if last.endswith(".tgz"):
        last = split_chart_field(last[: -len(".tgz")])[0]
    return last
