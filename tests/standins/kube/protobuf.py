"""Decode the protobuf request bodies client-go typed clients send.

helm stores releases in Secrets through a typed clientset, and kubectl's imperative commands
(``create deployment|job|namespace|secret|configmap|service``, ``run``) use typed clients too;
client-go sends their bodies as ``application/vnd.kubernetes.protobuf``: the magic ``k8s\\0``
then a ``runtime.Unknown`` envelope (typeMeta, raw) whose ``raw`` is the object's message.

``MESSAGES`` describes, per message, field number -> (JSON name, type) for the subset of the API
those commands write; field numbers come from k8s.io/api's generated.proto. A field or kind not
described is refused loudly (415 naming it) rather than silently dropped. Type notation: ``s``
string, ``i`` integer, ``b`` bool, ``y`` bytes (base64 in JSON), ``q`` Quantity, ``t`` Time,
``ios`` IntOrString, ``-`` ignored (status), otherwise a message name; suffix ``*`` repeated,
prefix ``map:`` a map, prefix ``^`` a message inlined into its parent (as in JSON), suffix ``!``
keeps a zero value (pointer fields such as ``replicas``, where 0 means something).
"""
from __future__ import annotations

import base64
import datetime as dt
from typing import Any

MAGIC = b"k8s\x00"

