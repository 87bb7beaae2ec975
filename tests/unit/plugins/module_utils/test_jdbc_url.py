"""Unit tests of the JDBC URL host/port rewriting behind the endpoint switch."""
from __future__ import annotations

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.jdbc_url import (
    JdbcUrl,
    JdbcUrlError,
    check_endpoint,
    host_of,
    mask_url,
    parse,
    points_at,
    rewrite,
    same_host,
)

# url, expected parse, the URL pointed at new.example:6000
FORMS = [
    ("jdbc:postgresql://src.x.rds.amazonaws.com:5432/scalardb?sslmode=require&connectTimeout=10",
     JdbcUrl("jdbc:postgresql://", "src.x.rds.amazonaws.com", 5432, "/scalardb?sslmode=require&connectTimeout=10", "postgresql"),
     "jdbc:postgresql://new.example:6000/scalardb?sslmode=require&connectTimeout=10"),
    ("jdbc:postgresql://src/scalardb",
     JdbcUrl("jdbc:postgresql://", "src", None, "/scalardb", "postgresql"),
     "jdbc:postgresql://new.example:6000/scalardb"),
    ("jdbc:postgresql://src:5432/",
     JdbcUrl("jdbc:postgresql://", "src", 5432, "/", "postgresql"),
     "jdbc:postgresql://new.example:6000/"),
    ("jdbc:mysql://src:3306/?useSSL=false&allowPublicKeyRetrieval=true",
     JdbcUrl("jdbc:mysql://", "src", 3306, "/?useSSL=false&allowPublicKeyRetrieval=true", "mysql"),
     "jdbc:mysql://new.example:6000/?useSSL=false&allowPublicKeyRetrieval=true"),
    ("jdbc:mysql://scalar:pw@src:3306/db",
     JdbcUrl("jdbc:mysql://scalar:pw@", "src", 3306, "/db", "mysql"),
     "jdbc:mysql://scalar:pw@new.example:6000/db"),
    ("jdbc:mysql:loadbalance://src:3306/db",
     JdbcUrl("jdbc:mysql:loadbalance://", "src", 3306, "/db", "mysql"),
     "jdbc:mysql:loadbalance://new.example:6000/db"),
    ("jdbc:mariadb://src:3306/db?sslMode=verify-full",
     JdbcUrl("jdbc:mariadb://", "src", 3306, "/db?sslMode=verify-full", "mariadb"),
     "jdbc:mariadb://new.example:6000/db?sslMode=verify-full"),
    ("jdbc:aws-wrapper:postgresql://src.cluster-abc.eu-west-1.rds.amazonaws.com:5432/db?wrapperPlugins=failover,efm2",
     JdbcUrl("jdbc:aws-wrapper:postgresql://", "src.cluster-abc.eu-west-1.rds.amazonaws.com", 5432,
             "/db?wrapperPlugins=failover,efm2", "postgresql"),
     "jdbc:aws-wrapper:postgresql://new.example:6000/db?wrapperPlugins=failover,efm2"),
    ("jdbc:aws-wrapper:mysql://src:3306/db",
     JdbcUrl("jdbc:aws-wrapper:mysql://", "src", 3306, "/db", "mysql"),
     "jdbc:aws-wrapper:mysql://new.example:6000/db"),
    ("jdbc:sqlserver://src:1433;databaseName=scalardb;encrypt=true;trustServerCertificate=false",
     JdbcUrl("jdbc:sqlserver://", "src", 1433, ";databaseName=scalardb;encrypt=true;trustServerCertificate=false", "sqlserver"),
     "jdbc:sqlserver://new.example:6000;databaseName=scalardb;encrypt=true;trustServerCertificate=false"),
    ("jdbc:sqlserver://src;databaseName=x",
     JdbcUrl("jdbc:sqlserver://", "src", None, ";databaseName=x", "sqlserver"),
     "jdbc:sqlserver://new.example:6000;databaseName=x"),
    ("jdbc:sqlserver://src",
     JdbcUrl("jdbc:sqlserver://", "src", None, "", "sqlserver"),
     "jdbc:sqlserver://new.example:6000"),
    ("jdbc:oracle:thin:@src:1521/ORCLPDB1",
     JdbcUrl("jdbc:oracle:thin:@", "src", 1521, "/ORCLPDB1", "oracle"),
     "jdbc:oracle:thin:@new.example:6000/ORCLPDB1"),
    ("jdbc:oracle:thin:@//src:1521/ORCLPDB1",
     JdbcUrl("jdbc:oracle:thin:@//", "src", 1521, "/ORCLPDB1", "oracle"),
     "jdbc:oracle:thin:@//new.example:6000/ORCLPDB1"),
    ("jdbc:oracle:thin:@//src/ORCLPDB1",
     JdbcUrl("jdbc:oracle:thin:@//", "src", None, "/ORCLPDB1", "oracle"),
     "jdbc:oracle:thin:@//new.example:6000/ORCLPDB1"),
    ("jdbc:oracle:thin:@src:1521:ORCL",
     JdbcUrl("jdbc:oracle:thin:@", "src", 1521, ":ORCL", "oracle"),
     "jdbc:oracle:thin:@new.example:6000:ORCL"),
    ("jdbc:oracle:thin:scott/tiger@src:1521/svc",
     JdbcUrl("jdbc:oracle:thin:scott/tiger@", "src", 1521, "/svc", "oracle"),
     "jdbc:oracle:thin:scott/tiger@new.example:6000/svc"),
    ("jdbc:oracle:thin:@tcps://src:2484/svc?TNS_ADMIN=/opt/wallet",
     JdbcUrl("jdbc:oracle:thin:@tcps://", "src", 2484, "/svc?TNS_ADMIN=/opt/wallet", "oracle"),
     "jdbc:oracle:thin:@tcps://new.example:6000/svc?TNS_ADMIN=/opt/wallet"),
    ("jdbc:postgresql://[::1]:5432/db",
     JdbcUrl("jdbc:postgresql://", "::1", 5432, "/db", "postgresql"),
     "jdbc:postgresql://new.example:6000/db"),
    ("jdbc:db2://src:50000/SCALAR:sslConnection=true;",
     JdbcUrl("jdbc:db2://", "src", 50000, "/SCALAR:sslConnection=true;", "db2"),
     "jdbc:db2://new.example:6000/SCALAR:sslConnection=true;"),
]


