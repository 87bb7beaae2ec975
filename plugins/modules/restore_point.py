#!/usr/bin/python
# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Resolve the restore point every restore playbook starts from."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: restore_point
short_description: Resolve and validate the point in time to restore to
version_added: 0.1.0
description:
  - Turns the one form of restore point the user chose into a single timezone-aware moment,
    before anything changes.
  - An explicit O(restore_point) must carry a time zone and must not lie in the future.
  - O(restore_use_latest=true) means "the latest restorable time of each resource"; the restore
    modules then ask each service for it.
  - O(restore_pause_window) is a pause window recorded with Scalar Admin (as NoSQL and
    multi-database deployments require); the restore point is its midpoint, which must lie at
    least O(clock_skew_margin) seconds from both edges of the window.
  - O(restore_pause_record) is the record C(scalarops.pitr.pause_scalar) wrote for such a window - its
    JSON file, its ConfigMap (C(namespace/name)), or the record itself - and is used the same way.
  - Optionally checks the point against restorable windows the caller already knows, naming the
    resource whose window excludes it.
author:
  - scalarops.pitr developers (@scalarops)
options:
  restore_point:
    description:
      - Timezone-aware ISO 8601 timestamp, for example V(2026-11-21T09:30:05+00:00) or V(2026-11-21T09:30:05Z).
      - Mutually exclusive with O(restore_use_latest), O(restore_pause_window) and O(restore_pause_record).
    type: str
  restore_use_latest:
    description:
      - Restore to the latest restorable time of each resource.
    type: bool
    default: false
  restore_pause_window:
    description:
      - A pause window, C(start) and C(end) as ISO 8601 timestamps (or C(start_ms) and C(end_ms) as epoch milliseconds).
    type: dict
  restore_pause_record:
    description:
      - A pause record written by the C(scalarops.pitr.pause_scalar) playbook, given as the path of its
        JSON file, as its ConfigMap C(namespace/name), or as the record itself (a dict).
      - Reading a ConfigMap uses O(kubeconfig) and O(context).
    type: raw
  clock_skew_margin:
    description:
      - Seconds the pause-window midpoint must keep from both edges of the window, to absorb clock
        skew between the machine that recorded the window and the databases.
    type: float
    default: 5.0
  restorable_windows:
    description:
      - Restorable windows to check the resolved point against (ignored with O(restore_use_latest)).
    type: list
    elements: dict
    default: []
    suboptions:
      resource:
        description: Name of the resource, used in the error message.
        type: str
        required: true
      earliest:
        description: Earliest restorable time (ISO 8601 with time zone); omit for no lower bound.
        type: str
      latest:
        description: Latest restorable time (ISO 8601 with time zone); omit for no upper bound.
        type: str
extends_documentation_fragment:
  - scalarops.pitr.k8s_auth
attributes:
  check_mode:
    support: full
    description: Computes only; it changes nothing in either mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
"""

EXAMPLES = r"""
- name: Restore to an explicit moment
  scalarops.pitr.restore_point:
    restore_point: "2026-11-21T09:30:05+00:00"
  register: point

- name: Restore to the midpoint of a Scalar Admin pause window
  scalarops.pitr.restore_point:
    restore_pause_window:
      start: "2026-11-21T09:30:00+00:00"
      end: "2026-11-21T09:30:10+00:00"
  register: point

- name: Restore to the midpoint of the window pause_scalar.yml recorded in the cluster
  scalarops.pitr.restore_point:
    restore_pause_record: scalar/scalarops-pitr-pause-20261121t093000000z
  register: point

- name: Check the point against windows read from the services
  scalarops.pitr.restore_point:
    restore_point: "{{ restore_point }}"
    restorable_windows:
      - resource: "DynamoDB table ns.orders"
        earliest: "2026-11-01T00:00:00+00:00"
        latest: "2026-11-21T10:00:00+00:00"
