"""playbooks/backup_sql_dump.yml and restore_cnpg_sql_dump.yml end to end: the real ansible-playbook against real
PostgreSQL and MariaDB servers (tests/fixtures/sql_servers.py), SQLite files and the Kubernetes fixture.

Each engine: a database with counter columns is backed up into the dated layout, damaged, and restored with the
application Deployment (pods kept by the emulator) stopped - read back through the database's own client and the
Kubernetes API: rows equal to before, every counter at MAX (the highest row was deleted before the dump, so only the
reset puts the counter there), the Deployment at 0 replicas and no pods for the whole restore phase and back at its
count afterwards. Bad input (no dump, a non-empty database without sql_restore_clean) fails before anything changes -
the application keeps running. The Job way: the manifest the playbook creates (image, command, secretKeyRef, read-only
volume, backoffLimit) is read back, its script is run for real against the database (the emulator runs no containers),
and a failing Job fails the play with its log while the application stays stopped. The database password - full of
quoting characters - never shows in any output or report.
"""
from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from playbook_scene import Run, moment

from ansible_collections.scalarops.pitr.plugins.module_utils.sql_restore_job_script import parse_log
from fixtures.common import REPO_ROOT, VENV_BIN
from fixtures.kube import KubeTarget
from fixtures.sql_servers import MariaDBServer, PostgresServer

pytestmark = [pytest.mark.slow]

RESTORE = REPO_ROOT / "playbooks" / "restore_cnpg_sql_dump.yml"
BACKUP = REPO_ROOT / "playbooks" / "backup_sql_dump.yml"
ANNOTATION = "scalarops.pitr/replicas-before-stop"
APP = "shop-web"
APP_REPLICAS = 2

PG_SCHEMA = """
CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, note text);
CREATE SCHEMA inv;
CREATE TABLE inv.stock (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, item_id int REFERENCES items(id), qty int);
INSERT INTO items (name, note) SELECT 'item ' || g, CASE WHEN g % 3 = 0 THEN E'tab\\there ''quoted''' END FROM generate_series(1, 40) g;
INSERT INTO inv.stock (item_id, qty) SELECT g, g * 10 FROM generate_series(1, 25) g;
-- the highest rows go: each sequence is now above its column's MAX, and the dump records that value
DELETE FROM inv.stock WHERE id = 25; DELETE FROM items WHERE id = 40;
"""
PG_DAMAGE = "DELETE FROM items WHERE id > 30 AND id NOT IN (SELECT item_id FROM inv.stock); UPDATE items SET name = 'changed' WHERE id < 5; " \
            "DROP TABLE inv.stock; INSERT INTO items (name) VALUES ('new'), ('newer')"
PG_COUNTS = {"public.items": 39, "inv.stock": 24}

MY_SCHEMA = """
CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, note TEXT) ENGINE=InnoDB CHARSET=utf8mb4;
CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, item_id INT, qty INT) ENGINE=InnoDB;
INSERT INTO items (name, note) VALUES ('a', 'it''s; a ),( test'), ('b', NULL), ('c', 'é ü'), ('d', NULL), ('e', NULL), ('f', NULL);
INSERT INTO orders (item_id, qty) VALUES (1, 10), (2, 20), (3, 30), (1, 40), (5, 50);
DELETE FROM orders WHERE id = 5; DELETE FROM items WHERE id = 6;
"""


# --- the scene --------------------------------------------------------------------------------------


