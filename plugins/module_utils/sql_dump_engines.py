# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The database side of scalarops.pitr.sql_dump: PostgreSQL, MySQL/MariaDB and SQLite behind one interface.

Every engine can tell whether its database is reachable and what is in it, dump it consistently
into a file, clean it, restore a file into it, count its rows and reset its sequences. PostgreSQL
and MySQL run the servers' own client tools (``pg_dump``/``psql``, ``mysqldump``/``mariadb-dump`` and
``mysql``/``mariadb``); SQLite uses Python's ``sqlite3`` online backup API.

Passwords never reach a command line (where process listings and error messages would show
them): PostgreSQL tools get ``PGPASSWORD`` in their environment, MySQL tools a private option
file (``--defaults-extra-file``, mode 0600, removed afterwards). Everything a tool prints that we
pass on is masked (:func:`Runner.scrub`).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import IO, Any

from ansible_collections.scalarops.pitr.plugins.module_utils.endpoint_probe import probe
from ansible_collections.scalarops.pitr.plugins.module_utils.redact import MASK, mask_secrets
from ansible_collections.scalarops.pitr.plugins.module_utils.sql_dump_files import open_dump, sqlite_counts

DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
DEFAULT_USERS = {"postgresql": "postgres", "mysql": "root"}
# Schemas PostgreSQL owns; everything else in a database is the user's.
_PG_USER_SCHEMA = "{n}.nspname NOT IN ('pg_catalog', 'information_schema') AND {n}.nspname NOT LIKE 'pg\\_toast%' AND {n}.nspname NOT LIKE 'pg\\_temp\\_%'"
_PG_NOT_EXTENSION = "NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '{catalog}'::regclass AND e.objid = {oid} AND e.deptype = 'e')"


class SqlDumpError(RuntimeError):
    """A dump or restore that cannot go on; ``changed`` says whether something had changed before it stopped."""

    def __init__(self, message: str, changed: bool = False, result: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.changed = changed
        self.result = result  # what the run had found out when it stopped, returned with the failure


@dataclass
class Connection:
    """Where the database is and how to log in; ``engine`` is the family (postgresql, mysql, sqlite)."""

    engine: str
    host: str = "localhost"
    port: int | None = None
    user: str | None = None
    password: str | None = None
    database: str | None = None
    path: str | None = None
    binary_path: str | None = None
    connect_timeout: int = 10
    timeout: float = 3600.0
    busy_timeout: float = 30.0

    @property
    def endpoint(self) -> str:
        if self.engine == "sqlite":
            return str(self.path)
        return self.host if self.host.startswith("/") else f"{self.host}:{self.port or DEFAULT_PORTS[self.engine]}"

    @property
    def login(self) -> str:
        return self.user or DEFAULT_USERS.get(self.engine, "")


class Runner:
    """Runs the client tools: environment with the secret, a timeout, errors with the tool's words masked."""

    def __init__(self, conn: Connection, env: dict[str, str]) -> None:
        self.conn, self.env = conn, env

    def scrub(self, text: str) -> str:
        """``text`` without the password (literally) and with secret-looking pairs masked."""
        if self.conn.password:
            text = text.replace(self.conn.password, MASK)
        return mask_secrets(text)

    def binary(self, names: tuple[str, ...], package: str) -> str:
        """The first of ``names`` in binary_path (when set) or on PATH."""
        for name in names:
            if self.conn.binary_path:
                candidate = os.path.join(self.conn.binary_path, name)
                if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                    return candidate
                continue
            found = shutil.which(name)
            if found:
                return found
        where = f"in {self.conn.binary_path}" if self.conn.binary_path else "on PATH"
        raise SqlDumpError(f"{' or '.join(names)} not found {where}; install {package} or set binary_path")

    def run(self, cmd: list[str], what: str, stdin: IO[bytes] | None = None, timeout: float | None = None) -> str:
        """Run ``cmd`` (fed ``stdin``); return its stdout, or raise SqlDumpError with ``what`` and the tool's (masked) error output."""
        limit = timeout or self.conn.timeout
        # Output into files, not pipes: a restore's output can be large, and nothing must block while the input is fed.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                # plain subprocess, not AnsibleModule.run_command: this core runs without a module, streams files and needs a timeout
                proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,  # pylint: disable=ansible-bad-function
                                        stdout=out, stderr=err, env=self.env)
            except FileNotFoundError:
                raise SqlDumpError(f"{what}: {cmd[0]} not found") from None
            with proc:
                code = self._wait(proc, stdin, limit, what)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
        if code != 0:
            detail = stderr.decode("utf-8", "replace").strip() or stdout.decode("utf-8", "replace").strip()
            lines = detail.splitlines()
            raise SqlDumpError(f"{what} failed (exit {code}): {self.scrub(' / '.join(lines[-12:]))}")
        return stdout.decode("utf-8", "replace")

    @staticmethod
    def _wait(proc: subprocess.Popen[bytes], stdin: IO[bytes] | None, limit: float, what: str) -> int:
        feeder = None
        if stdin is not None:
            # a thread copies the dump in (decompressing .gz on the way), so the timeout below still holds
            feeder = threading.Thread(target=_feed, args=(stdin, proc.stdin), daemon=True)
            feeder.start()
        try:
            return proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise SqlDumpError(f"{what} did not finish within {int(limit)}s (option timeout)") from None
        finally:
            if feeder is not None:
                feeder.join()


