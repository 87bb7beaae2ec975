# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Filter: check Scalar releases and plan a stop, start or switch (scalar_workloads role)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: scalar_workloads_plan
short_description: Check Scalar releases and plan how to stop, start or re-point them
version_added: 0.1.0
author: scalarops.pitr developers (@scalarops)
description:
  - Takes the releases the user named, what C(kubernetes.core.helm_info) (with C(get_all_values=true)) and
    C(kubernetes.core.k8s_info) reported for each, and returns one step per release saying what must change.
  - Checks every release before anything changes and fails once, listing every problem (unknown release,
    product that does not match the deployed chart, C(chart_ref) at another chart or version, a release
    at 0 replicas whose count was never recorded).
  - Used by the C(scalarops.pitr.scalar_workloads) role; not usually called directly.
options:
  _input:
    description: The releases, each C({name, namespace, product, chart_ref}).
    type: list
    elements: dict
    required: true
  action:
    description: What to plan; V(check) plans a stop only to validate the releases.
    type: str
    choices: [stop, start, switch, check]
    required: true
  helm_results:
    description: The C(results) of a looped C(kubernetes.core.helm_info), aligned with the releases.
    type: list
    elements: dict
    required: true
  record_results:
    description: The C(results) of a looped C(kubernetes.core.k8s_info) of each release's replica record ConfigMap.
    type: list
    elements: dict
    required: true
  overrides:
    description: Replica counts given explicitly, by release name (used when no count was recorded).
    type: dict
    default: {}
  switch:
    description:
      - For O(action=switch), C(properties_set) (key to value), C(properties_remove) (keys) and
        C(secret_properties) (credential key to value, written into the release's Secret).
      - C(endpoint_switch), for O(action=switch) and O(action=check), re-points the JDBC C(contact_points) of each
        release from a source database server to a restored one. It is a dict with C(from_hosts) (the source's
        host names), C(to_host) and C(to_port) (the restored server's endpoint, optional) and C(source) (what the
        source is, for messages, for example C(RDS instance scalardb-pg)).
        Each C(scalar.db.contact_points) or C(*.contact_points) JDBC URL at one of C(from_hosts) gets C(to_host)
        (and C(to_port)), keeping the database name and every parameter; a release with no such URL is an error.
        Without C(to_host) (and always for O(action=check)) it only checks, changing nothing.
        With C(scheme=https) the C(contact_points) are https URLs (a Cosmos DB document endpoint), only checked
        against C(from_hosts) (case, port and trailing slash ignored); C(to_host) is then refused.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Plan the stop
  ansible.builtin.set_fact:
    plan: >-
      {{ scalar_releases | scalarops.pitr.scalar_workloads_plan('stop', helm.results, records.results) }}
"""

RETURN = r"""
_value:
  description:
    - One step per release with its facts (V(name), V(namespace), V(product), V(chart_version), V(values_key),
      V(replicas), V(recorded_replicas), V(secret_name), ...) and what to do
      (V(scale_to) - a replica count or null; V(record_manifest) - a ConfigMap to write or null;
      V(delete_record) - whether to delete the record afterwards; V(upgrade_values) - the values a helm upgrade
      merges into the release, or null; V(summary) - a line saying what the upgrade changes;
      for a switch V(changes) with credential values masked and V(secret_data) for the release's Secret;
      for a switch or check V(endpoint_keys) - the contact_points keys at the source - and V(endpoint_lines) -
      what the endpoint switch changes, credentials masked).
  type: list
  elements: dictionary
"""

import datetime

from ansible.errors import AnsibleFilterError

from ansible_collections.scalarops.pitr.plugins.module_utils.scalar_workloads import (
    WorkloadPlanError,
    plan,
    record_manifest,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.scalar_products import get_product


def _status(result):
    return (result or {}).get("status") or None


def _record(result):
    resources = (result or {}).get("resources") or []
    return resources[0] if resources else None


def scalar_workloads_plan(releases, action, helm_results, record_results, overrides=None, switch=None):
    if not isinstance(releases, list) or len(helm_results or []) != len(releases) or len(record_results or []) != len(releases):
        raise AnsibleFilterError("scalar_workloads_plan: releases, helm_results and record_results must be aligned lists")
    try:
        steps = plan(
            action,
            releases,
            [_status(r) for r in helm_results],
            [_record(r) for r in record_results],
            overrides or {},
            switch or {},
        )
    except WorkloadPlanError as exc:
        raise AnsibleFilterError(str(exc)) from None
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    for step in steps:
        count = step.get("record")
        step["record_manifest"] = (
            record_manifest(step, get_product(step["product"]), count, now, step["chart"]) if count is not None else None
        )
        for key in ("scale_to", "upgrade_values", "summary", "secret_data"):
            step.setdefault(key, None)
        step.setdefault("delete_record", False)
        step.setdefault("endpoint_keys", [])
        step.setdefault("endpoint_lines", [])
    return steps


class FilterModule:
    """scalarops.pitr workload filters."""

    def filters(self):
        return {"scalar_workloads_plan": scalar_workloads_plan}
