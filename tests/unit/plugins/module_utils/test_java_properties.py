"""Unit tests of the Java properties editing a restore uses to re-point ScalarDB/ScalarDL.

What Java itself reads from these texts is checked in test_java_properties_jvm.py.
"""
from __future__ import annotations

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.java_properties import (
    MASK,
    Change,
    PropertiesDocument,
    PropertiesError,
    PropertiesSyntaxError,
    PropertyNotFoundError,
    edit,
    env_refs,
    escape_value,
    is_secret_key,
)
from properties_samples import JAVA_SYNTAX, JAVA_SYNTAX_DICT, SAMPLES, SCALARDB_CLUSTER, SCALARDB_DATABASE, SCALARDB_DYNAMO, SCALARDL_LEDGER


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_untouched_text_renders_byte_identical(name: str) -> None:
    text = SAMPLES[name]
    assert PropertiesDocument(text).render() == text
    assert edit(text) == (text, [])


@pytest.mark.parametrize("name", ["java_syntax", "java_syntax_crlf", "java_syntax_cr"])
def test_reads_every_java_syntax_like_java(name: str) -> None:
    document = PropertiesDocument(SAMPLES[name])
    assert document.as_dict() == JAVA_SYNTAX_DICT
    assert document.keys() == list(JAVA_SYNTAX_DICT)
    assert document.get("dup") == "second"
    assert document.get("missing") is None
    assert document.get("missing", "fallback") == "fallback"
    assert "escaped space name" in document
    assert "escaped\\ space\\ name" not in document


def test_reads_scalar_samples() -> None:
    assert PropertiesDocument(SCALARDB_DATABASE).as_dict() == {
        "scalar.db.contact_points": "localhost",
        "scalar.db.username": "cassandra",
        "scalar.db.password": "cassandra",
        "scalar.db.storage": "cassandra",
        "scalar.db.transaction_manager": "consensus-commit",
        "scalar.db.consensus_commit.isolation_level": "SNAPSHOT",
    }
    ledger = PropertiesDocument(SCALARDL_LEDGER)
    assert ledger.get("scalar.dl.ledger.proof.enabled") == "true"
    assert ledger.get("scalar.db.username") == "${env:SCALAR_DB_USERNAME}"
    assert PropertiesDocument(SCALARDB_CLUSTER).get("scalar.db.contact_points") == (
        "jdbc:mysql://mysql-scalardb-cluster.default.svc.cluster.local:3306/?useSSL=false&allowPublicKeyRetrieval=true"
    )


def test_restore_of_dynamodb_touches_only_its_lines() -> None:
    new_text, changes = edit(
        SCALARDB_DYNAMO,
        set={"scalar.db.dynamo.namespace.prefix": "restored_", "scalar.db.contact_points": "us-west-2"},
        remove=["scalar.db.dynamo.endpoint_override"],
    )
    assert new_text == (
        "scalar.db.storage=dynamo\n"
        "scalar.db.contact_points=us-west-2\n"
        "scalar.db.username=${env:SCALAR_DB_USERNAME}\n"
        "scalar.db.password=${env:SCALAR_DB_PASSWORD}\n"
        "scalar.db.dynamo.namespace.prefix=restored_\n"
    )
    assert changes == [
        Change("scalar.db.dynamo.endpoint_override", "https://dynamodb.ap-northeast-1.amazonaws.com", None),
        Change("scalar.db.dynamo.namespace.prefix", "prod_", "restored_"),
        Change("scalar.db.contact_points", "ap-northeast-1", "us-west-2"),
    ]


def test_set_keeps_comments_blank_lines_and_order_of_scalardb_file() -> None:
    document = PropertiesDocument(SCALARDB_DATABASE)
    assert document.set("scalar.db.contact_points", "jdbc:postgresql://restored:5432/postgres") is True
    expected = SCALARDB_DATABASE.replace(
        "scalar.db.contact_points=localhost\n", "scalar.db.contact_points=jdbc:postgresql://restored:5432/postgres\n"
    )
    assert document.render() == expected
    # The commented-out key is not a key: setting it appends a real line, the comment stays.
    assert document.set("scalar.db.contact_port", "5432") is True
    assert document.render() == expected + "scalar.db.contact_port=5432\n"


@pytest.mark.parametrize(
    "key, old_line, new_line",
    [
        ("sep2", "sep2 = value two\n", "sep2 = NEW\n"),
        ("sep4", "sep4 : value4\n", "sep4 : NEW\n"),
        ("sep5", "sep5 value5\n", "sep5 NEW\n"),
        ("sep6", "sep6\t\tvalue6\n", "sep6\t\tNEW\n"),
        ("indented.name", "   indented.name = indented value\n", "   indented.name = NEW\n"),
        ("escaped space name", "escaped\\ space\\ name = has spaces\n", "escaped\\ space\\ name = NEW\n"),
        ("escaped=name", "escaped\\=name=has an equals sign\n", "escaped\\=name=NEW\n"),
        ("empty.value", "empty.value=\n", "empty.value=NEW\n"),
        ("no.separator", "no.separator\n", "no.separator=NEW\n"),
        ("unicode.raw", "unicode.raw = café 😀\n", "unicode.raw = NEW\n"),
        ("contact.list", "contact.list = host1,\\\n               host2,\\\n               host3\n", "contact.list = NEW\n"),
    ],
)
def test_set_rewrites_in_place_keeping_spelling_separator_and_indent(key: str, old_line: str, new_line: str) -> None:
    assert old_line in JAVA_SYNTAX
    new_text, changes = edit(JAVA_SYNTAX, set={key: "NEW"})
    assert new_text == JAVA_SYNTAX.replace(old_line, new_line)
    assert changes == [Change(key, JAVA_SYNTAX_DICT[key], "NEW")]
    assert PropertiesDocument(new_text).as_dict() == {**JAVA_SYNTAX_DICT, key: "NEW"}


