"""The script of the SQL restore Job (module_utils/sql_restore_job_script.py), run for real with the local ``sh``
(dash, as in the postgres and mariadb images) against real PostgreSQL and MariaDB servers.

The Kubernetes emulator runs no containers, so this is where the script's own decisions are checked: which dump
it picks, what it refuses before it changes anything (no dump, a dangling latest.sql, a dump of the other engine,
an altered or truncated dump, a wrong password), and that a restore brings the rows back with the counters at MAX.
The container's command and environment come from the Job manifest the module builds; the password is given as the
kubelet would give it from the Secret.
"""
from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.sql_dump import argument_spec, dump, request_from_params
from ansible_collections.scalarops.pitr.plugins.module_utils.sql_restore_job import RestoreJobRequest, manifest
from ansible_collections.scalarops.pitr.plugins.module_utils.sql_restore_job_script import parse_log
from fixtures.sql_servers import MariaDBServer, PostgresServer

VOLUME = {"persistentVolumeClaim": {"claimName": "dumps"}}


def sql_dump(engine: str, server: Any, database: str, dest: Path, **options: Any) -> str:
    """A dump written by scalarops.pitr.sql_dump (its core), in the dated layout; returns the file."""
    params = {key: spec.get("default") for key, spec in argument_spec().items()}
    params.update(action="dump", engine=engine, host=server.host, port=server.port, login_user=server.user, login_password=server.password,
                  database=database, dest=str(dest), layout="dated", **options)
    return str(dump(request_from_params(params, check_mode=False))["dest"])


def run_job(server: Any, engine: str, database: str, volume: Path, password: str | None = None, **options: Any) -> tuple[int, str, dict[str, Any]]:
    """Run the Job's container command here: (exit code, whole log, what parse_log reads from it)."""
    req = RestoreJobRequest(action=options.pop("action", "restore"), engine=engine, namespace="db", host=server.host, port=server.port,
                            database=database, volume=VOLUME, login_user=server.user, login_password="unused", **options)
    (container,) = manifest(req)["spec"]["template"]["spec"]["containers"]
    env = {entry["name"]: entry.get("value", "") for entry in container["env"]}
    env["PGPASSWORD" if engine == "postgresql" else "DB_PASSWORD"] = server.password if password is None else password
    bin_dir = getattr(server, "bin_dir", None)
    env.update(DUMP_ROOT=str(volume), PATH=f"{bin_dir}:{os.environ['PATH']}" if bin_dir else os.environ["PATH"])
    proc = subprocess.run(container["command"], env=env, capture_output=True, text=True, timeout=120, check=False)
    log = proc.stdout + proc.stderr
    assert server.password.split(" ")[0] not in log, "the password shows in the Job's log"
    return proc.returncode, log, parse_log(log)


