"""Unit tests of sql_dump_files: the header, telling engines apart, counting rows in dump text, finding the newest dump.

The dump texts are shaped like the real tools' output (pg_dump 15, mariadb-dump 10.11 - which puts each
tuple of an extended INSERT on its own line - and MySQL's single-line extended INSERTs); the functional
tests run the real tools.
"""
from __future__ import annotations

import datetime as dt
import gzip
import os
import sqlite3
import time
from pathlib import Path

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.sql_dump_files import (
    DumpFileError,
    dated_path,
    dump_name_of,
    find_dump,
    inspect,
    render_header,
    scan_sql,
)

PG_DUMP = b'''--
-- PostgreSQL database dump
--

SET client_encoding = 'UTF8';

CREATE TABLE public.items (id integer NOT NULL, name text);
CREATE TABLE s2."My ""T""" (id bigint NOT NULL);
CREATE TABLE public.empty (id integer);

COPY public.items (id, name) FROM stdin;
1\ta
2\tline\\nbreak \\\\ and COPY x FROM stdin;
3\t\\N
\\.

COPY s2."My ""T""" (id) FROM stdin;
7
\\.

COPY public.empty (id) FROM stdin;
\\.

--
-- PostgreSQL database dump complete
--

'''

MARIADB_DUMP = b"""/*M!999999\\- enable the sandbox mode */
-- MariaDB dump 10.19  Distrib 10.11.18-MariaDB, for debian-linux-gnu (x86_64)
DROP TABLE IF EXISTS `items`;
CREATE TABLE `items` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;
CREATE TABLE `empty``one` (
  `id` int(11)
) ENGINE=InnoDB;
/*!50001 CREATE VIEW `v` AS SELECT
 1 AS `id` */;
LOCK TABLES `items` WRITE;
INSERT INTO `items` VALUES
(1,'a(b)',NULL),
(2,'it\\'s \\\\ ),(',0x00FF),
(3,'x'')y;(',''),
(4,NULL,'');
INSERT INTO `items` (`id`, `odd (col)`) VALUES (5,'(('),(6,'));');
UNLOCK TABLES;

-- Dump completed on 2026-11-21 11:14:22
"""


