#!/usr/bin/python
# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Pause Scalar nodes through Scalar Admin to make a pause window (the restore point of NoSQL backups)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: scalar_admin
short_description: Make a Scalar Admin pause window across ScalarDB and ScalarDL releases
version_added: 0.1.0
description:
  - Calls the Scalar Admin gRPC service C(rpc.Admin) of every node of one or several helm releases
    (ScalarDB Cluster, ScalarDL Ledger and Auditor, ScalarDB Server) or of explicit O(addresses).
  - With O(state=paused) it pauses every node in parallel (draining outstanding requests), holds the
    pause for O(pause_duration) seconds, and unpauses. The returned window starts when the last node
    reported paused and ends before the first unpause, so no transaction was outstanding in it; its
    midpoint is the restore point for NoSQL and multi-database deployments.
  - Whatever fails after the first pause, every node that was paused is unpaused again (with
    retries). Nodes that cannot be unpaused are listed in the error with the command that unpauses them.
  - Pods are found the way scalar-admin-for-kubernetes finds them - label C(app.kubernetes.io/instance)
    set to the release name, the product's C(app.kubernetes.io/app) label, the named admin port of the
    one C(-headless) Service - and called by pod IP, so the controller must reach pod IPs.
  - The pods are compared before and after the pause (names, restart counts, IPs, Deployment
    resourceVersion); if anything changed the window is rejected, because a restarted pod was not paused.
  - O(state=unpaused) only unpauses (recovery); O(state=check) reports whether each node is paused.
author:
  - scalarops.pitr developers (@scalarops)
requirements:
  - grpcio
  - kubernetes (with O(releases))
options:
  state:
    description:
      - V(paused) makes a pause window; V(unpaused) unpauses every node; V(check) reports each node's pause state.
    type: str
    choices: [paused, unpaused, check]
    default: paused
  releases:
    description:
      - Helm releases whose pods are paused, all in one window. Mutually exclusive with O(addresses).
    type: list
    elements: dict
    suboptions:
      name:
        description: Helm release name.
        type: str
        required: true
      namespace:
        description: Namespace of the release.
        type: str
        required: true
      product:
        description: The Scalar product the release deploys.
        type: str
        required: true
        choices: [scalardb, scalardb_cluster, ledger, auditor]
      chart_ref:
        description: Accepted so the same release list serves every role of the collection; not used here.
        type: str
  addresses:
    description:
      - Scalar Admin endpoints as C(host:port) (C([ipv6]:port)), instead of O(releases).
    type: list
    elements: str
  pause_duration:
    description: Seconds to hold the pause once every node is paused.
    type: float
    default: 10.0
  pause_max_wait:
    description:
      - Seconds a node may take to drain its outstanding requests before it refuses the pause
        (sent as C(max_pause_wait_time)).
    type: int
    default: 30
  clock_skew_margin:
    description:
      - Seconds the window's midpoint must keep from both edges to absorb clock skew between this
        machine and the databases; O(pause_duration) must be at least twice this. Checked before anything is paused.
    type: float
    default: 5.0
  unpause_retries:
    description: How often a failed unpause is retried (with backoff) before the node is reported as still paused.
    type: int
    default: 3
  timeout:
    description: Deadline of each call in seconds (a pause gets O(pause_max_wait) on top).
    type: float
    default: 30.0
  tls:
    description: Call the admin port over TLS.
    type: bool
    default: false
  ca_file:
    description: PEM file of the CA that signed the servers' certificates (default - the system roots).
    type: path
  cert_file:
    description: PEM client certificate, for servers that require one.
    type: path
  key_file:
    description: PEM private key of O(cert_file).
    type: path
  override_authority:
    description:
      - The name the servers' certificates are checked against (and the HTTP/2 authority), since
        pods are called by IP. Scalar's charts use e.g. the product name.
    type: str
  record_namespace:
    description:
      - Namespace of the returned RV(record_configmap). Default the namespace of the first release, or C(default).
    type: str
extends_documentation_fragment:
  - scalarops.pitr.k8s_auth
attributes:
  check_mode:
    support: full
    description: Finds and returns the nodes that would be called; calls none of them.
  diff_mode:
    support: none
    description: Nothing to diff.
notes:
  - Needs get/list on pods, services and deployments in the releases' namespaces.
  - The pods are called by IP on the target port, so run it where pod IPs are reachable (in the
    cluster, e.g. an AWX execution environment, or through a VPN).
seealso:
  - module: scalarops.pitr.restore_point
"""

EXAMPLES = r"""
- name: Pause ScalarDL Ledger and Auditor in one window
  scalarops.pitr.scalar_admin:
    releases:
      - {name: scalardl, namespace: scalar, product: ledger}
      - {name: scalardl-audit, namespace: scalar, product: auditor}
    pause_duration: 10
  register: pause

- name: Restore to the window's midpoint later
  ansible.builtin.debug:
    msg: "restore point: {{ pause.window.midpoint }}"