MESSAGES: dict[str, dict[int, tuple[str, str]]] = {
    # meta/v1, runtime
    "Unknown": {1: ("typeMeta", "TypeMeta"), 2: ("raw", "y"), 3: ("contentEncoding", "s"), 4: ("contentType", "s")},
    "TypeMeta": {1: ("apiVersion", "s"), 2: ("kind", "s")},  # runtime.TypeMeta, not meta/v1's
    "ObjectMeta": {1: ("name", "s"), 2: ("generateName", "s"), 3: ("namespace", "s"), 4: ("selfLink", "s"), 5: ("uid", "s"),
                   6: ("resourceVersion", "s"), 7: ("generation", "i"), 8: ("creationTimestamp", "t"),
                   9: ("deletionTimestamp", "t"), 10: ("deletionGracePeriodSeconds", "i!"), 11: ("labels", "map:s"),
                   12: ("annotations", "map:s"), 13: ("ownerReferences", "OwnerReference*"), 14: ("finalizers", "s*"),
                   17: ("managedFields", "-")},
    "OwnerReference": {1: ("kind", "s"), 3: ("name", "s"), 4: ("uid", "s"), 5: ("apiVersion", "s"), 6: ("controller", "b!"),
                       7: ("blockOwnerDeletion", "b!")},
    "LabelSelector": {1: ("matchLabels", "map:s"), 2: ("matchExpressions", "LabelSelectorRequirement*")},
    "LabelSelectorRequirement": {1: ("key", "s"), 2: ("operator", "s"), 3: ("values", "s*")},
    "DeleteOptions": {1: ("gracePeriodSeconds", "i!"), 2: ("preconditions", "Preconditions"), 3: ("orphanDependents", "b!"),
                      4: ("propagationPolicy", "s"), 5: ("dryRun", "s*"), 6: ("ignoreStoreReadErrorWithClusterBreakingPotential", "b")},
    "Preconditions": {1: ("uid", "s"), 2: ("resourceVersion", "s")},
    # core/v1 objects
    "Secret": {1: ("metadata", "ObjectMeta"), 2: ("data", "map:y"), 3: ("type", "s"), 4: ("stringData", "map:s"), 5: ("immutable", "b!")},
    "ConfigMap": {1: ("metadata", "ObjectMeta"), 2: ("data", "map:s"), 3: ("binaryData", "map:y"), 4: ("immutable", "b!")},
    "Namespace": {1: ("metadata", "ObjectMeta"), 2: ("spec", "NamespaceSpec"), 3: ("status", "-")},
    "NamespaceSpec": {1: ("finalizers", "s*")},
    "ServiceAccount": {1: ("metadata", "ObjectMeta"), 2: ("secrets", "ObjectReference*"),
                       3: ("imagePullSecrets", "LocalObjectReference*"), 4: ("automountServiceAccountToken", "b!")},
    "ObjectReference": {1: ("kind", "s"), 2: ("namespace", "s"), 3: ("name", "s"), 4: ("uid", "s"), 5: ("apiVersion", "s"),
                        6: ("resourceVersion", "s"), 7: ("fieldPath", "s")},
    "LocalObjectReference": {1: ("name", "s")},
    "Service": {1: ("metadata", "ObjectMeta"), 2: ("spec", "ServiceSpec"), 3: ("status", "-")},
    "ServiceSpec": {1: ("ports", "ServicePort*"), 2: ("selector", "map:s"), 3: ("clusterIP", "s"), 4: ("type", "s"),
                    5: ("externalIPs", "s*"), 7: ("sessionAffinity", "s"), 8: ("loadBalancerIP", "s"),
                    10: ("externalName", "s"), 11: ("externalTrafficPolicy", "s"), 13: ("publishNotReadyAddresses", "b"),
                    17: ("ipFamilyPolicy", "s"), 18: ("clusterIPs", "s*"), 19: ("ipFamilies", "s*"),
                    22: ("internalTrafficPolicy", "s")},
    "ServicePort": {1: ("name", "s"), 2: ("protocol", "s"), 3: ("port", "i!"), 4: ("targetPort", "ios"), 5: ("nodePort", "i"),
                    6: ("appProtocol", "s")},
    "PersistentVolumeClaim": {1: ("metadata", "ObjectMeta"), 2: ("spec", "PersistentVolumeClaimSpec"), 3: ("status", "-")},
    "PersistentVolumeClaimSpec": {1: ("accessModes", "s*"), 2: ("resources", "VolumeResourceRequirements"), 3: ("volumeName", "s"),
                                  4: ("selector", "LabelSelector"), 5: ("storageClassName", "s"), 6: ("volumeMode", "s")},
    "VolumeResourceRequirements": {1: ("limits", "map:q"), 2: ("requests", "map:q")},
    "Pod": {1: ("metadata", "ObjectMeta"), 2: ("spec", "PodSpec"), 3: ("status", "-")},
    # pods
    "PodTemplateSpec": {1: ("metadata", "ObjectMeta"), 2: ("spec", "PodSpec")},
    "PodSpec": {1: ("volumes", "Volume*"), 2: ("containers", "Container*"), 3: ("restartPolicy", "s"),
                4: ("terminationGracePeriodSeconds", "i!"), 5: ("activeDeadlineSeconds", "i!"), 6: ("dnsPolicy", "s"),
                7: ("nodeSelector", "map:s"), 8: ("serviceAccountName", "s"), 9: ("serviceAccount", "s"), 10: ("nodeName", "s"),
                11: ("hostNetwork", "b"), 14: ("securityContext", "PodSecurityContext"),
                15: ("imagePullSecrets", "LocalObjectReference*"), 16: ("hostname", "s"), 17: ("subdomain", "s"),
                19: ("schedulerName", "s"), 20: ("initContainers", "Container*"), 21: ("automountServiceAccountToken", "b!"),
                22: ("tolerations", "Toleration*"), 24: ("priorityClassName", "s"), 25: ("priority", "i!"),
                30: ("enableServiceLinks", "b!"), 31: ("preemptionPolicy", "s")},
    "Container": {1: ("name", "s"), 2: ("image", "s"), 3: ("command", "s*"), 4: ("args", "s*"), 5: ("workingDir", "s"),
                  6: ("ports", "ContainerPort*"), 7: ("env", "EnvVar*"), 8: ("resources", "ResourceRequirements"),
                  9: ("volumeMounts", "VolumeMount*"), 10: ("livenessProbe", "Probe"), 11: ("readinessProbe", "Probe"),
                  13: ("terminationMessagePath", "s"), 14: ("imagePullPolicy", "s"), 15: ("securityContext", "SecurityContext"),
                  16: ("stdin", "b"), 17: ("stdinOnce", "b"), 18: ("tty", "b"), 19: ("envFrom", "EnvFromSource*"),
                  20: ("terminationMessagePolicy", "s"), 22: ("startupProbe", "Probe"), 24: ("restartPolicy", "s")},
    "ContainerPort": {1: ("name", "s"), 2: ("hostPort", "i"), 3: ("containerPort", "i!"), 4: ("protocol", "s"), 5: ("hostIP", "s")},
    "EnvVar": {1: ("name", "s"), 2: ("value", "s"), 3: ("valueFrom", "EnvVarSource")},
    "EnvVarSource": {1: ("fieldRef", "ObjectFieldSelector"), 2: ("resourceFieldRef", "ResourceFieldSelector"),
                     3: ("configMapKeyRef", "KeySelector"), 4: ("secretKeyRef", "KeySelector")},
    "ObjectFieldSelector": {1: ("apiVersion", "s"), 2: ("fieldPath", "s")},
    "ResourceFieldSelector": {1: ("containerName", "s"), 2: ("resource", "s"), 3: ("divisor", "q")},
    "KeySelector": {1: ("", "^LocalObjectReference"), 2: ("key", "s"), 3: ("optional", "b!")},
    "EnvFromSource": {1: ("prefix", "s"), 2: ("configMapRef", "EnvSource"), 3: ("secretRef", "EnvSource")},
    "EnvSource": {1: ("", "^LocalObjectReference"), 2: ("optional", "b!")},
    "ResourceRequirements": {1: ("limits", "map:q"), 2: ("requests", "map:q")},
    "VolumeMount": {1: ("name", "s"), 2: ("readOnly", "b"), 3: ("mountPath", "s"), 4: ("subPath", "s"), 6: ("subPathExpr", "s")},
    "Volume": {1: ("name", "s"), 2: ("", "^VolumeSource")},
    "VolumeSource": {1: ("hostPath", "HostPathVolumeSource"), 2: ("emptyDir", "EmptyDirVolumeSource"),
                     6: ("secret", "SecretVolumeSource"), 10: ("persistentVolumeClaim", "PersistentVolumeClaimVolumeSource"),
                     19: ("configMap", "ConfigMapVolumeSource")},
    "HostPathVolumeSource": {1: ("path", "s"), 2: ("type", "s")},
    "EmptyDirVolumeSource": {1: ("medium", "s"), 2: ("sizeLimit", "q")},
    "SecretVolumeSource": {1: ("secretName", "s"), 2: ("items", "KeyToPath*"), 3: ("defaultMode", "i!"), 4: ("optional", "b!")},
    "ConfigMapVolumeSource": {1: ("", "^LocalObjectReference"), 2: ("items", "KeyToPath*"), 3: ("defaultMode", "i!"),
                              4: ("optional", "b!")},
    "KeyToPath": {1: ("key", "s"), 2: ("path", "s"), 3: ("mode", "i!")},
    "PersistentVolumeClaimVolumeSource": {1: ("claimName", "s"), 2: ("readOnly", "b")},
    "Probe": {1: ("", "^ProbeHandler"), 2: ("initialDelaySeconds", "i"), 3: ("timeoutSeconds", "i"), 4: ("periodSeconds", "i"),
              5: ("successThreshold", "i"), 6: ("failureThreshold", "i")},
    "ProbeHandler": {1: ("exec", "ExecAction"), 2: ("httpGet", "HTTPGetAction"), 3: ("tcpSocket", "TCPSocketAction")},
    "ExecAction": {1: ("command", "s*")},
    "HTTPGetAction": {1: ("path", "s"), 2: ("port", "ios"), 3: ("host", "s"), 4: ("scheme", "s")},
    "TCPSocketAction": {1: ("port", "ios"), 2: ("host", "s")},
    "Toleration": {1: ("key", "s"), 2: ("operator", "s"), 3: ("value", "s"), 4: ("effect", "s"), 5: ("tolerationSeconds", "i!")},
    "PodSecurityContext": {2: ("runAsUser", "i!"), 3: ("runAsNonRoot", "b!"), 5: ("fsGroup", "i!"), 6: ("runAsGroup", "i!")},
    "SecurityContext": {2: ("privileged", "b!"), 4: ("runAsUser", "i!"), 5: ("runAsNonRoot", "b!"),
                        6: ("readOnlyRootFilesystem", "b!"), 7: ("allowPrivilegeEscalation", "b!"), 8: ("runAsGroup", "i!")},
    # apps/v1, batch/v1
    "Deployment": {1: ("metadata", "ObjectMeta"), 2: ("spec", "DeploymentSpec"), 3: ("status", "-")},
    "DeploymentSpec": {1: ("replicas", "i!"), 2: ("selector", "LabelSelector"), 3: ("template", "PodTemplateSpec"),
                       4: ("strategy", "DeploymentStrategy"), 5: ("minReadySeconds", "i"), 6: ("revisionHistoryLimit", "i!"),
                       7: ("paused", "b"), 9: ("progressDeadlineSeconds", "i!")},
    "DeploymentStrategy": {1: ("type", "s"), 2: ("rollingUpdate", "RollingUpdateDeployment")},
    "RollingUpdateDeployment": {1: ("maxUnavailable", "ios"), 2: ("maxSurge", "ios")},
    "Job": {1: ("metadata", "ObjectMeta"), 2: ("spec", "JobSpec"), 3: ("status", "-")},
    "JobSpec": {1: ("parallelism", "i!"), 2: ("completions", "i!"), 3: ("activeDeadlineSeconds", "i!"), 4: ("selector", "LabelSelector"),
                5: ("manualSelector", "b!"), 6: ("template", "PodTemplateSpec"), 7: ("backoffLimit", "i!"),
                8: ("ttlSecondsAfterFinished", "i!"), 9: ("completionMode", "s"), 10: ("suspend", "b!"),
                14: ("podReplacementPolicy", "s")},
    "CronJob": {1: ("metadata", "ObjectMeta"), 2: ("spec", "CronJobSpec"), 3: ("status", "-")},
    "CronJobSpec": {1: ("schedule", "s"), 2: ("startingDeadlineSeconds", "i!"), 3: ("concurrencyPolicy", "s"), 4: ("suspend", "b!"),
                    5: ("jobTemplate", "JobTemplateSpec"), 6: ("successfulJobsHistoryLimit", "i!"),
                    7: ("failedJobsHistoryLimit", "i!"), 8: ("timeZone", "s")},
    "JobTemplateSpec": {1: ("metadata", "ObjectMeta"), 2: ("spec", "JobSpec")},
    # authorization/v1, authentication/v1 (kubectl auth can-i / whoami)
    "SelfSubjectAccessReview": {1: ("metadata", "ObjectMeta"), 2: ("spec", "SelfSubjectAccessReviewSpec"), 3: ("status", "-")},
    "SelfSubjectAccessReviewSpec": {1: ("resourceAttributes", "ResourceAttributes"), 2: ("nonResourceAttributes", "NonResourceAttributes")},
    "ResourceAttributes": {1: ("namespace", "s"), 2: ("verb", "s"), 3: ("group", "s"), 4: ("version", "s"), 5: ("resource", "s"),
                           6: ("subresource", "s"), 7: ("name", "s")},
    "NonResourceAttributes": {1: ("path", "s"), 2: ("verb", "s")},
    "SelfSubjectRulesReview": {1: ("metadata", "ObjectMeta"), 2: ("spec", "SelfSubjectRulesReviewSpec"), 3: ("status", "-")},
    "SelfSubjectRulesReviewSpec": {1: ("namespace", "s")},
    "SelfSubjectReview": {1: ("metadata", "ObjectMeta"), 2: ("status", "-")},
}
TOP_LEVEL = frozenset({"Secret", "ConfigMap", "Namespace", "ServiceAccount", "Service", "PersistentVolumeClaim", "Pod",
                       "Deployment", "Job", "CronJob", "DeleteOptions", "SelfSubjectAccessReview", "SelfSubjectRulesReview",
                       "SelfSubjectReview"})


