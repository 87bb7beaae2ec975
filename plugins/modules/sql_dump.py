#!/usr/bin/python
# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Dump a PostgreSQL, MySQL/MariaDB or SQLite database consistently, or restore such a dump and verify it."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sql_dump
short_description: Consistent SQL dumps and verified restores for PostgreSQL, MySQL/MariaDB and SQLite
version_added: 0.1.0
description:
  - The backup path of ScalarDB on a single database and the SQL-dump fallback of a CloudNativePG restore.
  - O(action=dump) writes a consistent dump into O(dest) - C(pg_dump) (plain SQL, one repeatable-read snapshot),
    C(mariadb-dump) or C(mysqldump) with C(--single-transaction --routines --triggers --hex-blob) (consistent for InnoDB
    tables), or for SQLite an online backup (the SQLite backup API, as the C(sqlite3) shell's C(.backup)), waiting up to
    O(busy_timeout) for a writer's lock.
  - A SQL dump starts with a comment header naming the engine, database, server and tool versions, the row count of every
    table and the SHA-256 of the dump below the header. The dump is written under a temporary name next to O(dest) and
    renamed when complete, so a failed run never leaves half a dump under a name a restore would pick.
  - With O(layout=dated) the dump goes to C(<dest>/<period>/<name>-YYYYMMDD.sql) (weekly C(YYYYWW), monthly C(YYYYMM))
    and C(<dest>/latest.sql) links to it, the layout of postgres-backup-local. SQLite dumps end in C(.db) (C(latest.db)).
  - O(action=restore) restores O(src) with C(psql -v ON_ERROR_STOP=1), C(mariadb) or C(mysql), or for SQLite the backup
    API into the target file. Before it changes anything it checks that the dump exists, was written for this engine
    (refusing a dump of another engine), is complete and unaltered (the header's SHA-256, or the closing comment of
    C(pg_dump) and C(mysqldump)), that the database is reachable (the error names host and port), the login works and the
    database exists, and that the database is empty unless O(clean=true).
  - After a restore every sequence owned by a column (PostgreSQL C(serial) and identity columns) is set to the column's
    maximum so the next value is MAX + 1, and MySQL/MariaDB C(AUTO_INCREMENT) counters to MAX + 1 (O(reset_sequences));
    then the rows of every table are counted and compared with the dump's (from its header, counted in its data, or
    O(expected_counts)).
  - Passwords never appear on a command line - PostgreSQL tools get C(PGPASSWORD) in their environment, MySQL tools a
    private option file - and are masked in everything the module returns.
author:
  - scalarops.pitr developers (@scalarops)
requirements:
  - PostgreSQL - C(pg_dump) and C(psql) (Debian C(postgresql-client)); C(pg_dump) must not be older than the server.
  - MySQL/MariaDB - C(mariadb-dump) or C(mysqldump), and C(mariadb) or C(mysql) (Debian C(mariadb-client)).
  - SQLite - nothing but Python's C(sqlite3).