def test_set_keeps_crlf_line_endings() -> None:
    text = SAMPLES["ledger_crlf"]
    new_text = edit(text, set={"scalar.db.contact_points": "jdbc:postgresql://restored:5432/postgres", "scalar.dl.ledger.nonce": "1"})[0]
    assert new_text == text.replace(
        "postgresql-ledger.default.svc.cluster.local:5432/postgres\r\n", "restored:5432/postgres\r\n"
    ) + "scalar.dl.ledger.nonce=1\r\n"
    assert "\n" not in new_text.replace("\r\n", "")


def test_set_updates_every_duplicate_so_no_line_keeps_the_old_value() -> None:
    text = "dup=first\n# keep me\ndup : second\nother=x\n"
    document = PropertiesDocument(text)
    assert document.set("dup", "third") is True
    assert document.render() == "dup=third\n# keep me\ndup : third\nother=x\n"
    assert document.get("dup") == "third"


def test_set_same_value_changes_nothing() -> None:
    text = "a = 1\nb = multi\\\n    line\n"
    document = PropertiesDocument(text)
    assert document.set("a", "1") is False
    assert document.set("b", "multiline") is False
    assert document.render() == text
    assert edit(text, set={"a": "1"}) == (text, [])


def test_new_key_after_text_without_final_newline() -> None:
    document = PropertiesDocument(SAMPLES["dynamo_no_final_newline"])
    document.set("scalar.db.cross_partition_scan.enabled", "true")
    assert document.render() == SCALARDB_DYNAMO + "scalar.db.cross_partition_scan.enabled=true\n"


def test_new_key_copies_separator_style_of_last_property() -> None:
    document = PropertiesDocument("# header\na = 1\nb = 2\n")
    document.set("c", "3")
    assert document.render() == "# header\na = 1\nb = 2\nc = 3\n"
    empty = PropertiesDocument("")
    empty.set("scalar.db.storage", "jdbc")
    assert empty.render() == "scalar.db.storage=jdbc\n"


def test_new_key_after_continuation_at_end_does_not_join_it() -> None:
    document = PropertiesDocument(SAMPLES["continued_at_end"])
    document.set("c", "3")
    assert document.render() == "a=1\nb = dangling\\\n\nc = 3\n"
    assert PropertiesDocument(document.render()).as_dict() == {"a": "1", "b": "dangling", "c": "3"}


def test_remove_takes_continuation_lines_and_duplicates() -> None:
    new_text, changes = edit(JAVA_SYNTAX, remove=["contact.list", "dup"])
    assert new_text == JAVA_SYNTAX.replace(
        "contact.list = host1,\\\n               host2,\\\n               host3\n", ""
    ).replace("dup = first\ndup = second\n", "")
    assert changes == [Change("contact.list", "host1,host2,host3", None), Change("dup", "second", None)]


def test_remove_credentials_masks_them_in_changes() -> None:
    new_text, changes = edit(SCALARDB_DATABASE, remove="scalar.db.password", set={"scalar.db.username": "${env:SCALAR_DB_USERNAME}"})
    assert "scalar.db.password" not in new_text
    assert "scalar.db.username=${env:SCALAR_DB_USERNAME}\n" in new_text
    assert changes == [Change("scalar.db.password", MASK, None), Change("scalar.db.username", "cassandra", "${env:SCALAR_DB_USERNAME}")]


def test_remove_missing_key_names_it() -> None:
    document = PropertiesDocument(SCALARDB_DYNAMO)
    with pytest.raises(PropertyNotFoundError, match=r"property 'scalar\.db\.contact_port' is not set in the properties text") as error:
        document.remove("scalar.db.contact_port")
    assert error.value.key == "scalar.db.contact_port"
    assert document.remove("scalar.db.contact_port", missing_ok=True) is False
    assert edit(SCALARDB_DYNAMO, remove=["scalar.db.contact_port"], missing_ok=True) == (SCALARDB_DYNAMO, [])


