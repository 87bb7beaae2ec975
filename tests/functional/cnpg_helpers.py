"""CloudNativePG test helpers: a Barman archive in S3 as barman-cloud writes it, and the Cluster objects around it.

No operator runs against the Kubernetes stand-in, so tests play its part: they write the archive a cluster would
have written (``write_barman_archive``), create the Clusters/ObjectStores/Secrets a user would have
(``cluster_manifest``, ``object_store_manifest``, ``credentials_secret``, ``apply``), and set a Cluster's status the
way the operator reports progress (``set_cluster_status``, or ``set_status_when_created`` from a background thread
while a module waits).

Layout written (barman-cloud's, see plugins/module_utils/cnpg_archive.py)::

    <prefix>/<server>/base/<backupID>/backup.info     backup_id, status, begin/end_time, begin/end_wal, timeline, ...
    <prefix>/<server>/base/<backupID>/data.tar
    <prefix>/<server>/wals/<first 16 hex>/<24-hex WAL name>
"""
from __future__ import annotations

import datetime as _dt
import threading
import time
from collections.abc import Sequence
from typing import Any

HEALTHY = "Cluster in healthy state"
PLUGIN = "barman-cloud.cloudnative-pg.io"
SEGMENT = 16 * 1024 * 1024
CREDENTIAL_KEYS = ("ACCESS_KEY_ID", "ACCESS_SECRET_KEY")


def wal_name(segment: int, timeline: int = 1) -> str:
    """The 24-hex name of a 16 MiB WAL segment number."""
    return f"{timeline:08X}{segment // 256:08X}{segment % 256:08X}"


def _barman_time(value: _dt.datetime | str) -> str:
    """barman's backup.info time: str() of an aware datetime, e.g. "2026-11-20 10:00:03.123456+00:00"."""
    moment = _dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    if moment.tzinfo is None:
        raise ValueError(f"give aware times, got {value!r}")
    return str(moment.astimezone(_dt.timezone.utc))


def write_barman_archive(s3_client: Any, bucket: str, prefix: str, server: str,
                         backups: Sequence[tuple[Any, ...]] = (), wal_count: int = 8, create_bucket: bool = True,
                         timeline: int = 1) -> dict[str, Any]:
    """Write a faithful-looking barman-cloud archive of ``server`` under ``s3://bucket/prefix/``.

    ``backups``: ``(backup_id, begin, end)`` or ``(backup_id, begin, end, status)`` (aware datetimes or ISO strings;
    status default "DONE"). WAL segments 1..``wal_count`` of ``timeline`` are written; the backups, in order of their
    end time, get begin_wal/end_wal spread over them (backup i: segments s and s+1), so with ``wal_count >= 2 *
    len(backups)`` every backup's WAL is there; with fewer (or 0) the later backups' end_wal is missing, as in a broken
    archive. ``prefix`` may be "" (destinationPath ``s3://bucket``). Creates the bucket unless ``create_bucket`` is
    False (or it exists). Returns {"folder", "backups" (ids), "wals" (names), "keys"}.
    """
    if create_bucket:
        existing = {entry["Name"] for entry in s3_client.list_buckets().get("Buckets", [])}
        if bucket not in existing:
            s3_client.create_bucket(Bucket=bucket)
    folder = f"{prefix.strip('/')}/{server}/" if prefix.strip("/") else f"{server}/"
    keys: list[str] = []
    ordered = sorted(backups, key=lambda entry: _barman_time(entry[2]))
    step = max(2, wal_count // max(1, len(ordered)))
    for index, entry in enumerate(ordered):
        backup_id, begin, end = entry[0], entry[1], entry[2]
        status = entry[3] if len(entry) > 3 else "DONE"
        first = 1 + index * step
        info = {
            "backup_id": backup_id, "backup_name": None, "status": status, "begin_time": _barman_time(begin),
            "end_time": _barman_time(end), "begin_wal": wal_name(first, timeline), "end_wal": wal_name(first + 1, timeline),
            "begin_xlog": f"0/{first:X}000028", "end_xlog": f"0/{first + 1:X}000100", "begin_offset": 40, "end_offset": 256,
            "timeline": timeline, "server_name": server, "systemid": "7305951232372138012", "version": 170002,
            "xlog_segment_size": SEGMENT, "pgdata": "/var/lib/postgresql/data/pgdata", "compression": None, "error": None,
            "mode": None, "size": None, "tablespaces": None, "snapshots_info": None,
        }
        body = "".join(f"{key}={'None' if value is None else value}\n" for key, value in sorted(info.items()))
        for name, content in (("backup.info", body.encode()), ("data.tar", b"base backup " + str(backup_id).encode())):
            key = f"{folder}base/{backup_id}/{name}"
            s3_client.put_object(Bucket=bucket, Key=key, Body=content)
            keys.append(key)
    wals = [wal_name(segment, timeline) for segment in range(1, wal_count + 1)]
    for name in wals:
        key = f"{folder}wals/{name[:16]}/{name}"
        s3_client.put_object(Bucket=bucket, Key=key, Body=b"wal " + name.encode())
        keys.append(key)
    return {"folder": folder, "backups": [entry[0] for entry in ordered], "wals": wals, "keys": keys}


# --- Kubernetes objects ----------------------------------------------------------------------------------------------
def credentials_secret(name: str, access_key: str, secret_key: str) -> dict[str, Any]:
    """An Opaque Secret holding S3 keys under ACCESS_KEY_ID / ACCESS_SECRET_KEY (the CloudNativePG docs' names)."""
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": "Opaque",
            "stringData": dict(zip(CREDENTIAL_KEYS, (access_key, secret_key)))}


