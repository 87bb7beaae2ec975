# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Consistent SQL dumps and verified restores for PostgreSQL, MySQL/MariaDB and SQLite (scalarops.pitr.sql_dump).

The single-database backup path of ScalarDB (``pg_dump``, ``mysqldump --single-transaction``, the
SQLite online backup) and the SQL-dump fallback of a CloudNativePG restore, as one module:

* **dump** writes the dump next to its final name and moves it there only when complete (a
  crashed run never leaves a half dump under the name a restore would pick), with a header naming
  engine, database, versions, row counts and the body's SHA-256; optionally in
  postgres-backup-local's layout (``<dir>/daily/<db>-YYYYMMDD.sql`` and ``<dir>/latest.sql``).
* **restore** checks everything before it changes anything: the dump (found, of this engine,
  complete and unaltered), the database (reachable, login, exists) and that it is empty unless
  ``clean`` drops what is there. Then it restores, resets the column-owned sequences to their
  column's maximum and compares the row count of every table with the dump's.

:func:`dump` and :func:`restore` are plain Python (the tests call them too); :func:`run` is the module body.
"""

from __future__ import annotations

import datetime as _dt
import os
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.redact import MASK, mask_secrets
from ansible_collections.scalarops.pitr.plugins.module_utils.sql_dump_engines import (
    DEFAULT_PORTS,
    Connection,
    Engine,
    MySQL,
    SQLite,
    SqlDumpError,
    make_engine,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.sql_dump_files import (
    DumpFileError,
    DumpInfo,
    dated_path,
    family,
    file_sha256,
    find_dump,
    inspect,
    latest_path,
    render_header,
    scan_sql,
    sqlite_check,
    sqlite_counts,
)

ENGINES = ["postgresql", "mysql", "mariadb", "sqlite"]
# How many of the objects found in a non-empty database an error message names.
SHOWN_OBJECTS = 10


def argument_spec() -> dict[str, Any]:
    return {
        "action": {"type": "str", "required": True, "choices": ["dump", "restore"]},
        "engine": {"type": "str", "required": True, "choices": ENGINES},
        "host": {"type": "str", "default": "localhost"},
        "port": {"type": "int"},
        "login_user": {"type": "str"},
        "login_password": {"type": "str", "no_log": True},
        "database": {"type": "str"},
        "path": {"type": "path"},
        "dest": {"type": "path"},
        "layout": {"type": "str", "default": "file", "choices": ["file", "dated"]},
        "period": {"type": "str", "default": "daily", "choices": ["daily", "weekly", "monthly"]},
        "dump_name": {"type": "str"},
        "mode": {"type": "str", "default": "0600"},
        "src": {"type": "path"},
        "clean": {"type": "bool", "default": False},
        "verify": {"type": "bool", "default": True},
        "expected_counts": {"type": "dict"},
        "reset_sequences": {"type": "bool", "default": True},
        "single_transaction": {"type": "bool", "default": True},
        "engine_check": {"type": "bool", "default": True},
        "binary_path": {"type": "path"},
        "connect_timeout": {"type": "int", "default": 10},
        "timeout": {"type": "int", "default": 3600},
        "busy_timeout": {"type": "float", "default": 30.0},
    }


REQUIRED_IF = [
    ["action", "dump", ["dest"]],
    ["action", "restore", ["src"]],
    ["engine", "sqlite", ["path"]],
    ["engine", "postgresql", ["database"]],
    ["engine", "mysql", ["database"]],
    ["engine", "mariadb", ["database"]],
]


@dataclass
class Request:
    """What to do; ``conn`` says where."""

    action: str
    conn: Connection
    engine: str  # as asked (mariadb stays mariadb in the result); conn.engine is the family
    dest: str | None = None
    layout: str = "file"
    period: str = "daily"
    dump_name: str | None = None
    mode: int = 0o600
    src: str | None = None
    clean: bool = False
    verify: bool = True
    expected_counts: dict[str, int] | None = None
    reset_sequences: bool = True
    single_transaction: bool = True
    engine_check: bool = True
    check_mode: bool = False
    now: _dt.datetime = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc))


def request_from_params(params: dict[str, Any], check_mode: bool) -> Request:
    """The request from the module's options; bad values raise SqlDumpError."""
    engine = params["engine"]
    fam = family(engine)
    try:
        mode = int(str(params["mode"]), 8)
    except ValueError:
        raise SqlDumpError(f"mode must be an octal file mode such as '0600', not {params['mode']!r}") from None
    expected = None
    if params.get("expected_counts") is not None:
        try:
            expected = {str(key): int(value) for key, value in params["expected_counts"].items()}
        except (TypeError, ValueError):
            raise SqlDumpError("expected_counts must map table names to whole numbers of rows") from None
    for option in ("connect_timeout", "timeout"):
        if params[option] <= 0:
            raise SqlDumpError(f"{option} must be a positive number of seconds")
    conn = Connection(engine=fam, host=params["host"] or "localhost", port=params["port"] or DEFAULT_PORTS.get(fam),
                      user=params["login_user"], password=params["login_password"], database=params["database"], path=params["path"],
                      binary_path=params["binary_path"], connect_timeout=params["connect_timeout"], timeout=float(params["timeout"]),
                      busy_timeout=float(params["busy_timeout"]))
    return Request(action=params["action"], conn=conn, engine=engine, dest=params["dest"], layout=params["layout"], period=params["period"],
                   dump_name=params["dump_name"], mode=mode, src=params["src"], clean=params["clean"], verify=params["verify"],
                   expected_counts=expected, reset_sequences=params["reset_sequences"], single_transaction=params["single_transaction"],
                   engine_check=params["engine_check"], check_mode=check_mode)


