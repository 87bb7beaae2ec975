# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The dump files of scalarops.pitr.sql_dump: their header, what is in them, where the newest one is.

A SQL dump (PostgreSQL ``pg_dump`` plain format, ``mysqldump``/``mariadb-dump``) written by the
module starts with a comment header naming the engine, the database, the server and tool
versions, the row count of every table, and the SHA-256 of the dump below the header, so that a
restore can refuse a dump of another engine, a truncated or altered file, and can verify the rows
it restored. Dumps written by the plain tools (postgres-backup-local, a manual ``pg_dump``) have no
such header; their engine is recognised from the tools' own first comment lines, their
completeness from the tools' last comment line, and their row counts are read from the data
(``COPY`` blocks, ``INSERT`` tuples). A SQLite dump is a SQLite database file (online backup): its
magic bytes name the engine, and its tables hold the counts.

Directories are searched the way postgres-backup-local lays them out:
``<dir>/latest.sql`` (a link to the newest), else the newest dump in ``<dir>/daily``, ``weekly``,
``monthly``, ``last`` or ``<dir>`` itself.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import hashlib
import json
import os
import re
import sqlite3
from dataclasses import dataclass, field
from typing import IO, Any, Iterator

HEADER_MARK = "-- scalarops.pitr sql_dump"
HEADER_END = "-- end of scalarops.pitr sql_dump header"
HEADER_FORMAT = 1
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"
GZIP_MAGIC = b"\x1f\x8b"
FAMILIES = ("postgresql", "mysql", "sqlite")
SQL_SUFFIXES = (".sql", ".sql.gz")
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
DATED_FOLDERS = ("daily", "weekly", "monthly", "last")
# postgres-backup-local's names: daily <db>-YYYYMMDD, weekly <db>-YYYYWW, monthly <db>-YYYYMM, last <db>-YYYYMMDD-HHMMSS
PERIOD_FORMATS = {"daily": "%Y%m%d", "weekly": "%G%V", "monthly": "%Y%m"}
_DATED_NAME = re.compile(r"^(?P<name>.+?)-(?P<stamp>\d{6,8}(?:-\d{6})?|latest)(?P<suffix>\.sql(?:\.gz)?|\.db|\.sqlite3?)$")

# The tools' own first and last comment lines.
_NATIVE_START = [
    (re.compile(rb"^-- PostgreSQL database (?:cluster )?dump\s*$"), "postgresql", "pg_dump"),
    (re.compile(rb"^-- (?:MySQL|MariaDB) dump "), "mysql", "mysqldump"),
]
_NATIVE_END = {"postgresql": re.compile(rb"^-- PostgreSQL database (?:cluster )?dump complete\s*$"),
               "mysql": re.compile(rb"^-- Dump completed")}

# pg_dump plain format: one data line per row between "COPY <table> (...) FROM stdin;" and "\."
_PG_COPY = re.compile(rb"^COPY (?P<table>.+?) (?:\(.*\) )?FROM stdin;\s*$")
_PG_IDENT = re.compile(r'"((?:[^"]|"")*)"|([^."]+)')
# mysqldump: "CREATE TABLE `t` (" for every table (also empty ones), then extended INSERTs whose tuples are counted.
# Strings are skipped whole (backslash escapes, doubled quotes), so parentheses inside values do not count.
_MY_CREATE = re.compile(rb"^CREATE TABLE (?P<table>`(?:[^`]|``)+`) \(")
_MY_INSERT = re.compile(rb"^(?:INSERT|REPLACE)(?: IGNORE)? INTO (?P<table>`(?:[^`]|``)+`)(?: \((?:[^()`]|`(?:[^`]|``)*`)*\))? VALUES ?")
_MY_TOKEN = re.compile(rb"'(?:[^'\\]++|\\.|'')*+'|[();]", re.DOTALL)


class DumpFileError(ValueError):
    """A dump that cannot be used (missing, of another engine, truncated, altered); the message says which and why."""