class Watcher(threading.Thread):
    """Samples the application's Deployment and pods through the Kubernetes API while a playbook runs."""

    def __init__(self, kube: KubeTarget, namespace: str) -> None:
        super().__init__(daemon=True)
        from kubernetes import client  # pylint: disable=import-outside-toplevel

        self.apps, self.core = client.AppsV1Api(kube.api_client()), client.CoreV1Api(kube.api_client())
        self.namespace = namespace
        self.samples: list[tuple[float, int, int]] = []  # (epoch, spec.replicas, pods)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            deployment = self.apps.read_namespaced_deployment(APP, self.namespace)
            pods = self.core.list_namespaced_pod(self.namespace, label_selector=f"app={APP}").items
            self.samples.append((time.time(), deployment.spec.replicas, len(pods)))
            time.sleep(0.05)

    def __enter__(self) -> Watcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.join(timeout=30)

    def during(self, phase: dict[str, str]) -> list[tuple[int, int]]:
        """(replicas, pods) of every sample taken inside a phase of the report's timeline."""
        start, end = moment(phase["started"]).timestamp(), moment(phase["ended"]).timestamp()
        return [(replicas, pods) for at, replicas, pods in self.samples if start <= at <= end]


class Scene:
    """An application Deployment with pods in a namespace, and playbook runs against it that must never show ``secrets``."""

    def __init__(self, kube: KubeTarget, namespace: str, workdir: Path, *secrets: str) -> None:
        self.kube, self.namespace, self.workdir, self.secrets = kube, namespace, workdir, secrets
        deployment = {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": APP, "namespace": namespace},
            "spec": {"replicas": APP_REPLICAS, "selector": {"matchLabels": {"app": APP}},
                     "template": {"metadata": {"labels": {"app": APP}, "annotations": {"standins.scalarops.io/pods": "true"}},
                                  "spec": {"containers": [{"name": "web", "image": "registry.example/shop:1"}]}}},
        }
        kube.kubectl("apply", "-f", "-", input_text=json.dumps(deployment))

    def apps(self) -> list[dict[str, str]]:
        return [{"kind": "Deployment", "name": APP, "namespace": self.namespace}]

    def app_state(self) -> tuple[int, int, str | None]:
        """(spec.replicas, pods, recorded count) as kubectl shows them."""
        got = json.loads(self.kube.kubectl("get", "deployment", APP, "-n", self.namespace, "-o", "json").stdout)
        pods = self.kube.kubectl("get", "pods", "-n", self.namespace, "-l", f"app={APP}", "-o", "name").stdout.split()
        return got["spec"]["replicas"], len(pods), (got["metadata"].get("annotations") or {}).get(ANNOTATION)

    def run(self, playbook: Path, extra_vars: dict[str, Any], label: str, *options: str) -> Run:
        report_dir = self.workdir / f"reports-{label}"
        key = "backup_report_dir" if playbook == BACKUP else "restore_report_dir"
        extra_vars.setdefault(key, str(report_dir))
        env = {**self.kube.env, "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false", "ANSIBLE_NOCOLOR": "1"}
        cmd = [str(VENV_BIN / "ansible-playbook"), str(playbook), "-e", json.dumps(extra_vars), *options]
        proc = subprocess.run(cmd, cwd=self.workdir, env=env, capture_output=True, text=True, timeout=400, check=False)
        run = Run(proc, report_dir, "backup-sql-dump-*" if playbook == BACKUP else "restore-sql-dump-*")
        for secret in self.secrets:
            # the whole password, and its unique start ("pw-pg-<hex>"), which would show even if its quoting were mangled
            for part in (secret, secret.split(" ")[0]):
                assert part not in run.output, f"the password shows in the output of {label}"
                for path in run.report_files():
                    assert part not in path.read_text(encoding="utf-8"), f"the password shows in {path.name}"
        return run


@pytest.fixture(name="scene_of")
def scene_of_fixture(kube: KubeTarget, kube_namespace: str, tmp_path: Path) -> Any:
    def make(*secrets: str) -> Scene:
        return Scene(kube, kube_namespace, tmp_path, *secrets)

    return make


