# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Recover a CloudNativePG cluster from its Barman object-store backups: render, check, remove, create, wait.

CloudNativePG never restores in place: a new ``Cluster`` is bootstrapped with ``bootstrap.recovery`` from an
``externalClusters`` entry that points at the archive, either in-tree (``barmanObjectStore``, deprecated since
1.26) or through the Barman Cloud plugin (``plugin: barman-cloud.cloudnative-pg.io`` + an ObjectStore). This
module builds that Cluster from the source Cluster's own spec (or one given), so the restored cluster keeps
instances, storage, image, parameters and backup settings; only bootstrap, the external cluster and the
serverName it archives to change.

Everything is checked before anything changes (names, the time, the existing Cluster, leftover volumes, the
archive through cnpg_archive); each phase can be run again and converges: the created Cluster carries
annotations naming the restore (``scalarops.pitr/restored-from``, ``/target-time``, ``/managed-by``), and a
Cluster removed by phase ``remove`` is first saved in a ConfigMap ``<name>-pitr-removed`` - a record of what
was deleted, and the template the recovery uses when the source was the removed Cluster itself.

Plain Python (no Ansible): the Kubernetes ApiClient and an S3 client factory are passed in.
"""

from __future__ import annotations

import base64
import copy
import datetime as _dt
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.cnpg_archive import (
    ArchiveError,
    check_recovery,
    first_object,
    list_server_folders,
    parse_destination,
    read_move_manifest,
    scan_server,
    server_prefix,
    url,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.concurrency import Deadline
from ansible_collections.scalarops.pitr.plugins.module_utils.k8s_client import ApiException, Urllib3HTTPError, api_message, k8s_client
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import RestorePointError, parse_timestamp

UTC = _dt.timezone.utc
GROUP = "postgresql.cnpg.io"
VERSION = "v1"
PLURAL = "clusters"
OBJECT_STORE_GROUP = "barmancloud.cnpg.io"
OBJECT_STORE_VERSION = "v1"
OBJECT_STORE_PLURAL = "objectstores"
PLUGIN_NAME = "barman-cloud.cloudnative-pg.io"
CLUSTER_LABEL = "cnpg.io/cluster"  # on the Pods and PVCs the operator creates for a Cluster

ANNOTATION_RESTORED_FROM = "scalarops.pitr/restored-from"
ANNOTATION_TARGET_TIME = "scalarops.pitr/target-time"
ANNOTATION_MANAGED_BY = "scalarops.pitr/managed-by"
MANAGED_BY = "scalarops.pitr"
LATEST = "latest"
SAVED_SUFFIX = "-pitr-removed"
SAVED_KEY = "cluster.json"

HEALTHY = "Cluster in healthy state"
EXPECTED_EMPTY = "Expected empty archive"

MODE_IN_TREE = "barman_object_store"
MODE_PLUGIN = "plugin"
PHASES = ("preflight", "remove", "recover")

# What the existing Cluster of the target name is.
ABSENT = "absent"
THIS_RECOVERY = "recovery"  # ours, for this very restore (same archive folder and target): kept
OTHER_RECOVERY = "other_recovery"  # ours, from another restore (another target time or folder)
FOREIGN = "foreign"  # not created by this collection

_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_REQUEST_TIMEOUT = 30
_MAX_CLUSTER_NAME = 50  # the operator's limit: it derives longer names (<name>-<n>-wal, <name>-rw) from it

EMPTY_ARCHIVE_FIX = ("move that folder away first (archive_strategy move_folder, i.e. scalarops.pitr.s3_prefix_move, then recover from "
                     "the moved folder with recovery_server_name) or give the new cluster another serverName (new_server_name, "
                     "e.g. auto)")


class CnpgRestoreError(RuntimeError):
    """The restore cannot go on; ``changed`` says whether this run changed anything before it stopped."""

    def __init__(self, message: str, changed: bool = False) -> None:
        super().__init__(message)
        self.changed = changed


# --- pure helpers ------------------------------------------------------------------------------------------------
def format_target_time(moment: _dt.datetime) -> str:
    """RFC 3339 in UTC ("2026-11-20T10:30:00Z", microseconds only when there are any), as the operator parses it."""
    moment = moment.astimezone(UTC)
    spec = "microseconds" if moment.microsecond else "seconds"
    return moment.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def parse_target_time(value: str | None) -> _dt.datetime | None:
    """The target time option: ISO 8601 with a zone; empty (or "latest") means the end of the archive."""
    if value is None or not str(value).strip() or str(value).strip().lower() == LATEST:
        return None
    try:
        return parse_timestamp(str(value).strip(), "target_time")
    except RestorePointError as exc:
        raise CnpgRestoreError(str(exc)) from None


def sanitize_name(text: str) -> str:
    """A DNS label made of ``text`` (lower case, other characters as "-", at most 63), for the externalClusters entry."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:63].strip("-")
    return name or "recovery-source"


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``: mappings merge key by key, anything else replaces; a None value removes the key."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def clean_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A Cluster spec as a template: without bootstrap and replica settings and the external clusters they used.

    Other externalClusters entries (logical replication sources, for example) stay.
    """
    spec = copy.deepcopy(dict(spec or {}))
    bootstrap = spec.pop("bootstrap", None) or {}
    replica = spec.pop("replica", None) or {}
    used = {(bootstrap.get(method) or {}).get("source") for method in ("recovery", "pg_basebackup")} | {replica.get("source")}
    kept = [entry for entry in spec.get("externalClusters") or [] if isinstance(entry, Mapping) and entry.get("name") not in used]
    if kept:
        spec["externalClusters"] = kept
    else:
        spec.pop("externalClusters", None)
    return spec


def template_labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    """The labels a recovered cluster keeps: the source's own, not the operator's (cnpg.io/...)."""
    return {key: value for key, value in (labels or {}).items() if not key.startswith("cnpg.io/")}


def plugin_entry(spec: Mapping[str, Any]) -> dict[str, Any] | None:
    """The Barman Cloud plugin entry of ``spec.plugins`` (the WAL archiver one first), or None."""
    entries = [entry for entry in spec.get("plugins") or [] if isinstance(entry, Mapping) and entry.get("name") == PLUGIN_NAME]
    entries.sort(key=lambda entry: not entry.get("isWALArchiver"))
    return entries[0] if entries else None


def backup_mode(spec: Mapping[str, Any]) -> str | None:
    """How the cluster archives: MODE_PLUGIN, MODE_IN_TREE or None."""
    if plugin_entry(spec) is not None:
        return MODE_PLUGIN
    if ((spec.get("backup") or {}).get("barmanObjectStore")):
        return MODE_IN_TREE
    return None


def archive_server_name(spec: Mapping[str, Any], cluster_name: str) -> str | None:
    """The serverName the cluster archives under (the operator's default is the cluster's name); None without archiving."""
    mode = backup_mode(spec)
    if mode == MODE_PLUGIN:
        return ((plugin_entry(spec) or {}).get("parameters") or {}).get("serverName") or cluster_name
    if mode == MODE_IN_TREE:
        return spec["backup"]["barmanObjectStore"].get("serverName") or cluster_name
    return None


@dataclass
class StoreSettings:
    """Where the archive to recover from is, and how the external cluster reaches it."""

    mode: str
    configuration: dict[str, Any]  # barmanObjectStore fields: destinationPath, endpointURL, s3Credentials, ...
    barman_object_name: str | None = None  # plugin mode: the ObjectStore


def render_cluster(namespace: str, name: str, spec: Mapping[str, Any], labels: Mapping[str, str], store: StoreSettings,
                   recovery_server_name: str, new_server_name: str | None, target: _dt.datetime | None) -> dict[str, Any]:
    """The recovery Cluster manifest: ``spec`` (a cleaned template) bootstrapped from ``recovery_server_name``'s folder."""
    spec = copy.deepcopy(dict(spec))
    source = sanitize_name(recovery_server_name)
    if store.mode == MODE_PLUGIN:
        external: dict[str, Any] = {"name": source, "plugin": {"name": PLUGIN_NAME, "parameters": {
            "barmanObjectName": store.barman_object_name, "serverName": recovery_server_name}}}
    else:
        external = {"name": source, "barmanObjectStore": {**copy.deepcopy(store.configuration), "serverName": recovery_server_name}}
    spec["externalClusters"] = [entry for entry in spec.get("externalClusters") or [] if entry.get("name") != source] + [external]
    recovery: dict[str, Any] = {"source": source}
    if target is not None:
        recovery["recoveryTarget"] = {"targetTime": format_target_time(target)}
    spec["bootstrap"] = {"recovery": recovery}
    if new_server_name:
        mode = backup_mode(spec)
        if mode == MODE_PLUGIN:
            entry = plugin_entry(spec)
            entry["parameters"] = {**(entry.get("parameters") or {}), "serverName": new_server_name}  # type: ignore[index]
        elif mode == MODE_IN_TREE:
            spec["backup"]["barmanObjectStore"]["serverName"] = new_server_name
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Cluster",
        "metadata": {
            "name": name, "namespace": namespace, **({"labels": dict(labels)} if labels else {}),
            "annotations": {ANNOTATION_RESTORED_FROM: recovery_server_name,
                            ANNOTATION_TARGET_TIME: format_target_time(target) if target else LATEST,
                            ANNOTATION_MANAGED_BY: MANAGED_BY},
        },
        "spec": spec,
    }


