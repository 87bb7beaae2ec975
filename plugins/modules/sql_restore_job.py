#!/usr/bin/python
# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Restore the newest SQL dump on a volume into an in-cluster PostgreSQL or MySQL/MariaDB database from a Kubernetes Job."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sql_restore_job
short_description: Restore a SQL dump into an in-cluster database from a Kubernetes Job
version_added: 0.1.0
description:
  - The SQL-dump fallback of a CloudNativePG restore (and of any PostgreSQL or MySQL/MariaDB reachable only inside the
    cluster) - runs a Job with the database's client image (C(postgres:17), C(mariadb:11)) against O(host) (for
    CloudNativePG C(<cluster>-rw.<namespace>.svc)), with the dump volume (NFS, a PVC, ...) mounted read-only.
  - The Job picks the dump as M(scalarops.pitr.sql_dump) does - O(dump_file), else C(latest.sql) (or C(latest.sql.gz)) in
    O(dump_path), else the newest C(*.sql)/C(*.sql.gz) (modification time, then name) in its C(daily), C(weekly),
    C(monthly) and C(last) folders or itself, the layout of postgres-backup-local and of M(scalarops.pitr.sql_dump).
  - Before it changes anything it refuses a dump of another engine, a truncated one (the tools' closing comment) or an
    altered one (the SHA-256 in the sql_dump header), a database it cannot log in to, and a non-empty database unless
    O(clean=true).
  - O(action=check) stops there and changes nothing - a restore's preflight, run before the applications are stopped. A
    check Job that passed is deleted.
  - O(action=restore) restores - PostgreSQL with C(psql -v ON_ERROR_STOP=1 --single-transaction), the cleaning inside the
    same transaction, so a failed restore leaves the database as it was; MySQL/MariaDB by dropping and creating the
    database again (O(clean)) and feeding the dump to the client - then sets every column-owned sequence (PostgreSQL) and
    C(AUTO_INCREMENT) counter (MySQL/MariaDB) to the column's maximum and counts the rows of every table, which are
    compared with the row counts in the dump's sql_dump header.
  - The password reaches the Job only through C(secretKeyRef) - O(password_secret) names an existing Secret (for
    CloudNativePG C(<cluster>-superuser) or C(<cluster>-app), which also hold the user), or the module writes O(login_password)
    into a Secret C(<job_name>-login) owned by the Job. No password is ever a value in the manifest or in what the module returns.
  - The Job is called O(job_name); a previous Job of that name is deleted first, so a re-run replaces it. It never retries
    (O(backoff_limit)); on failure the error carries the last O(log_lines) lines of its log and the Job stays for inspection.
author:
  - scalarops.pitr developers (@scalarops)
requirements:
  - kubernetes (Python library)
  - "An image with POSIX C(sh), GNU coreutils and findutils, C(gzip) and the client: C(psql), or C(mariadb)/C(mysql)
    (the official C(postgres) and C(mariadb) images have them)."
options:
  action:
    description: V(restore) the dump, or only V(check) that it can be restored (nothing is changed).
    type: str
    default: restore
    choices: [check, restore]
  engine:
    description: The database engine; V(mariadb) is the same as V(mysql).
    type: str
    required: true
    choices: [postgresql, mysql, mariadb]
  namespace:
    description: Namespace the Job runs in (the Secret of O(password_secret) must be there).
    type: str
    required: true
  job_name:
    description: Name of the Job; default C(sql-restore-<database>) (C(-check) appended for O(action=check)).
    type: str
  host:
    description: The database's host as seen from inside the cluster, for example C(postgres-v17-rw.database.svc).
    type: str
    required: true
  port:
    description: Server port; default 5432 (PostgreSQL) or 3306 (MySQL/MariaDB).
    type: int
  login_user:
    description:
      - User to log in as; default C(postgres) or C(root). Ignored when O(password_secret.user_key) takes it from the Secret.
    type: str
  login_password:
    description:
      - Password of O(login_user); the module writes it into a Secret C(<job_name>-login) that the Job reads through
        C(secretKeyRef). Mutually exclusive with O(password_secret).
    type: str
  password_secret:
    description: An existing Secret in O(namespace) holding the password (and optionally the user).
    type: dict
    suboptions:
      name:
        description: Name of the Secret.
        type: str
        required: true
      key:
        description: Key of the password.
        type: str
        default: password
      user_key:
        description: Key of the user name (CloudNativePG - C(username)); empty uses O(login_user).
        type: str
  database:
    description: The database to restore into; it must exist.
    type: str
    required: true
  volume:
    description:
      - The Kubernetes volume source holding the dumps, mounted read-only, for example C({nfs - {server - nfs.example,
        path - /exports/backups}}) or C({persistentVolumeClaim - {claimName - pg-backups}}).
    type: dict
    required: true
  dump_path:
    description: The folder inside the volume to look for dumps in; empty for the volume's root.
    type: str
    default: ""
  dump_file:
    description: A dump file inside the volume to restore instead of the newest one.
    type: str
    default: ""
  dump_name:
    description: Consider only dumps named C(<dump_name>-...) (a folder holding the dumps of several databases).
    type: str
    default: ""
  clean:
    description:
      - Drop what the database holds before restoring. Without it a non-empty database is refused before anything changes.
      - PostgreSQL - every schema but C(public) and everything in C(public), inside the restore's transaction. MySQL/MariaDB -
        the database is dropped and created again with its character set and collation.
    type: bool
    default: false
  single_transaction:
    description: PostgreSQL - clean and restore in one transaction (C(psql --single-transaction)).
    type: bool
    default: true
  reset_sequences:
    description: After the restore, set every column-owned sequence and C(AUTO_INCREMENT) counter to the column's maximum.
    type: bool
    default: true
  verify:
    description: Fail when a table's row count after the restore differs from the count in the dump's sql_dump header.
    type: bool
    default: true
  image:
    description: The image; default C(postgres:17) (PostgreSQL) or C(mariadb:11) (MySQL/MariaDB).
    type: str
  image_pull_secrets:
    description: Image pull Secrets of the Job's pod.
    type: list
    elements: str
    default: []
  pod_annotations:
    description: Annotations of the Job's pod (for example C(sidecar.istio.io/inject - "false"), or a Job never completes).
    type: dict
    default: {}
  service_account:
    description: Service account of the Job's pod (it never gets an API token).
    type: str
  security_context:
    description: The pod's C(securityContext) (for example C(runAsUser) allowed to read the dump files).
    type: dict
  resources:
    description: The container's C(resources) (requests and limits).
    type: dict
  backoff_limit:
    description: Retries of the Job; 0 (the default) leaves a failed restore to a human.
    type: int
    default: 0
  connect_timeout:
    description: Seconds the client waits for a connection.
    type: int
    default: 10
  wait_timeout:
    description: Seconds to wait for the Job; also its C(activeDeadlineSeconds), so Kubernetes stops it at the same time.
    type: int
    default: 3600
  log_lines:
    description: Lines of the Job's log returned and shown in errors.
    type: int
    default: 50
  cleanup:
    description: Delete the restore Job (and its Secret) after it succeeded. A check Job that passed is always deleted.
    type: bool
    default: false
extends_documentation_fragment:
  - scalarops.pitr.k8s_auth
attributes:
  check_mode:
    support: full
    description: Validates the options and returns the Job's manifest; creates nothing.
  diff_mode:
    support: none
    description: Nothing to diff.
notes:
  - The dump files must be readable by the Job's user (by default the image's, C(root) for the official images).
