"""module_utils/sql_restore_job.py and sql_restore_report.py: the restore Job's manifest, its checks, the report."""
from __future__ import annotations

import json

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.sql_restore_job import (
    RestoreJobRequest,
    compare,
    default_job_name,
    manifest,
    validate,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.sql_restore_report import build

NFS = {"nfs": {"server": "nas", "path": "/exports"}}


def request(**change: object) -> RestoreJobRequest:
    values = {"action": "restore", "engine": "postgresql", "namespace": "db", "host": "pg-rw.db.svc", "database": "app", "volume": NFS}
    values.update(change)
    return RestoreJobRequest(**values)  # type: ignore[arg-type]


def test_names_are_dns_labels_of_at_most_63_characters() -> None:
    assert default_job_name("App_DB", "restore") == "sql-restore-app-db"
    assert default_job_name("x" * 80, "check").endswith("-check") and len(default_job_name("x" * 80, "check")) == 63


def test_the_password_only_ever_appears_as_a_secret_reference() -> None:
    body = manifest(request(login_password="s3cr3t-value"))
    assert "s3cr3t-value" not in json.dumps(body)
    env = {entry["name"]: entry for entry in body["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["PGPASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": "sql-restore-app-login", "key": "password"}}
    mysql = manifest(request(engine="mariadb", password_secret={"name": "my", "key": "root-password", "user_key": "user"}))
    (container,) = mysql["spec"]["template"]["spec"]["containers"]
    env = {entry["name"]: entry for entry in container["env"]}
    assert container["image"] == "mariadb:11" and env["ENGINE"]["value"] == "mysql" and env["DB_PORT"]["value"] == "3306"
    assert env["DB_PASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": "my", "key": "root-password"}}
    assert env["DB_USER"]["valueFrom"] == {"secretKeyRef": {"name": "my", "key": "user"}}


@pytest.mark.parametrize(("change", "message"), [
    ({"engine": "sqlite"}, "restored with the sql_dump module"),
    ({"volume": {}}, "one Kubernetes volume source"),
    ({"volume": {"nfs": {}, "persistentVolumeClaim": {}}}, "one Kubernetes volume source"),
    ({"dump_file": "../etc/passwd"}, "inside the dump volume"),
    ({"login_password": "p", "password_secret": {"name": "s"}}, "not both"),
    ({"job_name": "Bad_Name"}, "not a valid Job name"),
])
def test_what_cannot_work_is_refused_before_anything_is_created(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate(request(**change))


def test_compare_lists_only_the_tables_that_differ() -> None:
    assert compare({"a": 1, "b": 2}, {"a": 1, "b": 3}) == {"b": [2, 3]}
    assert compare({"a": 1}, {}) == {"a": [1, None]}
    assert compare(None, {"a": 1}) == {} and compare({"a": 1}, None) == {}


def test_the_report_of_a_failed_job_restore_keeps_its_log_and_copies_no_unknown_field() -> None:
    outcome = {"failed": True, "msg": "boom", "job_name": "sql-restore-app", "namespace": "db", "image": "postgres:17", "status": "failed",
               "log_tail": "psql: error", "invocation": {"module_args": {"login_password": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}}}
    report = build({"via": "job", "engine": "postgresql", "database": "app", "host": "pg", "port": 0, "failure": "boom",
                    "failed_phase": "restore", "checked": {"skipped": True}, "outcome": outcome, "stopped_at": "t1", "stopped_epoch": 5.0})
    assert (report["status"], report["endpoint"], report["check_job"]) == ("failed", "pg:5432", None)
    assert report["job"]["log_tail"] == "psql: error" and "invocation" not in json.dumps(report)
    assert report["downtime"] == {"stopped_at": "t1", "started_at": None, "seconds": None}