options:
  action:
    description: V(dump) the database into O(dest), or V(restore) O(src) into it.
    type: str
    required: true
    choices: [dump, restore]
  engine:
    description: The database engine. V(mariadb) is the same as V(mysql); MySQL and MariaDB dumps restore into either.
    type: str
    required: true
    choices: [postgresql, mysql, mariadb, sqlite]
  host:
    description:
      - Host name or address of the server (PostgreSQL, MySQL/MariaDB), reached over TCP.
      - A path starting with C(/) is a Unix socket directory (PostgreSQL) or socket file (MySQL/MariaDB).
    type: str
    default: localhost
  port:
    description: Server port; default 5432 (PostgreSQL) or 3306 (MySQL/MariaDB).
    type: int
  login_user:
    description: User to log in as; default C(postgres) (PostgreSQL) or C(root) (MySQL/MariaDB).
    type: str
  login_password:
    description:
      - Password of O(login_user). Passed through C(PGPASSWORD) or a private MySQL option file, never on a command line.
      - Without it the tools' own sources apply (C(~/.pgpass), C(~/.my.cnf)).
    type: str
  database:
    description: The database to dump or restore into (PostgreSQL, MySQL/MariaDB); it must exist.
    type: str
  path:
    description: The SQLite database file to dump, or to restore into (created when missing; its folder must exist).
    type: path
  dest:
    description:
      - O(action=dump) - the dump file to write (missing folders are created), or with O(layout=dated) the folder of the
        dated layout.
    type: path
  layout:
    description:
      - V(file) writes O(dest).
      - V(dated) writes C(<dest>/<period>/<name>-<stamp>.sql) and points C(<dest>/latest.sql) at it (a relative symbolic
        link replaced atomically); use one folder per database.
    type: str
    default: file
    choices: [file, dated]
  period:
    description: With O(layout=dated), the folder and stamp - V(daily) (C(YYYYMMDD)), V(weekly) (C(YYYYWW)), V(monthly) (C(YYYYMM)).
    type: str
    default: daily
    choices: [daily, weekly, monthly]
  dump_name:
    description:
      - O(action=dump) with O(layout=dated) - the name part of the dated file; default the database name (SQLite - the file
        name without suffix).
      - O(action=restore) with O(src) a folder - consider only dumps named C(<dump_name>-...). Without it a folder holding
        dated dumps of several databases (and no C(latest.sql)) is refused as ambiguous.
    type: str
  mode:
    description: File mode of the dump (octal string); dumps hold all the data, so by default only the owner may read them.
    type: str
    default: "0600"
  src:
    description:
      - O(action=restore) - the dump file, or a folder - then C(latest.sql) (C(latest.db) for SQLite) when it exists, else
        the newest dump (modification time, then name) in its C(daily), C(weekly), C(monthly) and C(last) folders or the
        folder itself. C(.sql.gz) files are read decompressed.
      - Finding no dump is an error.
    type: path
  clean:
    description:
      - Drop what the database holds before restoring. Without it a restore into a non-empty database is refused before
        anything changes (it would fail with "relation already exists" or mix old and new rows).
      - PostgreSQL - drops every schema but C(public) and everything in C(public) (tables, views, sequences, functions,
        types; not extensions' objects), inside the restore's transaction (O(single_transaction)); the database itself,
        its owner, grants and settings stay.
      - MySQL/MariaDB - drops the database and creates it again with the same character set and collation.
      - SQLite - the backup API replaces the whole file content.
    type: bool
    default: false
  verify:
    description:
      - Fail when a table's row count after the restore differs from the dump's (or O(expected_counts)); the counts are
        returned either way.
    type: bool
    default: true
  expected_counts:
    description:
      - Rows per table to expect after the restore, instead of the dump's own counts. Keys as in RV(row_counts)
        (PostgreSQL C(schema.table), MySQL/MariaDB and SQLite the table name).
    type: dict
  reset_sequences:
    description:
      - After the restore, set every sequence owned by a column (PostgreSQL) to the column's maximum (the next value is MAX + 1;
        an empty table's sequence restarts at its start value), and every C(AUTO_INCREMENT) counter (MySQL/MariaDB) to MAX + 1.
      - SQLite keeps its counters in the file; nothing to do.
    type: bool
    default: true
  single_transaction:
    description:
      - PostgreSQL - run the cleaning and the whole dump in one transaction (C(psql --single-transaction)), so a failed
        restore leaves the database as it was. Turn off only for dumps with statements that cannot run in a transaction.
    type: bool
    default: true
  engine_check:
    description:
      - Refuse a dump whose engine cannot be told (no header of this module, no C(pg_dump) or C(mysqldump) comments, not a
        SQLite file). A dump that names another engine is always refused.
    type: bool
    default: true
  binary_path:
    description: Folder of the client tools (for example C(/usr/lib/postgresql/17/bin)); default C(PATH).
    type: path
  connect_timeout:
    description: Seconds to wait for a connection to the server.
    type: int
    default: 10
  timeout:
    description: Seconds a dump or a restore (each tool run) may take.
    type: int
    default: 3600
  busy_timeout:
    description: SQLite - seconds to wait for another connection's lock before the backup gives up.
    type: float
    default: 30.0
attributes:
  check_mode:
    support: full
    description:
      - Runs every check (dump found and of this engine, database reachable, login, empty or O(clean)) and reports the file
        that would be written or the objects that would be dropped; changes nothing.
  diff_mode:
    support: none
    description: A dump or restore has no before and after text to compare.
notes:
  - Consistency of MySQL/MariaDB dumps relies on C(--single-transaction), which covers transactional (InnoDB) tables only.
  - PostgreSQL dumps are plain SQL; custom-format archives (C(pg_dump -Fc)) are refused (restore them with C(pg_restore)).
  - Restore into a database owned by the roles the dump names (C(ALTER ... OWNER TO)); a missing role fails the restore,
    which with O(single_transaction) changes nothing.
"""

EXAMPLES = r"""
- name: Dump the ScalarDB database (PostgreSQL) into the postgres-backup-local layout
  scalarops.pitr.sql_dump:
    action: dump
    engine: postgresql
    host: scalardb-pg.example.internal
    login_user: postgres
    login_password: "{{ vault_pg_password }}"
    database: scalardb
    dest: /backups/scalardb
    layout: dated
  register: dumped

- name: Restore the newest dump into a fresh database, dropping what is there
  scalarops.pitr.sql_dump:
    action: restore
    engine: postgresql
    host: postgres-v17-rw.database.svc
    login_password: "{{ vault_pg_password }}"
    database: scalardb
    src: /backups/scalardb
    clean: true
  register: restored

- name: Show the sequences that were reset
  ansible.builtin.debug:
    msg: "{{ restored.sequences | map(attribute='sequence') | list }}"

- name: MariaDB - consistent dump of an InnoDB database
  scalarops.pitr.sql_dump:
    action: dump
    engine: mariadb
    host: 10.0.0.12
    login_user: backup
    login_password: "{{ vault_mariadb_password }}"
    database: scalardb
    dest: /backups/scalardb-mariadb.sql

- name: SQLite - online backup while the application keeps writing
  scalarops.pitr.sql_dump:
    action: dump
    engine: sqlite
    path: /var/lib/scalardb/scalardb.sqlite3
    dest: /backups/scalardb.db
    busy_timeout: 60
"""

RETURN = r"""
action:
  description: The action that ran.
  returned: always
  type: str
  sample: restore
engine:
  description: The engine as given.
  returned: always
  type: str
  sample: postgresql
endpoint:
  description: C(host:port) of the server (the socket path, or the SQLite file).
  returned: always
  type: str
  sample: 10.0.0.12:5432
database:
  description: The database (the SQLite file for SQLite).
  returned: always
  type: str
server_version:
  description: The server's version (SQLite - the library's).
  returned: when the server was reached
  type: str
  sample: "15.18"
