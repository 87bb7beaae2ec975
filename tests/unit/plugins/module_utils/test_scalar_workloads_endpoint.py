"""Unit tests of the endpoint switch: JDBC contact_points re-pointed from a source server to a restored one."""
from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.scalarops.pitr.plugins.filter.scalar_workloads_plan import scalar_workloads_plan
from ansible_collections.scalarops.pitr.plugins.module_utils.java_properties import PropertiesDocument
from ansible_collections.scalarops.pitr.plugins.module_utils.scalar_workloads import (
    WorkloadPlanError,
    check_endpoint_switch,
    plan,
)

SRC = "scalardb-pg.abc.eu-west-1.rds.amazonaws.com"
NEW = "scalardb-pg-restored.abc.eu-west-1.rds.amazonaws.com"
SOURCE = {"from_hosts": [SRC], "source": "RDS instance scalardb-pg"}
TARGET = dict(SOURCE, to_host=NEW, to_port=5432)
LEDGER = {"name": "ledger", "namespace": "ns", "product": "ledger", "chart_ref": "scalar-labs/scalardl"}
AUDITOR = {"name": "auditor", "namespace": "ns", "product": "auditor", "chart_ref": "scalar-labs/scalardl-audit"}
PROPS = f"""# Ledger
scalar.db.storage=jdbc
scalar.db.contact_points=jdbc:postgresql://{SRC}:5432/ledger?sslmode=require&socketTimeout=30
scalar.db.username=${{env:SCALAR_DB_USERNAME}}
scalar.db.password=${{env:SCALAR_DB_PASSWORD}}
"""
MULTI = f"""scalar.db.storage=multi-storage
scalar.db.multi_storage.storages=pg,mysql,cassandra
scalar.db.multi_storage.storages.pg.storage=jdbc
scalar.db.multi_storage.storages.pg.contact_points=jdbc:postgresql://{SRC.upper()}.:5432/app
scalar.db.multi_storage.storages.mysql.storage=jdbc
scalar.db.multi_storage.storages.mysql.contact_points=jdbc:mysql://mysql.other.example:3306/app?useSSL=true
scalar.db.multi_storage.storages.cassandra.storage=cassandra
scalar.db.multi_storage.storages.cassandra.contact_points=cass1,cass2
scalar.db.multi_storage.default_storage=pg
"""


def _status(properties: str, product: str = "ledger") -> dict[str, Any]:
    chart, key, props_key = {"ledger": ("scalardl-4.12.0", "ledger", "ledgerProperties"),
                             "auditor": ("scalardl-audit-2.12.0", "auditor", "auditorProperties")}[product]
    return {"chart": chart, "release_values": {key: {"replicaCount": 2, props_key: properties, "secretName": "creds"}}}


def _switch(properties: str, endpoint: dict[str, Any] | None, action: str = "switch", **switch: Any) -> dict[str, Any]:
    (step,) = plan(action, [LEDGER], [_status(properties)], [None], switch=dict(switch, endpoint_switch=endpoint))
    return step


def _new_properties(step: dict[str, Any]) -> str:
    return step["upgrade_values"]["ledger"]["ledgerProperties"]


def test_switch_repoints_the_host_and_keeps_the_database_and_parameters() -> None:
    step = _switch(PROPS, TARGET)
    new_url = f"jdbc:postgresql://{NEW}:5432/ledger?sslmode=require&socketTimeout=30"
    assert _new_properties(step) == PROPS.replace(f"jdbc:postgresql://{SRC}:5432/ledger?sslmode=require&socketTimeout=30", new_url)
    assert step["endpoint_keys"] == ["scalar.db.contact_points"]
    assert step["change_lines"] == [f"~ scalar.db.contact_points: jdbc:postgresql://{SRC}:5432/ledger?sslmode=require"
                                    f"&socketTimeout=30 -> {new_url}"]
    # a re-run against the switched release changes nothing
    again = _switch(_new_properties(step), TARGET)
    assert (again["upgrade_values"], again["changes"], again["endpoint_keys"]) == (None, [], ["scalar.db.contact_points"])
    assert again["endpoint_lines"] == [f"= scalar.db.contact_points: {new_url} (already at {NEW})"]