"""

EXAMPLES = r"""
- name: CloudNativePG fallback - check first, while the applications still run
  scalarops.pitr.sql_restore_job:
    action: check
    engine: postgresql
    namespace: database
    host: postgres-v17-rw.database.svc
    database: app
    password_secret: {name: postgres-v17-superuser, user_key: username}
    volume: {nfs: {server: nas.example.internal, path: /exports/cnpg}}
    dump_path: Database
    clean: true

- name: Restore the newest dump
  scalarops.pitr.sql_restore_job:
    engine: postgresql
    namespace: database
    host: postgres-v17-rw.database.svc
    database: app
    password_secret: {name: postgres-v17-superuser, user_key: username}
    volume: {nfs: {server: nas.example.internal, path: /exports/cnpg}}
    dump_path: Database
    clean: true
  register: restored

- name: MariaDB from a PVC, password written into a Secret of the Job
  scalarops.pitr.sql_restore_job:
    engine: mariadb
    namespace: shop
    host: mariadb.shop.svc
    login_user: root
    login_password: "{{ vault_mariadb_password }}"
    database: shop
    volume: {persistentVolumeClaim: {claimName: mariadb-dumps}}
"""

RETURN = r"""
action:
  description: The action that ran.
  returned: always
  type: str
job_name:
  description: The Job.
  returned: always
  type: str
  sample: sql-restore-app
namespace:
  description: Its namespace.
  returned: always
  type: str
image:
  description: The image it runs.
  returned: when the options are valid
  type: str
  sample: postgres:17
manifest:
  description: The Job as created (in check mode - as it would be); the password is only a C(secretKeyRef).
  returned: when the options are valid
  type: dict
secret:
  description: The Secret the password comes from (V(null) - none).
  returned: when the options are valid
  type: str
status:
  description: V(planned) (check mode), V(succeeded), V(failed) or V(timed_out).
  returned: always
  type: str
log_tail:
  description: The last O(log_lines) lines of the Job's log, secret-looking values masked.
  returned: always
  type: str
dump:
  description: The dump the Job picked, as a path inside the volume (V(null) when its log does not say).
  returned: always
  type: str
  sample: Database/daily/app-20261121.sql
picked:
  description: How - V(given), V(latest) or V(newest).
  returned: always
  type: str
writer:
  description: Who wrote the dump - V(scalarops.pitr), V(pg_dump) or V(mysqldump).
  returned: when the Job ran
  type: str
server_version:
  description: The server's version.
  returned: when the Job ran
  type: str
