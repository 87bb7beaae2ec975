"""A fake controller manager: workloads are ready at once, Jobs run to the end, PVCs bind.

It reacts to store events synchronously (under the store lock), so by the time a client reads
after a write the status already reflects it:

* Deployment -> one owned ReplicaSet per pod template (older ones scaled to 0), status with
  ``observedGeneration``, ready/available/updated replicas and Available/Progressing conditions;
  StatefulSet/DaemonSet/ReplicaSet status likewise. No Pods are made for them unless the pod
  template carries ``standins.scalarops.io/pods: "true"``: then ReplicaSets and StatefulSets keep
  as many Running Pods as replicas (created and deleted as they scale; their IP comes from the
  ``standins.scalarops.io/pod-ip`` template annotation, default 127.0.0.1).
* Job -> one Pod (owned by the Job) that ends Succeeded, or Failed when the pod template carries
  the annotation ``standins.scalarops.io/fail: <message>``; the Pod's log (``.../pods/x/log``) is
  that message, or ``standins.scalarops.io/log`` from the template, or the container's command
  and args. ``standins.scalarops.io/duration: <seconds>`` keeps the Job running that long first.
* Pods created by clients become Running and Ready; their IP is ``standins.scalarops.io/pod-ip``
  or 127.0.0.1 (a test may also patch ``status`` itself); Endpoints follow Services' selectors.
* PVCs bind, Services of type LoadBalancer get 127.0.0.1, Namespaces get their ``default``
  ServiceAccount and ``kube-root-ca.crt`` ConfigMap, CRDs become Established and served.
"""
from __future__ import annotations

import copy
import logging
import random
import string
import threading
from typing import Any

from .api import Api
from .errors import ApiError
from .objects import (DURATION_ANNOTATION, FAIL_ANNOTATION, KEYS, LOG_ANNOTATION, NODE_NAME, POD_IP_ANNOTATION,
                      PODS_ANNOTATION, condition, finished_job_status, finished_pod_status, nonzero, now, owned_by,
                      owner_ref, shell_echo_output, template_hash)
from .resources import ResourceType, resource_from_crd
from .selectors import make_filter
from .store import Event

LOG = logging.getLogger(__name__)