def family(engine: str) -> str:
    """The engine family a dump belongs to: MariaDB and MySQL dumps are interchangeable."""
    return "mysql" if engine in ("mysql", "mariadb") else engine


def suffixes(engine: str) -> tuple[str, ...]:
    return SQLITE_SUFFIXES if family(engine) == "sqlite" else SQL_SUFFIXES


# --- header ---------------------------------------------------------------------------------------------


def render_header(fields: dict[str, Any]) -> bytes:
    """The header comment block: one ``-- key: value`` line per field (``row_counts`` as JSON), between markers."""
    lines = [HEADER_MARK, f"-- format: {HEADER_FORMAT}"]
    for key, value in fields.items():
        text = json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else str(value)
        lines.append(f"-- {key}: {' '.join(text.splitlines())}")
    lines.append(HEADER_END)
    return ("\n".join(lines) + "\n").encode("utf-8")


def _parse_header(lines: list[bytes]) -> tuple[dict[str, Any], int] | None:
    """Our header's fields and its length in bytes, when ``lines`` start with it."""
    if not lines or lines[0].rstrip(b"\r\n").decode("utf-8", "replace") != HEADER_MARK:
        return None
    fields: dict[str, Any] = {}
    size = len(lines[0])
    for raw in lines[1:]:
        size += len(raw)
        line = raw.rstrip(b"\r\n").decode("utf-8", "replace")
        if line == HEADER_END:
            return fields, size
        key, sep, value = line[3:].partition(": ")
        if not line.startswith("-- ") or not sep:
            break
        fields[key] = value
    raise DumpFileError(f"the scalarops.pitr header of the dump ends early (line {len(fields) + 2}); the file is damaged")


# --- reading ------------------------------------------------------------------------------------------


def open_dump(path: str) -> IO[bytes]:
    """The dump's bytes, decompressed when it is gzip (postgres-backup-local writes .sql.gz)."""
    with open(path, "rb") as probe:
        compressed = probe.read(2) == GZIP_MAGIC
    # the caller closes the stream; a "with" here would close it before it is read
    return gzip.open(path, "rb") if compressed else open(path, "rb")  # pylint: disable=consider-using-with


@dataclass
class DumpInfo:
    """What a dump file is: its engine family, who wrote it, our header (when it has one)."""

    path: str
    engine: str | None
    writer: str  # "scalarops.pitr", "pg_dump", "mysqldump", "sqlite", "pg_dump custom format" or "unknown"
    header: dict[str, Any] = field(default_factory=dict)
    header_size: int = 0
    compressed: bool = False

    def summary(self) -> dict[str, Any]:
        """The dump as the module returns it (no row counts: those are returned on their own)."""
        fields = {key: value for key, value in self.header.items() if key not in ("row_counts", "format")}
        return {"path": self.path, "engine": self.engine, "writer": self.writer, "compressed": self.compressed, **fields}


def inspect(path: str) -> DumpInfo:
    """Read the start of ``path`` and tell which engine wrote it (our header, the tools' comments, magic bytes)."""
    with open(path, "rb") as raw:
        compressed = raw.read(2) == GZIP_MAGIC
    try:
        with open_dump(path) as stream:
            start = stream.read(65536)
    except (OSError, EOFError) as exc:
        raise DumpFileError(f"cannot read the dump {path}: {exc}") from None
    if start.startswith(SQLITE_MAGIC):
        return DumpInfo(path, "sqlite", "sqlite", compressed=compressed)
    if start.startswith(PG_CUSTOM_MAGIC):
        return DumpInfo(path, "postgresql", "pg_dump custom format", compressed=compressed)
    lines = start.splitlines(keepends=True)
    ours = _parse_header(lines)
    if ours is not None:
        fields, size = ours
        engine = fields.get("engine")
        if engine not in FAMILIES:
            raise DumpFileError(f"the scalarops.pitr header of {path} names an unknown engine {engine!r}; the file is damaged")
        fields["row_counts"] = _json_field(fields, "row_counts", path)
        if "body_size" in fields:
            fields["body_size"] = int(_json_field(fields, "body_size", path))
        return DumpInfo(path, engine, "scalarops.pitr", fields, size, compressed)
    for line in lines[:80]:
        for pattern, engine, writer in _NATIVE_START:
            if pattern.match(line):
                return DumpInfo(path, engine, writer, compressed=compressed)
    return DumpInfo(path, None, "unknown", compressed=compressed)