objects:
  description: How many objects the database held before the restore.
  returned: when the Job ran
  type: int
cleaned:
  description: Whether existing objects were dropped first.
  returned: when the Job ran
  type: bool
restored:
  description: Whether the script reported the restore done.
  returned: when the Job ran
  type: bool
expected_counts:
  description: Rows per table recorded in the dump's sql_dump header (V(null) for a dump without one).
  returned: when the Job ran
  type: dict
counts_from:
  description: V(header) or V(none).
  returned: when the Job ran
  type: str
row_counts:
  description: Rows per table after the restore (PostgreSQL keys C(schema.table)).
  returned: when the Job ran
  type: dict
sequences:
  description: Each counter reset - C(sequence) (V(null) for MySQL), C(table), C(column), C(max), C(next).
  returned: when the Job ran
  type: list
  elements: dict
mismatches:
  description: Tables whose row count differs from the header's, as C([expected, found]).
  returned: when the Job ran
  type: dict
verified:
  description: The row counts were compared with the header's and all matched.
  returned: when the Job ran
  type: bool
cleaned_up:
  description: The Job was deleted after it succeeded.
  returned: when it was
  type: bool
duration:
  description: Seconds the module took.
  returned: always
  type: float
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.scalarops.pitr.plugins.module_utils.k8s_client import (
    HAS_KUBERNETES,
    KUBERNETES_IMPORT_ERROR,
    auth_argument_spec,
    new_api_client,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.sql_restore_job import RestoreJob, RestoreJobError, RestoreJobRequest

ARGUMENT_SPEC = dict(
    action=dict(type="str", default="restore", choices=["check", "restore"]),
    engine=dict(type="str", required=True, choices=["postgresql", "mysql", "mariadb"]),
    namespace=dict(type="str", required=True),
    job_name=dict(type="str"),
    host=dict(type="str", required=True),
    port=dict(type="int"),
    login_user=dict(type="str"),
    login_password=dict(type="str", no_log=True),
    password_secret=dict(type="dict", no_log=False, options=dict(
        name=dict(type="str", required=True),
        key=dict(type="str", default="password", no_log=False),
        user_key=dict(type="str", no_log=False),
    )),
    database=dict(type="str", required=True),
    volume=dict(type="dict", required=True),
    dump_path=dict(type="str", default=""),
    dump_file=dict(type="str", default=""),
    dump_name=dict(type="str", default=""),
    clean=dict(type="bool", default=False),
    single_transaction=dict(type="bool", default=True),
    reset_sequences=dict(type="bool", default=True),
    verify=dict(type="bool", default=True),
    image=dict(type="str"),
    image_pull_secrets=dict(type="list", elements="str", default=[], no_log=False),
    pod_annotations=dict(type="dict", default={}),
    service_account=dict(type="str"),
    security_context=dict(type="dict"),
    resources=dict(type="dict"),
    backoff_limit=dict(type="int", default=0),
    connect_timeout=dict(type="int", default=10),
    wait_timeout=dict(type="int", default=3600),
    log_lines=dict(type="int", default=50),
    cleanup=dict(type="bool", default=False),
    **auth_argument_spec(env_fallback),
)


def _request(module: AnsibleModule) -> RestoreJobRequest:
    p = module.params
    return RestoreJobRequest(
        action=p["action"], engine=p["engine"], namespace=p["namespace"], host=p["host"], database=p["database"], volume=p["volume"],
        job_name=p["job_name"], port=p["port"], login_user=p["login_user"], login_password=p["login_password"],
        password_secret=p["password_secret"], dump_path=p["dump_path"], dump_file=p["dump_file"], dump_name=p["dump_name"],
        clean=p["clean"], single_transaction=p["single_transaction"], reset_sequences=p["reset_sequences"], verify=p["verify"],
        image=p["image"], image_pull_secrets=p["image_pull_secrets"], pod_annotations=p["pod_annotations"],
        service_account=p["service_account"], security_context=p["security_context"], resources=p["resources"],
        backoff_limit=p["backoff_limit"], connect_timeout=p["connect_timeout"], wait_timeout=p["wait_timeout"],
        log_lines=p["log_lines"], cleanup=p["cleanup"], check_mode=module.check_mode,
    )


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True, mutually_exclusive=[("login_password", "password_secret")])
    p = module.params
    for option in ("log_lines", "connect_timeout"):
        if p[option] <= 0:
            module.fail_json(msg=f"{option} must be a positive number")
    if p["backoff_limit"] < 0:
        module.fail_json(msg="backoff_limit must be 0 or more")

    def kube_client():
        if not HAS_KUBERNETES:
            module.fail_json(msg=missing_required_lib("kubernetes"), exception=str(KUBERNETES_IMPORT_ERROR))
        return new_api_client(p["kubeconfig"], p["context"])

    job = RestoreJob(_request(module), kube_client)
    try:
        result, error = job.run(), None
    except RestoreJobError as exc:
        result, error = exc.result, exc
    if error is not None:  # outside the except block: an expected failure, not a traceback to report
        module.fail_json(msg=str(error), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
