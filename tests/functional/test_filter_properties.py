"""The properties_* filters through the real ansible-playbook: names resolve, values survive Jinja."""
from __future__ import annotations

import json
from pathlib import Path

from fixtures.common import run_playbook

# What the scalardb chart holds in scalardb.databaseProperties, with CRLF endings to prove they survive.
DYNAMO = (
    "# ScalarDB on DynamoDB\r\n"
    "scalar.db.storage=dynamo\r\n"
    "scalar.db.contact_points=ap-northeast-1\r\n"
    "scalar.db.username=${env:SCALAR_DB_USERNAME}\r\n"
    "scalar.db.password=${env:SCALAR_DB_PASSWORD}\r\n"
    "scalar.db.dynamo.endpoint_override=http://localhost:8000\r\n"
    "scalar.db.dynamo.namespace.prefix=prod_\r\n"
)

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Re-point ScalarDB at the restored tables
      ansible.builtin.set_fact:
        restored: >-
          {{ props
             | scalarops.pitr.properties_remove('scalar.db.dynamo.endpoint_override')
             | scalarops.pitr.properties_set({'scalar.db.dynamo.namespace.prefix': 'restored_', 'scalar.db.cross_partition_scan.enabled': true}) }}
        edit: "{{ props | scalarops.pitr.properties_edit(set={'scalar.db.password': 'x'}, remove='scalar.db.username') }}"
    - ansible.builtin.copy:
        content: "{{ result | to_json }}"
        dest: "{{ playbook_dir }}/result.json"
        mode: "0644"
      vars:
        result:
          restored: "{{ restored }}"
          prefix: "{{ restored | scalarops.pitr.properties_get('scalar.db.dynamo.namespace.prefix') }}"
          port: "{{ restored | scalarops.pitr.properties_get('scalar.db.contact_port', 'none') }}"
          as_dict: "{{ restored | scalarops.pitr.properties_to_dict }}"
          env: "{{ restored | scalarops.pitr.properties_env_refs }}"
          changes: "{{ edit.changes }}"
"""

MISSING = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.debug:
        msg: "{{ props | scalarops.pitr.properties_remove(['scalar.db.storage', 'scalar.db.contact_port']) }}"
"""


def test_filters_edit_properties_in_a_playbook(tmp_path: Path, tool_env: dict[str, str]) -> None:
    result = run_playbook(PLAYBOOK, tmp_path, tool_env, {"props": DYNAMO})
    assert result.returncode == 0, result.stdout + result.stderr
    out = json.loads((tmp_path / "result.json").read_text())
    assert out["restored"] == (
        "# ScalarDB on DynamoDB\r\n"
        "scalar.db.storage=dynamo\r\n"
        "scalar.db.contact_points=ap-northeast-1\r\n"
        "scalar.db.username=${env:SCALAR_DB_USERNAME}\r\n"
        "scalar.db.password=${env:SCALAR_DB_PASSWORD}\r\n"
        "scalar.db.dynamo.namespace.prefix=restored_\r\n"
        "scalar.db.cross_partition_scan.enabled=true\r\n"
    )
    assert out["prefix"] == "restored_"
    assert out["port"] == "none"
    assert out["as_dict"]["scalar.db.cross_partition_scan.enabled"] == "true"
    assert "scalar.db.dynamo.endpoint_override" not in out["as_dict"]
    assert out["env"] == ["SCALAR_DB_USERNAME", "SCALAR_DB_PASSWORD"]
    assert out["changes"] == [
        {"key": "scalar.db.username", "old": "${env:SCALAR_DB_USERNAME}", "new": None},
        {"key": "scalar.db.password", "old": "********", "new": "********"},
    ]


def test_removing_a_missing_key_fails_naming_it(tmp_path: Path, tool_env: dict[str, str]) -> None:
    result = run_playbook(MISSING, tmp_path, tool_env, {"props": DYNAMO})
    assert result.returncode != 0
    assert "properties_remove: property 'scalar.db.contact_port' is not set in the properties text, so it cannot be removed" in result.stdout