def _feed(source: IO[bytes], sink: IO[bytes] | None) -> None:
    """Copy ``source`` into a tool's stdin, then close it (end of input); a tool that stopped reading ends the copy."""
    if sink is None:
        return
    try:
        shutil.copyfileobj(source, sink, 1 << 20)
    except (BrokenPipeError, ValueError, OSError):
        pass  # the tool exited (error or kill): its exit code and stderr say why
    finally:
        try:
            sink.close()
        except OSError:
            pass


def _unreachable(conn: Connection) -> None:
    """Fail before anything else when nothing listens at host:port (a TCP handshake, no login)."""
    if conn.host.startswith("/"):
        return
    port = conn.port or DEFAULT_PORTS[conn.engine]
    seen = probe(conn.host, port, timeout=float(conn.connect_timeout))
    if not seen["reachable"]:
        raise SqlDumpError(f"database not reachable: {conn.engine} at {conn.host}:{port} ({seen['error']}); nothing was changed")


class Engine:
    """What every engine offers; see the module's documentation for what each step means per engine."""

    family = ""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def describe(self) -> dict[str, Any]:
        """Check the database is reachable, the login works and the database exists; return ``{server_version}``."""
        raise NotImplementedError

    def objects(self) -> list[str]:
        """What the database holds (``table public.items``, ``view v``...); empty when there is nothing to clash with."""
        raise NotImplementedError

    def dump_to(self, path: str) -> str:
        """Write a consistent dump into ``path``; return the tool that wrote it (name and version)."""
        raise NotImplementedError

    def restore(self, path: str, clean: bool, single_transaction: bool) -> None:
        """Restore the dump at ``path`` (after dropping everything when ``clean``)."""
        raise NotImplementedError

    def row_counts(self) -> dict[str, int]:
        raise NotImplementedError

    def reset_sequences(self) -> list[dict[str, Any]]:
        """Set every column-owned counter to follow the column's maximum; what was set."""
        return []


# --- PostgreSQL ----------------------------------------------------------------------------------------


