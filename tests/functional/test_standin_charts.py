"""The stand-in Scalar charts render what the real scalar-labs charts render, with helm 3 and helm 4.

These checks pin the facts the collection relies on: the replica count key scales the right
Deployment, the properties land in the mounted ConfigMap (and roll the pods through
checksum/config), the Secret named by ``*.secretName`` is injected with envFrom, the headless
Service exposes the named admin port, and the schema-loading Job passes ``commandArgs`` on.
The install tests run the documented scale-in (``helm upgrade --reuse-values --set
<key>.replicaCount=0 --wait``) against the ``kube`` fixture (the API stand-in or a real cluster).
"""
from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
import yaml

from fixtures.common import VENV_BIN
from fixtures.kube import KubeTarget
from standins import charts
from standins.charts import PRODUCTS

HELMS = ["helm3", "helm4"]
ALL_CHARTS = sorted({spec.chart for spec in PRODUCTS.values()} | {charts.SCHEMA_LOADING_CHART})
RELEASE = "prod"
NAMESPACE = "scalar"


def _render(helm: str, chart: str, release: str = RELEASE, **kwargs: Any) -> list[dict[str, Any]]:
    return charts.render(chart, release, helm=str(VENV_BIN / helm), namespace=NAMESPACE, **kwargs)


def _one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name} not rendered once; got {[(o['kind'], o['metadata']['name']) for o in objects]}"
    return found[0]


def _chart_meta(chart: str) -> dict[str, Any]:
    return yaml.safe_load((charts.chart_path(chart) / "Chart.yaml").read_text())


@pytest.mark.parametrize("helm", HELMS)
@pytest.mark.parametrize("chart", ALL_CHARTS)
def test_lint(helm: str, chart: str, tool_env: dict[str, str]) -> None:
    proc = subprocess.run(
        [str(VENV_BIN / helm), "lint", "--strict", str(charts.chart_path(chart))],
        capture_output=True, text=True, env=tool_env, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("helm", HELMS)
@pytest.mark.parametrize("product", sorted(PRODUCTS))
def test_product_chart_renders_like_the_real_chart(helm: str, product: str, tool_env: dict[str, str]) -> None:
    spec = PRODUCTS[product]
    props = "scalar.db.storage=jdbc\nscalar.db.contact_points=jdbc:postgresql://db.example:5432/scalar\nscalar.db.password=${env:SCALAR_DB_PASSWORD}\n"
    objects = _render(
        helm, spec.chart, env=tool_env,
        values={spec.values_key: {spec.properties_key: props, "secretName": "scalar-credentials"}},
        set_values=[f"{spec.replica_key}=0"],
    )
    app_version = str(_chart_meta(spec.chart)["appVersion"])

    deploy = _one(objects, "Deployment", charts.deployment_name(product, RELEASE))
    assert deploy["metadata"]["namespace"] == NAMESPACE
    assert deploy["spec"]["replicas"] == 0
    labels = deploy["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == spec.chart
    assert labels["app.kubernetes.io/instance"] == RELEASE
    assert labels["app.kubernetes.io/app"] == spec.app_label
    assert labels["app.kubernetes.io/version"] == app_version
    assert labels["app.kubernetes.io/managed-by"] == "Helm"
    selector = deploy["spec"]["selector"]["matchLabels"]
    assert selector == {"app.kubernetes.io/name": spec.chart, "app.kubernetes.io/instance": RELEASE, "app.kubernetes.io/app": spec.app_label}
    pod = deploy["spec"]["template"]
    assert selector.items() <= pod["metadata"]["labels"].items()
    assert len(pod["metadata"]["annotations"]["checksum/config"]) == 64

    container = pod["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": "scalar-credentials"}}]

    configmap = _one(objects, "ConfigMap", charts.configmap_name(product, RELEASE))
    assert configmap["data"][spec.properties_file] == props
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    mounted = [m for m in container["volumeMounts"] if m.get("subPath") == spec.properties_file]
    assert len(mounted) == 1
    assert volumes[mounted[0]["name"]]["configMap"]["name"] == configmap["metadata"]["name"]

    headless = _one(objects, "Service", charts.headless_service_name(product, RELEASE))
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["selector"] == selector
    ports = {p["name"]: p for p in headless["spec"]["ports"]}
    assert ports[spec.admin_port_name]["targetPort"] == spec.admin_port
    assert headless["metadata"]["labels"]["app.kubernetes.io/app"] == spec.app_label

    metrics = _one(objects, "Service", charts.fullname(RELEASE, spec.chart) + "-metrics")
    assert metrics["spec"]["selector"] == selector
    # Exactly one Deployment carries the release's app label (what Scalar Admin for Kubernetes expects).
    assert [o["metadata"]["name"] for o in objects if o["kind"] == "Deployment"] == [deploy["metadata"]["name"]]


