# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Restore a SQL dump from a Kubernetes Job: the Job's manifest, running it, reading what it did.

Plain Python; the ``sql_restore_job`` module is its Ansible face. The Job runs the database's own
client image against the in-cluster service (for CloudNativePG ``<cluster>-rw.<namespace>.svc``),
with the dump volume (NFS, a PVC, ...) mounted read-only and the password taken from a Secret by
``secretKeyRef`` - never a value in the manifest. Given a password instead of a Secret, the module
writes a Secret of its own (owned by the Job, so deleting the Job deletes it).

The Job never retries by default (``backoffLimit: 0``): a restore that failed needs a human to read
its log, and PostgreSQL's single transaction has left the database as it was. Its
``activeDeadlineSeconds`` is the wait timeout, so a Job the module stopped waiting for does not go on
restoring behind the operator's back. The name is deterministic, so a re-run replaces the Job.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.concurrency import Deadline
from ansible_collections.scalarops.pitr.plugins.module_utils.k8s_client import KubeError, Urllib3HTTPError
from ansible_collections.scalarops.pitr.plugins.module_utils.k8s_jobs import JobRunner
from ansible_collections.scalarops.pitr.plugins.module_utils.redact import MASK, mask_secrets
from ansible_collections.scalarops.pitr.plugins.module_utils.sql_restore_job_script import parse_log, script

CONTAINER = "restore"
DUMP_ROOT = "/scalarops-pitr/dump"
DEFAULT_IMAGES = {"postgresql": "postgres:17", "mysql": "mariadb:11"}
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
DEFAULT_USERS = {"postgresql": "postgres", "mysql": "root"}
PASSWORD_ENV = {"postgresql": "PGPASSWORD", "mysql": "DB_PASSWORD"}
# Enough of the log for the SCALAROPS_PITR_ lines the script prints at its end.
PARSE_LINES = 400
CLEANUP_TIMEOUT = 120.0
VOLUME_SOURCES = ("nfs", "persistentVolumeClaim", "hostPath", "configMap", "secret", "emptyDir", "csi", "ephemeral", "iscsi", "cephfs",
                  "glusterfs", "azureFile", "awsElasticBlockStore", "gcePersistentDisk", "projected", "image")


class RestoreJobError(RuntimeError):
    """The Job could not run or did not succeed; ``result`` holds what is known so far."""

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result


def family(engine: str) -> str:
    return "mysql" if engine in ("mysql", "mariadb") else engine


def dns_label(text: str, limit: int = 63) -> str:
    """``text`` as a DNS-1123 label (lower case, ``-`` for anything else, at most ``limit`` characters)."""
    label = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return label[:limit].rstrip("-") or "db"


def default_job_name(database: str, action: str) -> str:
    suffix = "-check" if action == "check" else ""
    return f"{dns_label(f'sql-restore-{database}', 63 - len(suffix))}{suffix}"


@dataclass
class RestoreJobRequest:  # pylint: disable=too-many-instance-attributes  # one field per module option
    """What to restore, from where, into what (the module's options)."""

    action: str
    engine: str
    namespace: str
    host: str
    database: str
    volume: Mapping[str, Any]
    job_name: str | None = None
    port: int | None = None
    login_user: str | None = None
    login_password: str | None = None
    password_secret: Mapping[str, Any] | None = None
    dump_path: str = ""
    dump_file: str = ""
    dump_name: str = ""
    clean: bool = False
    single_transaction: bool = True
    reset_sequences: bool = True
    verify: bool = True
    image: str | None = None
    image_pull_secrets: Sequence[str] = ()
    pod_annotations: Mapping[str, Any] = field(default_factory=dict)
    service_account: str | None = None
    security_context: Mapping[str, Any] | None = None
    resources: Mapping[str, Any] | None = None
    backoff_limit: int = 0
    connect_timeout: int = 10
    wait_timeout: int = 3600
    log_lines: int = 50
    cleanup: bool = False
    check_mode: bool = False

    @property
    def family(self) -> str:
        return family(self.engine)

    @property
    def name(self) -> str:
        return self.job_name or default_job_name(self.database, self.action)

    @property
    def secret_name(self) -> str | None:
        """The Secret holding the password: the given one, ours (from login_password), or none."""
        if self.password_secret and self.password_secret.get("name"):
            return str(self.password_secret["name"])
        if self.login_password:
            return f"{self.name}-login"
        return None


def labels(req: RestoreJobRequest) -> dict[str, str]:
    return {"app.kubernetes.io/name": "sql-restore", "app.kubernetes.io/instance": dns_label(req.database),
            "app.kubernetes.io/component": req.action, "app.kubernetes.io/managed-by": "scalarops.pitr"}