def _pg_quote(value: str) -> str:
    """A libpq connection-string value: quoted, so a database name with '=' or spaces stays a name."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


_PG_OBJECTS = f"""
SELECT kind || ' ' || name FROM (
  SELECT 'schema' AS kind, quote_ident(n.nspname) AS name FROM pg_namespace n
   WHERE {_PG_USER_SCHEMA.format(n='n')} AND n.nspname <> 'public' AND {_PG_NOT_EXTENSION.format(catalog='pg_namespace', oid='n.oid')}
  UNION ALL
  SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence'
                        WHEN 'f' THEN 'foreign table' ELSE 'table' END, format('%I.%I', n.nspname, c.relname)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {_PG_USER_SCHEMA.format(n='n')}
     AND {_PG_NOT_EXTENSION.format(catalog='pg_class', oid='c.oid')}
  UNION ALL
  SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,
         format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE {_PG_USER_SCHEMA.format(n='n')} AND {_PG_NOT_EXTENSION.format(catalog='pg_proc', oid='p.oid')}
  UNION ALL
  SELECT CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END, format('%I.%I', n.nspname, t.typname)
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
   WHERE t.typtype IN ('c', 'd', 'e', 'r', 'm') AND {_PG_USER_SCHEMA.format(n='n')}
     AND (t.typrelid = 0 OR (SELECT rc.relkind FROM pg_class rc WHERE rc.oid = t.typrelid) = 'c')
     AND {_PG_NOT_EXTENSION.format(catalog='pg_type', oid='t.oid')}
) objects ORDER BY 1
"""

# Empty the database in place: drop the user's schemas except public, then everything in public. Not DROP DATABASE:
# that needs CREATEDB and no other session, and would lose the database's owner, grants and settings (CNPG, RDS).
# Names are collected as text first, so an object a CASCADE already took is skipped by IF EXISTS.
_PG_CLEAN = f"""
SET client_min_messages = warning;
DO $clean$
DECLARE r record;
BEGIN
  FOR r IN SELECT n.nspname AS name FROM pg_namespace n
            WHERE {_PG_USER_SCHEMA.format(n='n')} AND n.nspname <> 'public' AND {_PG_NOT_EXTENSION.format(catalog='pg_namespace', oid='n.oid')}
  LOOP EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', r.name); END LOOP;
  FOR r IN SELECT format('%I.%I', n.nspname, c.relname) AS name,
                  CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                                 WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END AS kind
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
              AND {_PG_NOT_EXTENSION.format(catalog='pg_class', oid='c.oid')}
            ORDER BY CASE c.relkind WHEN 'S' THEN 1 ELSE 0 END
  LOOP EXECUTE format('DROP %s IF EXISTS %s CASCADE', r.kind, r.name); END LOOP;
  FOR r IN SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) AS name,
                  CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END AS kind
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'public' AND {_PG_NOT_EXTENSION.format(catalog='pg_proc', oid='p.oid')}
  LOOP EXECUTE format('DROP %s IF EXISTS %s CASCADE', r.kind, r.name); END LOOP;
  FOR r IN SELECT format('%I.%I', n.nspname, t.typname) AS name, CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END AS kind
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE n.nspname = 'public' AND t.typtype IN ('c', 'd', 'e', 'r', 'm')
              AND (t.typrelid = 0 OR (SELECT rc.relkind FROM pg_class rc WHERE rc.oid = t.typrelid) = 'c')
              AND {_PG_NOT_EXTENSION.format(catalog='pg_type', oid='t.oid')}
  LOOP EXECUTE format('DROP %s IF EXISTS %s CASCADE', r.kind, r.name); END LOOP;