@pytest.mark.parametrize("product", sorted(PRODUCTS))
def test_defaults_and_checksum(product: str, tool_env: dict[str, str]) -> None:
    spec = PRODUCTS[product]
    defaults = _render("helm3", spec.chart, env=tool_env)
    deploy = _one(defaults, "Deployment", charts.deployment_name(product, RELEASE))
    assert deploy["spec"]["replicas"] == 3
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    assert "envFrom" not in container
    default_props = _one(defaults, "ConfigMap", charts.configmap_name(product, RELEASE))["data"][spec.properties_file]
    assert "scalar.db.contact_points=" in default_props

    # Changing only the properties must change checksum/config (that is what restarts the pods).
    changed = _render("helm3", spec.chart, env=tool_env, values={spec.values_key: {spec.properties_key: "scalar.db.storage=dynamo\n"}})
    before = deploy["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    after = _one(changed, "Deployment", charts.deployment_name(product, RELEASE))["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    assert before != after


@pytest.mark.parametrize("helm", HELMS)
def test_release_name_containing_chart_name_is_the_fullname(helm: str, tool_env: dict[str, str]) -> None:
    objects = _render(helm, "scalardl", release="my-scalardl", env=tool_env)
    assert charts.deployment_name("ledger", "my-scalardl") == "my-scalardl-ledger"
    _one(objects, "Deployment", "my-scalardl-ledger")
    _one(objects, "Service", "my-scalardl-headless")


@pytest.mark.parametrize("helm", HELMS)
def test_values_schema_rejects_a_string_replica_count(helm: str, tool_env: dict[str, str]) -> None:
    # The real charts ship a values.schema.json with replicaCount: integer; so do the stand-ins.
    with pytest.raises(subprocess.CalledProcessError) as err:
        _render(helm, "scalardl", env=tool_env, values={"ledger": {"replicaCount": "0"}})
    assert "replicaCount" in err.value.stderr


@pytest.mark.parametrize("helm", HELMS)
@pytest.mark.parametrize(("schema_type", "coordinator"), [("ledger", True), ("auditor", False)])
def test_schema_loading_job(helm: str, schema_type: str, coordinator: bool, tool_env: dict[str, str]) -> None:
    props = "scalar.db.storage=cosmos\nscalar.db.contact_points=https://acct.documents.azure.com:443/\nscalar.db.password=${env:COSMOS_KEY}\n"
    release = f"repair-schema-{schema_type}"
    objects = _render(
        helm, charts.SCHEMA_LOADING_CHART, release=release, env=tool_env,
        values={"schemaLoading": {"schemaType": schema_type, "databaseProperties": props, "secretName": "schema-credentials"}},
        set_values=["schemaLoading.commandArgs={--repair-all,--no-backup}"],
    )
    full = charts.fullname(release, charts.SCHEMA_LOADING_CHART)
    job = _one(objects, "Job", full)
    assert job["apiVersion"] == "batch/v1"
    assert job["spec"]["backoffLimit"] == 0
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    container = pod["containers"][0]
    assert container["image"] == "ghcr.io/scalar-labs/scalardl-schema-loader:3.13.0"
    expected = ["--config", "/tmp/database.properties"] + (["--coordinator"] if coordinator else []) + ["--repair-all", "--no-backup"]
    assert container["args"] == expected
    assert container["envFrom"] == [{"secretRef": {"name": "schema-credentials"}}]
    assert {"name": "SCHEMA_TYPE", "value": schema_type} in container["env"]
    configmap = _one(objects, "ConfigMap", f"{full}-database-properties")
    assert configmap["data"]["database.properties.tmpl"] == props
    assert pod["volumes"][0]["configMap"]["name"] == configmap["metadata"]["name"]


def test_schema_loading_legacy_arguments(tool_env: dict[str, str]) -> None:
    # Without databaseProperties the real chart passes per-database options instead of --config.
    objects = _render(
        "helm3", charts.SCHEMA_LOADING_CHART, env=tool_env,
        values={"schemaLoading": {"database": "dynamo", "contactPoints": "ap-northeast-1"}},
        set_values=["schemaLoading.commandArgs={--repair-all}"],
    )
    job = _one(objects, "Job", charts.fullname(RELEASE, charts.SCHEMA_LOADING_CHART))
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:5] == ["-p", "$(HELM_SCALAR_DB_PASSWORD)", "--dynamo", "--region", "ap-northeast-1"]
    assert args[-1] == "--repair-all"
    assert "--config" not in args
    assert not [o for o in objects if o["kind"] == "ConfigMap"]


