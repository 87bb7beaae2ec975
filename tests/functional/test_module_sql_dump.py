"""scalarops.pitr.sql_dump through the real ansible-playbook, against real PostgreSQL and MariaDB servers
(tests/fixtures/sql_servers.py) and SQLite files.

Each engine: a database with counter columns and rows is dumped (postgres-backup-local's dated layout),
damaged (rows deleted and changed, a table dropped, rows added), a restore without ``clean`` is
refused with nothing changed, and a clean restore from the folder brings every row back with each
counter at MAX (the next insert gets MAX + 1) - the highest row was deleted before the dump, so the
dump's own counter value is above MAX and only the reset puts it there. Bad input (a dump of another
engine, no dump, unreachable host:port, a truncated dump, a wrong password) fails before anything
changes. The login password - full of quoting characters - never shows in the output, even with -vvv.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.scalarops.pitr.plugins.module_utils.sql_dump import argument_spec, dump, request_from_params, restore
from ansible_collections.scalarops.pitr.plugins.module_utils.sql_dump_engines import SqlDumpError
from fixtures.common import run_playbook
from fixtures.sql_servers import MariaDBServer, PostgresServer

MODULE = "scalarops.pitr.sql_dump"


class Play:
    """Runs sql_dump tasks in one playbook with -vvv; returns every registered result and the output."""

    def __init__(self, workdir: Path, env: dict[str, str], defaults: dict[str, Any], *passwords: str) -> None:
        self.workdir, self.env, self.defaults, self.passwords = workdir, env, defaults, passwords

    def run(self, tasks: list[dict[str, Any]]) -> dict[str, Any]:
        names = [entry["register"] for entry in tasks]
        save = {"ansible.builtin.copy": {"dest": str(self.workdir / "results.json"),
                                         "content": "{{ {" + ", ".join(f"'{name}': {name}" for name in names) + "} | to_json }}"}}
        play = [{"hosts": "localhost", "gather_facts": False, "module_defaults": {MODULE: self.defaults}, "tasks": [*tasks, save]}]
        proc = run_playbook(yaml.safe_dump(play, sort_keys=False), self.workdir, self.env, verbosity=3)
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, output[-6000:]
        results_text = (self.workdir / "results.json").read_text(encoding="utf-8")
        for password in self.passwords:
            # the whole password, and its unique start ("pw-pg-<hex>"), which would show even if its quoting characters were mangled
            for secret in (password, password.split(" ")[0]):
                assert secret not in output and secret not in results_text, "a login password appeared in the output"
        return json.loads(results_text)


def task(register: str, ignore_errors: bool = False, check_mode: bool = False, **args: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": register, MODULE: args, "register": register}
    if ignore_errors:
        entry["ignore_errors"] = True
    if check_mode:
        entry["check_mode"] = True
    return entry


def assert_refused(result: dict[str, Any], *words: str) -> None:
    assert result.get("failed") and result["changed"] is False, result
    for word in words:
        assert word in result["msg"], (word, result["msg"])


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as spare:
        spare.bind(("127.0.0.1", 0))
        return int(spare.getsockname()[1])


def core_params(**args: Any) -> dict[str, Any]:
    """Module options with their defaults, for calling the core (module_utils) directly."""
    params = {key: spec.get("default") for key, spec in argument_spec().items()}
    params.update(args)
    return params


# --- PostgreSQL ---------------------------------------------------------------------------------------

PG_SCHEMA = """
CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, note text);
CREATE SCHEMA inv;
CREATE TABLE inv.stock (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, item_id int REFERENCES items(id), qty int);
CREATE TABLE "Mixed Case" (id bigserial PRIMARY KEY, "Value" text);
CREATE VIEW item_names AS SELECT name FROM items;
INSERT INTO items (name, note) SELECT 'item ' || g, CASE WHEN g % 3 = 0 THEN E'tab\\there\\nnew line ''quoted'' \\\\ back' END
  FROM generate_series(1, 40) g;