def s3_credentials(secret: str) -> dict[str, Any]:
    """CloudNativePG's s3Credentials referring to ``credentials_secret(secret, ...)``."""
    return {"accessKeyId": {"name": secret, "key": CREDENTIAL_KEYS[0]}, "secretAccessKey": {"name": secret, "key": CREDENTIAL_KEYS[1]}}


def object_store_manifest(name: str, destination_path: str, endpoint_url: str | None, secret: str) -> dict[str, Any]:
    """A barmancloud.cnpg.io/v1 ObjectStore (Barman Cloud plugin)."""
    configuration: dict[str, Any] = {"destinationPath": destination_path, "s3Credentials": s3_credentials(secret),
                                     "wal": {"compression": "gzip"}}
    if endpoint_url:
        configuration["endpointURL"] = endpoint_url
    return {"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore", "metadata": {"name": name},
            "spec": {"configuration": configuration, "retentionPolicy": "30d"}}


def cluster_manifest(name: str, *, destination_path: str | None = None, endpoint_url: str | None = None, secret: str = "s3-creds",
                     server_name: str | None = None, object_store: str | None = None, instances: int = 3) -> dict[str, Any]:
    """A postgresql.cnpg.io/v1 Cluster as a user writes it: in-tree barmanObjectStore (``destination_path``) or, with
    ``object_store``, the Barman Cloud plugin archiving through that ObjectStore; ``server_name`` None = the default."""
    spec: dict[str, Any] = {
        "instances": instances, "imageName": "ghcr.io/cloudnative-pg/postgresql:17.2",
        "storage": {"size": "10Gi", "storageClass": "standard"},
        "postgresql": {"parameters": {"max_connections": "200", "shared_buffers": "256MB"}},
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}},
        "affinity": {"enablePodAntiAffinity": True, "topologyKey": "kubernetes.io/hostname"},
        "bootstrap": {"initdb": {"database": "app", "owner": "app"}},
    }
    if object_store:
        parameters = {"barmanObjectName": object_store, **({"serverName": server_name} if server_name else {})}
        spec["plugins"] = [{"name": PLUGIN, "isWALArchiver": True, "parameters": parameters}]
    elif destination_path:
        store: dict[str, Any] = {"destinationPath": destination_path, "s3Credentials": s3_credentials(secret),
                                 "wal": {"compression": "gzip", "maxParallel": 4}}
        if endpoint_url:
            store["endpointURL"] = endpoint_url
        if server_name:
            store["serverName"] = server_name
        spec["backup"] = {"barmanObjectStore": store, "retentionPolicy": "30d"}
    return {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "db", "cnpg.io/reload": "true"},
                         "annotations": {"note": "the source"}},
            "spec": spec}


