"""Unit tests of the properties_* filters: argument checks, error messages, results."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.scalarops.pitr.plugins.filter.properties import FilterModule

FILTERS = FilterModule().filters()

LEDGER = """\
# ScalarDL Ledger on PostgreSQL
scalar.db.contact_points=jdbc:postgresql://ledger-db:5432/postgres
scalar.db.username=${env:SCALAR_DB_USERNAME}
scalar.db.password=${env:SCALAR_DB_PASSWORD}
scalar.db.storage=jdbc
scalar.dl.ledger.proof.enabled=true
"""


def test_every_documented_filter_is_exposed() -> None:
    assert sorted(FILTERS) == [
        "properties_edit", "properties_env_refs", "properties_get", "properties_remove", "properties_set", "properties_to_dict",
    ]


def test_properties_set() -> None:
    result = FILTERS["properties_set"](LEDGER, {"scalar.db.contact_points": "jdbc:postgresql://restored:5432/postgres", "scalar.dl.ledger.nonce_retry": 3})
    assert result == LEDGER.replace("ledger-db:5432", "restored:5432") + "scalar.dl.ledger.nonce_retry=3\n"


def test_properties_set_refuses_bad_arguments() -> None:
    with pytest.raises(AnsibleFilterError, match=r"properties_set: the properties to set must be a dictionary, not list"):
        FILTERS["properties_set"](LEDGER, ["scalar.db.storage"])
    with pytest.raises(AnsibleFilterError, match=r"properties_set: the input must be a properties text \(a string\), not NoneType"):
        FILTERS["properties_set"](None, {"a": "b"})
    with pytest.raises(AnsibleFilterError, match=r"properties_set: value of 'a' must be a string, number or boolean, not dict"):
        FILTERS["properties_set"](LEDGER, {"a": {"b": 1}})


def test_properties_remove() -> None:
    result = FILTERS["properties_remove"](LEDGER, ["scalar.db.username", "scalar.db.password"])
    assert result == LEDGER.replace("scalar.db.username=${env:SCALAR_DB_USERNAME}\nscalar.db.password=${env:SCALAR_DB_PASSWORD}\n", "")
    assert FILTERS["properties_remove"](LEDGER, "scalar.db.storage") == LEDGER.replace("scalar.db.storage=jdbc\n", "")


def test_properties_remove_missing_key_names_it() -> None:
    with pytest.raises(AnsibleFilterError) as error:
        FILTERS["properties_remove"](LEDGER, ["scalar.db.storage", "scalar.db.dynamo.namespace.prefix"])
    assert str(error.value) == (
        "properties_remove: property 'scalar.db.dynamo.namespace.prefix' is not set in the properties text, so it cannot be removed"
    )
    assert FILTERS["properties_remove"](LEDGER, ["scalar.db.dynamo.namespace.prefix"], missing_ok=True) == LEDGER
    with pytest.raises(AnsibleFilterError, match=r"properties_remove: keys must be a string or a list of strings"):
        FILTERS["properties_remove"](LEDGER, {"scalar.db.storage": 1})


def test_properties_edit_reports_masked_changes() -> None:
    result = FILTERS["properties_edit"](LEDGER, set={"scalar.db.password": "plain-secret"}, remove=["scalar.db.username"])
    assert result["text"] == LEDGER.replace("scalar.db.username=${env:SCALAR_DB_USERNAME}\n", "").replace(
        "${env:SCALAR_DB_PASSWORD}", "plain-secret"
    )
    assert result["changed"] is True
    assert result["changes"] == [
        {"key": "scalar.db.username", "old": "${env:SCALAR_DB_USERNAME}", "new": None},
        {"key": "scalar.db.password", "old": "********", "new": "********"},
    ]
    assert FILTERS["properties_edit"](LEDGER) == {"text": LEDGER, "changed": False, "changes": []}


def test_properties_get_and_to_dict() -> None:
    assert FILTERS["properties_get"](LEDGER, "scalar.dl.ledger.proof.enabled") == "true"
    assert FILTERS["properties_get"](LEDGER, "scalar.db.contact_port") is None
    assert FILTERS["properties_get"](LEDGER, "scalar.db.contact_port", "5432") == "5432"
    assert FILTERS["properties_to_dict"]("a : 1\nb 2\\\n  3\n# c=4\n") == {"a": "1", "b": "23"}


def test_properties_env_refs_of_text_and_value() -> None:
    assert FILTERS["properties_env_refs"](LEDGER + "# scalar.db.password=${env:OLD}\n") == ["SCALAR_DB_USERNAME", "SCALAR_DB_PASSWORD"]
    assert FILTERS["properties_env_refs"]("jdbc:mysql://${env:DB_HOST:-localhost}:3306/") == ["DB_HOST"]


def test_malformed_text_is_a_filter_error() -> None:
    with pytest.raises(AnsibleFilterError, match=r"properties_to_dict: line 1: malformed \\uXXXX escape"):
        FILTERS["properties_to_dict"]("a=\\u00\n")