INSERT INTO inv.stock (item_id, qty) SELECT g, g * 10 FROM generate_series(1, 25) g;
INSERT INTO "Mixed Case" ("Value") SELECT 'v' || g FROM generate_series(1, 7) g;
-- the highest rows go: each sequence is now above its column's MAX, and the dump records that value
DELETE FROM inv.stock WHERE id = 25; DELETE FROM items WHERE id = 40; DELETE FROM "Mixed Case" WHERE id = 7;
"""
PG_TABLES = {"public.items": "items", "inv.stock": "inv.stock", "public.Mixed Case": '"Mixed Case"'}


def pg_rows(server: PostgresServer, database: str) -> dict[str, Any]:
    """Every row of the test tables (None for a table that does not exist)."""
    rows: dict[str, Any] = {}
    for key, table in PG_TABLES.items():
        exists = server.psql(f"SELECT to_regclass('{table.replace(chr(39), chr(39) * 2)}') IS NOT NULL", database)
        rows[key] = json.loads(server.psql(f"SELECT coalesce(json_agg(t ORDER BY 1), '[]') FROM {table} t", database)) if exists == "t" else None
    return rows


def pg_next_ids(server: PostgresServer, database: str) -> dict[str, tuple[int, int]]:
    """(MAX(id), nextval of its sequence) per table."""
    found = {}
    for key, table in PG_TABLES.items():
        out = server.psql(f"SELECT (SELECT max(id) FROM {table}), nextval(pg_get_serial_sequence('{table.replace(chr(39), chr(39) * 2)}', 'id'))",
                          database)
        highest, following = out.split("|")
        found[key] = (int(highest), int(following))
    return found


@pytest.fixture(name="pg_play")
def pg_play_fixture(postgres_server: PostgresServer, pg_database: str, tool_env: dict[str, str], tmp_path: Path) -> Play:
    defaults = {"engine": "postgresql", "host": postgres_server.host, "port": postgres_server.port, "login_user": postgres_server.user,
                "login_password": postgres_server.password, "database": pg_database}
    return Play(tmp_path, tool_env, defaults, postgres_server.password)


def test_postgresql_dump_damage_clean_restore(postgres_server: PostgresServer, pg_database: str, pg_play: Play, tmp_path: Path) -> None:
    server, db = postgres_server, pg_database
    server.psql(PG_SCHEMA, db)
    before = pg_rows(server, db)
    backups = tmp_path / "backups"

    first = pg_play.run([task("dumped", action="dump", dest=str(backups), layout="dated"),
                         task("plan", action="restore", src=str(backups), clean=True, check_mode=True)])
    dumped = first["dumped"]
    assert dumped["changed"] is True and dumped["engine"] == "postgresql" and dumped["endpoint"] == server.endpoint
    assert Path(dumped["dest"]).parent == backups / "daily" and Path(dumped["dest"]).name.startswith(f"{db}-")
    assert os.readlink(backups / "latest.sql") == f"daily/{Path(dumped['dest']).name}"
    assert dumped["row_counts"] == {"public.items": 39, "inv.stock": 24, "public.Mixed Case": 6} and dumped["tables"] == 3
    content = Path(dumped["dest"]).read_bytes()
    assert dumped["size"] == len(content) and dumped["checksum"] == hashlib.sha256(content).hexdigest()
    assert content.startswith(b"-- scalarops.pitr sql_dump\n") and b"-- engine: postgresql\n" in content
    assert oct(os.stat(dumped["dest"]).st_mode & 0o777) == "0o600"
    plan = first["plan"]
    assert (plan["changed"], plan["would_change"], plan["cleaned"], plan["picked"]) == (True, True, True, "latest")
    assert "table public.items" in plan["dropped"] and "schema inv" in plan["dropped"]
    assert pg_rows(server, db) == before, "check mode changed the database"

    # the damage: rows deleted and changed, a table dropped, rows added (sequences move on)
    server.psql("DELETE FROM items WHERE id > 30; UPDATE items SET name = 'changed' WHERE id < 5; DROP TABLE inv.stock; "
                "INSERT INTO \"Mixed Case\" (\"Value\") VALUES ('new'), ('newer')", db)
    damaged = pg_rows(server, db)
    second = pg_play.run([task("refused", action="restore", src=str(backups), ignore_errors=True)])
    assert_refused(second["refused"], f"'{db}' at {server.endpoint} is not empty", "table public.items", "clean=true", "nothing was changed")
    assert pg_rows(server, db) == damaged

    third = pg_play.run([task("restored", action="restore", src=str(backups), clean=True)])
    restored = third["restored"]
    assert pg_rows(server, db) == before
    assert (restored["changed"], restored["cleaned"], restored["verified"], restored["mismatches"]) == (True, True, True, {})
    assert restored["src"] == str(backups / "latest.sql") and restored["counts_from"] == "header"
    assert restored["row_counts"] == restored["expected_counts"] == dumped["row_counts"]
    assert restored["dump"]["writer"] == "scalarops.pitr" and restored["dump"]["database"] == db
    reported = {entry["table"]: entry for entry in restored["sequences"]}
    assert {table: (entry["max"], entry["next"]) for table, entry in reported.items()} == {
        "public.items": (39, 40), "inv.stock": (24, 25), "public.Mixed Case": (6, 7)}
    assert reported["inv.stock"]["sequence"] == "inv.stock_id_seq" and reported["public.items"]["column"] == "id"
    # the sequences really are at MAX: nextval gives MAX + 1 (the dump itself had them one higher)
    assert pg_next_ids(server, db) == {"public.items": (39, 40), "inv.stock": (24, 25), "public.Mixed Case": (6, 7)}


def test_postgresql_native_gzip_dumps_newest_is_picked_and_counted(postgres_server: PostgresServer, pg_database: str, tmp_path: Path) -> None:
    """postgres-backup-local's folders without latest.sql: plain pg_dump files (.sql.gz), the newest one restored and counted."""
    server, db = postgres_server, pg_database
    server.psql("CREATE TABLE t (id serial PRIMARY KEY, v text); INSERT INTO t (v) SELECT 'x' FROM generate_series(1, 5)", db)
    pg_dump = shutil.which("pg_dump") or str(server.bin_dir / "pg_dump")
    env = server.env()
    older = subprocess.run([pg_dump, "-w", "-h", server.host, "-p", str(server.port), "-U", server.user, db], env=env, capture_output=True,
                           check=True).stdout
    server.psql("INSERT INTO t (v) SELECT 'y' FROM generate_series(1, 3)", db)
    newer = subprocess.run([pg_dump, "-w", "-h", server.host, "-p", str(server.port), "-U", server.user, db], env=env, capture_output=True,
                           check=True).stdout
    for folder, name, data, age in (("weekly", "postgres-202647.sql.gz", older, 200), ("daily", "postgres-20261121.sql.gz", newer, 100),
                                    ("daily", "postgres-20261120.sql.gz", older, 150)):
        path = tmp_path / folder / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(gzip.compress(data))
        os.utime(path, (time.time() - age, time.time() - age))
    (tmp_path / "daily" / ".postgres-20261122.sql.gz.part-x").write_bytes(b"unfinished")
    params = core_params(action="restore", engine="postgresql", host=server.host, port=server.port, login_user=server.user,
                         login_password=server.password, database=db, src=str(tmp_path), clean=True)
    result = restore(request_from_params(params, check_mode=False))
    assert (result["src"], result["picked"]) == (str(tmp_path / "daily" / "postgres-20261121.sql.gz"), "newest")
    assert (result["dump"]["writer"], result["dump"]["compressed"], result["counts_from"]) == ("pg_dump", True, "dump")
    assert result["expected_counts"] == result["row_counts"] == {"public.t": 8}
    assert server.psql("SELECT count(*), nextval('t_id_seq') FROM t", db) == "8|9"

    # a truncated native dump (the closing comment missing) is refused before anything changes
    (tmp_path / "cut.sql").write_bytes(newer[: len(newer) // 2])
    server.psql("INSERT INTO t (v) VALUES ('after')", db)
    with pytest.raises(Exception, match="looks truncated"):
        restore(request_from_params({**params, "src": str(tmp_path / "cut.sql")}, check_mode=False))
    assert server.psql("SELECT count(*) FROM t", db) == "9"


# --- MariaDB --------------------------------------------------------------------------------------------

MY_SCHEMA = """
CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, note TEXT, data BLOB) ENGINE=InnoDB CHARSET=utf8mb4;
CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, item_id INT, qty INT, FOREIGN KEY (item_id) REFERENCES items(id)) ENGINE=InnoDB;
CREATE TABLE empty_one (id INT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE VIEW item_names AS SELECT name FROM items;
INSERT INTO items (name, note, data) VALUES ('a (1)', 'it''s; a ),( test', 0x00FF10), ('b', 'back\\\\slash "dq"', NULL),
  ('c', 'line\\nbreak\\ttab', ''), ('d', NULL, 0x27), ('e', 'é ü 漢', NULL), ('f', NULL, NULL);
INSERT INTO orders (item_id, qty) VALUES (1, 10), (2, 20), (3, 30), (1, 40), (5, 50);
DELETE FROM orders WHERE id = 5; DELETE FROM items WHERE id = 6;
"""
MY_TABLES = ("items", "orders", "empty_one")


def my_rows(server: MariaDBServer, database: str) -> dict[str, Any]:
    present = {line.split("\t")[0] for line in server.sql("SHOW FULL TABLES WHERE Table_type = 'BASE TABLE'", database).splitlines()}
    return {table: server.sql(f"SELECT * FROM `{table}` ORDER BY 1", database) if table in present else None for table in MY_TABLES}


@pytest.fixture(name="my_play")
def my_play_fixture(mariadb_server: MariaDBServer, mariadb_database: str, tool_env: dict[str, str], tmp_path: Path) -> Play:
    defaults = {"engine": "mariadb", "host": mariadb_server.host, "port": mariadb_server.port, "login_user": mariadb_server.user,
                "login_password": mariadb_server.password, "database": mariadb_database}
    return Play(tmp_path, tool_env, defaults, mariadb_server.password)


def test_mariadb_dump_damage_clean_restore(mariadb_server: MariaDBServer, mariadb_database: str, my_play: Play, tmp_path: Path) -> None:
    server, db = mariadb_server, mariadb_database
    server.sql(MY_SCHEMA, db)
    before = my_rows(server, db)
    backups = tmp_path / "backups"

    dumped = my_play.run([task("dumped", action="dump", dest=str(backups), layout="dated")])["dumped"]
    assert dumped["row_counts"] == {"items": 5, "orders": 4, "empty_one": 0} and dumped["engine"] == "mariadb"
    assert "MariaDB" in dumped["tool"] and Path(dumped["dest"]).read_bytes().startswith(b"-- scalarops.pitr sql_dump\n")

    server.sql("DELETE FROM orders WHERE id > 2; UPDATE items SET name = 'changed' WHERE id = 1; SET FOREIGN_KEY_CHECKS = 0; DROP TABLE items; "
               "INSERT INTO empty_one (v) VALUES (1)", db)
    damaged = my_rows(server, db)
    refused = my_play.run([task("refused", action="restore", src=str(backups), ignore_errors=True)])["refused"]
    assert_refused(refused, f"'{db}' at {server.endpoint} is not empty", "table orders", "view item_names", "clean=true")
    assert my_rows(server, db) == damaged

    restored = my_play.run([task("restored", action="restore", src=str(backups), clean=True)])["restored"]
    assert my_rows(server, db) == before
    assert (restored["changed"], restored["cleaned"], restored["verified"], restored["counts_from"]) == (True, True, True, "header")
    assert restored["row_counts"] == dumped["row_counts"]
    assert {entry["table"]: (entry["max"], entry["next"]) for entry in restored["sequences"]} == {
        "items": (5, 6), "orders": (4, 5), "empty_one": (None, 1)}
    # the counters really are at MAX + 1 (the dump recorded AUTO_INCREMENT=7 and 6)
    assert server.sql("INSERT INTO items (name) VALUES ('next'); SELECT LAST_INSERT_ID()", db) == "6"
    assert server.sql("INSERT INTO orders (item_id, qty) VALUES (1, 1); SELECT LAST_INSERT_ID()", db) == "5"
    assert server.sql("SELECT COUNT(*) FROM item_names", db) == "6"


# --- SQLite ---------------------------------------------------------------------------------------------


def sqlite_rows(path: Path) -> dict[str, Any]:
    connection = sqlite3.connect(path)
    try:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {table: connection.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall() for table in tables}
    finally:
        connection.close()


def make_sqlite(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.executescript("""
        CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, data BLOB);
        CREATE TABLE notes (id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items(id), body TEXT);
        CREATE VIEW named AS SELECT name FROM items;
        CREATE INDEX notes_item ON notes(item_id);
    """)
    connection.executemany("INSERT INTO items (name, data) VALUES (?, ?)", [(f"item {i}", bytes([i, 0, 255])) for i in range(1, 31)])
    connection.executemany("INSERT INTO notes (item_id, body) VALUES (?, ?)", [(i, f"note\n{i} 'q'") for i in range(1, 11)])
    connection.execute("DELETE FROM items WHERE id = 30")
    connection.commit()
    connection.close()


def test_sqlite_dump_damage_clean_restore(tool_env: dict[str, str], tmp_path: Path) -> None:
    database, backups = tmp_path / "app.sqlite3", tmp_path / "backups"
    make_sqlite(database)
    before = sqlite_rows(database)
    play = Play(tmp_path, tool_env, {"engine": "sqlite", "path": str(database)})

    first = play.run([task("dumped", action="dump", dest=str(backups), layout="dated"),
                      task("wrong_engine", action="restore", engine="postgresql", database="app", src=str(backups / "latest.db"),
                           ignore_errors=True, port=closed_port())])
    dumped = first["dumped"]
    assert Path(dumped["dest"]).name.startswith("app-") and dumped["dest"].endswith(".db") and os.readlink(backups / "latest.db").startswith("daily/")
    assert dumped["row_counts"] == {"items": 29, "notes": 10}
    assert Path(dumped["dest"]).read_bytes()[:16] == b"SQLite format 3\x00"
    # another engine's dump: refused before the (unreachable) server is even tried
    assert_refused(first["wrong_engine"], "is a sqlite dump", "cannot be restored into postgresql")

    connection = sqlite3.connect(database)
    connection.executescript("DELETE FROM items WHERE id > 20; UPDATE notes SET body = 'changed'; DROP TABLE notes; "
                             "INSERT INTO items (name) VALUES ('new');")
    connection.close()
    damaged = sqlite_rows(database)
    refused = play.run([task("refused", action="restore", src=str(backups), ignore_errors=True)])["refused"]
    assert_refused(refused, f"database {database} is not empty", "table items", "clean=true")
    assert sqlite_rows(database) == damaged

    restored = play.run([task("restored", action="restore", src=str(backups), clean=True),
                         task("fresh", action="restore", src=str(backups), path=str(tmp_path / "fresh.db"))])
    assert sqlite_rows(database) == before == sqlite_rows(tmp_path / "fresh.db")
    assert (restored["restored"]["verified"], restored["restored"]["counts_from"], restored["restored"]["picked"]) == (True, "dump", "latest")
    connection = sqlite3.connect(database)
    connection.execute("INSERT INTO items (name) VALUES ('next')")
    # AUTOINCREMENT's counter came back with the file: 30 was used (and deleted) before the dump, so 31 follows
    assert connection.execute("SELECT max(id) FROM items").fetchone()[0] == 31
    connection.close()


def test_sqlite_dump_waits_for_a_writer_within_busy_timeout(tmp_path: Path) -> None:
    database = tmp_path / "busy.sqlite3"
    make_sqlite(database)
    writer = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN EXCLUSIVE")
    writer.execute("INSERT INTO items (name) VALUES ('committed while the backup waited')")
    release = threading.Timer(1.0, lambda: writer.execute("COMMIT"))
    release.start()
    try:
        params = core_params(action="dump", engine="sqlite", path=str(database), dest=str(tmp_path / "busy.db"), busy_timeout=20.0)
        result = dump(request_from_params(params, check_mode=False))
    finally:
        release.join()
        writer.close()
    assert result["row_counts"]["items"] == 30

    blocker = sqlite3.connect(database, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        params = core_params(action="dump", engine="sqlite", path=str(database), dest=str(tmp_path / "blocked.db"), busy_timeout=0.3)
        with pytest.raises(SqlDumpError, match="database is locked"):
            dump(request_from_params(params, check_mode=False))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert not (tmp_path / "blocked.db").exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# --- bad input -------------------------------------------------------------------------------------------


def test_bad_input_fails_before_anything_changes(postgres_server: PostgresServer, pg_database: str, mariadb_server: MariaDBServer,
                                                 mariadb_database: str, pg_play: Play, tmp_path: Path) -> None:
    pg, my = postgres_server, mariadb_server
    pg.psql("CREATE TABLE keep (id serial PRIMARY KEY, v int); INSERT INTO keep (v) VALUES (1), (2)", pg_database)
    my.sql("CREATE TABLE keep (id INT AUTO_INCREMENT PRIMARY KEY, v INT); INSERT INTO keep (v) VALUES (1)", mariadb_database)
    pg_dump_file, my_dump_file = tmp_path / "pg.sql", tmp_path / "my.sql"
    dump(request_from_params(core_params(action="dump", engine="postgresql", host=pg.host, port=pg.port, login_user=pg.user,
                                         login_password=pg.password, database=pg_database, dest=str(pg_dump_file)), check_mode=False))
    dump(request_from_params(core_params(action="dump", engine="mysql", host=my.host, port=my.port, login_user=my.user,
                                         login_password=my.password, database=mariadb_database, dest=str(my_dump_file)), check_mode=False))
    # a plain pg_dump file that fails half-way (a role that does not exist): with clean, the drops roll back with it
    native = subprocess.run([shutil.which("pg_dump") or str(pg.bin_dir / "pg_dump"), "-w", "-h", pg.host, "-p", str(pg.port), "-U", pg.user,
                             pg_database], env=pg.env(), capture_output=True, check=True).stdout
    failing = tmp_path / "failing.sql"
    marker = b"-- PostgreSQL database dump complete"
    failing.write_bytes(native.replace(marker, b"ALTER TABLE public.keep OWNER TO pitr_no_such_role;\n\n" + marker))
    pg.psql("INSERT INTO keep (v) VALUES (3)", pg_database)  # not in the dumps: a restore that went through would lose it
    altered = tmp_path / "altered.sql"
    altered.write_bytes(pg_dump_file.read_bytes().replace(b"\n2\t2\n", b"\n2\t3\n"))
    assert altered.read_bytes() != pg_dump_file.read_bytes()
    (tmp_path / "empty").mkdir()
    unreachable = closed_port()
    missing_db = "pitr_no_such_db"

    my_args = {"engine": "mariadb", "host": my.host, "port": my.port, "login_user": my.user, "login_password": my.password,
               "database": mariadb_database}
    pg_play.passwords = (pg.password, my.password)
    results = pg_play.run([
        task("pg_into_mariadb", action="restore", src=str(pg_dump_file), clean=True, ignore_errors=True, **my_args),
        task("mariadb_into_pg", action="restore", src=str(my_dump_file), clean=True, ignore_errors=True),
        task("no_dump", action="restore", src=str(tmp_path / "empty"), clean=True, ignore_errors=True),
        task("no_src", action="restore", src=str(tmp_path / "nothing-here"), clean=True, ignore_errors=True),
        task("unreachable", action="restore", src=str(pg_dump_file), port=unreachable, clean=True, ignore_errors=True),
        task("unreachable_dump", action="dump", dest=str(tmp_path / "never.sql"), port=unreachable, ignore_errors=True),
        task("altered", action="restore", src=str(altered), clean=True, ignore_errors=True),
        task("no_database", action="restore", src=str(pg_dump_file), database=missing_db, clean=True, ignore_errors=True),
        task("bad_password", action="restore", src=str(pg_dump_file), clean=True, ignore_errors=True,
             login_password=pg.password + "-wrong"),
        task("my_bad_password", action="dump", dest=str(tmp_path / "never2.sql"), ignore_errors=True,
             **{**my_args, "login_password": my.password + "-wrong"}),
        task("failing", action="restore", src=str(failing), clean=True, ignore_errors=True),
    ])
    assert_refused(results["pg_into_mariadb"], f"{pg_dump_file} is a postgresql dump", "cannot be restored into mysql")
    assert_refused(results["mariadb_into_pg"], f"{my_dump_file} is a mysql dump", "cannot be restored into postgresql")
    assert_refused(results["no_dump"], "no dump found in", "latest.sql")
    assert_refused(results["no_src"], "no dump found", "does not exist")
    for name in ("unreachable", "unreachable_dump"):
        assert_refused(results[name], "database not reachable", f"127.0.0.1:{unreachable}", "nothing was changed")
    assert_refused(results["altered"], "was altered or truncated")
    assert_refused(results["no_database"], f"database '{missing_db}' does not exist on postgresql at {pg.endpoint}")
    assert_refused(results["bad_password"], f"cannot log in to postgresql at {pg.endpoint} as '{pg.user}'")
    assert_refused(results["my_bad_password"], f"cannot log in to mysql at {my.endpoint} as '{my.user}'")
    assert_refused(results["failing"], 'role "pitr_no_such_role" does not exist', "rolled back, the database is as it was")
    assert not (tmp_path / "never.sql").exists() and not (tmp_path / "never2.sql").exists()
    # nothing changed in either database
    assert json.loads(pg.psql("SELECT json_agg(k ORDER BY id) FROM keep k", pg_database)) == [{"id": 1, "v": 1}, {"id": 2, "v": 2},
                                                                                              {"id": 3, "v": 3}]
    assert my.sql("SELECT id, v FROM keep", mariadb_database) == "1\t1"
    # the wrong passwords (which embed the real one) never showed either: Play.run checked the output for the real one
    for result in results.values():
        assert pg.password not in json.dumps(result) and my.password not in json.dumps(result)