def test_to_port_replaces_the_port_and_is_only_added_when_not_the_default() -> None:
    step = _switch(PROPS, dict(TARGET, to_port="6432"))
    assert f"jdbc:postgresql://{NEW}:6432/ledger?sslmode=require" in _new_properties(step)
    no_port = PROPS.replace(f"{SRC}:5432", SRC)
    assert f"//{NEW}/ledger?" in _new_properties(_switch(no_port, TARGET))
    assert f"//{NEW}:6432/ledger?" in _new_properties(_switch(no_port, dict(TARGET, to_port=6432)))
    # already at the target host but on another port: not yet switched
    moved = _switch(PROPS.replace(SRC, NEW), dict(TARGET, to_port=6432))
    assert f"//{NEW}:6432/ledger?" in _new_properties(moved)


def test_multi_storage_switches_only_the_storage_at_the_source() -> None:
    step = _switch(MULTI, TARGET)
    after = PropertiesDocument(_new_properties(step)).as_dict()
    assert after["scalar.db.multi_storage.storages.pg.contact_points"] == f"jdbc:postgresql://{NEW}:5432/app"
    before = PropertiesDocument(MULTI).as_dict()
    assert {k: v for k, v in after.items() if k != "scalar.db.multi_storage.storages.pg.contact_points"} == {
        k: v for k, v in before.items() if k != "scalar.db.multi_storage.storages.pg.contact_points"}
    assert step["endpoint_keys"] == ["scalar.db.multi_storage.storages.pg.contact_points"]


def test_a_url_that_cannot_be_parsed_is_left_alone_only_when_it_does_not_mention_the_source() -> None:
    other_cluster = MULTI.replace("jdbc:mysql://mysql.other.example:3306", "jdbc:mysql://m1.other:3306,m2.other:3306")
    step = _switch(other_cluster, TARGET)
    assert "jdbc:mysql://m1.other:3306,m2.other:3306/app?useSSL=true" in _new_properties(step)
    with_source = MULTI.replace("jdbc:mysql://mysql.other.example:3306", f"jdbc:mysql://{SRC}:3306,m2.other:3306")
    with pytest.raises(WorkloadPlanError, match="scalar.db.multi_storage.storages.mysql.contact_points: .* it names several hosts"):
        _switch(with_source, TARGET)


def test_properties_set_applies_together_with_the_endpoint_switch() -> None:
    step = _switch(PROPS, TARGET, properties_set={"scalar.db.jdbc.connection_pool.max_total": 50})
    props = PropertiesDocument(_new_properties(step)).as_dict()
    assert props["scalar.db.contact_points"].startswith(f"jdbc:postgresql://{NEW}:5432/ledger?")
    assert props["scalar.db.jdbc.connection_pool.max_total"] == "50"
    agreeing = _switch(PROPS, TARGET, properties_set={"scalar.db.contact_points": props["scalar.db.contact_points"]})
    assert _new_properties(agreeing) == _new_properties(_switch(PROPS, TARGET))
    with pytest.raises(WorkloadPlanError, match="scalar.db.contact_points is set to jdbc:postgresql://elsewhere/x in the "
                                                "properties to set but the endpoint switch re-points it to"):
        _switch(PROPS, TARGET, properties_set={"scalar.db.contact_points": "jdbc:postgresql://elsewhere/x"})


def test_a_release_at_another_database_is_refused_naming_the_url_masked() -> None:
    other = PROPS.replace(f"{SRC}:5432/ledger?sslmode=require", "other:5432/ledger?sslmode=require&password=hunter2")
    for action, endpoint in (("switch", TARGET), ("switch", SOURCE), ("check", SOURCE), ("check", TARGET)):
        with pytest.raises(WorkloadPlanError) as err:
            _switch(other, endpoint, action)
        message = str(err.value)
        assert message.startswith(
            "release 'ledger' in namespace 'ns': scalar.db.contact_points is jdbc:postgresql://other:5432/ledger"
            f"?sslmode=require&password=********&socketTimeout=30, which does not point at RDS instance scalardb-pg ({SRC})")
        assert "hunter2" not in message
        assert (f"nor at {NEW}" in message) == ("to_host" in endpoint)