class ProtobufError(ValueError):
    """A body we cannot decode (answered with 415)."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """The (field number, value) pairs of one message; length-delimited values as bytes."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            out.append((number, value))
        elif wire == 2:
            length, pos = _varint(buf, pos)
            out.append((number, buf[pos:pos + length]))
            pos += length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            out.append((number, int.from_bytes(buf[pos:pos + size], "little")))
            pos += size
        else:
            raise ProtobufError(f"unsupported protobuf wire type {wire}")
    return out


def _bytes(value: int | bytes) -> bytes:
    if not isinstance(value, bytes):
        raise ProtobufError("expected a length-delimited protobuf field")
    return value


def _scalar(kind: str, value: int | bytes) -> Any:
    if kind == "s":
        return _bytes(value).decode()
    if kind == "y":
        return base64.b64encode(_bytes(value)).decode()
    if kind == "b":
        return bool(value)
    if kind == "i":
        number = int(value) if isinstance(value, int) else 0
        return number - (1 << 64) if number >= 1 << 63 else number  # two's complement negatives
    if kind == "q":
        return next((_bytes(v).decode() for n, v in fields(_bytes(value)) if n == 1), "")
    if kind == "t":
        seconds = next((_scalar("i", v) for n, v in fields(_bytes(value)) if n == 1), 0)
        return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if seconds > 0 else None
    if kind == "ios":
        parts = dict(fields(_bytes(value)))
        return _bytes(parts[3]).decode() if parts.get(1) == 1 else _scalar("i", parts.get(2, 0))
    return decode_message(kind, _bytes(value))