# --- Installed into Kubernetes (the API stand-in, or the cluster named by PITR_TEST_KUBECONFIG) ---

def _kubectl_json(kube: KubeTarget, *args: str) -> dict[str, Any]:
    return json.loads(kube.kubectl(*args, "-o", "json").stdout)


@pytest.mark.parametrize("product", sorted(PRODUCTS))
def test_install_then_scale_in_with_reuse_values(product: str, kube: KubeTarget, kube_namespace: str, helm_bin: str) -> None:
    spec = PRODUCTS[product]
    chart = str(charts.chart_path(spec.chart))
    release = f"r-{spec.app_label}"
    kube.run(helm_bin, "install", release, chart, "-n", kube_namespace, "--set", f"{spec.secret_key}=scalar-credentials")

    name = charts.deployment_name(product, release)
    deploy = _kubectl_json(kube, "get", "deployment", name, "-n", kube_namespace)
    labels = deploy["metadata"]["labels"]
    assert labels["app.kubernetes.io/instance"] == release
    assert labels["app.kubernetes.io/app"] == spec.app_label
    assert deploy["spec"]["replicas"] == 3
    checksum = deploy["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    headless = _kubectl_json(kube, "get", "service", charts.headless_service_name(product, release), "-n", kube_namespace)
    assert {"name": spec.admin_port_name, "port": spec.admin_port} in [{"name": p["name"], "port": p["port"]} for p in headless["spec"]["ports"]]

    # The documented scale-in: only the replica count changes, every other value is kept.
    kube.run(helm_bin, "upgrade", release, chart, "-n", kube_namespace, "--reuse-values",
             "--set", f"{spec.replica_key}=0", "--wait", "--timeout", "60s")
    deploy = _kubectl_json(kube, "get", "deployment", name, "-n", kube_namespace)
    assert deploy["spec"]["replicas"] == 0
    pod = deploy["spec"]["template"]
    assert pod["spec"]["containers"][0]["envFrom"] == [{"secretRef": {"name": "scalar-credentials"}}]
    assert pod["metadata"]["annotations"]["checksum/config"] == checksum
    values = json.loads(kube.run(helm_bin, "get", "values", release, "-n", kube_namespace, "-o", "json").stdout)
    assert values[spec.values_key] == {"replicaCount": 0, "secretName": "scalar-credentials"}


def test_install_schema_loading_job(kube: KubeTarget, kube_namespace: str, helm_bin: str) -> None:
    release = "repair-schema-ledger"
    kube.run(helm_bin, "install", release, str(charts.chart_path(charts.SCHEMA_LOADING_CHART)), "-n", kube_namespace,
             "--set", "schemaLoading.databaseProperties=scalar.db.storage=dynamo",
             "--set", "schemaLoading.commandArgs={--repair-all}")
    job = _kubectl_json(kube, "get", "job", charts.fullname(release, charts.SCHEMA_LOADING_CHART), "-n", kube_namespace)
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["--config", "/tmp/database.properties", "--coordinator", "--repair-all"]