def same_store(first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    """Whether two barmanObjectStore configurations point at the same place (destinationPath and endpointURL)."""
    def where(conf: Mapping[str, Any]) -> tuple[str, str]:
        return str(conf.get("destinationPath") or "").rstrip("/"), str(conf.get("endpointURL") or "").rstrip("/")
    return where(first) == where(second)


def manifest_of(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A live Cluster as a manifest: apiVersion, kind, name, namespace, labels, annotations and spec (no status, no noise)."""
    metadata = obj.get("metadata") or {}
    kept = {key: metadata[key] for key in ("name", "namespace", "labels", "annotations") if metadata.get(key)}
    annotations = {key: value for key, value in (kept.get("annotations") or {}).items()
                   if key != "kubectl.kubernetes.io/last-applied-configuration"}
    if annotations:
        kept["annotations"] = annotations
    else:
        kept.pop("annotations", None)
    return {"apiVersion": obj.get("apiVersion") or f"{GROUP}/{VERSION}", "kind": obj.get("kind") or "Cluster", "metadata": kept,
            "spec": copy.deepcopy(obj.get("spec") or {})}


def cluster_status(obj: Mapping[str, Any] | None) -> dict[str, Any]:
    """{phase, instances (spec: wanted), ready_instances} of a Cluster; all None without one."""
    if not obj:
        return {"phase": None, "instances": None, "ready_instances": None}
    status = obj.get("status") or {}
    return {"phase": status.get("phase"), "instances": (obj.get("spec") or {}).get("instances"), "ready_instances": status.get("readyInstances")}


def is_healthy(obj: Mapping[str, Any]) -> bool:
    state = cluster_status(obj)
    return state["phase"] == HEALTHY and state["instances"] is not None and state["ready_instances"] == state["instances"]


def empty_archive_problem(obj: Mapping[str, Any]) -> str | None:
    """The status text saying "Expected empty archive" (phase, phaseReason or a Ready=False condition), or None."""
    status = obj.get("status") or {}
    texts = [status.get("phase"), status.get("phaseReason")]
    texts += [f"{cond.get('reason') or ''}: {cond.get('message') or ''}" for cond in status.get("conditions") or []
              if isinstance(cond, Mapping) and cond.get("type") == "Ready" and str(cond.get("status")) == "False"]
    for text in texts:
        if text and EXPECTED_EMPTY.lower() in str(text).lower():
            return str(text)
    return None


# --- request ------------------------------------------------------------------------------------------------------
@dataclass
class RestoreRequest:
    """The module's options as plain values (see the module's documentation)."""

    namespace: str
    name: str
    phase: str
    source_cluster: str | None = None
    cluster_spec: dict[str, Any] | None = None
    recovery_server_name: str | None = None
    new_server_name: str | None = None
    target_time: str | None = None
    move_from: str | None = None
    object_store: dict[str, Any] | None = None
    replace: bool = False
    check_archive: bool = True
    wait: bool = True
    wait_timeout: float = 1800
    poll_interval: float = 5.0
    check_mode: bool = False
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None
    aws_region: str | None = None
    s3_endpoint_url: str | None = None
    validate_certs: bool = True

    @property
    def source(self) -> str:
        return self.source_cluster or self.name


@dataclass
class Template:
    """The spec the recovery Cluster is made of, and where it came from."""

    origin: str  # cluster | saved | cluster_spec | recovery (this restore's own Cluster, on a re-run)
    spec: dict[str, Any]
    labels: dict[str, str]
    cluster_name: str  # the serverName default of its archive
    restored_from: str | None = None  # origin "recovery": the folder it was restored from

    @property
    def server_name(self) -> str | None:
        return archive_server_name(self.spec, self.cluster_name)


@dataclass
class S3Target:
    """One object store as the control node reaches it."""

    bucket: str
    prefix: str
    params: dict[str, Any]  # aws_client.AwsConnection parameters (may hold keys: never returned)
    credentials: str  # where the keys came from: options | secret | default


# --- the restore ------------------------------------------------------------------------------------------------------
class CnpgRestore:
    """One run of one phase. ``run()`` returns the result dict or raises CnpgRestoreError."""

    def __init__(self, request: RestoreRequest, api_client: Any, s3_factory: Callable[[dict[str, Any]], Any], *,
                 now: Callable[[], _dt.datetime] = lambda: _dt.datetime.now(UTC), sleep: Callable[[float], None] = time.sleep) -> None:
        self.request = request
        self.custom = k8s_client.CustomObjectsApi(api_client)
        self.core = k8s_client.CoreV1Api(api_client)
        self.s3_factory = s3_factory
        self.now = now
        self.sleep = sleep
        self.started = now()
        self.deadline = Deadline(float(request.wait_timeout))
        self.changed = False
        self.warnings: list[str] = []
        self.secret_values: set[str] = set()  # values read from Secrets: the module masks them (never returned)
        self._s3_clients: dict[str, Any] = {}
        self.new_folder = ""  # the new cluster's archive folder as a URL, for messages
        self.result: dict[str, Any] = {
            "changed": False, "cluster": {"namespace": request.namespace, "name": request.name}, "manifest": None,
            "recovery": {"server_name": None, "new_server_name": None, "target_time": None, "source_mode": None, "backup_id": None,
                         "backup_end_time": None, "inspected_server_name": None},
            "archive": {"bucket": None, "prefix": None, "base_backups": None, "wal_files": None, "new_folder_empty": None,
                        "latest_wal": None, "credentials": None, "pending_move": False},
            "removed": False, "created": False, "status": cluster_status(None), "plan": {"remove": False, "create": False},
            "existing": None, "template": None, "saved_configmap": None,
        }

    # --- Kubernetes --------------------------------------------------------------------------------------------------
    def _fail(self, action: str, exc: Exception) -> CnpgRestoreError:
        status = getattr(exc, "status", "")
        return CnpgRestoreError(f"{action} failed: {status} {api_message(exc)}".replace(":  ", ": "), self.changed)

    def get_custom(self, group: str, version: str, plural: str, name: str, what: str) -> dict[str, Any] | None:
        try:
            return self.custom.get_namespaced_custom_object(group, version, self.request.namespace, plural, name,
                                                            _request_timeout=_REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise self._fail(f"read {what} {self.request.namespace}/{name}", exc) from None
        except Urllib3HTTPError as exc:
            raise CnpgRestoreError(f"cannot reach the Kubernetes API reading {what} {self.request.namespace}/{name}: {exc}",
                                   self.changed) from None

    def get_cluster(self, name: str) -> dict[str, Any] | None:
        return self.get_custom(GROUP, VERSION, PLURAL, name, "Cluster")

    def labeled(self, kind: str, name: str) -> list[dict[str, Any]]:
        """The Pods or PVCs (kind "pods"/"pvcs") labelled as the Cluster ``name``'s, as dicts."""
        call = self.core.list_namespaced_pod if kind == "pods" else self.core.list_namespaced_persistent_volume_claim
        try:
            listed = call(self.request.namespace, label_selector=f"{CLUSTER_LABEL}={name}", _request_timeout=_REQUEST_TIMEOUT)
        except ApiException as exc:
            raise self._fail(f"list {kind} of Cluster {self.request.namespace}/{name}", exc) from None
        return [item.to_dict() for item in listed.items or []]

    def read_saved(self, name: str) -> dict[str, Any] | None:
        """The Cluster that phase remove saved before deleting ``name``, or None."""
        try:
            configmap = self.core.read_namespaced_config_map(f"{name}{SAVED_SUFFIX}", self.request.namespace,
                                                             _request_timeout=_REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise self._fail(f"read ConfigMap {self.request.namespace}/{name}{SAVED_SUFFIX}", exc) from None
        try:
            saved = json.loads((configmap.data or {}).get(SAVED_KEY) or "null")
        except ValueError:
            return None
        return saved if isinstance(saved, dict) and (saved.get("metadata") or {}).get("name") == name else None

    def save_removed(self, obj: Mapping[str, Any]) -> str:
        """Keep the Cluster about to be deleted in the ConfigMap <name>-pitr-removed (create or replace)."""
        name = obj["metadata"]["name"]
        configmap = f"{name}{SAVED_SUFFIX}"
        body = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": configmap, "namespace": self.request.namespace,
                             "labels": {ANNOTATION_MANAGED_BY: MANAGED_BY},
                             "annotations": {"scalarops.pitr/removed-cluster": name,
                                             "scalarops.pitr/removed-at": self.now().astimezone(UTC).isoformat(timespec="seconds")}},
                "data": {SAVED_KEY: json.dumps(manifest_of(obj), indent=2, sort_keys=True)}}
        try:
            self.core.create_namespaced_config_map(self.request.namespace, body, _request_timeout=_REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status != 409:
                raise self._fail(f"save Cluster {name} in ConfigMap {configmap}", exc) from None
            try:
                self.core.replace_namespaced_config_map(configmap, self.request.namespace, body, _request_timeout=_REQUEST_TIMEOUT)
            except ApiException as exc2:
                raise self._fail(f"save Cluster {name} in ConfigMap {configmap}", exc2) from None
        self.changed = True
        return configmap

    def secret_value(self, ref: Any, what: str, secret: bool = True) -> str | None:
        """The value of a {name, key} Secret reference in the namespace; None when it cannot be read (then the default chain).

        ``secret`` values are remembered in ``secret_values`` for the module to mask (a region is not one: masking
        "us-east-1" would garble every message that names it).
        """
        if not isinstance(ref, Mapping) or not ref.get("name") or not ref.get("key"):
            return None
        try:
            found = self.core.read_namespaced_secret(ref["name"], self.request.namespace, _request_timeout=_REQUEST_TIMEOUT)
        except ApiException as exc:
            self.warnings.append(f"cannot read the Secret {self.request.namespace}/{ref['name']} ({what}): {exc.status} {api_message(exc)}; "
                                 "the archive check uses the AWS default credentials instead")
            return None
        raw = (found.data or {}).get(ref["key"])
        if raw is None:
            self.warnings.append(f"the Secret {self.request.namespace}/{ref['name']} has no key {ref['key']!r} ({what}); "
                                 "the archive check uses the AWS default credentials instead")
            return None
        value = base64.b64decode(raw).decode("utf-8", "replace").strip()
        if value and secret:
            self.secret_values.add(value)
        return value or None

    # --- resolution ---------------------------------------------------------------------------------------------------------
    def validate(self) -> _dt.datetime | None:
        req = self.request
        if req.phase not in PHASES:
            raise CnpgRestoreError(f"phase must be one of {', '.join(PHASES)}, got {req.phase!r}")
        for option, value in (("name", req.name), ("source_cluster", req.source)):
            if not value or len(value) > _MAX_CLUSTER_NAME or not _DNS_1035.match(value):
                raise CnpgRestoreError(f"{option} {value!r} is not a valid Cluster name (lower-case letters, digits and '-', starting with a "
                                       f"letter, at most {_MAX_CLUSTER_NAME} characters)")
        for option, value in (("recovery_server_name", req.recovery_server_name), ("new_server_name", req.new_server_name),
                              ("move_from", req.move_from)):
            if value and value != "auto" and not _SERVER_NAME.match(value):
                raise CnpgRestoreError(f"{option} {value!r} is not a valid serverName (letters, digits, '.', '_' and '-'; it is a folder "
                                       "of the object store)")
        if req.wait_timeout <= 0 or req.poll_interval <= 0:
            raise CnpgRestoreError("wait_timeout and poll_interval must be positive numbers of seconds")
        if req.object_store and req.object_store.get("barman_object_name") and any(
                req.object_store.get(key) for key in ("destination_path", "endpoint_url", "s3_credentials")):
            raise CnpgRestoreError("object_store: give barman_object_name (the Barman Cloud plugin's ObjectStore) or destination_path/"
                                   "endpoint_url/s3_credentials (in-tree barmanObjectStore), not both")
        target = parse_target_time(req.target_time)
        now = self.now()
        if target is not None and target > now:
            raise CnpgRestoreError(f"target_time {format_target_time(target)} is in the future (now {format_target_time(now)}): "
                                   "a recovery can only reach a time the archive has WAL for")
        return target

    def is_this_recovery(self, obj: Mapping[str, Any] | None, recovery_server_name: str | None, target_label: str) -> bool:
        annotations = ((obj or {}).get("metadata") or {}).get("annotations") or {}
        return (annotations.get(ANNOTATION_MANAGED_BY) == MANAGED_BY and annotations.get(ANNOTATION_TARGET_TIME) == target_label
                and (recovery_server_name is None or annotations.get(ANNOTATION_RESTORED_FROM) == recovery_server_name))

    def classify(self, obj: Mapping[str, Any] | None, recovery_server_name: str | None, target_label: str) -> str:
        if obj is None:
            return ABSENT
        if self.is_this_recovery(obj, recovery_server_name, target_label):
            return THIS_RECOVERY
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        return OTHER_RECOVERY if annotations.get(ANNOTATION_MANAGED_BY) == MANAGED_BY else FOREIGN

    def resolve_template(self, source_live: dict[str, Any] | None, target_label: str) -> Template | None:
        """cluster_spec over the source Cluster (live, else as saved by phase remove, else this restore's own Cluster)."""
        req = self.request
        base: Template | None = None
        if source_live is not None and not self.is_this_recovery(source_live, req.recovery_server_name, target_label):
            base = Template("cluster", clean_spec(source_live.get("spec") or {}),
                            template_labels((source_live.get("metadata") or {}).get("labels")), req.source)
        else:
            saved = self.read_saved(req.source)
            if saved is not None:
                base = Template("saved", clean_spec(saved.get("spec") or {}), template_labels((saved.get("metadata") or {}).get("labels")),
                                req.source)
            elif source_live is not None:
                annotations = (source_live.get("metadata") or {}).get("annotations") or {}
                base = Template("recovery", clean_spec(source_live.get("spec") or {}),
                                template_labels((source_live.get("metadata") or {}).get("labels")), req.source,
                                restored_from=annotations.get(ANNOTATION_RESTORED_FROM))
        if req.cluster_spec:
            override = {key: value for key, value in req.cluster_spec.items() if key not in ("bootstrap", "replica")}
            if base is None:
                return Template("cluster_spec", clean_spec(override), {}, req.source)
            base.spec = deep_merge(base.spec, override)
        return base

    def store_settings(self, template: Template) -> StoreSettings:
        """The archive to recover from: object_store over the source's backup configuration, in the source's mode."""
        override = self.request.object_store or {}
        mode = backup_mode(template.spec)
        if override.get("barman_object_name"):
            if mode == MODE_IN_TREE:
                raise CnpgRestoreError("object_store.barman_object_name asks for the Barman Cloud plugin, but the source archives in-tree "
                                       "(spec.backup.barmanObjectStore): override destination_path/endpoint_url/s3_credentials instead")
            return StoreSettings(MODE_PLUGIN, self.object_store_configuration(override["barman_object_name"]), override["barman_object_name"])
        if any(override.get(key) for key in ("destination_path", "endpoint_url", "s3_credentials")):
            if mode == MODE_PLUGIN:
                raise CnpgRestoreError("the source archives through the Barman Cloud plugin: override object_store.barman_object_name "
                                       "(an ObjectStore) rather than destination_path/endpoint_url/s3_credentials")
            configuration = copy.deepcopy((template.spec.get("backup") or {}).get("barmanObjectStore") or {})
            configuration.pop("serverName", None)
            for option, key in (("destination_path", "destinationPath"), ("endpoint_url", "endpointURL"), ("s3_credentials", "s3Credentials")):
                if override.get(option):
                    configuration[key] = copy.deepcopy(override[option])
            if not configuration.get("destinationPath"):
                raise CnpgRestoreError("object_store needs destination_path (s3://bucket/optional/prefix): the source has no "
                                       "spec.backup.barmanObjectStore to take it from")
            return StoreSettings(MODE_IN_TREE, configuration)
        if mode == MODE_PLUGIN:
            name = ((plugin_entry(template.spec) or {}).get("parameters") or {}).get("barmanObjectName")
            if not name:
                raise CnpgRestoreError(f"the {PLUGIN_NAME} entry of the source's spec.plugins names no barmanObjectName")
            return StoreSettings(MODE_PLUGIN, self.object_store_configuration(name), name)
        if mode == MODE_IN_TREE:
            configuration = copy.deepcopy(template.spec["backup"]["barmanObjectStore"])
            configuration.pop("serverName", None)
            return StoreSettings(MODE_IN_TREE, configuration)
        raise CnpgRestoreError(f"the source {'cluster_spec' if template.origin == 'cluster_spec' else 'Cluster ' + self.request.source} has "
                               "no backup configuration (spec.backup.barmanObjectStore or the barman-cloud plugin in spec.plugins): give "
                               "object_store (destination_path, endpoint_url, s3_credentials, or barman_object_name)")

    def object_store_configuration(self, name: str) -> dict[str, Any]:
        found = self.get_custom(OBJECT_STORE_GROUP, OBJECT_STORE_VERSION, OBJECT_STORE_PLURAL, name, "ObjectStore")
        if found is None:
            raise CnpgRestoreError(f"the ObjectStore (barmancloud.cnpg.io/v1) {self.request.namespace}/{name} does not exist: the Barman "
                                   "Cloud plugin reads the archive through it; create it or give object_store.barman_object_name")
        configuration = copy.deepcopy((found.get("spec") or {}).get("configuration") or {})
        if not configuration.get("destinationPath"):
            raise CnpgRestoreError(f"the ObjectStore {self.request.namespace}/{name} has no spec.configuration.destinationPath")
        return configuration

    def new_archive_configuration(self, template: Template, store: StoreSettings) -> dict[str, Any] | None:
        """Where the new cluster archives (its own backup configuration), for the empty-folder check."""
        mode = backup_mode(template.spec)
        if mode == MODE_IN_TREE:
            return template.spec["backup"]["barmanObjectStore"]
        if mode == MODE_PLUGIN:
            name = ((plugin_entry(template.spec) or {}).get("parameters") or {}).get("barmanObjectName")
            if store.mode == MODE_PLUGIN and name == store.barman_object_name:
                return store.configuration
            return self.object_store_configuration(name) if name else None
        return None

    def resolve_new_server_name(self, template: Template, state: str, existing: Mapping[str, Any] | None) -> str | None:
        req = self.request
        if template.server_name is None:
            if req.new_server_name:
                self.warnings.append("new_server_name is ignored: the new cluster has no backup configuration (the source has none), "
                                     "so it archives nowhere")
            return None
        if state == THIS_RECOVERY and existing is not None:  # kept as it is: report what it archives to
            current = archive_server_name(existing.get("spec") or {}, req.name)
            if req.new_server_name not in (None, "", "auto", current):
                self.warnings.append(f"new_server_name {req.new_server_name!r} is ignored: this restore's Cluster exists already and "
                                     f"archives to {current!r}")
            return current
        if req.new_server_name == "auto":
            return f"{req.name}-{self.started.astimezone(UTC):%Y%m%d%H%M%S}"
        return req.new_server_name or template.server_name

    # --- S3 ----------------------------------------------------------------------------------------------------------------
    def s3_target(self, configuration: Mapping[str, Any]) -> S3Target:
        req = self.request
        try:
            bucket, prefix = parse_destination(configuration.get("destinationPath") or "")
        except ArchiveError as exc:
            raise CnpgRestoreError(str(exc)) from None
        params: dict[str, Any] = {"endpoint_url": req.s3_endpoint_url or configuration.get("endpointURL") or None,
                                  "region": req.aws_region or None, "validate_certs": req.validate_certs}
        credentials = "default"
        refs = configuration.get("s3Credentials") or {}
        if req.aws_access_key_id and req.aws_secret_access_key:
            params.update(access_key=req.aws_access_key_id, secret_key=req.aws_secret_access_key, session_token=req.aws_session_token)
            credentials = "options"
        elif refs and not refs.get("inheritFromIAMRole"):
            key_id = self.secret_value(refs.get("accessKeyId"), "s3Credentials.accessKeyId")
            secret = self.secret_value(refs.get("secretAccessKey"), "s3Credentials.secretAccessKey") if key_id else None
            if key_id and secret:
                params.update(access_key=key_id, secret_key=secret, session_token=self.secret_value(refs.get("sessionToken"), "sessionToken"))
                credentials = "secret"
        if not params["region"] and refs.get("region") and not refs.get("inheritFromIAMRole"):
            params["region"] = self.secret_value(refs.get("region"), "s3Credentials.region", secret=False)
        return S3Target(bucket, prefix, params, credentials)

    def s3(self, target: S3Target) -> Any:
        key = json.dumps(target.params, sort_keys=True, default=str)
        if key not in self._s3_clients:
            self._s3_clients[key] = self.s3_factory(target.params)
        return self._s3_clients[key]

    def check_archive(self, store: StoreSettings, new_configuration: Mapping[str, Any] | None, recovery_server_name: str,
                      new_server_name: str | None, target: _dt.datetime | None, state: str) -> None:
        """The archive check (see cnpg_archive); fills ``archive`` and the backup of ``recovery`` in the result."""
        req = self.request
        archive = self.result["archive"]
        source = self.s3_target(store.configuration)
        archive.update(bucket=source.bucket, prefix=source.prefix, credentials=source.credentials)
        client = self.s3(source)
        inspected = recovery_server_name
        try:
            # move_folder before the move (preflight): the backups are still in the folder they will be moved from.
            if req.move_from and req.phase == "preflight" and state != THIS_RECOVERY:
                if first_object(client, source.bucket, source.prefix, req.move_from) is not None:
                    inspected = req.move_from
                    archive["pending_move"] = True
            self.result["recovery"]["inspected_server_name"] = inspected
            scan = scan_server(client, source.bucket, source.prefix, inspected)
            archive.update(base_backups=sum(1 for backup in scan.backups if backup.done), wal_files=len(scan.wals), latest_wal=scan.latest_wal)
            chosen = check_recovery(scan, target, lambda: list_server_folders(client, source.bucket, source.prefix))
        except ArchiveError as exc:
            raise CnpgRestoreError(str(exc)) from None
        self.result["recovery"].update(backup_id=chosen.backup_id,
                                       backup_end_time=chosen.end_time.astimezone(UTC).isoformat() if chosen.end_time else None)
        if new_server_name is None or new_configuration is None:
            return
        destination = self.s3_target(new_configuration)
        try:
            found = first_object(self.s3(destination), destination.bucket, destination.prefix, new_server_name)
        except ArchiveError as exc:
            raise CnpgRestoreError(str(exc)) from None
        archive["new_folder_empty"] = found is None
        if found is None or state == THIS_RECOVERY:  # our own cluster archives there by now
            return
        if archive["pending_move"] and new_server_name == req.move_from:
            return  # the move empties it before the recovery Cluster is created
        folder = url(destination.bucket, server_prefix(destination.prefix, new_server_name))
        moved = self.unfinished_move(client, source.bucket, scan.move_manifest, new_server_name)
        raise CnpgRestoreError(f"the new cluster's WAL archive {folder} is not empty (it holds {found!r}){moved}: the recovered cluster "
                               f"would stay in \"Setting up primary\" with \"{EXPECTED_EMPTY}\"; {EMPTY_ARCHIVE_FIX}")

    def unfinished_move(self, client: Any, bucket: str, manifest_key: str | None, new_server_name: str) -> str:
        """", but ... the move did not delete the source" when the recovery folder is the target of a move of the new folder."""
        req = self.request
        manifest: dict[str, Any] = {}
        if manifest_key:
            try:
                manifest = read_move_manifest(client, bucket, manifest_key)
            except ArchiveError:
                manifest = {}
        moved_from = str(manifest.get("source") or "").rstrip("/").rsplit("/", 1)[-1]
        if req.move_from == new_server_name or moved_from == new_server_name:
            state = f" (the move is in state {manifest['state']!r})" if manifest.get("state") else ""
            return (f"; the folder was moved to the recovery folder but the move did not delete the source{state} - run "
                    "scalarops.pitr.s3_prefix_move again with delete_source: true")
        return ""

    # --- phases ------------------------------------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """The phase's result dict; CnpgRestoreError (with ``changed``) when it cannot go on."""
        try:
            return self._run()
        except Urllib3HTTPError as exc:  # the API server went away mid-run: say so rather than a traceback
            raise CnpgRestoreError(f"cannot reach the Kubernetes API: {exc}", self.changed) from None

    def _run(self) -> dict[str, Any]:
        req = self.request
        target = self.validate()
        target_label = format_target_time(target) if target else LATEST
        recovery = self.result["recovery"]
        recovery["target_time"] = format_target_time(target) if target else None

        existing = self.get_cluster(req.name)
        source_live = existing if req.source == req.name else self.get_cluster(req.source)
        template = self.resolve_template(source_live, target_label)
        self.result["template"] = template.origin if template else None
        recovery_server_name = req.recovery_server_name
        if not recovery_server_name:
            if existing is not None and self.is_this_recovery(existing, None, target_label):
                # a re-run: the folder this restore's Cluster was recovered from (it may have been moved there)
                recovery_server_name = ((existing.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_RESTORED_FROM)
            elif template is not None:
                recovery_server_name = template.restored_from or template.server_name or req.source
        recovery["server_name"] = recovery_server_name
        if req.move_from and req.move_from == recovery_server_name:
            raise CnpgRestoreError(f"move_from names the folder the recovery reads ({req.move_from!r}): give the folder the backups are "
                                   "moved from, and recovery_server_name the folder they are moved to")
        state = self.classify(existing, recovery_server_name, target_label)
        self.result["existing"] = state
        self.result["status"] = cluster_status(existing)
        leftovers = [item["metadata"]["name"] for item in self.labeled("pvcs", req.name)] if state == ABSENT else []

        if req.phase == "remove":  # needs no template: it only deletes what is in the way
            return self.remove(existing, state, leftovers)
        if template is None or recovery_server_name is None:
            raise CnpgRestoreError(f"the source Cluster {req.namespace}/{req.source} does not exist (and phase remove saved no copy of it in "
                                   f"the ConfigMap {req.source}{SAVED_SUFFIX}): give cluster_spec, the spec of the cluster to recover "
                                   "(for example from the GitOps cluster.yaml)")
        # In the way: refused without replace; with it, phase remove must have run before recover - except in check mode,
        # where remove only planned and recover plans on as if it had run (a dry run of the whole restore goes through).
        in_the_way = state in (FOREIGN, OTHER_RECOVERY) or bool(leftovers)
        if in_the_way and (not req.replace or (req.phase == "recover" and not req.check_mode)):
            raise CnpgRestoreError(self.occupied_message(existing, state) if existing is not None else self.leftover_message(leftovers))

        store = self.store_settings(template)
        recovery["source_mode"] = store.mode
        new_server_name = self.resolve_new_server_name(template, state, existing)
        recovery["new_server_name"] = new_server_name
        new_configuration = self.new_archive_configuration(template, store)
        if new_server_name == recovery_server_name and new_configuration is not None and same_store(new_configuration, store.configuration):
            raise CnpgRestoreError(f"the new cluster would archive into the folder it recovers from ({recovery_server_name!r}): "
                                   f"\"{EXPECTED_EMPTY}\"; {EMPTY_ARCHIVE_FIX}")
        manifest = render_cluster(req.namespace, req.name, template.spec, template.labels, store, recovery_server_name, new_server_name,
                                  target)
        self.result["manifest"] = manifest
        if new_server_name and new_configuration is not None:
            try:
                bucket, prefix = parse_destination(new_configuration.get("destinationPath") or "")
                self.new_folder = url(bucket, server_prefix(prefix, new_server_name))
            except ArchiveError:  # not S3: name the serverName only
                self.new_folder = f"{new_configuration.get('destinationPath')}/{new_server_name}/"
        if req.check_archive:
            self.check_archive(store, new_configuration, recovery_server_name, new_server_name, target, state)
        self.result["plan"] = {"remove": in_the_way, "create": state != THIS_RECOVERY}

        if req.phase == "preflight":
            return self.finish()
        if existing is not None and state == THIS_RECOVERY:
            self.result["manifest"] = manifest_of(existing)
            current = existing
            if target is None:
                self.warnings.append(f"kept the Cluster {req.namespace}/{req.name} that an earlier restore recovered to the end of the archive "
                                     f"(from {recovery_server_name!r}); to recover it again, delete it or give a target_time")
        elif req.check_mode:
            self.changed = True
            return self.finish()
        else:
            current = self.create(manifest)
        self.result["status"] = cluster_status(current)
        if req.wait and not req.check_mode:
            self.result["status"] = cluster_status(self.wait_healthy())
        return self.finish()

    def finish(self) -> dict[str, Any]:
        self.result["changed"] = self.changed
        return self.result

    def occupied_message(self, existing: Mapping[str, Any] | None, state: str) -> str:
        req = self.request
        if state == OTHER_RECOVERY:
            annotations = ((existing or {}).get("metadata") or {}).get("annotations") or {}
            what = (f"a Cluster {req.namespace}/{req.name} exists from another restore (restored from "
                    f"{annotations.get(ANNOTATION_RESTORED_FROM)!r} to {annotations.get(ANNOTATION_TARGET_TIME)!r}), not this one")
        else:
            what = f"a Cluster {req.namespace}/{req.name} exists and is not a recovery cluster of scalarops.pitr"
        if req.replace:
            return f"{what}: run phase remove first (with replace: true), which deletes it"
        return (f"{what}: give replace: true to delete it and recover under that name - deleting a Cluster deletes its PVCs, i.e. its "
                "data - or recover under another name")

    def leftover_message(self, leftovers: list[str]) -> str:
        req = self.request
        return (f"no Cluster {req.namespace}/{req.name} exists, but PVCs of one do ({', '.join(leftovers[:5])}): the operator would reuse "
                "them instead of recovering; delete them (phase remove with replace: true does) or recover under another name")

    def remove(self, existing: dict[str, Any] | None, state: str, leftovers: list[str]) -> dict[str, Any]:
        req = self.request
        if state in (ABSENT, THIS_RECOVERY) and not leftovers:
            return self.finish()
        if not req.replace:
            raise CnpgRestoreError(self.occupied_message(existing, state) if existing is not None else self.leftover_message(leftovers))
        self.result["plan"]["remove"] = True
        if req.check_mode:
            self.changed = True
            return self.finish()
        if existing is not None:
            self.result["saved_configmap"] = self.save_removed(existing)
            try:
                self.custom.delete_namespaced_custom_object(GROUP, VERSION, req.namespace, PLURAL, req.name,
                                                            body={"propagationPolicy": "Background"}, _request_timeout=_REQUEST_TIMEOUT)
            except ApiException as exc:
                if exc.status != 404:
                    raise self._fail(f"delete Cluster {req.namespace}/{req.name}", exc) from None
        self.changed = True
        self.wait_removed()
        self.result["removed"] = True
        self.result["status"] = cluster_status(None)
        return self.finish()

    def wait_removed(self) -> None:
        """Until the Cluster, its Pods and its PVCs are gone; PVCs outliving their Cluster are deleted (replace asked for that)."""
        req = self.request
        delay = 0.2
        while True:
            cluster = self.get_cluster(req.name)
            pods = self.labeled("pods", req.name)
            pvcs = self.labeled("pvcs", req.name)
            if cluster is None and not pods and not pvcs:
                return
            if cluster is None:
                for pvc in pvcs:
                    if not (pvc.get("metadata") or {}).get("deletion_timestamp"):
                        self.delete_pvc(pvc["metadata"]["name"])
            if self.deadline.expired():
                left = ([f"Cluster {req.name}"] if cluster else []) + [f"Pod {p['metadata']['name']}" for p in pods] \
                    + [f"PVC {p['metadata']['name']}" for p in pvcs]
                raise CnpgRestoreError(f"still being deleted after {req.wait_timeout:g}s: {', '.join(left[:6])} (finalizers or volumes "
                                       "in use?); run phase remove again to keep waiting", self.changed)
            self.sleep(min(delay, max(self.deadline.remaining(), 0.01)))
            delay = min(delay * 2, req.poll_interval)

    def delete_pvc(self, name: str) -> None:
        try:
            self.core.delete_namespaced_persistent_volume_claim(name, self.request.namespace, _request_timeout=_REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status != 404:
                raise self._fail(f"delete PVC {self.request.namespace}/{name}", exc) from None

    def create(self, manifest: dict[str, Any]) -> dict[str, Any]:
        req = self.request
        try:
            created = self.custom.create_namespaced_custom_object(GROUP, VERSION, req.namespace, PLURAL, manifest,
                                                                  _request_timeout=_REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status == 409:
                raise CnpgRestoreError(f"a Cluster {req.namespace}/{req.name} appeared while this run prepared it; run again to see whose "
                                       "it is", self.changed) from None
            raise self._fail(f"create Cluster {req.namespace}/{req.name}", exc) from None
        self.changed = True
        self.result["created"] = True
        return created

    def wait_healthy(self) -> dict[str, Any]:
        """Poll the Cluster until it is healthy; fail at once on "Expected empty archive", else on the deadline."""
        req = self.request
        last: dict[str, Any] = {}
        while True:
            current = self.get_cluster(req.name)
            if current is None:
                raise CnpgRestoreError(f"the Cluster {req.namespace}/{req.name} disappeared while waiting for it to become healthy",
                                       self.changed)
            last = current
            problem = empty_archive_problem(current)
            if problem:
                self.result["status"] = cluster_status(current)
                raise CnpgRestoreError(f"the Cluster {req.namespace}/{req.name} reports {problem!r}: its WAL archive "
                                       f"{self.new_folder or '(its serverName folder)'} is not empty, "
                                       f"so it stays in \"Setting up primary\"; delete this Cluster (phase remove with replace: true) and "
                                       f"{EMPTY_ARCHIVE_FIX}", self.changed)
            if is_healthy(current):
                return current
            if self.deadline.expired():
                break
            self.sleep(min(req.poll_interval, max(self.deadline.remaining(), 0.01)))
        state = cluster_status(last)
        reason = (last.get("status") or {}).get("phaseReason")
        self.result["status"] = state
        raise CnpgRestoreError(f"the Cluster {req.namespace}/{req.name} is not healthy after {req.wait_timeout:g}s: last phase "
                               f"{state['phase']!r}{f' ({reason})' if reason else ''}, ready instances {state['ready_instances'] or 0} of "
                               f"{state['instances']}; it keeps recovering - run phase recover again to keep waiting", self.changed)