def _map_entry(kind: str, value: int | bytes) -> tuple[str, Any]:
    parts = dict(fields(_bytes(value)))
    key = _bytes(parts.get(1, b"")).decode()
    return key, _scalar(kind, parts.get(2, b"" if kind != "b" else 0))


def decode_message(name: str, buf: bytes) -> dict[str, Any]:
    """One message as its JSON form, dropping the zero values JSON would omit."""
    schema = MESSAGES[name]
    out: dict[str, Any] = {}
    for number, value in fields(buf):
        if number not in schema:
            if value in (0, b""):
                continue  # gogo-protobuf writes every non-pointer field, even zero ones JSON would omit
            raise ProtobufError(f"the stand-in cannot decode field {number} of protobuf {name}; send JSON instead")
        json_name, kind = schema[number]
        keep_zero = kind.endswith("!")
        kind = kind.rstrip("!")
        if kind == "-":
            continue
        if kind.startswith("^"):
            out.update(decode_message(kind[1:], _bytes(value)))
        elif kind.startswith("map:"):
            key, item = _map_entry(kind[4:], value)
            out.setdefault(json_name, {})[key] = item
        elif kind.endswith("*"):
            out.setdefault(json_name, []).append(_scalar(kind[:-1], value))
        else:
            item = _scalar(kind, value)
            if item is not None and (keep_zero or item not in ("", 0, False)):
                out[json_name] = item
    return out


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf-encoded object (``k8s\\0`` + runtime.Unknown) as the dict its JSON form gives."""
    if not body.startswith(MAGIC):
        raise ProtobufError("protobuf body without the k8s magic prefix")
    envelope = decode_message("Unknown", body[len(MAGIC):])
    type_meta = envelope.get("typeMeta") or {}
    kind = type_meta.get("kind", "")
    if kind not in TOP_LEVEL:
        raise ProtobufError(f"the stand-in cannot decode protobuf {kind or 'objects of unknown kind'}; send JSON instead")
    obj = decode_message(kind, base64.b64decode(envelope.get("raw", "")))
    if type_meta.get("apiVersion"):
        obj["apiVersion"] = type_meta["apiVersion"]
    obj["kind"] = kind
    return obj