def write(path: Path, data: bytes, age: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if age is not None:
        stamp = time.time() - age
        os.utime(path, (stamp, stamp))
    return path


def test_native_pg_dump_is_recognised_and_its_copy_rows_counted(tmp_path: Path) -> None:
    dump = write(tmp_path / "pg.sql", PG_DUMP)
    info = inspect(str(dump))
    assert (info.engine, info.writer, info.header, info.compressed) == ("postgresql", "pg_dump", {}, False)
    scan = scan_sql(str(dump), "postgresql")
    assert scan.complete and scan.size == len(PG_DUMP)
    assert scan.row_counts == {"public.items": 3, 's2.My "T"': 1, "public.empty": 0}


def test_mariadb_dump_tuples_are_counted_outside_strings(tmp_path: Path) -> None:
    dump = write(tmp_path / "my.sql", MARIADB_DUMP)
    assert (inspect(str(dump)).engine, inspect(str(dump)).writer) == ("mysql", "mysqldump")
    scan = scan_sql(str(dump), "mysql")
    # the view's placeholder is not a table; quoted parentheses, semicolons and quotes do not count
    assert scan.complete and scan.row_counts == {"items": 6, "empty`one": 0}


def test_mysql_single_line_extended_insert(tmp_path: Path) -> None:
    dump = write(tmp_path / "my.sql", b"-- MySQL dump 10.13  Distrib 8.0.36\nCREATE TABLE `t` (\n  `a` int\n);\n"
                                      b"INSERT INTO `t` VALUES (1,'('),(2,')'),(3,'\\\\');\nINSERT INTO `t` VALUES (4,'');\n")
    scan = scan_sql(str(dump), "mysql")
    assert scan.row_counts == {"t": 4} and not scan.complete  # no "-- Dump completed": truncated


def test_header_round_trip_and_body_hash(tmp_path: Path) -> None:
    body = write(tmp_path / "body.sql", PG_DUMP)
    scan = scan_sql(str(body), "postgresql")
    header = render_header({"engine": "postgresql", "database": "app\nx", "body_sha256": scan.sha256, "body_size": scan.size,
                            "row_counts": scan.row_counts})
    dump = write(tmp_path / "gz" / "app.sql.gz", gzip.compress(header + PG_DUMP))
    info = inspect(str(dump))
    assert (info.engine, info.writer, info.compressed, info.header_size) == ("postgresql", "scalarops.pitr", True, len(header))
    assert info.header["row_counts"] == scan.row_counts and info.header["database"] == "app x" and info.header["body_size"] == scan.size
    assert scan_sql(str(dump), "postgresql", info.header_size, count_rows=False).sha256 == info.header["body_sha256"]


def test_other_files(tmp_path: Path) -> None:
    lite = tmp_path / "a.db"
    sqlite3.connect(lite).execute("CREATE TABLE t (x)").connection.close()
    assert (inspect(str(lite)).engine, inspect(str(lite)).writer) == ("sqlite", "sqlite")
    custom = write(tmp_path / "c.dump", b"PGDMP\x01\x0e\x00")
    assert inspect(str(custom)).writer == "pg_dump custom format"
    unknown = write(tmp_path / "u.sql", b"CREATE TABLE t (id int);\n")
    assert (inspect(str(unknown)).engine, inspect(str(unknown)).writer) == (None, "unknown")
    broken = write(tmp_path / "b.sql", render_header({"engine": "postgresql"}).split(b"-- end", maxsplit=1)[0] + b"CREATE TABLE t ();\n")
    with pytest.raises(DumpFileError, match="header of the dump ends early"):
        inspect(str(broken))


def test_find_dump_prefers_latest_then_newest_dated(tmp_path: Path) -> None:
    write(tmp_path / "weekly" / "app-202647.sql", b"w", age=50)
    newest = write(tmp_path / "daily" / "app-20261121.sql.gz", b"d", age=10)
    write(tmp_path / "daily" / "app-20261120.sql", b"d", age=100)
    write(tmp_path / "daily" / ".app-20261122.sql.part-1", b"unfinished", age=1)
    write(tmp_path / "daily" / "notes.txt", b"x", age=1)
    assert find_dump(str(tmp_path), "postgresql") == (str(newest), "newest")
    os.symlink("weekly/app-202647.sql", tmp_path / "latest.sql")
    assert find_dump(str(tmp_path), "postgresql") == (str(tmp_path / "latest.sql"), "latest")
    assert find_dump(str(newest), "postgresql") == (str(newest), "given")
    # SQLite looks for its own suffixes only
    with pytest.raises(DumpFileError, match=r"no dump found in .*no latest\.db"):
        find_dump(str(tmp_path), "sqlite")


def test_find_dump_refusals(tmp_path: Path) -> None:
    with pytest.raises(DumpFileError, match="does not exist"):
        find_dump(str(tmp_path / "missing"), "mysql")
    with pytest.raises(DumpFileError, match=r"no dump found in .*latest\.sql"):
        find_dump(str(tmp_path), "mysql")
    os.symlink("daily/gone.sql", tmp_path / "latest.sql")
    with pytest.raises(DumpFileError, match="links to daily/gone.sql, which does not exist"):
        find_dump(str(tmp_path), "mysql")
    os.unlink(tmp_path / "latest.sql")
    write(tmp_path / "daily" / "app-20261121.sql", b"a", age=10)
    other = write(tmp_path / "daily" / "crm-20261120.sql", b"c", age=20)
    with pytest.raises(DumpFileError, match=r"several databases \(app, crm\)"):
        find_dump(str(tmp_path), "mysql")
    assert find_dump(str(tmp_path), "mysql", dump_name="crm") == (str(other), "newest")


def test_dated_names() -> None:
    moment = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    assert dated_path("/b", "app", "postgresql", "daily", moment) == "/b/daily/app-20260102.sql"
    assert dated_path("/b", "app", "mariadb", "weekly", moment) == "/b/weekly/app-202601.sql"
    assert dated_path("/b", "app", "sqlite", "monthly", moment) == "/b/monthly/app-202601.db"
    assert [dump_name_of(name) for name in ("my-db-20260102.sql", "app-latest.sql.gz", "app-20260102-030405.sql.gz", "plain.sql")] == [
        "my-db", "app", "app", "plain"]
