# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The shell script a SQL restore Job runs (``sh -c``), and how its log is read back.

Plain Python. The script runs in the database's own client image (``postgres:17``, ``mariadb:11``;
POSIX ``sh`` with GNU coreutils and findutils, as in those Debian/Ubuntu based images) and does
in the cluster what ``scalarops.pitr.sql_dump`` does on the control node:

* pick the dump - ``DUMP_FILE``, else ``latest.sql`` (``latest.sql.gz``) in ``DUMP_PATH``, else the
  newest ``*.sql``/``*.sql.gz`` (modification time, then name) in its daily/weekly/monthly/last
  folders or itself - on the read-only dump volume;
* refuse a dump of another engine, a truncated one (the tools' closing comment) or an altered one
  (the SHA-256 in the sql_dump header), and a non-empty database unless ``CLEAN=true``;
* ``ACTION=check`` stops there (a restore's preflight, nothing changed); ``ACTION=restore`` restores
  (PostgreSQL: ``psql -v ON_ERROR_STOP=1 --single-transaction``, the cleaning inside the same
  transaction), resets every column-owned sequence / AUTO_INCREMENT counter to the column's MAX and
  counts the rows of every table.

Every value comes from the environment (never spliced into the script), the password from a
Secret through ``secretKeyRef``. What the script found is printed as ``SCALAROPS_PITR_<KEY> <value>``
lines, which :func:`parse_log` reads from the Job's log.
"""

from __future__ import annotations

import json
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.sql_dump_engines import (  # the same SQL as the control-node restore
    _PG_CLEAN,
    _PG_COUNTS,
    _PG_OBJECTS,
    _PG_SEQUENCES,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.sql_dump_files import HEADER_END, HEADER_MARK

MARK = "SCALAROPS_PITR_"
# marker keys whose value is JSON
JSON_KEYS = ("EXPECTED", "SEQUENCES", "ROW_COUNTS")

_COMMON = r"""set -eu
say() { printf '%s\n' "$*"; }
die() { printf 'scalarops-pitr: error: %s\n' "$*" >&2; exit 1; }
# JSON string content: backslash and double quote escaped
jstr() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'; }
root=${DUMP_ROOT:-/scalarops-pitr/dump}
named_ok() {
  [ -z "${DUMP_NAME:-}" ] && return 0
  case "$(basename "$1")" in "$DUMP_NAME"-*) return 0 ;; esac
  return 1
}

# --- the dump ---------------------------------------------------------------------------
if [ -n "${DUMP_FILE:-}" ]; then
  dump="$root/${DUMP_FILE#/}"
  picked=given
  [ -f "$dump" ] || die "no dump found: $DUMP_FILE is not a file in the dump volume; nothing was changed"
else
  dir="$root/${DUMP_PATH:-}"
  dir=${dir%/}
  [ -d "$dir" ] || die "no dump found: ${DUMP_PATH:-/} is not a folder in the dump volume; nothing was changed"
  dump=""
  picked=""
  for candidate in "$dir/latest.sql" "$dir/latest.sql.gz"; do
    if [ -L "$candidate" ] && [ ! -e "$candidate" ]; then
      die "no dump found: $candidate links to $(readlink "$candidate"), which does not exist; nothing was changed"
    fi
    if [ -f "$candidate" ] && named_ok "$(readlink -f "$candidate")"; then
      dump=$candidate
      picked=latest
      break
    fi
  done
  if [ -z "$dump" ]; then
    set --
    for sub in daily weekly monthly last; do
      if [ -d "$dir/$sub" ]; then set -- "$@" "$dir/$sub"; fi
    done
    pattern='*'
    if [ -n "${DUMP_NAME:-}" ]; then pattern="$DUMP_NAME-*"; fi
    # newest by modification time, then by name (sort's last-resort comparison of the whole line)
    dump=$(find "$@" "$dir" -maxdepth 1 -type f \( -name '*.sql' -o -name '*.sql.gz' \) ! -name '.*' ! -name 'latest.*' \
             -name "$pattern" -printf '%T@ %p\n' | sort -n | tail -n 1 | cut -d ' ' -f 2-)
    if [ -z "$dump" ]; then
      die "no dump found in ${DUMP_PATH:-/}: no latest.sql and no *.sql or *.sql.gz file${DUMP_NAME:+ named $DUMP_NAME-*}" \
          "in it or in its daily, weekly, monthly, last folders; nothing was changed"
    fi
    picked=newest
  fi
fi
say "SCALAROPS_PITR_DUMP ${dump#"$root"/}"
say "SCALAROPS_PITR_PICKED $picked"
if [ "$(head -c 2 "$dump" | od -An -tx1 | tr -d ' \n')" = 1f8b ]; then compressed=true; else compressed=false; fi
body() { if [ "$compressed" = true ]; then gzip -dc "$dump"; else cat "$dump"; fi; }
case "$(body | head -c 16)" in
  PGDMP*) die "$dump is a pg_dump custom-format archive; this Job restores plain SQL dumps (restore it with pg_restore); nothing was changed" ;;
  "SQLite format 3"*) die "$dump is a SQLite database file, not a SQL dump; nothing was changed" ;;