def test_every_release_at_the_wrong_database_is_reported_at_once() -> None:
    other = MULTI.replace(SRC.upper() + ".", "pg.other.example")
    with pytest.raises(WorkloadPlanError) as err:
        plan("check", [LEDGER, AUDITOR], [_status(other), _status("scalar.db.contact_points=https://cosmos:443/", "auditor")],
             [None, None], switch={"endpoint_switch": SOURCE})
    message = str(err.value)
    assert ("release 'ledger' in namespace 'ns': scalar.db.multi_storage.storages.pg.contact_points is "
            "jdbc:postgresql://pg.other.example:5432/app, scalar.db.multi_storage.storages.mysql.contact_points is "
            "jdbc:mysql://mysql.other.example:3306/app?useSSL=true, none of which points at RDS instance scalardb-pg") in message
    assert ("release 'auditor' in namespace 'ns': scalar.db.contact_points is https://cosmos:443/, "
            "not a JDBC URL (jdbc:...)") in message


@pytest.mark.parametrize("properties, expected", [
    ("scalar.db.storage=dynamo\nscalar.db.contact_points=ap-northeast-1\n", "scalar.db.contact_points is ap-northeast-1, not a JDBC URL"),
    ("scalar.db.storage=jdbc\n", "it sets no scalar.db.contact_points, not a JDBC URL"),
    ("scalar.db.contact_points=${env:DB_URL}\n", "scalar.db.contact_points is ${env:DB_URL}, not a JDBC URL"),
    ("scalar.db.contact_points=mongodb://u:pw@h/?password=hunter2\n", "is mongodb://u:pw@h/?password=********, not a JDBC URL"),
])
def test_no_jdbc_contact_points_is_an_error_saying_what_was_found(properties: str, expected: str) -> None:
    with pytest.raises(WorkloadPlanError, match="re-pointed from RDS instance scalardb-pg") as err:
        _switch(properties, TARGET)
    assert expected in str(err.value)
    assert "hunter2" not in str(err.value)


def test_an_unsupported_url_at_the_source_fails_in_the_check() -> None:
    descriptor = "scalar.db.contact_points=jdbc:oracle:thin:@(DESCRIPTION=(ADDRESS=(HOST=%s)(PORT=1521)))\n" % SRC
    with pytest.raises(WorkloadPlanError, match="Oracle connect descriptor"):
        _switch(descriptor, SOURCE, "check")


def test_without_a_target_a_switch_only_checks() -> None:
    step = _switch(PROPS, SOURCE)
    assert (step["upgrade_values"], step["changes"], step["endpoint_keys"]) == (None, [], ["scalar.db.contact_points"])


def test_check_validates_and_previews_and_still_plans_the_stop() -> None:
    step = _switch(PROPS, SOURCE, "check")
    assert (step["scale_to"], step["record"]) == (0, 2)
    assert step["endpoint_lines"] == [
        f"? scalar.db.contact_points: jdbc:postgresql://{SRC}:5432/ledger?sslmode=require&socketTimeout=30 points at "
        "RDS instance scalardb-pg; switched once the restored database exists"]
    preview = _switch(PROPS, TARGET, "check")
    assert preview["endpoint_lines"] == [
        f"~ scalar.db.contact_points: jdbc:postgresql://{SRC}:5432/ledger?sslmode=require&socketTimeout=30 -> "
        f"jdbc:postgresql://{NEW}:5432/ledger?sslmode=require&socketTimeout=30"]
    assert preview["upgrade_values"] == {"ledger": {"replicaCount": 0}}  # the stop's, not the switch's
    assert "endpoint_lines" not in _switch(PROPS, None, "stop")


def test_check_reports_the_stop_problem_and_the_endpoint_problem_together() -> None:
    status = _status(PROPS.replace(SRC, "other"))
    status["release_values"]["ledger"]["replicaCount"] = 0
    with pytest.raises(WorkloadPlanError) as err:
        plan("check", [LEDGER], [status], [None], switch={"endpoint_switch": SOURCE})
    assert "no replica count was recorded" in str(err.value)
    assert "which does not point at RDS instance scalardb-pg" in str(err.value)