@pytest.mark.parametrize("url, expected, moved", FORMS, ids=[form[0][:40] for form in FORMS])
def test_every_supported_form_parses_and_round_trips(url: str, expected: JdbcUrl, moved: str) -> None:
    parsed = parse(url)
    assert parsed == expected
    assert parsed.url == url  # nothing re-encoded
    assert host_of(url) == expected.host
    assert rewrite(url, "new.example", 6000) == moved
    # without a port, the URL keeps relying on the driver's default when moved to that default
    assert rewrite(url, "new.example", expected.port or expected.default_port) == moved.replace(
        ":6000", f":{expected.port}" if expected.port else "")
    if expected.port:
        assert rewrite(moved, expected.host, expected.port) == url  # and back, byte for byte


@pytest.mark.parametrize("url, port, expected", [
    # a port in the URL is replaced, or kept when none is given
    ("jdbc:postgresql://src:5432/db?sslmode=require", None, "jdbc:postgresql://new:5432/db?sslmode=require"),
    ("jdbc:postgresql://src:5432/db", 5433, "jdbc:postgresql://new:5433/db"),
    ("jdbc:postgresql://src:5432/db", "5433", "jdbc:postgresql://new:5433/db"),
    # no port in the URL: added only when it differs from the driver's default
    ("jdbc:postgresql://src/db", 5432, "jdbc:postgresql://new/db"),
    ("jdbc:postgresql://src/db", 5433, "jdbc:postgresql://new:5433/db"),
    ("jdbc:mysql://src/db", 3306, "jdbc:mysql://new/db"),
    ("jdbc:mariadb://src/db", 3306, "jdbc:mariadb://new/db"),
    ("jdbc:sqlserver://src;databaseName=x", 1433, "jdbc:sqlserver://new;databaseName=x"),
    ("jdbc:sqlserver://src;databaseName=x", 14330, "jdbc:sqlserver://new:14330;databaseName=x"),
    ("jdbc:oracle:thin:@//src/svc", 1521, "jdbc:oracle:thin:@//new/svc"),
    ("jdbc:aws-wrapper:postgresql://src/db", 5432, "jdbc:aws-wrapper:postgresql://new/db"),
    ("jdbc:mysql://src/db", 5432, "jdbc:mysql://new:5432/db"),
])
def test_port_rules(url: str, port: int | str | None, expected: str) -> None:
    assert rewrite(url, "new", port) == expected


def test_ipv6_targets_are_bracketed_and_compared_without_brackets() -> None:
    assert rewrite("jdbc:postgresql://src:5432/db", "fd00::5", None) == "jdbc:postgresql://[fd00::5]:5432/db"
    assert rewrite("jdbc:postgresql://src:5432/db", "[fd00::5]", 6432) == "jdbc:postgresql://[fd00::5]:6432/db"
    assert points_at("jdbc:postgresql://[FD00::5]:5432/db", ["[fd00::5]"])


def test_hosts_compare_case_insensitively_without_a_trailing_dot() -> None:
    assert same_host("SRC.X.rds.amazonaws.com.", "src.x.RDS.amazonaws.com")
    assert not same_host("src.x.rds.amazonaws.com", "src.x.rds.amazonaws.co")
    assert points_at("jdbc:mysql://Src.Example.:3306/db", ["other", "src.example"])
    assert not points_at("jdbc:mysql://src.example.org:3306/db", ["src.example"])