class Controller:
    """Registered as a store hook; every reconcile writes only when something changes."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store
        self._timers: list[threading.Timer] = []
        self.handlers = {
            KEYS["deployments"]: self._deployment, KEYS["replicasets"]: self._replicaset,
            KEYS["statefulsets"]: self._statefulset, KEYS["daemonsets"]: self._daemonset,
            KEYS["jobs"]: self._job, KEYS["pods"]: self._pod, KEYS["services"]: self._service,
            KEYS["pvcs"]: self._pvc, KEYS["namespaces"]: self._namespace, KEYS["crds"]: self._crd,
        }

    def __call__(self, event: Event) -> None:
        if event.type == "DELETED":
            if event.key == KEYS["crds"]:
                self._crd_deleted(event.obj)
            elif event.key == KEYS["pods"]:
                self._pod_deleted(event.obj)
            return
        handler = self.handlers.get(event.key)
        if handler is not None:
            handler(copy.deepcopy(event.obj))

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()

    # ---- helpers ----------------------------------------------------------------------------
    def _rt(self, name: str) -> ResourceType:
        rt = self.api.registry.by_key(KEYS[name])
        assert rt is not None
        return rt

    def _current(self, name: str, obj: dict[str, Any]) -> dict[str, Any] | None:
        md = obj["metadata"]
        return self.store.get(KEYS[name], md.get("namespace", ""), md["name"])

    def _set_status(self, name: str, obj: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
        current = self._current(name, obj)
        if current is None or current.get("status") == status:
            return current or obj
        return self.api.commit_update(self._rt(name), current, {**current, "status": status}, "status")

    def _create(self, name: str, obj: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return self.api.create(self._rt(name), obj["metadata"].get("namespace"), obj, keep_status=True)
        except ApiError as exc:
            LOG.warning("controller could not create %s %s: %s", name, obj["metadata"].get("name"), exc.message)
            return None

    # ---- workloads --------------------------------------------------------------------------
    def _deployment(self, dep: dict[str, Any]) -> None:
        md, spec = dep["metadata"], dep.get("spec") or {}
        ns, replicas = md.get("namespace", ""), int(spec.get("replicas", 1))
        template = copy.deepcopy(spec.get("template") or {})
        pod_hash = template_hash(template)
        owned = [rs for rs in self.store.list(KEYS["replicasets"], ns) if owned_by(rs, dep)]
        revisions = [int((rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", 0)) for rs in owned]
        current = next((rs for rs in owned if rs["metadata"]["name"] == f"{md['name']}-{pod_hash}"), None)
        for rs in owned:
            if rs is not current and (rs.get("spec") or {}).get("replicas", 0) != 0:
                self._scale_rs(rs, 0)
        revision = max(revisions, default=0) + (0 if current else 1)
        if current is None:
            template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = pod_hash
            selector = copy.deepcopy(spec.get("selector") or {})
            selector.setdefault("matchLabels", {})["pod-template-hash"] = pod_hash
            self._create("replicasets", {
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": f"{md['name']}-{pod_hash}", "namespace": ns,
                             "labels": template["metadata"]["labels"], "ownerReferences": [owner_ref(dep)],
                             "annotations": {"deployment.kubernetes.io/revision": str(revision),
                                             "deployment.kubernetes.io/desired-replicas": str(replicas)}},
                "spec": {"replicas": replicas, "selector": selector, "template": template},
                "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
                           "fullyLabeledReplicas": replicas, "observedGeneration": 1},
            })
        else:
            # a template seen before (rollback) reuses its ReplicaSet, which becomes the newest revision
            own = int((current["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", 0))
            revision = own if own == max(revisions) else max(revisions) + 1
            if current["spec"].get("replicas") != replicas or own != revision:
                self._scale_rs(current, replicas, revision)
        live = self._current("deployments", dep)
        if live is None:
            return
        annotations = live["metadata"].get("annotations") or {}
        if annotations.get("deployment.kubernetes.io/revision") != str(revision):
            live["metadata"]["annotations"] = {**annotations, "deployment.kubernetes.io/revision": str(revision)}
            live = self.api.commit_update(self._rt("deployments"), self._current("deployments", dep) or live, live)
        conditions = (live.get("status") or {}).get("conditions")
        status = nonzero({"observedGeneration": live["metadata"].get("generation", 1), "replicas": replicas,
                          "updatedReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas})
        status["conditions"] = [
            condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", conditions),
            condition("Progressing", "True", "NewReplicaSetAvailable",
                      f'ReplicaSet "{md["name"]}-{pod_hash}" has successfully progressed.', conditions),
        ]
        self._set_status("deployments", live, status)

    def _scale_rs(self, rs: dict[str, Any], replicas: int, revision: int | None = None) -> None:
        rs = copy.deepcopy(rs)
        rs["spec"]["replicas"] = replicas
        annotations = rs["metadata"].setdefault("annotations", {})
        annotations["deployment.kubernetes.io/desired-replicas"] = str(replicas)
        if revision is not None:
            annotations["deployment.kubernetes.io/revision"] = str(revision)
        self.api.commit_update(self._rt("replicasets"), self._current("replicasets", rs) or rs, rs)

    def _replicaset(self, rs: dict[str, Any]) -> None:
        replicas = int((rs.get("spec") or {}).get("replicas", 1))
        if self._wants_pods(rs):
            names = [p["metadata"]["name"] for p in self._owned_pods(rs)]
            while len(names) < replicas:
                name = f"{rs['metadata']['name']}-{''.join(random.choices(string.ascii_lowercase + string.digits, k=5))}"
                if name not in names:
                    names.append(name)
                    self._create_pod(rs, name, {})
            self._delete_pods(rs, sorted(names)[replicas:])
        status = nonzero({"readyReplicas": replicas, "availableReplicas": replicas,
                          "fullyLabeledReplicas": replicas, "observedGeneration": rs["metadata"].get("generation", 1)})
        self._set_status("replicasets", rs, {"replicas": replicas, **status})  # replicas is never omitted

    def _statefulset(self, sts: dict[str, Any]) -> None:
        spec = sts.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        revision = f"{sts['metadata']['name']}-{template_hash(spec.get('template') or {})}"
        counters = nonzero({"readyReplicas": replicas, "currentReplicas": replicas, "updatedReplicas": replicas,
                            "availableReplicas": replicas})
        status = {"replicas": replicas, **counters,
                  "observedGeneration": sts["metadata"].get("generation", 1), "currentRevision": revision,
                  "updateRevision": revision, "collisionCount": 0}
        self._set_status("statefulsets", sts, status)
        if self._wants_pods(sts):
            name = sts["metadata"]["name"]
            existing = {p["metadata"]["name"] for p in self._owned_pods(sts)}
            for ordinal in range(replicas):
                if f"{name}-{ordinal}" not in existing:
                    self._create_pod(sts, f"{name}-{ordinal}", {"statefulset.kubernetes.io/pod-name": f"{name}-{ordinal}",
                                                                "controller-revision-hash": revision,
                                                                "apps.kubernetes.io/pod-index": str(ordinal)})
            self._delete_pods(sts, [n for n in existing if int(n.rsplit("-", 1)[1]) >= replicas])

    # ---- opt-in pods for ReplicaSets and StatefulSets ---------------------------------------
    @staticmethod
    def _wants_pods(owner: dict[str, Any]) -> bool:
        template = (owner.get("spec") or {}).get("template") or {}
        return ((template.get("metadata") or {}).get("annotations") or {}).get(PODS_ANNOTATION) == "true"

    def _owned_pods(self, owner: dict[str, Any]) -> list[dict[str, Any]]:
        return [p for p in self.store.list(KEYS["pods"], owner["metadata"].get("namespace", "")) if owned_by(p, owner)]

    def _create_pod(self, owner: dict[str, Any], name: str, extra_labels: dict[str, str]) -> None:
        template = (owner.get("spec") or {}).get("template") or {}
        tmeta = template.get("metadata") or {}
        self._create("pods", {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": owner["metadata"].get("namespace"),
                         "labels": {**(tmeta.get("labels") or {}), **extra_labels},
                         "annotations": tmeta.get("annotations") or {}, "ownerReferences": [owner_ref(owner)]},
            "spec": {**copy.deepcopy(template.get("spec") or {}), "nodeName": NODE_NAME},
        })

    def _delete_pods(self, owner: dict[str, Any], names: list[str]) -> None:
        pods = self._rt("pods")
        for name in names:
            pod = self.store.get(KEYS["pods"], owner["metadata"].get("namespace", ""), name)
            if pod is not None:
                self.api.delete_tree(pods, pod)

    def _daemonset(self, ds: dict[str, Any]) -> None:
        status = {"currentNumberScheduled": 1, "desiredNumberScheduled": 1, "numberMisscheduled": 0, "numberReady": 1,
                  "numberAvailable": 1, "updatedNumberScheduled": 1, "observedGeneration": ds["metadata"].get("generation", 1)}
        self._set_status("daemonsets", ds, status)

    # ---- jobs -------------------------------------------------------------------------------
    def _job(self, job: dict[str, Any]) -> None:
        status = job.get("status") or {}
        if status.get("startTime") or (job.get("spec") or {}).get("suspend"):
            return  # already started (the job runs once), or suspended
        template = (job.get("spec") or {}).get("template") or {}
        annotations = (template.get("metadata") or {}).get("annotations") or {}
        duration = float(annotations.get(DURATION_ANNOTATION) or 0)
        pod = self._job_pod(job, template, running=duration > 0)
        started = now()
        if duration > 0:
            self._set_status("jobs", job, {"startTime": started, "active": 1, "ready": 0, "terminating": 0,
                                           "uncountedTerminatedPods": {}})
            timer = threading.Timer(duration, self._finish_job_later, args=(job, pod, started))
            timer.daemon = True
            self._timers = [t for t in self._timers if t.is_alive()] + [timer]
            timer.start()
        else:
            self._finish_job(job, pod, started)

    def _finish_job_later(self, job: dict[str, Any], pod: dict[str, Any] | None, started: str) -> None:
        with self.store.cond:
            current = self._current("jobs", job)
            if current is not None and current["metadata"]["uid"] == job["metadata"]["uid"]:  # not a new Job of that name
                self._finish_job(current, pod, started)

    def _job_pod(self, job: dict[str, Any], template: dict[str, Any], running: bool) -> dict[str, Any] | None:
        md = job["metadata"]
        containers = (template.get("spec") or {}).get("containers") or [{"name": "job", "image": "none"}]
        tmeta = template.get("metadata") or {}
        annotations = tmeta.get("annotations") or {}
        log = annotations.get(FAIL_ANNOTATION) or annotations.get(LOG_ANNOTATION)
        if log is None:
            argv = [str(a) for a in [*(containers[0].get("command") or []), *(containers[0].get("args") or [])]]
            log = shell_echo_output(argv) or " ".join(argv)
        suffix = template_hash({"uid": md["uid"]})[:5]
        return self._create("pods", {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{md['name']}-{suffix}", "namespace": md.get("namespace"),
                         "labels": tmeta.get("labels") or {}, "ownerReferences": [owner_ref(job)],
                         "annotations": {**annotations, LOG_ANNOTATION: log + ("\n" if log and not log.endswith("\n") else "")}},
            "spec": copy.deepcopy(template.get("spec") or {}),
            "status": {"phase": "Running" if running else "Pending"},
        })

    def _finish_job(self, job: dict[str, Any], pod: dict[str, Any] | None, started: str) -> None:
        annotations = (((job.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("annotations") or {}
        failure = annotations.get(FAIL_ANNOTATION)
        finished = now()
        if pod is not None:
            self._set_status("pods", pod, finished_pod_status(pod, failure, started, finished))
        self._set_status("jobs", job, finished_job_status(failure, started, finished))

    # ---- pods, services, endpoints ----------------------------------------------------------
    def _pod(self, pod: dict[str, Any]) -> None:
        status = pod.get("status") or {}
        owners = {ref.get("kind") for ref in pod["metadata"].get("ownerReferences") or []}
        if status.get("phase") in (None, "Pending") and "Job" not in owners:  # Job pods follow their Job
            ip = (pod["metadata"].get("annotations") or {}).get(POD_IP_ANNOTATION, "127.0.0.1")
            started = now()
            conditions = [{"type": t, "status": "True", "lastTransitionTime": started, "lastProbeTime": None}
                          for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")]
            statuses = [{"name": c.get("name", ""), "image": c.get("image", ""), "imageID": "", "ready": True,
                         "restartCount": 0, "started": True, "containerID": f"standin://{c.get('name', '')}",
                         "state": {"running": {"startedAt": started}}}
                        for c in (pod.get("spec") or {}).get("containers") or []]
            pod = self._set_status("pods", pod, {"phase": "Running", "conditions": conditions, "hostIP": "127.0.0.1",
                                                 "podIP": ip, "podIPs": [{"ip": ip}], "startTime": started,
                                                 "containerStatuses": statuses, "qosClass": "BestEffort"})
        self._sync_endpoints(pod["metadata"].get("namespace", ""))

    def _pod_deleted(self, pod: dict[str, Any]) -> None:
        """A Pod its ReplicaSet/StatefulSet still wants comes back (under a new name for ReplicaSets)."""
        namespace = pod["metadata"].get("namespace", "")
        for ref in pod["metadata"].get("ownerReferences") or []:
            name = {"ReplicaSet": "replicasets", "StatefulSet": "statefulsets"}.get(ref.get("kind", ""))
            owner = self.store.get(KEYS[name], namespace, ref.get("name", "")) if name else None
            if owner is not None and owner["metadata"]["uid"] == ref.get("uid"):
                self.handlers[KEYS[name]](owner)
        self._sync_endpoints(namespace)

    def _service(self, svc: dict[str, Any]) -> None:
        spec = svc.get("spec") or {}
        if spec.get("type") == "LoadBalancer" and not (svc.get("status") or {}).get("loadBalancer", {}).get("ingress"):
            self._set_status("services", svc, {"loadBalancer": {"ingress": [{"ip": "127.0.0.1", "ipMode": "VIP"}]}})
        self._sync_endpoints(svc["metadata"].get("namespace", ""))

    def _sync_endpoints(self, namespace: str) -> None:
        pods = [p for p in self.store.list(KEYS["pods"], namespace)
                if (p.get("status") or {}).get("phase") == "Running" and (p.get("status") or {}).get("podIP")]
        for svc in self.store.list(KEYS["services"], namespace):
            selector = (svc.get("spec") or {}).get("selector")
            if not selector:
                continue
            matches = make_filter(",".join(f"{k}={v}" for k, v in selector.items()), None)
            addresses = [{"ip": p["status"]["podIP"],
                          "targetRef": {"kind": "Pod", "name": p["metadata"]["name"], "namespace": namespace, "uid": p["metadata"]["uid"]}}
                         for p in pods if matches(p)]
            ports = [{"name": p.get("name"), "port": p.get("targetPort") if isinstance(p.get("targetPort"), int) else p.get("port"),
                      "protocol": p.get("protocol", "TCP")} for p in svc["spec"].get("ports") or []]
            ports = [{k: v for k, v in p.items() if v is not None} for p in ports]
            desired: dict[str, Any] = {"apiVersion": "v1", "kind": "Endpoints",
                                       "metadata": {"name": svc["metadata"]["name"], "namespace": namespace,
                                                    "labels": svc["metadata"].get("labels") or {}}}
            if addresses:
                desired["subsets"] = [{"addresses": addresses, "ports": ports}]
            current = self.store.get(KEYS["endpoints"], namespace, svc["metadata"]["name"])
            if current is None:
                self._create("endpoints", desired)
            elif current.get("subsets") != desired.get("subsets"):
                updated = {**current, "subsets": desired.get("subsets")}
                if not addresses:
                    updated.pop("subsets")
                self.api.commit_update(self._rt("endpoints"), current, updated)

    # ---- storage, namespaces, CRDs ----------------------------------------------------------
    def _pvc(self, pvc: dict[str, Any]) -> None:
        if (pvc.get("status") or {}).get("phase") == "Bound":
            return
        spec = pvc.get("spec") or {}
        if not spec.get("volumeName"):
            pvc["spec"]["volumeName"] = f"pvc-{pvc['metadata']['uid']}"
            pvc = self.api.commit_update(self._rt("pvcs"), self._current("pvcs", pvc) or pvc, pvc)
        storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        self._set_status("pvcs", pvc, {"phase": "Bound", "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                                       "capacity": {"storage": storage}})

    def _namespace(self, ns: dict[str, Any]) -> None:
        name = ns["metadata"]["name"]
        if (ns.get("status") or {}).get("phase") == "Terminating":
            return
        if self.store.get(KEYS["serviceaccounts"], name, "default") is None:
            self._create("serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount",
                                             "metadata": {"name": "default", "namespace": name}})
        if self.store.get(KEYS["configmaps"], name, "kube-root-ca.crt") is None:
            self._create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                        "metadata": {"name": "kube-root-ca.crt", "namespace": name},
                                        "data": {"ca.crt": "standin: plain http, no CA\n"}})

    def _crd(self, crd: dict[str, Any]) -> None:
        rt = resource_from_crd(crd)
        if not rt.plural or not rt.kind:
            return
        self.api.registry.add(rt)
        names = dict((crd.get("spec") or {}).get("names") or {})
        names.setdefault("singular", rt.singular)
        names.setdefault("listKind", f"{rt.kind}List")
        conditions = (crd.get("status") or {}).get("conditions")
        self._set_status("crds", crd, {
            "acceptedNames": names, "storedVersions": [rt.versions[0]],
            "conditions": [condition("NamesAccepted", "True", "NoConflicts", "no conflicts found", conditions, False),
                           condition("Established", "True", "InitialNamesAccepted", "the initial names have been accepted",
                                     conditions, False)]})

    def _crd_deleted(self, crd: dict[str, Any]) -> None:
        rt = resource_from_crd(crd)
        for obj in self.store.list(rt.key):
            self.store.remove(rt.key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        self.api.registry.remove(rt.key)