duration:
  description: Seconds the action took.
  returned: always
  type: float
would_change:
  description: Check mode only - the action would change something (always V(true)).
  returned: in check mode
  type: bool
dest:
  description: Dump - the file written (in check mode - that would be written).
  returned: when action is dump
  type: str
  sample: /backups/scalardb/daily/scalardb-20261121.sql
latest:
  description: Dump with O(layout=dated) - the C(latest) link now pointing at RV(dest); else V(null).
  returned: when action is dump
  type: str
size:
  description: Dump - size of the file in bytes.
  returned: when action is dump, not in check mode
  type: int
checksum:
  description: Dump - SHA-256 (hex) of the whole file.
  returned: when action is dump, not in check mode
  type: str
tool:
  description: Dump - the tool and version that wrote the dump.
  returned: when action is dump, not in check mode
  type: str
  sample: pg_dump (PostgreSQL) 15.18
tables:
  description: Dump - how many tables the dump holds.
  returned: when action is dump, not in check mode
  type: int
row_counts:
  description:
    - Rows per table - dump - in the dump; restore - in the database after the restore (PostgreSQL keys C(schema.table)).
  returned: success, not in check mode
  type: dict
  sample: {public.items: 1200, public.orders: 5310}
src:
  description: Restore - the dump file restored (the one picked when O(src) is a folder).
  returned: when action is restore and a dump was found
  type: str
picked:
  description: Restore - how RV(src) was chosen - V(given), V(latest) (the C(latest) link) or V(newest).
  returned: when action is restore and a dump was found
  type: str
dump:
  description:
    - Restore - the dump - C(path), C(engine), C(writer) (V(scalarops.pitr), V(pg_dump), V(mysqldump), V(sqlite)),
      C(compressed), and from this module's header C(database), C(server_version), C(created), C(tool), C(body_sha256), C(body_size).
  returned: when action is restore and a dump was found
  type: dict
expected_counts:
  description: Restore - the rows per table expected (V(null) when the dump gives none).
  returned: when action is restore and a dump was found
  type: dict
counts_from:
  description: Restore - where RV(expected_counts) came from - V(header), V(dump) (counted in its data or tables), V(given) or V(none).
  returned: when action is restore and a dump was found
  type: str
cleaned:
  description: Restore - whether existing objects were dropped first (in check mode - would be).
  returned: when action is restore and the database was reached
  type: bool
dropped:
  description: Restore with O(clean=true) - the objects the database held before (C(table public.items), C(view v), ...).
  returned: when action is restore and the database was reached
  type: list
  elements: str
sequences:
  description:
    - Restore - each counter reset - C(sequence) (PostgreSQL; V(null) for MySQL), C(table), C(column), C(max) (the column's
      maximum, V(null) when empty) and C(next) (the value the next insert gets).
  returned: when action is restore, not in check mode
  type: list
  elements: dict
  sample: [{sequence: public.items_id_seq, table: public.items, column: id, max: 1200, next: 1201}]
mismatches:
  description: Restore - tables whose row count differs from the expected one, as C([expected, found]) (found V(null) - no such table).
  returned: when action is restore, not in check mode
  type: dict
verified:
  description: Restore - the row counts were compared and all matched.
  returned: when action is restore, not in check mode
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.scalarops.pitr.plugins.module_utils.sql_dump import REQUIRED_IF, argument_spec, run


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), required_if=REQUIRED_IF, supports_check_mode=True)
    run(module)


if __name__ == "__main__":
    main()