def _json_field(fields: dict[str, Any], key: str, path: str) -> Any:
    if key not in fields:
        return None
    try:
        return json.loads(fields[key])
    except ValueError:
        raise DumpFileError(f"the {key} in the scalarops.pitr header of {path} is not valid JSON; the file is damaged") from None


# --- scanning the body ----------------------------------------------------------------------------------


@dataclass
class Scan:
    """One pass over a SQL dump's body: its SHA-256 and size, whether the tool's last line is there, the rows per table."""

    sha256: str
    size: int
    complete: bool
    row_counts: dict[str, int]


def _pg_table(name: bytes) -> str:
    """``public."My T"`` -> ``public.My T`` (the key row counts use for PostgreSQL)."""
    text = name.decode("utf-8", "replace")
    return ".".join(quoted.replace('""', '"') if quoted or not plain else plain for quoted, plain in _PG_IDENT.findall(text))


def _my_table(name: bytes) -> str:
    return name.decode("utf-8", "replace")[1:-1].replace("``", "`")


def body_lines(stream: IO[bytes], skip: int) -> Iterator[bytes]:
    """The lines of ``stream`` after its first ``skip`` bytes (our header)."""
    if skip:
        stream.read(skip)
    yield from stream


def scan_sql(path: str, engine: str, header_size: int = 0, count_rows: bool = True) -> Scan:
    """Hash the body of a SQL dump and (``count_rows``) count the rows it holds for each table."""
    digest, size, counts = hashlib.sha256(), 0, {}
    complete = False
    end_marker = _NATIVE_END.get(engine)
    table: str | None = None  # PostgreSQL: the table whose COPY data we are in; MySQL: the INSERT we are in
    depth = 0
    with open_dump(path) as stream:
        for line in body_lines(stream, header_size):
            digest.update(line)
            size += len(line)
            if end_marker is not None and end_marker.match(line):
                complete = True
            if not count_rows:
                continue
            if engine == "postgresql":
                table = _pg_count(line, table, counts)
            else:
                table, depth = _my_count(line, table, depth, counts)
    return Scan(digest.hexdigest(), size, complete, counts)


def _pg_count(line: bytes, table: str | None, counts: dict[str, int]) -> str | None:
    if table is not None:
        if line.rstrip(b"\r\n") == b"\\.":
            return None
        counts[table] += 1
        return table
    match = _PG_COPY.match(line)
    if match:
        name = _pg_table(match.group("table"))
        counts.setdefault(name, 0)
        return name
    return None


def _my_count(line: bytes, table: str | None, depth: int, counts: dict[str, int]) -> tuple[str | None, int]:
    rest = line
    if table is None:
        create = _MY_CREATE.match(line)
        if create:
            counts.setdefault(_my_table(create.group("table")), 0)
            return None, 0
        insert = _MY_INSERT.match(line)
        if not insert:
            return None, 0
        table, depth, rest = _my_table(insert.group("table")), 0, line[insert.end():]
        counts.setdefault(table, 0)
    for token in _MY_TOKEN.finditer(rest):
        char = token.group()
        if char == b"(":
            if depth == 0:
                counts[table] += 1
            depth += 1
        elif char == b")":
            depth -= 1
        elif char == b";" and depth == 0:
            return None, 0
    return table, depth


