#!/usr/bin/env bash
# Seed 000's same-name DynamoDB restore, scripted as a user would write it: one table after
# another, plain `aws` CLI calls.  Per table A (the seed's "Create a backup" then "Restore from
# the backup"): PITR A -> B, wait until B exists, back B up, wait until the backup is AVAILABLE,
# delete B; delete A, wait until it is gone, restore the backup as A, wait until A exists, turn
# PITR back on (a restored table has it off; auto scaling, TTL and tags are left to the user).
#
# Usage: seed_procedure.sh RESTORE_POINT BACKUP_POLL_SECONDS TABLE...
# The AWS_* environment says where to go; with AWS_ENDPOINT_URL set it is passed as --endpoint-url.
# Prints "@<event> <table> <epoch seconds>" lines (start, backed_up, restored) for the benchmark.
set -euo pipefail

if [[ $# -lt 3 ]]; then
  echo "usage: $0 RESTORE_POINT BACKUP_POLL_SECONDS TABLE..." >&2
  exit 2
fi
point=$1
poll=$2
shift 2

endpoint=()
if [[ -n "${AWS_ENDPOINT_URL:-}" ]]; then
  endpoint=(--endpoint-url "$AWS_ENDPOINT_URL")
fi

ddb() { aws "${endpoint[@]}" dynamodb "$@"; }
mark() { printf '@%s %s %s\n' "$1" "$2" "$(date +%s.%N)"; }

for a in "$@"; do
  b="$a-restored"
  mark start "$a"
  # 1. Create a backup: PITR A -> B, back B up, remove B.
  ddb restore-table-to-point-in-time --source-table-name "$a" --target-table-name "$b" --restore-date-time "$point" >/dev/null
  ddb wait table-exists --table-name "$b"
  arn=$(ddb create-backup --table-name "$b" --backup-name "$b-backup" --query BackupDetails.BackupArn --output text)
  # There is no `wait` for backups: poll until AVAILABLE.
  until [[ "$(ddb describe-backup --backup-arn "$arn" --query BackupDescription.BackupDetails.BackupStatus --output text)" == AVAILABLE ]]; do
    sleep "$poll"
  done
  ddb delete-table --table-name "$b" >/dev/null
  mark backed_up "$a"
  # 2. Restore from the backup: remove A, create A from backup B.
  ddb delete-table --table-name "$a" >/dev/null
  ddb wait table-not-exists --table-name "$a"
  ddb restore-table-from-backup --target-table-name "$a" --backup-arn "$arn" >/dev/null
  ddb wait table-exists --table-name "$a"
  # 3. Update the table configuration: PITR is off on a restored table.
  ddb update-continuous-backups --table-name "$a" --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true >/dev/null
  mark restored "$a"
done