@pytest.mark.parametrize(
    "value, written",
    [
        ("${env:SCALAR_DB_PASSWORD}", "${env:SCALAR_DB_PASSWORD}"),
        ("${env:SCALAR_DB_USERNAME:-root}", "${env:SCALAR_DB_USERNAME:-root}"),
        ("jdbc:mysql://h:3306/db?useSSL=false&a=b", "jdbc:mysql://h:3306/db?useSSL=false&a=b"),
        ("  two leading spaces", "\\  two leading spaces"),
        ("trailing space ", "trailing space "),
        ("C:\\keys\\ledger.pem", "C:\\\\keys\\\\ledger.pem"),
        ("line1\nline2\r\n", "line1\\nline2\\r\\n"),
        ("tab\there", "tab\\there"),
        ("=starts with equals", "\\=starts with equals"),
        (":starts with colon", "\\:starts with colon"),
        ("#not a comment", "#not a comment"),
        ("café 😀", "caf\\u00E9 \\uD83D\\uDE00"),
        ("", ""),
    ],
)
def test_values_are_written_so_java_reads_them_back(value: str, written: str) -> None:
    assert escape_value(value) == written
    for text in ("k=old\n", "k old\n", "k : old\n"):
        new_text = edit(text, set={"k": value})[0]
        assert PropertiesDocument(new_text).get("k") == value
    assert edit("k=old\n", set={"k": value})[0] == f"k={written}\n"


def test_new_keys_with_special_characters_are_escaped() -> None:
    new_text = edit("", set={"#odd key": "v", "a=b:c": "w", "ключ": "x"})[0]
    assert new_text == "\\#odd\\ key=v\na\\=b\\:c=w\n\\u043A\\u043B\\u044E\\u0447=x\n"
    assert PropertiesDocument(new_text).as_dict() == {"#odd key": "v", "a=b:c": "w", "ключ": "x"}


def test_values_are_converted_the_java_way() -> None:
    new_text, changes = edit("", set={"scalar.dl.ledger.proof.enabled": True, "scalar.db.contact_port": 5432})
    assert new_text == "scalar.dl.ledger.proof.enabled=true\nscalar.db.contact_port=5432\n"
    assert changes[0] == Change("scalar.dl.ledger.proof.enabled", None, "true")
    with pytest.raises(PropertiesError, match=r"value of 'k' must be a string, number or boolean, not NoneType"):
        edit("", set={"k": None})


def test_set_and_remove_of_the_same_key_is_refused() -> None:
    with pytest.raises(PropertiesError, match=r"cannot both set and remove 'a'"):
        edit("a=1\n", set={"a": "2"}, remove=["a"])


def test_malformed_unicode_escape_is_refused_with_its_line() -> None:
    with pytest.raises(PropertiesSyntaxError, match=r"line 2: malformed \\uXXXX escape"):
        PropertiesDocument("ok=1\nbad=\\u12G4\n")


def test_non_text_input_is_refused() -> None:
    with pytest.raises(PropertiesError, match=r"properties text must be a string, not bytes"):
        PropertiesDocument(b"a=1")  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["scalar.db.password", "SCALAR_DB_PASSWORD", "scalar.dl.ledger.proof.private_key_path", "api.Token", "aws.credentials",
                                 "client.secret"])
def test_secret_looking_keys(key: str) -> None:
    assert is_secret_key(key)


def test_changes_of_secret_keys_are_masked_both_ways() -> None:
    changes = edit("scalar.db.password=old-secret\n", set={"scalar.db.password": "new-secret", "scalar.db.storage": "jdbc"})[1]
    assert changes == [Change("scalar.db.password", MASK, MASK), Change("scalar.db.storage", None, "jdbc")]
    assert "old-secret" not in repr(changes) and "new-secret" not in repr(changes)


@pytest.mark.parametrize(
    "value, names",
    [
        ("${env:SCALAR_DB_USERNAME}", ["SCALAR_DB_USERNAME"]),
        ("${env:USER:-root}", ["USER"]),
        ("${ENV:UPPER_PREFIX}", ["UPPER_PREFIX"]),
        ("jdbc:mysql://${env:DB_HOST}:${env:DB_PORT:-3306}/${env:DB_HOST}", ["DB_HOST", "DB_PORT"]),
        ("$${env:ESCAPED} ${sys:user.home} ${OTHER} plain", []),
        ("${env:}", []),
    ],
)
def test_env_refs(value: str, names: list[str]) -> None:
    assert env_refs(value) == names


def test_document_env_refs_skip_comments() -> None:
    assert PropertiesDocument(SCALARDB_CLUSTER).env_refs() == [
        "SCALAR_DB_CLUSTER_MEMBERSHIP_KUBERNETES_ENDPOINT_NAMESPACE_NAME",
        "SCALAR_DB_CLUSTER_MEMBERSHIP_KUBERNETES_ENDPOINT_NAME",
        "SCALAR_DB_USERNAME",
        "SCALAR_DB_PASSWORD",
    ]
    assert PropertiesDocument("# a=${env:OLD}\nb=${env:NEW}\n").env_refs() == ["NEW"]
    # A single value works too, even with a default holding a space.
    assert PropertiesDocument("${env:A:-x y}").env_refs() == ["A"]


def test_key_named_twice_for_removal_is_removed_once() -> None:
    assert edit("a=1\nb=2\n", remove=["a", "a"]) == ("b=2\n", [Change("a", "1", None)])