"""

RETURN = r"""
restore_point:
  description: The resolved restore point.
  returned: always
  type: dict
  contains:
    source:
      description: Which input form it came from, V(explicit), V(latest), V(pause_window) or V(pause_record).
      type: str
      sample: pause_window
    use_latest:
      description: Whether to restore to each resource's latest restorable time.
      type: bool
      sample: false
    time:
      description: The moment, ISO 8601 in UTC with milliseconds; null with O(restore_use_latest).
      type: str
      sample: "2026-11-21T09:30:05.000+00:00"
    epoch_ms:
      description: The moment in epoch milliseconds; null with O(restore_use_latest).
      type: int
      sample: 1795253405000
    pause_record:
      description: The id of the pause record used, when one was given.
      type: str
      sample: scalarops-pitr-pause-20261121t093000000z
    pause_window:
      description: The pause window with its midpoint, when one was given (directly or through a record).
      type: dict
      sample:
        start: "2026-11-21T09:30:00.000+00:00"
        end: "2026-11-21T09:30:10.000+00:00"
        midpoint: "2026-11-21T09:30:05.000+00:00"
        start_ms: 1795253400000
        end_ms: 1795253410000
        midpoint_ms: 1795253405000
        duration_seconds: 10.0
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.scalarops.pitr.plugins.module_utils import pause_record
from ansible_collections.scalarops.pitr.plugins.module_utils.k8s_client import (
    HAS_KUBERNETES,
    KUBERNETES_IMPORT_ERROR,
    ApiException,
    KubeError,
    api_message,
    auth_argument_spec,
    k8s_client,
    new_api_client,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import (
    RestorePointError,
    check_within,
    parse_timestamp,
    resolve,
)


def _check_windows(point, windows):
    for window in windows:
        earliest = parse_timestamp(window["earliest"], f"{window['resource']} earliest") if window.get("earliest") else None
        latest = parse_timestamp(window["latest"], f"{window['resource']} latest") if window.get("latest") else None
        check_within(point.moment, earliest, latest, window["resource"])


def _configmap_reader(module):
    """read(namespace, name) -> ConfigMap data or None, connecting only when a record is in the cluster."""

    def read(namespace, name):
        if not HAS_KUBERNETES:
            module.fail_json(msg=missing_required_lib("kubernetes"), exception=str(KUBERNETES_IMPORT_ERROR))
        namespace = namespace or "default"
        try:
            core = k8s_client.CoreV1Api(new_api_client(module.params["kubeconfig"], module.params["context"]))
            return core.read_namespaced_config_map(name, namespace).data or {}
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise KubeError(f"read ConfigMap {namespace}/{name}: {exc.status} {api_message(exc)}") from None

    return read


def _recorded(module):
    """(record id, PauseWindow) of restore_pause_record, or (None, None)."""
    value = module.params["restore_pause_record"]
    if value in (None, "", {}):
        return None, None
    record = pause_record.load(value, _configmap_reader(module))
    return record.get("id"), pause_record.parse(record)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            restore_point=dict(type="str"),
            restore_use_latest=dict(type="bool", default=False),
            restore_pause_window=dict(type="dict"),
            restore_pause_record=dict(type="raw"),
            **auth_argument_spec(env_fallback),
            clock_skew_margin=dict(type="float", default=5.0),
            restorable_windows=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    resource=dict(type="str", required=True),
                    earliest=dict(type="str"),
                    latest=dict(type="str"),
                ),
            ),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        record_id, recorded_window = _recorded(module)
        point = resolve(
            restore_point=params["restore_point"],
            use_latest=params["restore_use_latest"],
            pause_window=params["restore_pause_window"],
            clock_skew_margin=params["clock_skew_margin"],
            recorded_window=recorded_window,
        )
        if not point.use_latest:
            _check_windows(point, params["restorable_windows"])
    except (RestorePointError, KubeError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, restore_point=dict(point.as_dict(), pause_record=record_id))


if __name__ == "__main__":
    main()