def test_postgresql_script_refuses_every_bad_dump_before_changing_anything(
        postgres_server: PostgresServer, pg_database: str, tmp_path: Path) -> None:
    server, db = postgres_server, pg_database
    server.psql("CREATE TABLE t (id serial PRIMARY KEY, v text); INSERT INTO t (v) SELECT 'x' FROM generate_series(1, 5)", db)
    volume = tmp_path / "volume"
    written = Path(sql_dump("postgresql", server, db, volume / "Database"))
    server.psql("INSERT INTO t (v) VALUES ('after the dump')", db)

    def refused(expected: str, **options: Any) -> None:
        code, log, found = run_job(server, "postgresql", db, volume, clean=True, **options)
        assert code == 1 and expected in log, log[-3000:]
        assert "SCALAROPS_PITR_RESTORED" not in log and "restored" not in found
        assert server.psql("SELECT count(*) FROM t", db) == "6", "the database changed"

    (volume / "empty").mkdir()
    refused("no dump found in empty: no latest.sql and no *.sql or *.sql.gz file in it or in its daily, weekly, monthly, last folders",
            dump_path="empty")
    refused("no dump found: missing.sql is not a file in the dump volume", dump_file="missing.sql")
    (volume / "dangling").mkdir()
    (volume / "dangling" / "latest.sql").symlink_to("daily/gone.sql")
    refused("latest.sql links to daily/gone.sql, which does not exist", dump_path="dangling")
    # a MariaDB dump by its header, a pg_dump custom archive, an altered and a truncated dump
    (volume / "other").mkdir()
    (volume / "other" / "x.sql").write_text("-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB\n-- Dump completed on 2026-11-21\n")
    refused("is a mysql dump (written by mysqldump); it cannot be restored into postgresql", dump_path="other")
    (volume / "other" / "x.sql").write_bytes(b"PGDMP\x01\x0e\x00")
    refused("is a pg_dump custom-format archive", dump_path="other")
    altered = volume / "altered.sql"
    altered.write_bytes(written.read_bytes().replace(b"\tx\n", b"\ty\n", 1))
    refused("was altered or truncated after it was written", dump_file="altered.sql")
    native = subprocess.run([shutil.which("pg_dump") or str(server.bin_dir / "pg_dump"), "-w", "-h", server.host, "-p", str(server.port),
                             "-U", server.user, db], env=server.env(), capture_output=True, check=True).stdout
    (volume / "cut.sql").write_bytes(native[: len(native) // 2])
    refused("looks truncated: the last comment pg_dump writes at the end of a dump is missing", dump_file="cut.sql")
    # the dump is fine, but the login is not / the database is not empty
    code, log, _found = run_job(server, "postgresql", db, volume, password="wrong", dump_path="Database", clean=True)
    assert code == 1 and f"cannot log in to postgresql database '{db}' at {server.endpoint}" in log and "password authentication failed" in log
    code, log, found = run_job(server, "postgresql", db, volume, dump_path="Database")
    assert code == 1 and f"postgresql database '{db}' at {server.endpoint} is not empty (2 objects" in log
    assert found["objects"] == "2" and found["picked"] == "latest"
    assert server.psql("SELECT count(*) FROM t", db) == "6"

    # a check that passes changes nothing either; the restore then brings the dump back with the sequence at MAX
    code, log, found = run_job(server, "postgresql", db, volume, action="check", dump_path="Database", clean=True)
    assert code == 0 and found["checked"] == "ok" and found["expected"] == {"public.t": 5}, log[-3000:]
    assert server.psql("SELECT count(*) FROM t", db) == "6"
    code, log, found = run_job(server, "postgresql", db, volume, dump_path="Database", clean=True)
    assert code == 0, log[-3000:]
    assert (found["dump"], found["cleaned"], found["row_counts"]) == ("Database/latest.sql", "true", {"public.t": 5})
    assert server.psql("SELECT count(*), max(id), nextval('t_id_seq') FROM t", db) == "5|5|6"


def test_mariadb_script_restores_the_newest_gzip_dump_of_the_named_database(
        mariadb_server: MariaDBServer, mariadb_database: str, tmp_path: Path) -> None:
    server, db = mariadb_server, mariadb_database
    server.sql("CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name TEXT); CREATE TABLE `we``ird` (id BIGINT AUTO_INCREMENT PRIMARY KEY);"
               "INSERT INTO items (name) VALUES ('a'), ('b'), ('c'); INSERT INTO `we``ird` VALUES (), (); DELETE FROM items WHERE id = 3", db)
    volume = tmp_path / "volume"
    older = Path(sql_dump("mariadb", server, db, volume, dump_name="shop"))
    os.rename(older, older.with_name("shop-20250101.sql"))
    server.sql("INSERT INTO items (name) VALUES ('d')", db)  # id 4: the newest dump has 3 items
    newest = Path(sql_dump("mariadb", server, db, volume, dump_name="shop"))
    other = Path(sql_dump("mariadb", server, db, volume, dump_name="blog"))  # newer, but another database's
    (volume / "latest.sql").unlink()  # postgres-backup-local's folders without the link: the newest dump counts
    for path, age in ((volume / "daily" / "shop-20250101.sql", 300), (newest, 100), (other, 10)):
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()
        os.utime(path.with_name(path.name + ".gz"), (time.time() - age, time.time() - age))
    server.sql("DELETE FROM items; DROP TABLE `we``ird`; CREATE VIEW v AS SELECT 1", db)

    code, log, found = run_job(server, "mariadb", db, volume, dump_name="shop", clean=True)
    assert code == 0, log[-3000:]
    assert (found["dump"], found["picked"], found["cleaned"]) == (f"daily/{newest.name}.gz", "newest", "true")
    assert found["row_counts"] == found["expected"] == {"items": 3, "we`ird": 2}
    assert {entry["table"]: (entry["max"], entry["next"]) for entry in found["sequences"]} == {"items": (4, 5), "we`ird": (2, 3)}
    assert server.sql("SELECT GROUP_CONCAT(name ORDER BY id) FROM items", db) == "a,b,d"
    assert server.sql("SELECT COUNT(*) FROM information_schema.views WHERE table_schema = DATABASE()", db) == "0", "the view was dropped"
    server.sql("INSERT INTO items (name) VALUES ('e')", db)
    assert server.sql("SELECT MAX(id) FROM items", db) == "5", "the next row gets MAX + 1"

    # without dump_name the newest file of any name wins: the other database's dump
    code, log, found = run_job(server, "mariadb", db, volume, action="check", clean=True)
    assert code == 0 and found["dump"] == f"daily/{other.name}.gz", log[-3000:]


@pytest.mark.parametrize("engine", ["postgresql", "mariadb"])
def test_parse_log_reads_only_whole_marker_lines(engine: str) -> None:
    """The stand-in's log of a Job is its command line: the script's own text never reads as a result."""
    req = RestoreJobRequest(action="restore", engine=engine, namespace="db", host="h", database="d", volume=VOLUME)
    (container,) = manifest(req)["spec"]["template"]["spec"]["containers"]
    assert parse_log(" ".join(container["command"])) == {}
    assert parse_log("SCALAROPS_PITR_ROW_COUNTS {broken\nSCALAROPS_PITR_DUMP a b.sql\n") == {"row_counts_raw": "{broken", "dump": "a b.sql"}