def sqlite_counts(path: str) -> dict[str, int]:
    """Rows per table of a SQLite database file, opened read-only."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {name: connection.execute(f'SELECT COUNT(*) FROM "{name.replace(chr(34), chr(34) * 2)}"').fetchone()[0] for name in names}
    finally:
        connection.close()


def sqlite_check(path: str) -> str:
    """``ok`` or what ``PRAGMA quick_check`` found wrong in a SQLite file."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return "; ".join(row[0] for row in connection.execute("PRAGMA quick_check"))
    finally:
        connection.close()


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- where dumps are ------------------------------------------------------------------------------------


def dated_path(directory: str, name: str, engine: str, period: str, moment: _dt.datetime) -> str:
    """``<directory>/<period>/<name>-<stamp>.<ext>``, stamped as postgres-backup-local does for the period."""
    ext = ".db" if family(engine) == "sqlite" else ".sql"
    return os.path.join(directory, period, f"{name}-{moment.strftime(PERIOD_FORMATS[period])}{ext}")


def latest_path(directory: str, engine: str) -> str:
    return os.path.join(directory, "latest.db" if family(engine) == "sqlite" else "latest.sql")


def dump_name_of(path: str) -> str:
    """The database part of a dated dump's name (``app`` for ``app-20261121.sql``), else the name without suffix."""
    base = os.path.basename(path)
    match = _DATED_NAME.match(base)
    if match:
        return match.group("name")
    for suffix in SQL_SUFFIXES + SQLITE_SUFFIXES:
        if base.endswith(suffix):
            return base[:-len(suffix)]
    return base


def find_dump(src: str, engine: str, dump_name: str | None = None) -> tuple[str, str]:
    """The dump to restore and how it was chosen (``given``, ``latest`` or ``newest``).

    ``src`` is a file, or a directory: its ``latest.sql`` (``latest.db`` for SQLite), else the newest
    (modification time, then name) dump in its daily/weekly/monthly/last folders or in itself.
    With ``dump_name`` only dumps named ``<dump_name>-...`` count.
    """
    if os.path.isfile(src):
        return src, "given"
    if not os.path.exists(src):
        raise DumpFileError(f"no dump found: {src} does not exist")
    if not os.path.isdir(src):
        raise DumpFileError(f"no dump found: {src} is neither a file nor a directory")
    wanted = suffixes(engine)
    for candidate in (os.path.join(src, "latest" + suffix) for suffix in wanted):
        if os.path.islink(candidate) and not os.path.exists(candidate):
            raise DumpFileError(f"no dump found: {candidate} links to {os.readlink(candidate)}, which does not exist")
        if os.path.isfile(candidate) and (dump_name is None or dump_name_of(os.path.realpath(candidate)) == dump_name):
            return candidate, "latest"
    found: list[tuple[float, str]] = []
    for folder in [os.path.join(src, sub) for sub in DATED_FOLDERS] + [src]:
        if not os.path.isdir(folder):
            continue
        for entry in os.scandir(folder):
            # dot files are our unfinished temporary files; "latest" was handled above
            if entry.name.startswith(".") or not entry.is_file() or not entry.name.endswith(wanted) or entry.name.startswith("latest."):
                continue
            if dump_name is not None and dump_name_of(entry.name) != dump_name:
                continue
            found.append((entry.stat().st_mtime, entry.path))
    if not found:
        what = " or ".join(f"*{suffix}" for suffix in wanted)
        named = f" named {dump_name}-*" if dump_name else ""
        raise DumpFileError(f"no dump found in {src}: no latest{wanted[0]} and no {what} file{named} in it or in its "
                            f"{', '.join(DATED_FOLDERS)} folders")
    names = sorted({dump_name_of(path) for unused_mtime, path in found})
    if dump_name is None and len(names) > 1:
        raise DumpFileError(f"{src} holds dumps of several databases ({', '.join(names)}) and no latest{wanted[0]}; "
                            f"set dump_name to the one to restore, or give the dump file as src")
    return max(found)[1], "newest"
