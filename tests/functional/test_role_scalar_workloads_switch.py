"""scalar_workloads action=switch: properties re-pointed line by line, credentials only in the Secret."""
from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from fixtures.common import VENV_BIN
from fixtures.kube import KubeTarget
from standins.charts import chart_path

PROPERTIES = """# ScalarDL Ledger on PostgreSQL
scalar.db.storage=jdbc
scalar.db.contact_points=jdbc:postgresql://old-db.example:5432/ledger
scalar.db.username=${env:SCALAR_DB_USERNAME}
scalar.db.password=${env:SCALAR_DB_PASSWORD}

# proof
scalar.dl.ledger.proof.enabled = false
"""
NEW_SECRET = "n3w-S3cret!pw"
PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: scalarops.pitr.scalar_workloads
      vars:
        scalar_workloads_action: switch
"""


def _install(kube: KubeTarget, ns: str, secret_name: str | None, properties: str = PROPERTIES) -> dict[str, str]:
    values: dict[str, Any] = {"ledger": {"replicaCount": 1, "ledgerProperties": properties}}
    if secret_name:
        values["ledger"]["secretName"] = secret_name
        kube.kubectl("create", "secret", "generic", secret_name, "-n", ns, "--from-literal=SCALAR_DB_USERNAME=ledger",
                     "--from-literal=SCALAR_DB_PASSWORD=old-password", "--from-literal=OTHER=keep-me")
    kube.run(str(VENV_BIN / "helm"), "install", "ledger", str(chart_path("scalardl")), "-n", ns, "--wait", "-f", "-",
             input_text=json.dumps(values))
    return {"name": "ledger", "namespace": ns, "product": "ledger", "chart_ref": str(chart_path("scalardl"))}


def _switch(kube: KubeTarget, tmp_path: Path, release: dict[str, str], verbosity: int = 0,
            **switch: Any) -> subprocess.CompletedProcess[str]:
    playbook = tmp_path / "switch.yml"
    playbook.write_text(PLAY)
    extra = {"scalar_releases": [release], **{f"scalar_workloads_{k}": v for k, v in switch.items()}}
    cmd = [str(VENV_BIN / "ansible-playbook"), str(playbook), "-e", json.dumps(extra)] + (["-" + "v" * verbosity] if verbosity else [])
    return kube.run(*cmd, check=False, env={"ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false"})


def _properties(kube: KubeTarget, ns: str) -> str:
    values = json.loads(kube.run(str(VENV_BIN / "helm"), "get", "values", "ledger", "-n", ns, "-o", "json").stdout)
    return values["ledger"]["ledgerProperties"]


def _secret(kube: KubeTarget, ns: str, name: str) -> dict[str, str]:
    data = json.loads(kube.kubectl("get", "secret", name, "-n", ns, "-o", "json").stdout)["data"]
    return {key: base64.b64decode(value).decode() for key, value in data.items()}


def _revision(kube: KubeTarget, ns: str) -> int:
    history = json.loads(kube.run(str(VENV_BIN / "helm"), "history", "ledger", "-n", ns, "-o", "json").stdout)
    return max(int(entry["revision"]) for entry in history)


def test_switch_changes_exactly_the_keys_and_puts_the_credential_in_the_secret(
        kube: KubeTarget, kube_namespace: str, tmp_path: Path) -> None:
    ns = kube_namespace
    release = _install(kube, ns, "ledger-credentials")
    switch = {
        "properties_set": {"scalar.db.contact_points": "jdbc:postgresql://restored-db.example:5432/ledger?sslmode=require"},
        "properties_remove": ["scalar.dl.ledger.proof.enabled"],
        "secret_properties": {"scalar.db.password": NEW_SECRET},
    }
    result = _switch(kube, tmp_path, release, verbosity=3, **switch)
    assert result.returncode == 0, result.stdout[-4000:]
    assert _properties(kube, ns) == PROPERTIES.replace(
        "jdbc:postgresql://old-db.example:5432/ledger", "jdbc:postgresql://restored-db.example:5432/ledger?sslmode=require"
    ).replace("scalar.dl.ledger.proof.enabled = false\n", "")
    assert _secret(kube, ns, "ledger-credentials") == {
        "SCALAR_DB_USERNAME": "ledger", "SCALAR_DB_PASSWORD": NEW_SECRET, "OTHER": "keep-me"}
    assert _revision(kube, ns) == 2
    # the pods would restart with the new properties: the config checksum changed
    assert "~ scalar.db.contact_points: jdbc:postgresql://old-db.example:5432/ledger -> " in result.stdout
    assert "credentials written to Secret ledger-credentials: SCALAR_DB_PASSWORD" in result.stdout
    assert NEW_SECRET not in result.stdout + result.stderr  # not even with -vvv

    again = _switch(kube, tmp_path, release, **{k: v for k, v in switch.items() if k != "properties_remove"})
    assert again.returncode == 0, again.stdout[-3000:]
    assert "changed=0" in again.stdout
    assert _revision(kube, ns) == 2


def test_a_literal_credential_is_moved_into_the_secret(kube: KubeTarget, kube_namespace: str, tmp_path: Path) -> None:
    ns = kube_namespace
    literal = PROPERTIES.replace("scalar.db.password=${env:SCALAR_DB_PASSWORD}", "scalar.db.password=old-literal")
    release = _install(kube, ns, "ledger-credentials", literal)
    result = _switch(kube, tmp_path, release, secret_properties={"scalar.db.password": NEW_SECRET})
    assert result.returncode == 0, result.stdout[-3000:]
    assert "scalar.db.password=${env:SCALAR_DB_PASSWORD}\n" in _properties(kube, ns)
    assert "old-literal" not in _properties(kube, ns)
    assert _secret(kube, ns, "ledger-credentials")["SCALAR_DB_PASSWORD"] == NEW_SECRET
    assert "old-literal" not in result.stdout


@pytest.mark.parametrize("secret_name, switch, message", [
    ("ledger-credentials", {"properties_remove": ["scalar.db.cosmos.consistency_level"]},
     "property 'scalar.db.cosmos.consistency_level' is not set in the properties text, so it cannot be removed"),
    ("ledger-credentials", {"properties_set": {"scalar.db.password": "plain"}},
     "scalar.db.password look like credentials; pass them in scalar_workloads_secret_properties"),
    (None, {"secret_properties": {"scalar.db.username": "someone"}},
     "the release has no ledger.secretName; refusing to put a credential into helm values"),
])
def test_bad_switch_is_refused_before_anything_changes(
        kube: KubeTarget, kube_namespace: str, tmp_path: Path, secret_name: str | None, switch: dict, message: str) -> None:
    ns = kube_namespace
    properties = PROPERTIES if secret_name else PROPERTIES.replace("${env:SCALAR_DB_USERNAME}", "ledger")
    release = _install(kube, ns, secret_name, properties)
    result = _switch(kube, tmp_path, release, **switch)
    assert result.returncode != 0
    assert message in result.stdout
    assert _properties(kube, ns) == properties
    assert _revision(kube, ns) == 1


SRC_URL = "jdbc:postgresql://src.x.rds.amazonaws.com:5432/scalardb?sslmode=require"
ENDPOINT = {"from_hosts": ["src.x.rds.amazonaws.com"], "source": "RDS instance src"}


def test_endpoint_switch_repoints_the_jdbc_url_through_helm(kube: KubeTarget, kube_namespace: str, tmp_path: Path) -> None:
    ns = kube_namespace
    properties = PROPERTIES.replace("jdbc:postgresql://old-db.example:5432/ledger", SRC_URL)
    release = _install(kube, ns, "ledger-credentials", properties)
    target = dict(ENDPOINT, to_host="new.y.rds.amazonaws.com", to_port=5432)
    result = _switch(kube, tmp_path, release, endpoint_switch=target)
    assert result.returncode == 0, result.stdout[-4000:]
    assert _properties(kube, ns) == properties.replace(
        SRC_URL, "jdbc:postgresql://new.y.rds.amazonaws.com:5432/scalardb?sslmode=require")
    assert (f"~ scalar.db.contact_points: {SRC_URL} -> "
            "jdbc:postgresql://new.y.rds.amazonaws.com:5432/scalardb?sslmode=require") in result.stdout
    assert _revision(kube, ns) == 2

    again = _switch(kube, tmp_path, release, endpoint_switch=target)
    assert again.returncode == 0, again.stdout[-3000:]
    assert "changed=0" in again.stdout
    assert _revision(kube, ns) == 2


def test_check_with_a_wrong_source_fails_naming_the_url_and_changes_nothing(
        kube: KubeTarget, kube_namespace: str, tmp_path: Path) -> None:
    ns = kube_namespace
    # a literal password in the URL must not reach the output
    properties = PROPERTIES.replace("jdbc:postgresql://old-db.example:5432/ledger", SRC_URL + "&password=hunter2")
    release = _install(kube, ns, "ledger-credentials", properties)
    wrong = {"from_hosts": ["other.z.rds.amazonaws.com"], "source": "RDS instance other"}
    result = _switch(kube, tmp_path, release, action="check", endpoint_switch=wrong)
    assert result.returncode != 0
    assert (f"release 'ledger' in namespace '{ns}': scalar.db.contact_points is {SRC_URL}&password=********, "
            "which does not point at RDS instance other (other.z.rds.amazonaws.com)") in result.stdout
    assert "hunter2" not in result.stdout + result.stderr
    assert _properties(kube, ns) == properties
    assert _revision(kube, ns) == 1
    assert kube.kubectl("get", "configmap", "scalarops-pitr-replicas-ledger", "-n", ns, check=False).returncode != 0

    right = _switch(kube, tmp_path, release, action="check", endpoint_switch=ENDPOINT)
    assert right.returncode == 0, right.stdout[-3000:]
    assert (f"? scalar.db.contact_points: {SRC_URL}&password=******** points at RDS instance src; "
            "switched once the restored database exists") in right.stdout
    assert "hunter2" not in right.stdout + right.stderr
    assert _revision(kube, ns) == 1