def _base(req: Request, started: float) -> dict[str, Any]:
    conn = req.conn
    return {"action": req.action, "engine": req.engine, "endpoint": conn.endpoint, "database": conn.database if conn.engine != "sqlite" else conn.path,
            "duration": round(time.monotonic() - started, 3)}


def _closing(engine: Engine) -> None:
    if isinstance(engine, MySQL):
        engine.close()


# --- dump -------------------------------------------------------------------------------------------------


def _dump_target(req: Request) -> tuple[str, str | None]:
    """The file to write and, in the dated layout, the ``latest`` link."""
    dest = os.path.abspath(str(req.dest))
    if req.layout == "file":
        if os.path.isdir(dest):
            raise SqlDumpError(f"dest {dest} is a directory; give the dump's file name, or set layout=dated to write <dest>/{req.period}/...")
        return dest, None
    name = req.dump_name or (req.conn.database if req.conn.engine != "sqlite" else os.path.splitext(os.path.basename(str(req.conn.path)))[0])
    # a database name is not a path: "a/b" must not make a folder
    name = str(name).replace(os.sep, "_")
    return dated_path(dest, name, req.conn.engine, req.period, req.now), latest_path(dest, req.conn.engine)


def dump(req: Request) -> dict[str, Any]:
    """Dump the database; the result names the file, its size and checksum, the rows per table."""
    started = time.monotonic()
    engine = make_engine(req.conn)
    try:
        return _dump(req, engine, started)
    finally:
        _closing(engine)


def _dump(req: Request, engine: Engine, started: float) -> dict[str, Any]:
    target, latest = _dump_target(req)
    if isinstance(engine, SQLite):
        engine.require_source()
    server = engine.describe()
    result = {**_base(req, started), "dest": target, "latest": latest, "server_version": server["server_version"], "changed": True}
    if req.check_mode:
        result.update(would_change=True, duration=round(time.monotonic() - started, 3))
        return result
    folder = os.path.dirname(target)
    os.makedirs(folder, exist_ok=True)
    body = _temporary(folder, target, ".body")
    final = _temporary(folder, target, ".part")
    try:
        tool = engine.dump_to(body)
        if req.conn.engine == "sqlite":
            counts = sqlite_counts(body)
            os.replace(body, final)
        else:
            scan = scan_sql(body, req.conn.engine)
            if not scan.complete:
                raise SqlDumpError(f"{tool} finished but its dump has no closing comment line; not keeping it")
            counts = scan.row_counts
            header = render_header({"engine": req.conn.engine, "database": req.conn.database, "server_version": server["server_version"],
                                    "created": req.now.isoformat(timespec="seconds"), "tool": tool, "body_sha256": scan.sha256,
                                    "body_size": scan.size, "row_counts": counts})
            with open(final, "wb") as out, open(body, "rb") as data:
                out.write(header)
                while True:
                    block = data.read(1 << 20)
                    if not block:
                        break
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
        os.chmod(final, req.mode)
        os.replace(final, target)
    finally:
        for leftover in (body, final):
            if os.path.exists(leftover):
                os.unlink(leftover)
    if latest:
        _link_latest(latest, target)
    result.update(size=os.path.getsize(target), checksum=file_sha256(target), tool=tool, row_counts=counts, tables=len(counts),
                  duration=round(time.monotonic() - started, 3))
    return result