END
$clean$;
"""

# Exact counts of every user table in one statement: query_to_xml runs a count(*) built for each table.
_PG_COUNTS = f"""
SELECT coalesce(json_object_agg(n.nspname || '.' || c.relname,
         (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text::bigint),
       '{{}}')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND {_PG_USER_SCHEMA.format(n='n')} AND {_PG_NOT_EXTENSION.format(catalog='pg_class', oid='c.oid')}
"""

# Every sequence owned by a column (serial: deptype 'a', identity: 'i') set to the column's MAX, so nextval gives MAX + increment;
# an empty table's sequence restarts at its start value. One statement: setval runs once per row of the subquery (a volatile
# output the planner neither flattens nor drops).
_PG_SEQUENCES = """
SELECT coalesce(json_agg(json_build_object('sequence', seq, 'table', tbl, 'column', col, 'max', mx,
                                           'next', CASE WHEN mx IS NULL THEN set_to ELSE set_to + step END) ORDER BY seq), '[]')
  FROM (SELECT owned.*, setval(seq_oid::regclass, coalesce(mx, start), mx IS NOT NULL) AS set_to
          FROM (SELECT s.oid AS seq_oid, sn.nspname || '.' || s.relname AS seq, tn.nspname || '.' || t.relname AS tbl, a.attname AS col,
                       ps.seqstart AS start, ps.seqincrement AS step,
                       (xpath('/row/m/text()', query_to_xml(format('SELECT max(%I) AS m FROM %I.%I', a.attname, tn.nspname, t.relname),
                                                            false, true, '')))[1]::text::bigint AS mx
                  FROM pg_class s
                  JOIN pg_namespace sn ON sn.oid = s.relnamespace
                  JOIN pg_sequence ps ON ps.seqrelid = s.oid
                  JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.refclassid = 'pg_class'::regclass
                                  AND d.deptype IN ('a', 'i')
                  JOIN pg_class t ON t.oid = d.refobjid
                  JOIN pg_namespace tn ON tn.oid = t.relnamespace
                  JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
                 WHERE s.relkind = 'S' AND t.relkind IN ('r', 'p')) owned) done
"""


class Postgres(Engine):
    """PostgreSQL through ``psql`` and ``pg_dump`` (plain SQL format)."""

    family = "postgresql"

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        env = dict(os.environ)
        # ours win over whatever the caller's environment says (PGHOST, PGDATABASE... would be ignored anyway: we pass all)
        env.update({"PGCONNECT_TIMEOUT": str(conn.connect_timeout), "PGAPPNAME": "scalarops.pitr.sql_dump", "PGCLIENTENCODING": "UTF8",
                    "LC_MESSAGES": "C"})
        env.pop("PGPASSWORD", None)
        if conn.password:
            env["PGPASSWORD"] = conn.password
        self.runner = Runner(conn, env)

    @property
    def conninfo(self) -> str:
        conn = self.conn
        parts = {"host": conn.host, "port": str(conn.port or DEFAULT_PORTS["postgresql"]), "user": conn.login, "dbname": conn.database or ""}
        return " ".join(f"{key}={_pg_quote(value)}" for key, value in parts.items())

    def _psql(self) -> list[str]:
        return [self.runner.binary(("psql",), "the PostgreSQL client (Debian: postgresql-client)"), "-X", "-q", "-w", "-v", "ON_ERROR_STOP=1"]

    def query(self, sql: str, what: str) -> str:
        return self.runner.run([*self._psql(), "-At", "-d", self.conninfo, "-c", sql], what).strip()

    def describe(self) -> dict[str, Any]:
        _unreachable(self.conn)
        conn = self.conn
        try:
            version = self.query("SELECT current_setting('server_version')", "psql")
        except SqlDumpError as exc:
            text = str(exc)
            if f'database "{conn.database}" does not exist' in text:
                raise SqlDumpError(f"database '{conn.database}' does not exist on postgresql at {conn.endpoint}; create it first "
                                   "(or check the database option); nothing was changed") from None
            if "authentication failed" in text or "no pg_hba.conf entry" in text or "password" in text:
                raise SqlDumpError(f"cannot log in to postgresql at {conn.endpoint} as '{conn.login}': {text.split(': ', 1)[-1]}; "
                                   "nothing was changed") from None
            if "could not connect" in text or "Connection refused" in text or "timeout expired" in text:
                raise SqlDumpError(f"database not reachable: postgresql at {conn.endpoint}: {text.split(': ', 1)[-1]}; nothing was changed") from None
            raise
        return {"server_version": version}

    def objects(self) -> list[str]:
        out = self.query(_PG_OBJECTS, "listing what the database holds")
        return [line for line in out.splitlines() if line]

    def dump_to(self, path: str) -> str:
        pg_dump = self.runner.binary(("pg_dump",), "the PostgreSQL client (Debian: postgresql-client)")
        tool = self.runner.run([pg_dump, "--version"], "pg_dump --version", timeout=60).strip()
        # pg_dump takes its snapshot in one repeatable-read transaction: consistent without stopping writers
        self.runner.run([pg_dump, "-w", "--format=plain", f"--file={path}", "-d", self.conninfo], "pg_dump")
        return tool

    def restore(self, path: str, clean: bool, single_transaction: bool) -> None:
        cmd = self._psql()
        if single_transaction:
            # one transaction around the cleaning and the whole dump: if anything fails, the database is as it was
            cmd.append("--single-transaction")
        cmd += ["-d", self.conninfo]
        if clean:
            cmd += ["-c", _PG_CLEAN]
        with open_dump(path) as stream:
            # a plain file by name (psql's errors then cite file and line); a .gz decompressed through stdin
            compressed = isinstance(stream, gzip.GzipFile)
            try:
                self.runner.run([*cmd, "-f", "-" if compressed else path], f"psql restoring {path}", stdin=stream if compressed else None)
            except SqlDumpError as exc:
                rolled_back = " (in one transaction: rolled back, the database is as it was)" if single_transaction else ""
                raise SqlDumpError(f"{exc}{rolled_back}", changed=not single_transaction) from None

    def row_counts(self) -> dict[str, int]:
        return {key: int(value) for key, value in json.loads(self.query(_PG_COUNTS, "counting rows") or "{}").items()}

    def reset_sequences(self) -> list[dict[str, Any]]:
        return json.loads(self.query(_PG_SEQUENCES, "resetting sequences") or "[]")


# --- MySQL / MariaDB -----------------------------------------------------------------------------------


def _option_value(value: str) -> str:
    """A value for a MySQL option file: double-quoted, with the escapes both MySQL's and MariaDB's readers undo."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'


def _my_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _my_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class MySQL(Engine):
    """MySQL or MariaDB through ``mysqldump``/``mariadb-dump`` and ``mysql``/``mariadb``."""

    family = "mysql"
    CLIENT_PACKAGE = "the MySQL or MariaDB client (Debian: mariadb-client)"

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        env = dict(os.environ)
        env.pop("MYSQL_PWD", None)  # the option file below carries the password; an inherited one must not win
        env["LC_MESSAGES"] = "C"
        self.runner = Runner(conn, env)
        self._defaults: str | None = None

    def close(self) -> None:
        if self._defaults and os.path.exists(self._defaults):
            os.unlink(self._defaults)
        self._defaults = None

    def defaults_file(self) -> str:
        """A private option file with the login (mkstemp: 0600, ours only); removed by :meth:`close`."""
        if self._defaults is None:
            handle, path = tempfile.mkstemp(prefix="scalarops-pitr-my-", suffix=".cnf")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(f"[client]\nuser={_option_value(self.conn.login)}\n")
                if self.conn.password:
                    stream.write(f"password={_option_value(self.conn.password)}\n")
            self._defaults = path
        return self._defaults

    def _connect_args(self) -> list[str]:
        conn = self.conn
        # --defaults-extra-file must come first; TCP even for "localhost", where the client would otherwise use its socket
        args = [f"--defaults-extra-file={self.defaults_file()}"]
        if conn.host.startswith("/"):
            args += ["--protocol=SOCKET", f"--socket={conn.host}"]
        else:
            args += ["--protocol=TCP", f"--host={conn.host}", f"--port={conn.port or DEFAULT_PORTS['mysql']}"]
        return args

    def _client(self) -> list[str]:
        # the client only: mysqldump has no --connect-timeout (describe() has connected before a dump starts)
        return [self.runner.binary(("mariadb", "mysql"), self.CLIENT_PACKAGE), *self._connect_args(), f"--connect-timeout={self.conn.connect_timeout}"]

    def query(self, sql: str, what: str, database: bool = True) -> list[list[str]]:
        cmd = [*self._client(), "--batch", "--skip-column-names", "--raw", "-e", sql]
        if database:
            cmd.append(f"--database={self.conn.database}")
        out = self.runner.run(cmd, what)
        return [line.split("\t") for line in out.splitlines() if line]

    def describe(self) -> dict[str, Any]:
        _unreachable(self.conn)
        conn = self.conn
        try:
            rows = self.query(f"SELECT VERSION(), (SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = {_my_string(conn.database or '')})",
                              "mysql", database=False)
        except SqlDumpError as exc:
            text = str(exc)
            if "Access denied" in text:
                raise SqlDumpError(f"cannot log in to mysql at {conn.endpoint} as '{conn.login}': {text.split(': ', 1)[-1]}; "
                                   "nothing was changed") from None
            if "Can't connect" in text or "Lost connection" in text:
                raise SqlDumpError(f"database not reachable: mysql at {conn.endpoint}: {text.split(': ', 1)[-1]}; nothing was changed") from None
            raise
        version, exists = rows[0]
        if exists == "0":
            raise SqlDumpError(f"database '{conn.database}' does not exist on mysql at {conn.endpoint}; create it first "
                               "(or check the database option); nothing was changed")
        return {"server_version": version}

    def objects(self) -> list[str]:
        schema = _my_string(self.conn.database or "")
        rows = self.query(
            f"SELECT CONCAT(LOWER(REPLACE(table_type, 'BASE TABLE', 'table')), ' ', table_name) FROM information_schema.tables "
            f"WHERE table_schema = {schema} UNION ALL "
            f"SELECT CONCAT(LOWER(routine_type), ' ', routine_name) FROM information_schema.routines WHERE routine_schema = {schema} UNION ALL "
            f"SELECT CONCAT('event ', event_name) FROM information_schema.events WHERE event_schema = {schema} ORDER BY 1",
            "listing what the database holds", database=False)
        return [row[0] for row in rows]

    def dump_to(self, path: str) -> str:
        dump = self.runner.binary(("mariadb-dump", "mysqldump"), self.CLIENT_PACKAGE)
        tool = self.runner.run([dump, "--version"], "mysqldump --version", timeout=60).strip()
        args = [dump, *self._connect_args(), "--single-transaction", "--routines", "--triggers", "--hex-blob", "--no-tablespaces",
                "--default-character-set=utf8mb4", f"--result-file={path}"]
        if "MariaDB" not in tool:
            # MySQL's mysqldump: SET @@GLOBAL.GTID_PURGED in the dump breaks restoring into a server that has GTIDs of its own
            args.append("--set-gtid-purged=OFF")
        # no --databases: the dump then has no CREATE DATABASE / USE, so it restores into whatever database is named
        self.runner.run([*args, "--", self.conn.database or ""], "mysqldump")
        return tool

    def restore(self, path: str, clean: bool, single_transaction: bool) -> None:
        conn = self.conn
        if clean:
            # Drop and create the database again with its character set and collation: also takes views, routines, events.
            rows = self.query(f"SELECT default_character_set_name, default_collation_name FROM information_schema.schemata "
                              f"WHERE schema_name = {_my_string(conn.database or '')}", "reading the database's character set", database=False)
            charset, collation = rows[0]
            name = _my_ident(conn.database or "")
            self.query(f"DROP DATABASE {name}", "dropping the database", database=False)
            try:
                self.query(f"CREATE DATABASE {name} CHARACTER SET {charset} COLLATE {collation}", "creating the database again", database=False)
            except SqlDumpError as exc:
                raise SqlDumpError(str(exc), changed=True) from None
        with open_dump(path) as stream:
            try:
                self.runner.run([*self._client(), f"--database={conn.database}"], f"mysql restoring {path}", stdin=stream)
            except SqlDumpError as exc:
                raise SqlDumpError(str(exc), changed=True) from None

    def row_counts(self) -> dict[str, int]:
        tables = [row[0] for row in self.query("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() "
                                               "AND table_type = 'BASE TABLE' ORDER BY table_name", "listing tables")]
        if not tables:
            return {}
        union = " UNION ALL ".join(f"SELECT {_my_string(name)}, COUNT(*) FROM {_my_ident(name)}" for name in tables)
        return {row[0]: int(row[1]) for row in self.query(union, "counting rows")}

    def reset_sequences(self) -> list[dict[str, Any]]:
        columns = self.query("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = DATABASE() "
                             "AND extra LIKE '%auto_increment%' ORDER BY table_name", "listing AUTO_INCREMENT columns")
        if not columns:
            return []
        union = " UNION ALL ".join(f"SELECT {_my_string(table)}, MAX({_my_ident(column)}) FROM {_my_ident(table)}" for table, column in columns)
        maxima = {row[0]: (None if row[1] == "NULL" else int(row[1])) for row in self.query(union, "reading AUTO_INCREMENT maxima")}
        # AUTO_INCREMENT = MAX + 1 (1 for an empty table); InnoDB never goes below MAX + 1 anyway
        alter = "; ".join(f"ALTER TABLE {_my_ident(table)} AUTO_INCREMENT = {(maxima.get(table) or 0) + 1}" for table, unused in columns)
        self.query(alter, "resetting AUTO_INCREMENT counters")
        return [{"sequence": None, "table": table, "column": column, "max": maxima.get(table), "next": (maxima.get(table) or 0) + 1}
                for table, column in columns]


# --- SQLite -------------------------------------------------------------------------------------------------


class SQLite(Engine):
    """A SQLite database file through Python's sqlite3 online backup API (what the sqlite3 shell's .backup uses)."""

    family = "sqlite"

    def _path(self) -> str:
        return str(self.conn.path)

    def describe(self) -> dict[str, Any]:
        return {"server_version": sqlite3.sqlite_version}

    def require_source(self) -> None:
        path = self._path()
        if not os.path.isfile(path):
            raise SqlDumpError(f"SQLite database {path} not found; nothing was changed")
        with open(path, "rb") as stream:
            start = stream.read(16)
        if start and not start.startswith(b"SQLite format 3"):
            raise SqlDumpError(f"{path} is not a SQLite database file; nothing was changed")

    def require_target(self) -> None:
        path = self._path()
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise SqlDumpError(f"the folder of the SQLite database {path} does not exist; nothing was changed")
        if os.path.exists(path):
            self.require_source()

    def _connect(self, path: str, read_only: bool) -> sqlite3.Connection:
        if read_only:
            return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=self.conn.busy_timeout)
        return sqlite3.connect(path, timeout=self.conn.busy_timeout)

    def objects(self) -> list[str]:
        path = self._path()
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            return []
        connection = self._connect(path, read_only=True)
        try:
            return [f"{kind} {name}" for kind, name in connection.execute(
                "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND type IN ('table', 'view', 'trigger') ORDER BY type, name")]
        finally:
            connection.close()

    def _copy(self, source: str, target: str, source_read_only: bool) -> None:
        src = self._connect(source, read_only=source_read_only)
        dst = self._connect(target, read_only=False)
        deadline = time.monotonic() + self.conn.busy_timeout

        def waited(status: int, remaining: int, total: int) -> None:  # pylint: disable=unused-argument
            # Python's backup() retries a busy step forever; past busy_timeout this stops it (the exception aborts the copy)
            if status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) and time.monotonic() > deadline:
                raise TimeoutError(f"database is locked by another connection for more than busy_timeout ({self.conn.busy_timeout:g}s)")

        try:
            # All pages in one step: one read transaction on the source for the whole copy, so it is one consistent state
            # (a stepwise copy restarts whenever another connection writes). A writer's lock is waited for up to busy_timeout.
            src.backup(dst, pages=-1, progress=waited, sleep=0.1)
        except (sqlite3.Error, TimeoutError) as exc:
            raise SqlDumpError(f"SQLite backup from {source} to {target} failed: {exc}") from None
        finally:
            dst.close()
            src.close()

    def dump_to(self, path: str) -> str:
        self._copy(self._path(), path, source_read_only=True)
        return f"sqlite3 {sqlite3.sqlite_version} online backup API"

    def restore(self, path: str, clean: bool, single_transaction: bool) -> None:
        # The backup API replaces the target's whole content in one transaction: whatever it held is gone, nothing is mixed in.
        try:
            self._copy(path, self._path(), source_read_only=True)
        except SqlDumpError as exc:
            raise SqlDumpError(str(exc), changed=False) from None

    def row_counts(self) -> dict[str, int]:
        return sqlite_counts(self._path())


def make_engine(conn: Connection) -> Engine:
    return {"postgresql": Postgres, "mysql": MySQL, "sqlite": SQLite}[conn.engine](conn)