def phases(report: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {entry["phase"]: entry for entry in report["timeline"]}


def assert_stopped_for_the_restore(watcher: Watcher, report: dict[str, Any]) -> None:
    """The application had no replica and no pod for the whole restore phase, and ran before and after."""
    timeline = phases(report)
    assert list(timeline) == ["preflight", "stop", "restore", "start"]
    during = watcher.during(timeline["restore"])
    assert during, "no sample of the application was taken during the restore"
    assert set(during) == {(0, 0)}, during
    assert watcher.during(timeline["preflight"])[0] == (APP_REPLICAS, APP_REPLICAS)
    assert report["applications"]["stopped"] == report["applications"]["started"] == [
        {"kind": "Deployment", "name": APP, "namespace": watcher.namespace, "replicas": APP_REPLICAS}]
    downtime = report["downtime"]
    assert moment(downtime["stopped_at"]) <= moment(timeline["restore"]["started"]) <= moment(timeline["restore"]["ended"]) \
        <= moment(downtime["started_at"])
    assert downtime["seconds"] > 0


def pg_state(server: PostgresServer, db: str) -> dict[str, Any]:
    rows = {}
    for table in ("items", "inv.stock"):
        exists = server.psql(f"SELECT to_regclass('{table}') IS NOT NULL", db)
        rows[table] = json.loads(server.psql(f"SELECT coalesce(json_agg(t ORDER BY 1), '[]') FROM {table} t", db)) if exists == "t" else None
    return rows


def pg_next_ids(server: PostgresServer, db: str) -> dict[str, str]:
    """MAX(id) and the value the next insert gets, per table (consumes one sequence value)."""
    return {table: server.psql(f"SELECT (SELECT max(id) FROM {table}) || '/' || nextval(pg_get_serial_sequence('{table}', 'id'))", db)
            for table in ("items", "inv.stock")}


def pg_vars(server: PostgresServer, db: str, dump_path: Path, **extra: Any) -> dict[str, Any]:
    return {"sql_engine": "postgresql", "sql_host": server.host, "sql_port": server.port, "sql_user": server.user, "sql_password": server.password,
            "sql_database": db, "sql_dump_path": str(dump_path), "app_wait_timeout": 60, **extra}


# --- PostgreSQL from the control node ---------------------------------------------------------------------


def test_postgresql_backup_damage_refused_then_clean_restore_with_the_application_stopped(
        postgres_server: PostgresServer, pg_database: str, scene_of: Any, tmp_path: Path) -> None:
    server, db = postgres_server, pg_database
    scene = scene_of(server.password)
    server.psql(PG_SCHEMA, db)
    before = pg_state(server, db)
    backups = tmp_path / "nfs" / "Database"

    backup = scene.run(BACKUP, pg_vars(server, db, backups), "backup")
    assert backup.ok, backup.tail()
    dumped = backup.report()
    dump_file = backups / "daily" / Path(dumped["file"]).name
    assert Path(dumped["file"]) == dump_file and dump_file.name.startswith(f"{db}-") and dump_file.suffix == ".sql"
    assert os.readlink(backups / "latest.sql") == f"daily/{dump_file.name}"
    assert dumped["row_counts"] == PG_COUNTS and dumped["tables"] == 2 and dumped["size"] == dump_file.stat().st_size
    assert dumped["status"] == "succeeded" and dumped["deleted"] == []
    assert "public.items: 39 rows" in backup.report_text()

    server.psql(PG_DAMAGE, db)
    damaged = pg_state(server, db)

    # not empty, no sql_restore_clean: refused in the preflight, the application never stopped
    refused = scene.run(RESTORE, pg_vars(server, db, backups, app_workloads=scene.apps()), "refused")
    assert not refused.ok
    assert f"'{db}' at {server.endpoint} is not empty" in refused.output and "nothing was changed" in refused.output
    assert "STOPPED" not in refused.output
    assert scene.app_state() == (APP_REPLICAS, APP_REPLICAS, None)
    assert pg_state(server, db) == damaged
    report = refused.report()
    assert (report["status"], report["failed_phase"], report["downtime"]["stopped_at"]) == ("failed", "preflight", None)

    with Watcher(scene.kube, scene.namespace) as watcher:
        restored = scene.run(RESTORE, pg_vars(server, db, backups, app_workloads=scene.apps(), sql_restore_clean=True), "restored", "-vvv")
    assert restored.ok, restored.tail()
    assert pg_state(server, db) == before
    assert pg_next_ids(server, db) == {"items": "39/40", "inv.stock": "24/25"}
    assert scene.app_state() == (APP_REPLICAS, APP_REPLICAS, None)

    report = restored.report()
    assert (report["status"], report["via"], report["engine"], report["database"]) == ("succeeded", "control_node", "postgresql", db)
    assert report["dump"]["path"] == str(dump_file), "the file latest.sql pointed at when the preflight checked it"
    assert (report["dump"]["picked"], report["dump"]["writer"]) == ("latest", "scalarops.pitr")
    assert report["cleaned"] is True and report["verified"] is True and report["counts_from"] == "header"
    assert report["tables"] == [{"table": "inv.stock", "rows": 24, "expected": 24}, {"table": "public.items", "rows": 39, "expected": 39}]
    assert {(entry["sequence"], entry["max"], entry["next"]) for entry in report["sequences"]} == {
        ("public.items_id_seq", 39, 40), ("inv.stock_id_seq", 24, 25)}
    assert_stopped_for_the_restore(watcher, report)
    text = restored.report_text()
    assert "SQL dump restore (postgresql, from the control node): SUCCEEDED" in text
    assert "public.items: 39 rows" in text and "public.items_id_seq: max 39, next 40" in text
    assert f"Deployment {scene.namespace}/{APP} (2 replicas)" in text
    (page,) = [path for path in restored.report_files() if path.suffix == ".html"]
    assert "SUCCEEDED" in page.read_text(encoding="utf-8") and "restore" in page.read_text(encoding="utf-8")


def test_no_dump_fails_in_the_preflight_and_nothing_changes(
        postgres_server: PostgresServer, pg_database: str, scene_of: Any, tmp_path: Path) -> None:
    server, db = postgres_server, pg_database
    scene = scene_of(server.password)
    server.psql(PG_SCHEMA, db)
    before = pg_state(server, db)
    empty = tmp_path / "Database"
    (empty / "daily").mkdir(parents=True)
    (empty / "daily" / "notes.txt").write_text("not a dump")

    run = scene.run(RESTORE, pg_vars(server, db, empty, app_workloads=scene.apps(), sql_restore_clean=True), "nodump")
    assert not run.ok
    assert f"no dump found in {empty}" in run.output and "nothing was changed" in run.output
    assert scene.app_state() == (APP_REPLICAS, APP_REPLICAS, None)
    assert pg_state(server, db) == before
    report = run.report()
    assert (report["status"], report["failed_phase"], report["applications"]["stopped"]) == ("failed", "preflight", [])
    assert "Dump: none picked (see the error)" in run.report_text()

    # a missing application is named in the preflight too, before the dump is even looked at
    ghost = [*scene.apps(), {"kind": "StatefulSet", "name": "ghost", "namespace": scene.namespace}]
    run = scene.run(RESTORE, pg_vars(server, db, empty, app_workloads=ghost, sql_restore_clean=True), "ghost")
    assert not run.ok and f"1 workload(s) not found: StatefulSet {scene.namespace}/ghost" in run.output
    assert scene.app_state() == (APP_REPLICAS, APP_REPLICAS, None)


# --- MariaDB, with retention ----------------------------------------------------------------------------------


def my_state(server: MariaDBServer, db: str) -> dict[str, Any]:
    tables = set(server.sql("SHOW FULL TABLES WHERE Table_type = 'BASE TABLE'", db).split())
    return {table: server.sql(f"SELECT * FROM `{table}` ORDER BY 1", db) if table in tables else None for table in ("items", "orders")}


def my_vars(server: MariaDBServer, db: str, dump_path: Path, **extra: Any) -> dict[str, Any]:
    return {"sql_engine": "mariadb", "sql_host": server.host, "sql_port": server.port, "sql_user": server.user, "sql_password": server.password,
            "sql_database": db, "sql_dump_path": str(dump_path), "app_wait_timeout": 60, **extra}


def test_mariadb_backup_keeps_the_newest_dumps_then_a_clean_restore_brings_every_row_back(
        mariadb_server: MariaDBServer, mariadb_database: str, scene_of: Any, tmp_path: Path) -> None:
    server, db = mariadb_server, mariadb_database
    scene = scene_of(server.password)
    server.sql(MY_SCHEMA, db)
    before = my_state(server, db)
    backups = tmp_path / "backups"
    # earlier dumps of this database, and files retention must not touch: another database's dump, other names
    daily = backups / "daily"
    daily.mkdir(parents=True)
    old = {f"{db}-20250101.sql": 300, f"{db}-20250102.sql.gz": 200, f"{db}-20250103.sql": 100}
    keep_alone = ["other-20250101.sql", f"{db}-notes.sql", f"{db}-20250101.txt"]
    for name in [*old, *keep_alone]:
        (daily / name).write_text("-- old\n")
        age = old.get(name, 400)
        os.utime(daily / name, (time.time() - age, time.time() - age))

    backup = scene.run(BACKUP, my_vars(server, db, backups, sql_backup_keep=2), "backup")
    assert backup.ok, backup.tail()
    dumped = backup.report()
    assert dumped["row_counts"] == {"items": 5, "orders": 4}
    new_dump = Path(dumped["file"]).name
    assert sorted(path.name for path in daily.iterdir()) == sorted([new_dump, f"{db}-20250103.sql", *keep_alone])
    assert sorted(Path(path).name for path in dumped["deleted"]) == [f"{db}-20250101.sql", f"{db}-20250102.sql.gz"]

    server.sql("DELETE FROM orders WHERE id > 2; UPDATE items SET name = 'changed' WHERE id = 1; DROP TABLE items", db)
    with Watcher(scene.kube, scene.namespace) as watcher:
        restored = scene.run(RESTORE, my_vars(server, db, backups, app_workloads=scene.apps(), sql_restore_clean=True), "restored")
    assert restored.ok, restored.tail()
    assert my_state(server, db) == before
    assert server.sql("SELECT MAX(id), AUTO_INCREMENT FROM items, information_schema.tables WHERE table_schema = DATABASE() "
                      "AND table_name = 'items'", db) == "5\t6"
    server.sql("INSERT INTO orders (item_id, qty) VALUES (1, 1)", db)
    assert server.sql("SELECT MAX(id) FROM orders", db) == "5", "the next order gets MAX + 1, not the dump's counter"
    assert scene.app_state() == (APP_REPLICAS, APP_REPLICAS, None)
    report = restored.report()
    assert report["status"] == "succeeded" and report["verified"] is True
    assert report["dump"]["path"] == str(daily / new_dump)
    assert {entry["table"]: (entry["max"], entry["next"]) for entry in report["sequences"]} == {"items": (5, 6), "orders": (4, 5)}
    assert_stopped_for_the_restore(watcher, report)


# --- SQLite -------------------------------------------------------------------------------------------


def test_sqlite_backup_damage_restore(scene_of: Any, tmp_path: Path) -> None:
    scene = scene_of()
    database = tmp_path / "app.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.executescript("CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT);"
                                 "INSERT INTO notes (body) VALUES ('a'), ('b'), ('c'), ('d'); DELETE FROM notes WHERE id = 4;")
    backups = tmp_path / "backups"
    variables = {"sql_engine": "sqlite", "sql_database": str(database), "sql_dump_path": str(backups)}
    backup = scene.run(BACKUP, dict(variables), "backup")
    assert backup.ok, backup.tail()
    assert backup.report()["row_counts"] == {"notes": 3} and (backups / "latest.db").is_symlink()

    with sqlite3.connect(database) as connection:
        connection.executescript("DELETE FROM notes WHERE id = 1; INSERT INTO notes (body) VALUES ('x');")
    refused = scene.run(RESTORE, dict(variables), "refused")
    assert not refused.ok and "is not empty" in refused.output

    restored = scene.run(RESTORE, {**variables, "sql_restore_clean": True}, "restored")
    assert restored.ok, restored.tail()
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT id, body FROM notes ORDER BY id").fetchall() == [(1, "a"), (2, "b"), (3, "c")]
    report = restored.report()
    assert report["tables"] == [{"table": "notes", "rows": 3, "expected": 3}] and report["downtime"]["stopped_at"] is None
    assert list(phases(report)) == ["preflight", "stop", "restore", "start"]