def test_credentials_in_urls_are_masked_in_every_line_shown() -> None:
    literal = PROPS.replace("?sslmode=require", "?sslmode=require&password=hunter2")
    step = _switch(literal, TARGET)
    shown = repr((step["change_lines"], step["changes"], step["endpoint_lines"], step["summary"]))
    assert "hunter2" not in shown
    assert "password=********" in step["change_lines"][0]
    assert "password=hunter2" in _new_properties(step)  # the real value still goes to helm
    mysql = _switch(f"scalar.db.contact_points=jdbc:mysql://scalar:hunter2@{SRC}:3306/db\n", TARGET)
    assert mysql["change_lines"] == [f"~ scalar.db.contact_points: jdbc:mysql://scalar:********@{SRC}:3306/db -> "
                                     f"jdbc:mysql://scalar:********@{NEW}:5432/db"]
    plain = _switch(PROPS, None, properties_set={"scalar.db.contact_points": "jdbc:mysql://h/db?password=hunter2&a=b"})
    assert plain["change_lines"][0].endswith("-> jdbc:mysql://h/db?password=********&a=b")


@pytest.mark.parametrize("endpoint, message", [
    ({"from_hosts": SRC}, "from_hosts must be a non-empty list"),
    ({"from_hosts": []}, "from_hosts must be a non-empty list"),
    ({"to_host": NEW}, "from_hosts must be a non-empty list"),
    ({"from_hosts": [SRC], "to_hots": NEW}, "unknown key(s) to_hots"),
    ({"from_hosts": [f"{SRC}/db"]}, "is not a host name"),
    ({"from_hosts": [SRC], "to_host": "new host"}, "'new host' is not a host name"),
    ({"from_hosts": [SRC], "to_host": NEW, "to_port": "x"}, "port 'x' is not a TCP port"),
    (["a"], "must be a dict"),
    ({"from_hosts": [SRC], "scheme": "ftp"}, "scheme is 'ftp'; expected one of jdbc, https"),
    ({"from_hosts": [SRC], "scheme": "https", "to_host": NEW}, "with scheme https the switch only checks"),
])
def test_a_bad_endpoint_switch_is_one_problem(endpoint: Any, message: str) -> None:
    with pytest.raises(WorkloadPlanError) as err:
        plan("check", [LEDGER, AUDITOR], [_status(PROPS), _status(PROPS, "auditor")], [None, None],
             switch={"endpoint_switch": endpoint})
    assert str(err.value).startswith("scalar_workloads_endpoint_switch")
    assert message in str(err.value)


def test_check_endpoint_switch_normalises() -> None:
    assert check_endpoint_switch({}) is None
    assert check_endpoint_switch({"from_hosts": [f" {SRC} "], "to_host": "[fd00::1]", "to_port": "5433"}) == {
        "from_hosts": [SRC], "to_host": "fd00::1", "to_port": 5433, "source": "the source database", "scheme": "jdbc"}
    # to_port alone does not make a target
    assert check_endpoint_switch({"from_hosts": [SRC], "to_host": "", "to_port": 5432})["to_host"] is None


def test_the_filter_passes_the_endpoint_switch_and_fails_with_the_message() -> None:
    helm = [{"status": _status(PROPS)}]
    steps = scalar_workloads_plan([LEDGER], "switch", helm, [{"resources": []}], {}, {"endpoint_switch": TARGET})
    assert f"//{NEW}:5432/ledger" in steps[0]["upgrade_values"]["ledger"]["ledgerProperties"]
    assert scalar_workloads_plan([LEDGER], "stop", helm, [{"resources": []}], {}, {"endpoint_switch": TARGET})[0][
        "endpoint_lines"] == []
    with pytest.raises(AnsibleFilterError, match="which does not point at the source database"):
        scalar_workloads_plan([LEDGER], "check", helm, [{"resources": []}], {}, {"endpoint_switch": {"from_hosts": ["x.example"]}})


# --- scheme https: a Cosmos DB account's document endpoint, only checked ---------------------------------------------
COSMOS_SRC = "scalardb.documents.azure.com"
COSMOS = {"from_hosts": [COSMOS_SRC], "source": "Cosmos DB account scalardb", "scheme": "https"}