def apply(api_client: Any, namespace: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """Create ``manifest`` (Cluster, ObjectStore, Secret, PVC or Pod) in ``namespace``; returns the created object as a dict."""
    from kubernetes import client  # pylint: disable=import-outside-toplevel  # tests importing only the S3 helper skip it

    body = {**manifest, "metadata": {**manifest["metadata"], "namespace": namespace}}
    kind = manifest["kind"]
    if kind in ("Secret", "PersistentVolumeClaim", "Pod"):
        core = client.CoreV1Api(api_client)
        create = {"Secret": core.create_namespaced_secret, "PersistentVolumeClaim": core.create_namespaced_persistent_volume_claim,
                  "Pod": core.create_namespaced_pod}[kind]
        return api_client.sanitize_for_serialization(create(namespace, body))
    group, version = manifest["apiVersion"].split("/")
    plural = {"Cluster": "clusters", "ObjectStore": "objectstores"}[kind]
    return client.CustomObjectsApi(api_client).create_namespaced_custom_object(group, version, namespace, plural, body)


def cluster_volumes(api_client: Any, namespace: str, cluster: dict[str, Any]) -> list[str]:
    """What the operator would have made for ``cluster`` (a created Cluster dict): its PVC and Pod ``<name>-1``, owned by it
    and labelled cnpg.io/cluster, so deleting the Cluster deletes them. Returns their names."""
    name = cluster["metadata"]["name"]
    owner = [{"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "name": name, "uid": cluster["metadata"]["uid"],
              "controller": True, "blockOwnerDeletion": True}]
    labels = {"cnpg.io/cluster": name, "cnpg.io/instanceName": f"{name}-1"}
    apply(api_client, namespace, {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                  "metadata": {"name": f"{name}-1", "labels": labels, "ownerReferences": owner},
                                  "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}})
    apply(api_client, namespace, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{name}-1", "labels": labels, "ownerReferences": owner},
                                  "spec": {"containers": [{"name": "postgres", "image": "ghcr.io/cloudnative-pg/postgresql:17.2"}]}})
    return [f"{name}-1"]


# --- status ----------------------------------------------------------------------------------------------------------
def set_cluster_status(api_client: Any, namespace: str, name: str, phase: str = HEALTHY, ready: int | None = None,
                       **extra: Any) -> dict[str, Any]:
    """Set a Cluster's status as the operator would, through the status subresource.

    ``ready`` = status.readyInstances (default spec.instances: healthy); ``extra`` are more status fields in the API's
    camelCase, e.g. ``phaseReason="..."`` or ``conditions=[{"type": "Ready", "status": "False", "message": "..."}]``.
    Returns the updated Cluster.
    """
    from kubernetes import client  # pylint: disable=import-outside-toplevel

    api = client.CustomObjectsApi(api_client)
    current = api.get_namespaced_custom_object("postgresql.cnpg.io", "v1", namespace, "clusters", name)
    instances = (current.get("spec") or {}).get("instances", 1)
    current["status"] = {**(current.get("status") or {}), "phase": phase, "instances": instances,
                         "readyInstances": instances if ready is None else ready, **extra}
    return api.replace_namespaced_custom_object_status("postgresql.cnpg.io", "v1", namespace, "clusters", name, current)


def set_status_when_created(api_client: Any, namespace: str, name: str, phase: str = HEALTHY, ready: int | None = None,
                            timeout: float = 120.0, annotation: str = "scalarops.pitr/managed-by", **extra: Any) -> threading.Thread:
    """Start a thread that waits until a Cluster ``name`` carrying ``annotation`` exists (a recovery Cluster, not the
    source of the same name) and then calls ``set_cluster_status``. ``join()`` it; ``thread.error`` holds what failed."""
    from kubernetes import client  # pylint: disable=import-outside-toplevel

    api = client.CustomObjectsApi(api_client)

    def watch() -> None:
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                try:
                    found = api.get_namespaced_custom_object("postgresql.cnpg.io", "v1", namespace, "clusters", name)
                except client.ApiException as exc:
                    if exc.status != 404:
                        raise
                    found = None
                if found and annotation in ((found.get("metadata") or {}).get("annotations") or {}):
                    set_cluster_status(api_client, namespace, name, phase, ready, **extra)
                    return
                time.sleep(0.1)
            thread.error = TimeoutError(f"no Cluster {namespace}/{name} with {annotation} within {timeout}s")  # type: ignore[attr-defined]
        except Exception as exc:  # pylint: disable=broad-except  # reported to the test through thread.error
            thread.error = exc  # type: ignore[attr-defined]

    thread = threading.Thread(target=watch, name=f"cnpg-status-{name}", daemon=True)
    thread.error = None  # type: ignore[attr-defined]
    thread.start()
    return thread