# --- the Job way ----------------------------------------------------------------------------------------


def job_of(scene: Scene, name: str) -> dict[str, Any] | None:
    proc = scene.kube.kubectl("get", "job", name, "-n", scene.namespace, "-o", "json", check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def secret_value(scene: Scene, name: str, key: str) -> str:
    secret = json.loads(scene.kube.kubectl("get", "secret", name, "-n", scene.namespace, "-o", "json").stdout)
    return base64.b64decode(secret["data"][key]).decode()


def run_job_script(scene: Scene, job: dict[str, Any], volume: Path, host: str, port: int, path: str) -> subprocess.CompletedProcess[str]:
    """Run the Job's container command here, as the kubelet would: its env with secretKeyRef resolved, the volume at DUMP_ROOT.

    The in-cluster service name resolves to the test server (``host``:``port``) as cluster DNS would.
    """
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {"PATH": path}
    for entry in container["env"]:
        ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
        env[entry["name"]] = secret_value(scene, ref["name"], ref["key"]) if ref else entry["value"]
    env.update({"DUMP_ROOT": str(volume), "DB_HOST": host, "DB_PORT": str(port)})
    return subprocess.run(container["command"], env=env, capture_output=True, text=True, timeout=120, check=False)


def job_vars(scene: Scene, db: str, **extra: Any) -> dict[str, Any]:
    return {"sql_engine": "postgresql", "sql_host": f"cnpg-rw.{scene.namespace}.svc", "sql_database": db, "sql_dump_path": "Database",
            "sql_restore_via": "job", "sql_restore_job_namespace": scene.namespace, "sql_restore_clean": True,
            "sql_restore_job_volume": {"nfs": {"server": "nas.example.internal", "path": "/exports/cnpg"}},
            "app_workloads": scene.apps(), "app_wait_timeout": 60, **extra}


def test_job_restore_manifest_reads_the_password_from_the_secret_and_its_script_restores_for_real(
        postgres_server: PostgresServer, pg_database: str, scene_of: Any, tmp_path: Path) -> None:
    server, db = postgres_server, pg_database
    scene = scene_of(server.password)
    # CloudNativePG's superuser Secret: user and password
    scene.kube.kubectl("create", "secret", "generic", "cnpg-superuser", "-n", scene.namespace, f"--from-literal=username={server.user}",
                       f"--from-literal=password={server.password}")
    server.psql(PG_SCHEMA, db)
    before = pg_state(server, db)
    volume = tmp_path / "nfs"
    backup = scene.run(BACKUP, pg_vars(server, db, volume / "Database"), "backup")
    assert backup.ok, backup.tail()
    dump_name = Path(backup.report()["file"]).name
    server.psql(PG_DAMAGE, db)
    # what the Job's log says (the emulator runs no container): the script's lines, as the real run below prints them
    log = "\n".join([f"SCALAROPS_PITR_DUMP Database/daily/{dump_name}", "SCALAROPS_PITR_PICKED latest", "SCALAROPS_PITR_WRITER scalarops.pitr",
                     f"SCALAROPS_PITR_EXPECTED {json.dumps(PG_COUNTS)}", "SCALAROPS_PITR_OBJECTS 3", "SCALAROPS_PITR_CLEANED true",
                     "SCALAROPS_PITR_RESTORED ok", f"SCALAROPS_PITR_ROW_COUNTS {json.dumps(PG_COUNTS)}",
                     'SCALAROPS_PITR_SEQUENCES [{"sequence": "public.items_id_seq", "table": "public.items", "column": "id", "max": 39, "next": 40}]'])

    with Watcher(scene.kube, scene.namespace) as watcher:
        run = scene.run(RESTORE, job_vars(scene, db, sql_restore_job_password_secret={"name": "cnpg-superuser", "user_key": "username"},
                                          sql_restore_job_pod_annotations={"standins.scalarops.io/log": log}), "job")
    assert run.ok, run.tail()
    job = job_of(scene, f"sql-restore-{db.replace('_', '-')}")
    assert job is not None
    assert job_of(scene, f"sql-restore-{db.replace('_', '-')}-check") is None, "the check Job that passed is deleted"
    spec = job["spec"]
    assert spec["backoffLimit"] == 0 and spec["activeDeadlineSeconds"] == 3600
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "postgres:17" and container["command"][:2] == ["/bin/sh", "-c"]
    env = {entry["name"]: entry for entry in container["env"]}
    assert env["PGPASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": "cnpg-superuser", "key": "password"}}
    assert env["DB_USER"]["valueFrom"] == {"secretKeyRef": {"name": "cnpg-superuser", "key": "username"}}
    assert env["DB_HOST"]["value"] == f"cnpg-rw.{scene.namespace}.svc" and env["DB_NAME"]["value"] == db
    assert (env["DUMP_PATH"]["value"], env["CLEAN"]["value"], env["SINGLE_TRANSACTION"]["value"]) == ("Database", "true", "true")
    assert env["DUMP_FILE"]["value"] == f"Database/daily/{dump_name}", "the restore Job takes the dump the check Job picked"
    assert server.password.split(" ")[0] not in json.dumps(job), "the password is a value in the manifest"
    assert pod["volumes"] == [{"name": "dump", "nfs": {"server": "nas.example.internal", "path": "/exports/cnpg"}}]
    assert container["volumeMounts"] == [{"name": "dump", "mountPath": "/scalarops-pitr/dump", "readOnly": True}]
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    assert scene.app_state() == (APP_REPLICAS, APP_REPLICAS, None)
    report = run.report()
    assert (report["status"], report["via"], report["dump"]["path"], report["verified"]) == ("succeeded", "job", f"Database/daily/{dump_name}", True)
    assert report["job"]["job_name"] == f"sql-restore-{db.replace('_', '-')}" and report["job"]["status"] == "succeeded"
    assert report["tables"] == [{"table": "inv.stock", "rows": 24, "expected": 24}, {"table": "public.items", "rows": 39, "expected": 39}]
    assert_stopped_for_the_restore(watcher, report)
    assert "from a Kubernetes Job" in run.report_text() and "(in the dump volume)" in run.report_text()

    # the emulator ran no container: run the Job's script for real against the database, as the pod would
    path = f"{server.bin_dir}:{os.environ['PATH']}" if server.bin_dir else os.environ["PATH"]
    done = run_job_script(scene, job, volume, server.host, server.port, path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert pg_state(server, db) == before
    assert pg_next_ids(server, db) == {"items": "39/40", "inv.stock": "24/25"}
    printed = parse_log(done.stdout)
    assert (printed["dump"], printed["picked"]) == (f"Database/daily/{dump_name}", "given")
    assert printed["row_counts"] == printed["expected"] == PG_COUNTS
    assert server.password.split(" ")[0] not in done.stdout + done.stderr


def test_a_failing_job_fails_the_play_with_its_log(postgres_server: PostgresServer, pg_database: str, scene_of: Any) -> None:
    server, db = postgres_server, pg_database
    scene = scene_of(server.password)
    failure = "psql: error: connection to server at \"cnpg-rw\" failed: FATAL:  the database system is starting up"
    variables = job_vars(scene, db, sql_user=server.user, sql_password=server.password,
                         sql_restore_job_pod_annotations={"standins.scalarops.io/fail": failure})

    # the check Job fails first: nothing stopped
    checked = scene.run(RESTORE, dict(variables), "check-fails")
    assert not checked.ok
    assert "failed in preflight" in checked.output and failure in checked.output
    assert "STOPPED" not in checked.output
    assert scene.app_state() == (APP_REPLICAS, APP_REPLICAS, None)
    check_job = job_of(scene, f"sql-restore-{db.replace('_', '-')}-check")
    assert check_job is not None, "a failed check Job stays for kubectl logs"

    # without the check, the restore Job fails after the stop: the application stays stopped and the message says so
    failed = scene.run(RESTORE, {**variables, "sql_restore_job_check": False}, "restore-fails")
    assert not failed.ok
    assert "failed in restore" in failed.output and failure in failed.output
    assert "The applications are still STOPPED" in failed.output
    assert scene.app_state() == (0, 0, str(APP_REPLICAS))
    report = failed.report()
    assert (report["status"], report["failed_phase"], report["downtime"]["started_at"]) == ("failed", "restore", None)
    assert failure in report["job"]["log_tail"]
    assert "NOT started again" in failed.report_text()

    # the password went into a Secret the Job owns and reads by secretKeyRef
    name = f"sql-restore-{db.replace('_', '-')}"
    job = job_of(scene, name)
    assert job is not None
    env = {entry["name"]: entry for entry in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["PGPASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": f"{name}-login", "key": "password"}}
    assert env["DB_USER"]["value"] == server.user
    assert secret_value(scene, f"{name}-login", "password") == server.password
    owners = json.loads(scene.kube.kubectl("get", "secret", f"{name}-login", "-n", scene.namespace, "-o", "json").stdout)["metadata"]["ownerReferences"]
    assert [(owner["kind"], owner["name"], owner["uid"]) for owner in owners] == [("Job", name, job["metadata"]["uid"])]
    assert server.password.split(" ")[0] not in json.dumps(job)

    # fixed: the next run finds the recorded count, restores and starts the application again
    fixed = scene.run(RESTORE, {**variables, "sql_restore_job_pod_annotations": {}}, "fixed")
    assert fixed.ok, fixed.tail()
    assert scene.app_state() == (APP_REPLICAS, APP_REPLICAS, None)
    assert fixed.report()["applications"]["started"][0]["replicas"] == APP_REPLICAS


def test_job_reporting_other_row_counts_than_the_dump_fails_with_the_tables(scene_of: Any) -> None:
    scene = scene_of()
    log = "\n".join(["SCALAROPS_PITR_DUMP Database/latest.sql", f"SCALAROPS_PITR_EXPECTED {json.dumps(PG_COUNTS)}", "SCALAROPS_PITR_RESTORED ok",
                     'SCALAROPS_PITR_ROW_COUNTS {"public.items": 39, "inv.stock": 20}'])
    run = scene.run(RESTORE, job_vars(scene, "shop", sql_restore_job_check=False,
                                      sql_restore_job_pod_annotations={"standins.scalarops.io/log": log}), "mismatch")
    assert not run.ok
    assert "the row counts differ from the dump's: inv.stock: expected 24, found 20" in run.output
    assert scene.app_state() == (0, 0, str(APP_REPLICAS))
    assert run.report()["mismatches"] == {"inv.stock": [24, 20]}


def test_check_mode_plans_and_changes_nothing(postgres_server: PostgresServer, pg_database: str, scene_of: Any, tmp_path: Path) -> None:
    server, db = postgres_server, pg_database
    scene = scene_of(server.password)
    server.psql(PG_SCHEMA, db)
    backups = tmp_path / "Database"
    assert scene.run(BACKUP, pg_vars(server, db, backups), "backup").ok
    server.psql(PG_DAMAGE, db)
    damaged = pg_state(server, db)
    run = scene.run(RESTORE, pg_vars(server, db, backups, app_workloads=scene.apps(), sql_restore_clean=True), "check", "--check")
    assert run.ok, run.tail()
    assert pg_state(server, db) == damaged
    assert scene.app_state() == (APP_REPLICAS, APP_REPLICAS, None)
    report = run.report()
    assert report["status"] == "planned" and report["downtime"] == {"stopped_at": None, "started_at": None, "seconds": None}
    assert report["applications"]["stopped"][0]["replicas"] == APP_REPLICAS