esac
expected=""
if [ "$(body | head -n 1)" = "@@HEADER_MARK@@" ]; then
  writer=scalarops.pitr
  header=$(body | head -c 1048576 | sed -n '1,/^@@HEADER_END@@$/p')
  case "$header" in *"@@HEADER_END@@") ;; *) die "the scalarops.pitr header of $dump ends early; the file is damaged; nothing was changed" ;; esac
  dumped=$(printf '%s\n' "$header" | sed -n 's/^-- engine: //p')
  size=$(printf '%s\n' "$header" | wc -c)
  want=$(printf '%s\n' "$header" | sed -n 's/^-- body_sha256: //p')
  got=$(body | tail -c +$((size + 1)) | sha256sum | cut -d ' ' -f 1)
  [ "$got" = "$want" ] || die "$dump was altered or truncated after it was written: its SHA-256 below the header is $got," \
                              "the header recorded $want; nothing was changed"
  expected=$(printf '%s\n' "$header" | sed -n 's/^-- row_counts: //p')
elif body | head -n 80 | grep -Eq '^-- PostgreSQL database (cluster )?dump'; then
  writer=pg_dump
  dumped=postgresql
  body | tail -c 4096 | grep -Eq '^-- PostgreSQL database (cluster )?dump complete' \
    || die "$dump looks truncated: the last comment pg_dump writes at the end of a dump is missing; nothing was changed"
elif body | head -n 80 | grep -Eq '^-- (MySQL|MariaDB) dump '; then
  writer=mysqldump
  dumped=mysql
  body | tail -c 4096 | grep -q '^-- Dump completed' \
    || die "$dump looks truncated: the last comment mysqldump writes at the end of a dump is missing; nothing was changed"
else
  die "cannot tell which engine wrote $dump (no scalarops.pitr header, no pg_dump or mysqldump comments); nothing was changed"
fi
[ "$dumped" = "$ENGINE" ] || die "$dump is a $dumped dump (written by $writer); it cannot be restored into $ENGINE; nothing was changed"
say "SCALAROPS_PITR_WRITER $writer"
if [ -n "$expected" ]; then say "SCALAROPS_PITR_EXPECTED $expected"; fi
where="'$DB_NAME' at $DB_HOST:$DB_PORT"
"""

_POSTGRES = r"""
# --- PostgreSQL -------------------------------------------------------------------------
command -v psql >/dev/null 2>&1 || die "psql not found in the image; use an image with the PostgreSQL client"
export PGHOST="$DB_HOST" PGPORT="$DB_PORT" PGUSER="$DB_USER" PGDATABASE="$DB_NAME"
export PGCONNECT_TIMEOUT="${CONNECT_TIMEOUT:-10}" PGAPPNAME=scalarops.pitr.sql_restore_job
q() { psql -X -q -w -At -v ON_ERROR_STOP=1 -c "$1"; }
PG_OBJECTS=$(cat <<'__SQL__'
@@PG_OBJECTS@@
__SQL__
)
PG_CLEAN=$(cat <<'__SQL__'
@@PG_CLEAN@@
__SQL__
)
PG_SEQUENCES=$(cat <<'__SQL__'
@@PG_SEQUENCES@@
__SQL__
)
PG_COUNTS=$(cat <<'__SQL__'
@@PG_COUNTS@@
__SQL__
)
version=$(q "SELECT current_setting('server_version')") \
  || die "cannot log in to postgresql database $where as '$DB_USER' (the psql error is above); nothing was changed"
say "SCALAROPS_PITR_SERVER $version"
objects=$(q "$PG_OBJECTS") || die "listing what database $where holds failed; nothing was changed"
count=$(printf '%s' "$objects" | grep -c . || true)
say "SCALAROPS_PITR_OBJECTS $count"
if [ "$count" -gt 0 ] && [ "$CLEAN" != true ]; then
  die "postgresql database $where is not empty ($count objects: $(printf '%s' "$objects" | head -n 5 | paste -sd ',' - | sed 's/,/, /g'));" \
      "restoring into it would fail with 'relation already exists' or mix old and new rows. Set clean to drop them first; nothing was changed"