@pytest.mark.parametrize("url, message", [
    ("jdbc:postgresql://h1:5432,h2:5432/db?password=hunter2", "it names several hosts"),
    ("jdbc:mysql://h1,h2/db", "it names several hosts"),
    ("jdbc:mysql://(host=h,port=3306)/db", "key=value lists"),
    ("jdbc:mysql://address=(host=h)(port=3306)/db", "key=value lists"),
    ("jdbc:mysql+srv://_mysql._tcp.example/db", "DNS SRV"),
    ("jdbc:oracle:thin:@(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=h)(PORT=1521))(CONNECT_DATA=(SERVICE_NAME=s)))",
     "Oracle connect descriptor (DESCRIPTION=...) is not supported"),
    ("jdbc:oracle:thin:@h1,h2:1521/svc", "it names several hosts"),
    ("jdbc:oracle:thin:@orcl_alias", "'orcl_alias' is a TNS alias"),
    ("jdbc:oracle:thin:@h:ORCL", "names a SID without a port"),
    ("jdbc:sqlserver://h\\SQLEXPRESS;databaseName=x", "SQL Server instance"),
    ("jdbc:sqlserver://;serverName=h;databaseName=x", "sets the server, port or instance as a property"),
    ("jdbc:sqlserver://h;portNumber=1444", "sets the server, port or instance as a property"),
    ("jdbc:postgresql://${env:DB_HOST}:5432/db", "${...} placeholder"),
    ("jdbc:postgresql:scalardb", "names no host"),
    ("jdbc:postgresql:///scalardb", "names no host"),
    ("jdbc:postgresql://h:99999/db", "port '99999' is not a TCP port"),
    ("jdbc:postgresql://h:/db", "port '' is not a TCP port"),
    ("jdbc:postgresql://[::1/db", "no closing ']'"),
    ("jdbc:postgresql://bad host/db", "'bad host' is not a host name"),
    ("jdbc:sqlite:/var/scalar.db", "not a supported JDBC URL"),
    ("jdbc:oracle:oci:@h:1521/svc", "not a supported JDBC URL"),
    ("https://cosmos.example:443/", "is not a JDBC URL"),
])
def test_unsupported_forms_name_the_url(url: str, message: str) -> None:
    with pytest.raises(JdbcUrlError) as err:
        parse(url)
    assert message in str(err.value)
    assert mask_url(url) in str(err.value)
    assert "hunter2" not in str(err.value)


def test_credentials_in_errors_are_masked() -> None:
    with pytest.raises(JdbcUrlError) as err:
        parse("jdbc:mysql://scalar:s3cr3t@h1,h2/db?user=u&password=hunter2&ssl=true")
    assert str(err.value).startswith("jdbc:mysql://scalar:********@h1,h2/db?user=u&password=********&ssl=true: ")


@pytest.mark.parametrize("url, masked", [
    ("jdbc:postgresql://secret-db.example:5432/db?user=u&password=hunter2&sslmode=require",
     "jdbc:postgresql://secret-db.example:5432/db?user=u&password=********&sslmode=require"),
    ("jdbc:sqlserver://h:1433;databaseName=x;password=hunter2;encrypt=true",
     "jdbc:sqlserver://h:1433;databaseName=x;password=********;encrypt=true"),
    ("jdbc:sqlserver://h;password={hun;ter}}2};encrypt=true", "jdbc:sqlserver://h;password=********;encrypt=true"),
    ("jdbc:mysql://scalar:hunter2@h:3306/db", "jdbc:mysql://scalar:********@h:3306/db"),
    ("jdbc:oracle:thin:scott/hunter2@//h:1521/svc", "jdbc:oracle:thin:scott/********@//h:1521/svc"),
    ("jdbc:postgresql://h/db?sslpassword=hunter2", "jdbc:postgresql://h/db?sslpassword=********"),
    ("jdbc:postgresql://h/db?password=${env:DB_PASSWORD}", "jdbc:postgresql://h/db?password=${env:DB_PASSWORD}"),
    ("jdbc:postgresql://h:5432/db", "jdbc:postgresql://h:5432/db"),
    ("password=hunter2", "password=********"),
    (None, ""),
])
def test_mask_url(url: str | None, masked: str) -> None:
    assert mask_url(url) == masked


@pytest.mark.parametrize("host, port, message", [
    ("new host", None, "'new host' is not a host name"),
    ("db/1", None, "'db/1' is not a host name"),
    (None, None, "None is not a host name"),
    ("new", 0, "port 0 is not a TCP port"),
    ("new", "abc", "port 'abc' is not a TCP port"),
    ("new", True, "port True is not a TCP port"),
])
def test_bad_targets_are_refused(host: object, port: object, message: str) -> None:
    with pytest.raises(JdbcUrlError, match="^.*" + message.replace("(", r"\(")):
        check_endpoint(host, port)
    if isinstance(host, str):
        with pytest.raises(JdbcUrlError, match=message):
            rewrite("jdbc:postgresql://src:5432/db", host, port)