def validate(req: RestoreJobRequest) -> None:
    """Refuse what cannot work, before anything is created."""
    if req.family not in DEFAULT_IMAGES:
        raise ValueError(f"a restore Job runs psql or the MariaDB/MySQL client; {req.engine} databases are restored with the sql_dump module")
    sources = [key for key in req.volume if key != "name"]
    if len(sources) != 1:
        raise ValueError("volume must be one Kubernetes volume source, for example {nfs: {server: nfs.example, path: /backups}} or "
                         f"{{persistentVolumeClaim: {{claimName: backups}}}}; got the keys {sorted(req.volume) or 'none'}")
    if req.dump_file and (req.dump_file.startswith("../") or "/../" in req.dump_file):
        raise ValueError(f"dump_file {req.dump_file!r} must be a path inside the dump volume")
    if req.password_secret and not req.password_secret.get("name"):
        raise ValueError("password_secret needs the name of the Secret")
    if req.password_secret and req.login_password:
        raise ValueError("give the password either as login_password or through password_secret, not both")
    if req.wait_timeout < 1:
        raise ValueError("wait_timeout must be a positive number of seconds")
    if len(req.name) > 63 or dns_label(req.name) != req.name:
        raise ValueError(f"job_name {req.name!r} is not a valid Job name (lower case letters, digits and '-', at most 63 characters)")


def _env(req: RestoreJobRequest) -> list[dict[str, Any]]:
    fam = req.family
    values = {
        "ENGINE": fam, "ACTION": req.action, "DB_HOST": req.host, "DB_PORT": str(req.port or DEFAULT_PORTS[fam]), "DB_NAME": req.database,
        "DUMP_ROOT": DUMP_ROOT, "DUMP_PATH": req.dump_path.strip("/"), "DUMP_FILE": req.dump_file.lstrip("/"), "DUMP_NAME": req.dump_name,
        "CLEAN": str(bool(req.clean)).lower(), "SINGLE_TRANSACTION": str(bool(req.single_transaction)).lower(),
        "RESET_SEQUENCES": str(bool(req.reset_sequences)).lower(), "CONNECT_TIMEOUT": str(req.connect_timeout),
    }
    env: list[dict[str, Any]] = [{"name": key, "value": value} for key, value in values.items()]
    secret = req.secret_name
    user_key = (req.password_secret or {}).get("user_key")
    if user_key:
        # CloudNativePG's <cluster>-app / -superuser Secrets carry the user next to the password
        env.append({"name": "DB_USER", "valueFrom": {"secretKeyRef": {"name": secret, "key": str(user_key)}}})
    else:
        env.append({"name": "DB_USER", "value": req.login_user or DEFAULT_USERS[fam]})
    if secret:
        key = str((req.password_secret or {}).get("key") or "password")
        env.append({"name": PASSWORD_ENV[fam], "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
    return env


def manifest(req: RestoreJobRequest) -> dict[str, Any]:
    """The Job (a plain dict): no password in it, only references to the Secret."""
    source = {key: value for key, value in req.volume.items() if key != "name"}
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": req.image or DEFAULT_IMAGES[req.family],
        "command": ["/bin/sh", "-c", script(req.family)],
        "env": _env(req),
        "volumeMounts": [{"name": "dump", "mountPath": DUMP_ROOT, "readOnly": True}],
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    }
    if req.resources:
        container["resources"] = dict(req.resources)
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        # the Job talks to the database, never to the Kubernetes API
        "automountServiceAccountToken": False,
        "containers": [container],
        "volumes": [{"name": "dump", **source}],
    }
    if req.image_pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": name} for name in req.image_pull_secrets]
    if req.service_account:
        pod_spec["serviceAccountName"] = req.service_account
    if req.security_context:
        pod_spec["securityContext"] = dict(req.security_context)
    template_meta: dict[str, Any] = {"labels": labels(req)}
    if req.pod_annotations:
        template_meta["annotations"] = {str(key): str(value) for key, value in req.pod_annotations.items()}
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": req.name, "namespace": req.namespace, "labels": labels(req)},
        "spec": {"backoffLimit": req.backoff_limit, "activeDeadlineSeconds": req.wait_timeout,
                 "template": {"metadata": template_meta, "spec": pod_spec}},
    }


def password_secret(req: RestoreJobRequest) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": req.secret_name, "namespace": req.namespace, "labels": labels(req)},
            "stringData": {"password": req.login_password or ""}}


def compare(expected: Mapping[str, int] | None, counts: Mapping[str, int] | None) -> dict[str, list[int | None]]:
    """Tables whose row count differs from the expected one, as ``[expected, found]``."""
    if not expected or counts is None:
        return {}
    return {table: [int(want), counts.get(table)] for table, want in sorted(expected.items()) if counts.get(table) != int(want)}