- name: Unpause nodes left paused (recovery)
  scalarops.pitr.scalar_admin:
    state: unpaused
    addresses: ["10.42.0.17:50053"]

- name: Check whether the nodes of a release are paused, over TLS
  scalarops.pitr.scalar_admin:
    state: check
    releases: [{name: scalardb-cluster, namespace: scalar, product: scalardb_cluster}]
    tls: true
    ca_file: /etc/scalar/ca.pem
    override_authority: cluster.scalardb.example.com
"""

RETURN = r"""
window:
  description: The pause window (O(state=paused) only; null in check mode).
  returned: success and O(state=paused)
  type: dict
  sample:
    start: "2026-11-21T09:30:00.000+00:00"
    end: "2026-11-21T09:30:10.000+00:00"
    midpoint: "2026-11-21T09:30:05.000+00:00"
    start_ms: 1795253400000
    end_ms: 1795253410000
    midpoint_ms: 1795253405000
    duration_seconds: 10.0
nodes:
  description: The nodes called (or that would be called, in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    address:
      description: C(ip:port) of the admin endpoint.
      type: str
    pod:
      description: Pod name (null for O(addresses)).
      type: str
    release:
      description: Helm release (null for O(addresses)).
      type: str
    namespace:
      description: Namespace (null for O(addresses)).
      type: str
    product:
      description: Scalar product (null for O(addresses)).
      type: str
    paused:
      description: Whether the node reports itself paused (O(state=check) only).
      type: bool
  sample: [{address: "10.42.0.17:50053", pod: scalardl-ledger-5d9c-abcde, release: scalardl, namespace: scalar,
            product: ledger}]
paused:
  description: Whether every node reports itself paused (O(state=check)).
  returned: O(state=check) and not check mode
  type: bool
still_paused:
  description: Addresses that may still be paused after a failure (also in the error message, with the recovery command).
  returned: failure
  type: list
  elements: str
record:
  description:
    - The pause record of the window, to keep for the restore that uses it (C(restore_pause_record) of
      the restore playbooks and of C(scalarops.pitr.restore_point)).
  returned: success and O(state=paused), not in check mode
  type: dict
  sample:
    kind: ScalarPauseRecord
    version: 1
    id: scalarops-pitr-pause-20261121t093000000z
    window: {start: "2026-11-21T09:30:00.000+00:00", end: "2026-11-21T09:30:10.000+00:00",
             midpoint: "2026-11-21T09:30:05.000+00:00"}
    releases: [{name: scalardl, namespace: scalar, product: ledger}]
record_configmap:
  description: A ConfigMap manifest holding RV(record) (key C(record.json)), to apply with C(kubernetes.core.k8s).
  returned: success and O(state=paused), not in check mode
  type: dict
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.scalarops.pitr.plugins.module_utils import pause_record
from ansible_collections.scalarops.pitr.plugins.module_utils.k8s_client import (
    HAS_KUBERNETES,
    KUBERNETES_IMPORT_ERROR,
    auth_argument_spec,
    new_api_client,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.scalar_admin_client import (
    GRPC_IMPORT_ERROR,
    HAS_GRPC,
    AdminClient,
    TlsOptions,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.scalar_admin_pause import (
    Node,
    PauseError,
    PauseRun,
    Retry,
    check_all,
    check_duration,
    recovery_command,
    unpause_all,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.scalar_admin_targets import Release, TargetError, TargetFinder
from ansible_collections.scalarops.pitr.plugins.module_utils.scalar_products import PRODUCTS

ARGUMENT_SPEC = dict(
    state=dict(type="str", choices=["paused", "unpaused", "check"], default="paused"),
    releases=dict(type="list", elements="dict", options=dict(
        name=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        product=dict(type="str", required=True, choices=sorted(PRODUCTS)),
        chart_ref=dict(type="str"),
    )),
    addresses=dict(type="list", elements="str"),
    pause_duration=dict(type="float", default=10.0),
    pause_max_wait=dict(type="int", default=30),
    clock_skew_margin=dict(type="float", default=5.0),
    unpause_retries=dict(type="int", default=3),
    timeout=dict(type="float", default=30.0),
    tls=dict(type="bool", default=False),
    ca_file=dict(type="path"),
    cert_file=dict(type="path"),
    key_file=dict(type="path"),
    override_authority=dict(type="str"),
    record_namespace=dict(type="str"),
    **auth_argument_spec(env_fallback),
)


class Targets:
    """The nodes to call and, for releases, how to tell whether their pods changed meanwhile."""

    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.finder = None
        self.releases = []
        self.snapshots = {}

    def find(self) -> list[Node]:
        p = self.module.params
        if p["addresses"]:
            return [Node(address=a.strip()) for a in p["addresses"]]
        # Checked only here: addresses alone need neither the kubernetes library nor a cluster.
        if not HAS_KUBERNETES:
            self.module.fail_json(msg=missing_required_lib("kubernetes"), exception=str(KUBERNETES_IMPORT_ERROR))
        self.finder = TargetFinder(new_api_client(p["kubeconfig"], p["context"]))
        self.releases = [Release(r["name"], r["namespace"], PRODUCTS[r["product"]]) for r in p["releases"]]
        nodes = []
        for release in self.releases:
            found, self.snapshots[release] = self.finder.nodes(release)
            nodes += found
        return nodes

    def verify_unchanged(self) -> None:
        """Raise PauseError if a release's pods or Deployment changed since ``find``."""
        changes = []
        for release in self.releases:
            try:
                later = self.finder.snapshot(release)
            except TargetError as exc:  # e.g. a pod is gone or not running any more
                raise PauseError(f"cannot re-read the targets after the pause: {exc}") from None
            changes += [f"{release}: {change}" for change in self.snapshots[release].changes(later)]
        if changes:
            raise PauseError("target pods changed during the pause (a restarted pod was not paused): " + "; ".join(changes))


def _clients(p: dict, nodes: list[Node]) -> dict[str, AdminClient]:
    tls = TlsOptions(p["ca_file"], p["cert_file"], p["key_file"], p["override_authority"]) if p["tls"] else None
    return {node.address: AdminClient(node.address, tls=tls, timeout=p["timeout"]) for node in nodes}


def _unpause(module: AnsibleModule, nodes: list[Node], clients: dict, retry: Retry) -> None:
    failed = unpause_all(nodes, clients, retry)
    if failed:
        lines = "\n".join(f"  - {a}: {err}" for a, err in sorted(failed.items()))
        module.fail_json(msg=f"could not unpause {len(failed)} of {len(nodes)} nodes:\n{lines}\nRetry with:\n  "
                         + recovery_command(sorted(failed)), changed=True, still_paused=sorted(failed),
                         nodes=[n.as_dict() for n in nodes])
    module.exit_json(changed=True, nodes=[n.as_dict() for n in nodes])


def _check(module: AnsibleModule, nodes: list[Node], clients: dict) -> None:
    results = check_all(nodes, clients)
    errors = {a: r for a, r in results.items() if isinstance(r, Exception)}
    if errors:
        module.fail_json(msg="CheckPaused failed on: " + "; ".join(str(e) for _a, e in sorted(errors.items())),
                         nodes=[n.as_dict() for n in nodes])
    out = [{**n.as_dict(), "paused": bool(results[n.address])} for n in nodes]
    module.exit_json(changed=False, nodes=out, paused=all(n["paused"] for n in out))


def run(module: AnsibleModule) -> None:
    p = module.params
    if p["state"] == "paused":
        check_duration(p["pause_duration"], p["clock_skew_margin"])  # before anything, even discovery
    targets = Targets(module)
    nodes = targets.find()
    duplicates = sorted({n.address for n in nodes if sum(m.address == n.address for m in nodes) > 1})
    if duplicates:
        module.fail_json(msg=f"the same admin endpoint is listed more than once: {', '.join(duplicates)}")
    if module.check_mode:
        module.exit_json(changed=p["state"] != "check", nodes=[n.as_dict() for n in nodes], window=None)
    clients = _clients(p, nodes)
    retry = Retry(retries=p["unpause_retries"])
    try:
        if p["state"] == "unpaused":
            _unpause(module, nodes, clients, retry)
        if p["state"] == "check":
            _check(module, nodes, clients)
        window = PauseRun(
            nodes=nodes, clients=clients, pause_duration=p["pause_duration"],
            max_pause_wait_ms=p["pause_max_wait"] * 1000, clock_skew_margin=p["clock_skew_margin"], retry=retry,
            verify=targets.verify_unchanged if targets.releases else None,
        ).run()
    except PauseError as exc:
        module.fail_json(msg=str(exc), changed=True, still_paused=exc.still_paused, nodes=[n.as_dict() for n in nodes],
                         rejected_window=exc.window.as_dict() if exc.window else None)
    finally:
        for client in clients.values():
            client.close()
    node_list = [n.as_dict() for n in nodes]
    record = pause_record.build(window, p["releases"] or [], node_list, p["pause_duration"], p["clock_skew_margin"])
    namespace = p["record_namespace"] or (p["releases"][0]["namespace"] if p["releases"] else "default")
    module.exit_json(changed=True, window=window.as_dict(), nodes=node_list, record=record,
                     record_configmap=pause_record.configmap(record, namespace))


def main() -> None:
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=[("releases", "addresses")],
        required_one_of=[("releases", "addresses")],
        required_together=[("cert_file", "key_file")],
        supports_check_mode=True,
    )
    if not HAS_GRPC:
        module.fail_json(msg=missing_required_lib("grpcio"), exception=str(GRPC_IMPORT_ERROR))
    try:
        run(module)
    except (PauseError, ValueError, RuntimeError) as exc:  # TargetError, KubeError: messages meant for the user
        module.fail_json(msg=str(exc), exception=traceback.format_exc())


if __name__ == "__main__":
    main()