def _cosmos(contact_points: str) -> str:
    return f"scalar.db.storage=cosmos\nscalar.db.contact_points={contact_points}\nscalar.db.password=${{env:COSMOS_KEY}}\n"


@pytest.mark.parametrize("url", [
    f"https://{COSMOS_SRC}:443/",
    f"https://{COSMOS_SRC.upper()}:443/",
    f"https://{COSMOS_SRC}",
    f"https://{COSMOS_SRC}/",
    f"HTTPS://{COSMOS_SRC}.:443",
    "https://Scalardb.Documents.Azure.com:8081/",
])
def test_https_contact_points_at_the_source_pass_whatever_their_case_slash_or_port(url: str) -> None:
    step = _switch(_cosmos(url), COSMOS, action="check")
    assert step["endpoint_keys"] == ["scalar.db.contact_points"]
    assert step["endpoint_lines"] == [f"? scalar.db.contact_points: {url} points at Cosmos DB account scalardb; "
                                      f"switched once the restored database exists"]


def test_https_contact_points_at_another_account_are_refused_naming_the_url_and_the_source() -> None:
    other = "https://other-account.documents.azure.com:443/"
    for action in ("check", "switch"):
        with pytest.raises(WorkloadPlanError) as err:
            _switch(_cosmos(other), COSMOS, action=action)
        assert str(err.value) == (
            f"release 'ledger' in namespace 'ns': scalar.db.contact_points is {other}, which does not point at "
            f"Cosmos DB account scalardb ({COSMOS_SRC}); check that the release uses this database, or correct the source hosts")


@pytest.mark.parametrize("contact_points, expected", [
    ("scalardb.documents.azure.com", "scalar.db.contact_points is scalardb.documents.azure.com, not an https URL"),
    (f"jdbc:postgresql://{COSMOS_SRC}/db", "not an https URL (https://host[:port]/), so it cannot be checked against "
                                           f"Cosmos DB account scalardb ({COSMOS_SRC})"),
])
def test_contact_points_that_are_not_https_urls_are_an_error_with_scheme_https(contact_points: str, expected: str) -> None:
    with pytest.raises(WorkloadPlanError) as err:
        _switch(_cosmos(contact_points), COSMOS, action="check")
    assert expected in str(err.value)


@pytest.mark.parametrize("url, message", [
    (f"https://{COSMOS_SRC}:abc/", "not a valid https URL"),
    ("https:///path", "the URL names no host"),
    ("https://${env:COSMOS_HOST}/", "the host is a ${...} placeholder"),
    ("https://bad_host!/", "is not a host name"),
])
def test_an_https_url_without_a_usable_host_is_an_error(url: str, message: str) -> None:
    with pytest.raises(WorkloadPlanError, match="release 'ledger'") as err:
        _switch(_cosmos(url), COSMOS, action="check")
    assert message in str(err.value)


def test_a_switch_with_scheme_https_checks_and_sets_the_endpoint_through_properties_set() -> None:
    new = "https://scalardb-pitr-20261121093005.documents.azure.com:443/"
    step = _switch(_cosmos(f"https://{COSMOS_SRC}:443/"), COSMOS, properties_set={"scalar.db.contact_points": new},
                   secret_properties={"scalar.db.password": "the-key"})
    assert f"scalar.db.contact_points={new}" in _new_properties(step)
    assert step["secret_data"] == {"COSMOS_KEY": "the-key"}
    assert "the-key" not in str(step["upgrade_values"])
    # a re-run after the switch: the restored account is one of the hosts the check accepts
    again = _switch(_new_properties(step), dict(COSMOS, from_hosts=[COSMOS_SRC, "scalardb-pitr-20261121093005.documents.azure.com"]),
                    properties_set={"scalar.db.contact_points": new})
    assert again["upgrade_values"] is None


def test_the_filter_checks_https_contact_points() -> None:
    helm = [{"status": _status(_cosmos("https://elsewhere.documents.azure.com:443/"))}]
    with pytest.raises(AnsibleFilterError, match=r"https://elsewhere\.documents\.azure\.com:443/, which does not point at Cosmos DB account"):
        scalar_workloads_plan([LEDGER], "check", helm, [{"resources": []}], {}, {"endpoint_switch": COSMOS})