class RestoreJob:
    """Run one RestoreJobRequest: replace the Job, wait for it, read what its script printed."""

    def __init__(self, req: RestoreJobRequest, kube_factory: Callable[[], Any]) -> None:
        self.req = req
        self._kube_factory = kube_factory
        self._started = time.monotonic()
        self.result: dict[str, Any] = {"action": req.action, "engine": req.engine, "job_name": req.name, "namespace": req.namespace,
                                       "database": req.database, "endpoint": f"{req.host}:{req.port or DEFAULT_PORTS.get(req.family, '')}",
                                       "status": "planned", "changed": False, "log_tail": "", "dump": None, "picked": None}

    def _error(self, message: str) -> RestoreJobError:
        self.result["duration"] = round(time.monotonic() - self._started, 1)
        return RestoreJobError(self._scrub(message), self.result)

    def _scrub(self, text: str) -> str:
        if self.req.login_password:
            text = text.replace(self.req.login_password, MASK)
        return mask_secrets(text)

    def run(self) -> dict[str, Any]:
        req = self.req
        try:
            validate(req)
        except ValueError as exc:
            raise self._error(str(exc)) from None
        body = manifest(req)
        self.result.update(image=body["spec"]["template"]["spec"]["containers"][0]["image"], manifest=body, secret=req.secret_name)
        if req.check_mode:
            self.result.update(changed=req.action == "restore", would_change=req.action == "restore")
            return self._done()
        try:
            self._run(body)
        except KubeError as exc:
            raise self._error(str(exc)) from None
        except Urllib3HTTPError as exc:  # the API server could not be reached at all
            raise self._error(f"cannot reach the Kubernetes API: {exc}") from None
        return self._done()

    def _done(self) -> dict[str, Any]:
        self.result["duration"] = round(time.monotonic() - self._started, 1)
        return self.result

    def _run(self, body: dict[str, Any]) -> None:
        req, where = self.req, f"{self.req.namespace}/{self.req.name}"
        runner = JobRunner(self._kube_factory(), req.namespace)
        runner.delete_job(req.name, Deadline(CLEANUP_TIMEOUT))  # a Job's template cannot change: a re-run replaces it
        ours = req.login_password is not None and not req.password_secret
        if ours:
            # deleted first: the garbage collector may still remove the previous run's copy (owned by the old Job)
            runner.delete("Secret", str(req.secret_name))
            runner.replace_object("Secret", password_secret(req))
        created = runner.create_job(body)
        self.result["changed"] = req.action == "restore"  # a check Job reads the database and the dump only
        if ours:
            runner.adopt("Secret", str(req.secret_name), created)
        outcome = runner.wait(req.name, Deadline(req.wait_timeout))
        job = outcome.job
        pods = runner.pods(job) if job is not None else []
        log = runner.log_tail(pods[-1], CONTAINER, PARSE_LINES) if pods else ""
        self.result["status"] = outcome.status
        self.result["log_tail"] = self._scrub("\n".join(log.splitlines()[-req.log_lines:]))
        self._read(parse_log(self._scrub(log)))
        pod_state = f"; pod {runner.describe_pod(pods[-1])}" if pods else "; no pod yet"
        tail = self.result["log_tail"] or "(no log)"
        if outcome.status == "failed":
            raise self._error(f"SQL {req.action} Job {where} failed ({outcome.reason}: {outcome.message}){pod_state}. "
                              f"Last {req.log_lines} log lines:\n{tail}")
        if outcome.status == "timed_out":
            trouble = f"; {outcome.message}" if outcome.message else ""
            raise self._error(f"SQL {req.action} Job {where} did not finish within wait_timeout {req.wait_timeout}s{pod_state}{trouble}; "
                              f"Kubernetes stops it at the same deadline (activeDeadlineSeconds). Last log lines:\n{tail}")
        mismatches = self.result.get("mismatches") or {}
        if mismatches and req.verify and req.action == "restore":
            detail = "; ".join(f"{table}: expected {want}, found {'no table' if got is None else got}" for table, (want, got) in mismatches.items())
            raise self._error(f"Job {where} restored {self.result.get('dump')}, but the row counts differ from the dump's: {detail}")
        if req.cleanup or req.action == "check":
            # a check Job that passed has nothing left to show; a failed one stays for kubectl logs
            runner.delete_job(req.name, Deadline(CLEANUP_TIMEOUT))
            if ours:
                runner.delete("Secret", str(req.secret_name))
            self.result["cleaned_up"] = True

    def _read(self, found: dict[str, Any]) -> None:
        """What the script printed: the dump, the database before, and after a restore the sequences and row counts."""
        expected = found.get("expected")
        counts = found.get("row_counts")
        objects = found.get("objects")
        self.result.update(
            dump=found.get("dump"), picked=found.get("picked"), writer=found.get("writer"), server_version=found.get("server"),
            objects=int(objects) if objects and objects.isdigit() else None,
            cleaned=found.get("cleaned") == "true" if "cleaned" in found else None,
            restored=found.get("restored") == "ok",
            expected_counts=expected if isinstance(expected, dict) else None,
            counts_from="header" if isinstance(expected, dict) else "none",
            sequences=found.get("sequences") if isinstance(found.get("sequences"), list) else None,
            row_counts=counts if isinstance(counts, dict) else None,
        )
        self.result["mismatches"] = compare(self.result["expected_counts"], self.result["row_counts"])
        self.result["verified"] = bool(self.result["expected_counts"]) and self.result["row_counts"] is not None and not self.result["mismatches"]