fi
if [ "$ACTION" = check ]; then say "SCALAROPS_PITR_CHECKED ok"; exit 0; fi
set -- psql -X -q -w -v ON_ERROR_STOP=1
rolled=""
if [ "$SINGLE_TRANSACTION" = true ]; then
  set -- "$@" --single-transaction
  rolled=" (in one transaction: rolled back, the database is as it was)"
fi
cleaned=false
if [ "$count" -gt 0 ]; then set -- "$@" -c "$PG_CLEAN"; cleaned=true; fi
say "scalarops-pitr: restoring $dump into $where"
if [ "$compressed" = true ]; then
  gzip -dc "$dump" | "$@" -f - || die "psql failed restoring $dump into $where$rolled"
else
  "$@" -f "$dump" || die "psql failed restoring $dump into $where$rolled"
fi
say "SCALAROPS_PITR_CLEANED $cleaned"
say "SCALAROPS_PITR_RESTORED ok"
seqs='[]'
if [ "$RESET_SEQUENCES" = true ]; then
  seqs=$(q "$PG_SEQUENCES") || die "restored $dump into $where, then resetting the sequences failed"
fi
say "SCALAROPS_PITR_SEQUENCES $(printf '%s' "$seqs" | tr -d '\n')"
counts=$(q "$PG_COUNTS") || die "restored $dump into $where, then counting the rows failed"
say "SCALAROPS_PITR_ROW_COUNTS $(printf '%s' "$counts" | tr -d '\n')"
"""

_MYSQL = r"""
# --- MySQL / MariaDB --------------------------------------------------------------------
my=$(command -v mariadb || command -v mysql) || die "neither mariadb nor mysql found in the image; use an image with the MariaDB or MySQL client"
umask 077
cnf="${TMPDIR:-/tmp}/scalarops-pitr-$$.cnf"
trap 'rm -f "$cnf"' EXIT
# the login in a private option file: never on a command line
optval() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'; }
printf '[client]\nuser="%s"\n' "$(optval "$DB_USER")" > "$cnf"
if [ -n "${DB_PASSWORD:-}" ]; then printf 'password="%s"\n' "$(optval "$DB_PASSWORD")" >> "$cnf"; fi
myq() { "$my" --defaults-extra-file="$cnf" --protocol=TCP --host="$DB_HOST" --port="$DB_PORT" --connect-timeout="${CONNECT_TIMEOUT:-10}" \
          --batch --skip-column-names --raw "$@"; }