def _temporary(folder: str, target: str, kind: str) -> str:
    # a dot name in the dump's folder: never taken for a dump (find_dump skips dot files), and os.replace stays on one filesystem
    handle, path = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(target)}{kind}-")
    os.close(handle)
    return path


def _link_latest(latest: str, target: str) -> None:
    """Point ``latest`` at ``target`` (relative symlink, replaced atomically as postgres-backup-local's latest is)."""
    relative = os.path.relpath(target, os.path.dirname(latest))
    temporary = os.path.join(os.path.dirname(latest), f".{os.path.basename(latest)}.link-{os.getpid()}")
    if os.path.lexists(temporary):
        os.unlink(temporary)
    os.symlink(relative, temporary)
    os.replace(temporary, latest)


# --- restore ------------------------------------------------------------------------------------------------


@dataclass
class Checked:
    """The dump after the checks: the file, what it is, the counts to expect and where they come from."""

    path: str
    picked: str
    info: DumpInfo
    expected: dict[str, int] | None
    counts_from: str


def check_dump(req: Request) -> Checked:
    """Find the dump and make sure it can be restored here: this engine, complete, unaltered; and what rows it holds."""
    path, picked = find_dump(str(req.src), req.conn.engine, req.dump_name)
    info = inspect(path)
    wanted = req.conn.engine
    if info.writer == "pg_dump custom format":
        raise DumpFileError(f"{path} is a pg_dump custom-format archive; this module restores plain SQL dumps (restore it with pg_restore)")
    if info.engine is None:
        # a SQLite restore copies a database file: there is nothing to try with a file that is not one
        if req.engine_check or wanted == "sqlite":
            raise DumpFileError(f"cannot tell which engine wrote {path} (no scalarops.pitr header, no pg_dump, mysqldump or SQLite "
                                f"signature); set engine_check=false to restore it into {wanted} anyway")
    elif info.engine != wanted:
        raise DumpFileError(f"{path} is a {info.engine} dump (written by {info.writer}); it cannot be restored into {wanted}")
    expected: dict[str, int] | None = None
    counts_from = "none"
    if info.engine == "sqlite":
        problem = sqlite_check(path)
        if problem != "ok":
            raise DumpFileError(f"{path} is a damaged SQLite file: {problem}")
        expected, counts_from = sqlite_counts(path), "dump"
    else:
        ours = info.writer == "scalarops.pitr"
        header_counts = info.header.get("row_counts") if ours else None
        scan = scan_sql(path, info.engine or wanted, info.header_size, count_rows=header_counts is None)
        if ours:
            if scan.sha256 != info.header.get("body_sha256"):
                raise DumpFileError(f"{path} was altered or truncated after it was written: its SHA-256 below the header is {scan.sha256}, "
                                    f"the header recorded {info.header.get('body_sha256')}")
        elif info.engine is not None and not scan.complete:
            raise DumpFileError(f"{path} looks truncated: the last comment {info.writer} writes at the end of a dump is missing")
        if header_counts is not None:
            expected, counts_from = {str(key): int(value) for key, value in header_counts.items()}, "header"
        elif info.engine is not None:
            expected, counts_from = scan.row_counts, "dump"
    if req.expected_counts is not None:
        expected, counts_from = dict(req.expected_counts), "given"
    return Checked(path, picked, info, expected, counts_from)


