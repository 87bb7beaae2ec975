"""Unit tests of the Schema Loader --repair-all command lines, names and Job/chart bodies."""
from __future__ import annotations

import json

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils import schema_loader_job as objects
from ansible_collections.scalarops.pitr.plugins.module_utils.redact import mask_secrets
from ansible_collections.scalarops.pitr.plugins.module_utils.schema_loader_args import (
    MAX_NAME_LENGTH,
    SchemaLoaderArgsError,
    default_image,
    default_method,
    repair_command,
    repair_name,
    repair_options,
    schema_text,
)


def test_scalardb_job_passes_config_schema_coordinator_and_repair() -> None:
    args = repair_command("scalardb_cluster", "job", config_path="/c/db.properties", schema_path="/s/schema.json")
    assert args == ["--config", "/c/db.properties", "-f", "/s/schema.json", "--coordinator", "--repair-all"]


def test_scalardb_without_coordinator_when_not_asked() -> None:
    args = repair_command("scalardb", "local", config_path="c", schema_path="s", coordinator=False)
    assert "--coordinator" not in args
    assert args[-1] == "--repair-all"


def test_scalardb_needs_a_schema_file() -> None:
    with pytest.raises(SchemaLoaderArgsError, match="schema file is required to repair scalardb"):
        repair_command("scalardb", "job", config_path="c")


@pytest.mark.parametrize("product, coordinator", [("ledger", True), ("auditor", False)])
def test_scalardl_image_brings_its_schema_and_coordinator_follows_the_product(product: str, coordinator: bool) -> None:
    # the ScalarDL image's entrypoint adds "-f <type>-schema.json": a second -f would be wrong
    args = repair_command(product, "job", config_path="c", coordinator=not coordinator)
    assert "-f" not in args
    assert ("--coordinator" in args) is coordinator


def test_scalardl_local_needs_the_schema_file_too() -> None:
    args = repair_command("ledger", "local", config_path="c", schema_path="s")
    assert args[:4] == ["--config", "c", "-f", "s"]


def test_tuning_options_in_a_stable_order_then_extra_args() -> None:
    args = repair_options(no_backup=True, no_scaling=True, ru=400, extra_args=["--replication-tables"])
    assert args == ["--repair-all", "--no-backup", "--no-scaling", "--ru", "400", "--replication-tables"]


@pytest.mark.parametrize("arg", ["--delete-all", "-D", "--alter", "--import", "--upgrade"])
def test_other_modes_are_refused(arg: str) -> None:
    with pytest.raises(SchemaLoaderArgsError, match="another Schema Loader mode"):
        repair_options(extra_args=[arg])


@pytest.mark.parametrize("arg", ["--config=/x", "-f", "--repair-all"])
def test_options_the_module_owns_are_refused(arg: str) -> None:
    with pytest.raises(SchemaLoaderArgsError, match="set by the module itself"):
        repair_options(extra_args=[arg])


def test_ru_must_be_positive() -> None:
    with pytest.raises(SchemaLoaderArgsError, match="ru must be a positive"):
        repair_options(ru=0)


def test_defaults_per_product() -> None:
    assert default_method("ledger") == default_method("auditor") == "chart"
    assert default_method("scalardb") == default_method("scalardb_cluster") == "job"
    assert default_image("auditor") == "ghcr.io/scalar-labs/scalardl-schema-loader"
    assert default_image("scalardb_cluster") == "ghcr.io/scalar-labs/scalardb-schema-loader"


def test_repair_name_is_deterministic_and_short_enough() -> None:
    assert repair_name("scalardl-ledger") == "scalardl-ledger-schema-repair"
    long_release = "a-very-long-release-name-that-goes-on-and-on-and-on-x"
    name = repair_name(long_release)
    assert len(name) <= MAX_NAME_LENGTH
    assert name == repair_name(long_release)
    assert name != repair_name(long_release[:-1] + "y")
    assert name.endswith("-schema-repair")


def test_schema_text_accepts_a_dict_or_json_object() -> None:
    schema = {"ns.orders": {"transaction": True, "partition-key": ["id"], "columns": {"id": "INT"}}}
    assert json.loads(schema_text(schema)) == schema
    assert json.loads(schema_text(json.dumps(schema))) == schema
    with pytest.raises(SchemaLoaderArgsError, match="not valid JSON"):
        schema_text("{nope")
    with pytest.raises(SchemaLoaderArgsError, match="JSON object"):
        schema_text("[1]")


def test_job_mounts_properties_from_a_secret_and_never_retries() -> None:
    body = objects.job("r-schema-repair", "r", image="img:1", args=["--repair-all"], with_schema=True, secret_name="creds",
                       schema_type="ledger", pod_annotations={"sidecar.istio.io/inject": "false"}, image_pull_secrets=["pull"])
    spec = body["spec"]
    pod = spec["template"]["spec"]
    assert spec["backoffLimit"] == 0 and pod["restartPolicy"] == "Never"
    assert {"name": "config", "secret": {"secretName": "r-schema-repair-properties"}} in pod["volumes"]
    assert {"name": "schema", "configMap": {"name": "r-schema-repair-schema"}} in pod["volumes"]
    container = pod["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": "creds"}}]
    assert container["env"] == [{"name": "SCHEMA_TYPE", "value": "ledger"}]
    assert spec["template"]["metadata"]["annotations"] == {"sidecar.istio.io/inject": "false"}
    assert pod["imagePullSecrets"] == [{"name": "pull"}]


def test_chart_values_name_the_job_and_leave_the_default_image_alone() -> None:
    values = objects.chart_values("r-schema-repair", "auditor", properties="p=1", command_args=["--repair-all"])
    assert values["fullnameOverride"] == "r-schema-repair"
    assert values["schemaLoading"]["schemaType"] == "auditor"
    assert values["schemaLoading"]["commandArgs"] == ["--repair-all"]
    assert "image" not in values["schemaLoading"]
    versioned = objects.chart_values("n", "ledger", properties="p=1", command_args=[], version="3.13.0")
    assert versioned["schemaLoading"]["image"] == {"version": "3.13.0"}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("scalar.db.password=hunter2", "scalar.db.password=********"),
        ("scalar.db.password = hunter2\nscalar.db.username=admin", "scalar.db.password = ********\nscalar.db.username=admin"),
        ("scalar.db.password=${env:SCALAR_DB_PASSWORD}", "scalar.db.password=${env:SCALAR_DB_PASSWORD}"),
        ("scalar.db.password={{ .Env.HELM_SCALAR_DB_PASSWORD }}", "scalar.db.password={{ .Env.HELM_SCALAR_DB_PASSWORD }}"),
        ("ERROR connect failed: accountKey: abc123, retrying", "ERROR connect failed: accountKey: ********, retrying"),
        ("aws_secret_access_key=AKIA/xyz+", "aws_secret_access_key=********"),
        ("scalar.db.contact_points=jdbc:mysql://db:3306/", "scalar.db.contact_points=jdbc:mysql://db:3306/"),
    ],
)
def test_mask_secrets(text: str, expected: str) -> None:
    assert mask_secrets(text) == expected