sqlstr() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/''/g"; }
ident() { printf '%s' "$1" | sed 's/`/``/g'; }
version=$(myq -e 'SELECT VERSION()') || die "cannot log in to mysql at $DB_HOST:$DB_PORT as '$DB_USER' (the client's error is above); nothing was changed"
say "SCALAROPS_PITR_SERVER $version"
exists=$(myq -e "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '$(sqlstr "$DB_NAME")'") || die "reading the databases failed"
[ "$exists" != 0 ] || die "database '$DB_NAME' does not exist on mysql at $DB_HOST:$DB_PORT; create it first; nothing was changed"
db() { myq --database="$DB_NAME" "$@"; }
objects=$(db -e "SELECT CONCAT(LOWER(REPLACE(table_type, 'BASE TABLE', 'table')), ' ', table_name) FROM information_schema.tables
                 WHERE table_schema = DATABASE()
                 UNION ALL SELECT CONCAT(LOWER(routine_type), ' ', routine_name) FROM information_schema.routines WHERE routine_schema = DATABASE()
                 UNION ALL SELECT CONCAT('event ', event_name) FROM information_schema.events WHERE event_schema = DATABASE() ORDER BY 1") \
  || die "listing what database $where holds failed; nothing was changed"
count=$(printf '%s' "$objects" | grep -c . || true)
say "SCALAROPS_PITR_OBJECTS $count"
if [ "$count" -gt 0 ] && [ "$CLEAN" != true ]; then
  die "mysql database $where is not empty ($count objects: $(printf '%s' "$objects" | head -n 5 | paste -sd ',' - | sed 's/,/, /g'));" \
      "restoring into it would fail or mix old and new rows. Set clean to drop them first; nothing was changed"
fi
if [ "$ACTION" = check ]; then say "SCALAROPS_PITR_CHECKED ok"; exit 0; fi
cleaned=false
if [ "$count" -gt 0 ]; then
  # drop and create the database again with its character set and collation: takes views, routines and events too
  charset=$(myq -e "SELECT CONCAT(default_character_set_name, ' ', default_collation_name) FROM information_schema.schemata
                    WHERE schema_name = '$(sqlstr "$DB_NAME")'") \
    || die "reading the character set of $where failed; nothing was changed"
  set -- $charset
  myq -e "DROP DATABASE \`$(ident "$DB_NAME")\`; CREATE DATABASE \`$(ident "$DB_NAME")\` CHARACTER SET $1 COLLATE $2" \
    || die "dropping and creating database $where again failed"
  cleaned=true
fi
say "scalarops-pitr: restoring $dump into $where"
if [ "$compressed" = true ]; then
  gzip -dc "$dump" | "$my" --defaults-extra-file="$cnf" --protocol=TCP --host="$DB_HOST" --port="$DB_PORT" --database="$DB_NAME" \
    || die "the client failed restoring $dump into $where (the database holds what was restored up to the error)"
else
  "$my" --defaults-extra-file="$cnf" --protocol=TCP --host="$DB_HOST" --port="$DB_PORT" --database="$DB_NAME" < "$dump" \
    || die "the client failed restoring $dump into $where (the database holds what was restored up to the error)"
fi
say "SCALAROPS_PITR_CLEANED $cleaned"
say "SCALAROPS_PITR_RESTORED ok"
tab=$(printf '\t')
seqs='['
sep=''
if [ "$RESET_SEQUENCES" = true ]; then
  columns=$(db -e "SELECT table_name, column_name FROM information_schema.columns
                   WHERE table_schema = DATABASE() AND extra LIKE '%auto_increment%' ORDER BY table_name") \
    || die "restored $dump into $where, then listing the AUTO_INCREMENT columns failed"
  while IFS="$tab" read -r table column; do
    [ -n "$table" ] || continue
    top=$(db -e "SELECT MAX(\`$(ident "$column")\`) FROM \`$(ident "$table")\`") || die "restored $dump into $where, then reading MAX($column) of $table failed"
    if [ "$top" = NULL ]; then next=1; top=null; else next=$((top + 1)); fi
    db -e "ALTER TABLE \`$(ident "$table")\` AUTO_INCREMENT = $next" || die "restored $dump into $where, then resetting AUTO_INCREMENT of $table failed"
    seqs="$seqs$sep{\"sequence\": null, \"table\": \"$(jstr "$table")\", \"column\": \"$(jstr "$column")\", \"max\": $top, \"next\": $next}"
    sep=', '
  done <<__COLUMNS__
$columns
__COLUMNS__
fi
say "SCALAROPS_PITR_SEQUENCES $seqs]"
tables=$(db -e "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name") \
  || die "restored $dump into $where, then listing the tables failed"
counts='{'
sep=''
while IFS= read -r table; do
  [ -n "$table" ] || continue
  rows=$(db -e "SELECT COUNT(*) FROM \`$(ident "$table")\`") || die "restored $dump into $where, then counting the rows of $table failed"
  counts="$counts$sep\"$(jstr "$table")\": $rows"
  sep=', '
done <<__TABLES__
$tables
__TABLES__
say "SCALAROPS_PITR_ROW_COUNTS $counts}"
"""


def script(family: str) -> str:
    """The whole script for the engine family (``postgresql`` or ``mysql``)."""
    common = _COMMON.replace("@@HEADER_MARK@@", HEADER_MARK).replace("@@HEADER_END@@", HEADER_END)
    if family == "postgresql":
        body = _POSTGRES
        for key, sql in (("PG_OBJECTS", _PG_OBJECTS), ("PG_CLEAN", _PG_CLEAN), ("PG_SEQUENCES", _PG_SEQUENCES), ("PG_COUNTS", _PG_COUNTS)):
            body = body.replace(f"@@{key}@@", sql.strip())
    elif family == "mysql":
        body = _MYSQL
    else:
        raise ValueError(f"a restore Job runs psql or mysql; there is no Job for {family}")
    return common + body + 'say "SCALAROPS_PITR_DONE ok"\n'


def parse_log(text: str) -> dict[str, Any]:
    """The ``SCALAROPS_PITR_<KEY> <value>`` lines of a Job's log, by lower-case key (the last one wins).

    JSON values are decoded; one that does not decode is kept as text under ``<key>_raw``.
    """
    found: dict[str, Any] = {}
    for line in text.splitlines():
        if not line.startswith(MARK):
            continue
        key, sep, value = line[len(MARK):].partition(" ")
        if not sep or not key.replace("_", "").isalnum() or not key.isupper():
            continue
        value = value.strip()
        if key in JSON_KEYS:
            try:
                found[key.lower()] = json.loads(value)
            except ValueError:
                found[f"{key.lower()}_raw"] = value
        else:
            found[key.lower()] = value
    return found