def restore(req: Request) -> dict[str, Any]:
    """Restore a dump; the result names the dump, what was dropped, the sequences set and the rows per table."""
    started = time.monotonic()
    engine = make_engine(req.conn)
    try:
        return _restore(req, engine, started)
    finally:
        _closing(engine)


def _restore(req: Request, engine: Engine, started: float) -> dict[str, Any]:
    checked = check_dump(req)
    if isinstance(engine, SQLite):
        engine.require_target()
    server = engine.describe()
    existing = engine.objects()
    result: dict[str, Any] = {**_base(req, started), "src": checked.path, "picked": checked.picked, "dump": checked.info.summary(),
                              "server_version": server["server_version"], "expected_counts": checked.expected, "counts_from": checked.counts_from,
                              "cleaned": False, "dropped": existing if req.clean else [], "changed": False}
    if existing and not req.clean:
        shown = ", ".join(existing[:SHOWN_OBJECTS]) + (f" and {len(existing) - SHOWN_OBJECTS} more" if len(existing) > SHOWN_OBJECTS else "")
        raise SqlDumpError(f"{engine.family} database {_where(req)} is not empty ({len(existing)} objects: {shown}); restoring into it would fail "
                           "with 'relation already exists' or mix old and new rows. Set clean=true to drop them first; nothing was changed")
    if req.check_mode:
        result.update(changed=True, would_change=True, cleaned=bool(existing), duration=round(time.monotonic() - started, 3))
        return result
    engine.restore(checked.path, req.clean, req.single_transaction)
    result.update(changed=True, cleaned=req.clean and bool(existing))
    try:
        result["sequences"] = engine.reset_sequences() if req.reset_sequences else []
        counts = engine.row_counts()
    except SqlDumpError as exc:
        raise SqlDumpError(f"restored {checked.path} into {_where(req)}, then: {exc}", changed=True) from None
    result["row_counts"] = counts
    mismatches = _compare(checked.expected, counts)
    result.update(mismatches=mismatches, verified=checked.expected is not None and not mismatches, duration=round(time.monotonic() - started, 3))
    if mismatches and req.verify:
        detail = "; ".join(f"{table}: expected {want}, found {'no table' if got is None else got}" for table, (want, got) in mismatches.items())
        raise SqlDumpError(f"restored {checked.path} into {_where(req)}, but the row counts differ from the {checked.counts_from} counts: {detail}",
                           changed=True, result=result)
    return result


def _where(req: Request) -> str:
    conn = req.conn
    return conn.endpoint if conn.engine == "sqlite" else f"'{conn.database}' at {conn.endpoint}"


def _compare(expected: dict[str, int] | None, counts: dict[str, int]) -> dict[str, list[int | None]]:
    if expected is None:
        return {}
    return {table: [want, counts.get(table)] for table, want in sorted(expected.items()) if counts.get(table) != want}


# --- the module -------------------------------------------------------------------------------------------


def scrub(value: Any, secret: str | None) -> Any:
    """``value`` (any JSON-like structure) with the password and secret-looking pairs masked in every string."""
    if isinstance(value, str):
        return mask_secrets(value.replace(secret, MASK) if secret else value)
    if isinstance(value, dict):
        return {key: scrub(item, secret) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub(item, secret) for item in value]
    return value


def run(module: Any) -> None:
    """The module body: build the request, run the action, exit with its masked result."""
    params = module.params
    secret = params.get("login_password")
    failure: dict[str, Any] | None = None
    result: dict[str, Any] = {}
    try:
        req = request_from_params(params, module.check_mode)
        result = dump(req) if req.action == "dump" else restore(req)
    except SqlDumpError as exc:
        failure = {**(exc.result or {}), "changed": exc.changed, "msg": str(exc)}
    except DumpFileError as exc:
        failure = {"changed": False, "msg": f"{exc}; nothing was changed"}
    except OSError as exc:
        failure = {"changed": False, "msg": f"sql_dump {params['action']}: {exc}"}
    if failure is not None:  # outside the except blocks: an expected failure, not a traceback to report
        module.fail_json(**scrub(failure, secret))
    module.exit_json(**scrub(result, secret))
