# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Filter: check application Deployments/StatefulSets and plan a stop or start (app_workloads role)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: app_workloads_plan
short_description: Check application workloads and plan how to stop or start them around a restore
version_added: 0.1.0
author: scalarops.pitr developers (@scalarops)
description:
  - Takes the workloads the user named and what a looped C(kubernetes.core.k8s_info) found for each, and returns
    one step per workload saying what to record, what to scale to and whether to forget the record afterwards.
  - The replica count before a stop lives in the workload's annotation C(scalarops.pitr/replicas-before-stop);
    a stop records it only when there is none yet, so a second stop never records the 0 the first one left.
  - Every problem (missing workloads, a record that is not a count) is returned in C(problems) so the role fails
    once, naming all of them, before anything changes.
  - Used by the C(scalarops.pitr.app_workloads) role; not usually called directly.
options:
  _input:
    description: The workloads, each C({kind, name, namespace}) (C(kind) V(Deployment) or V(StatefulSet)).
    type: list
    elements: dict
    required: true
  action:
    description: What to plan.
    type: str
    choices: [check, stop, start]
    required: true
  info_results:
    description: The C(results) of a looped C(kubernetes.core.k8s_info), aligned with the workloads.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Plan the stop
  ansible.builtin.set_fact:
    plan: "{{ app_workloads_list | scalarops.pitr.app_workloads_plan('stop', found.results) }}"
"""

RETURN = r"""
_value:
  description:
    - C(steps) - one per existing workload - C(kind), C(name), C(namespace), C(api_version), C(ref), C(replicas) (now),
      C(recorded) (the recorded count or null), C(record) (the count to record, or null), C(scale_to) (or null),
      C(forget) (remove the record after a start), C(selector) (label selector of its pods), C(summary).
    - C(missing) - the workloads not found; C(problems) - every reason nothing may change.
  type: dict
"""

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.scalarops.pitr.plugins.module_utils.app_workloads import plan


def _found(result: Any) -> Any:
    resources = (result or {}).get("resources") or []
    return resources[0] if resources else None


def app_workloads_plan(workloads: Any, action: str, info_results: Any) -> dict[str, Any]:
    """See DOCUMENTATION."""
    if not isinstance(workloads, list) or not isinstance(info_results, list):
        raise AnsibleFilterError("app_workloads_plan: the workloads and info_results must be lists")
    try:
        return plan(action, workloads, [_found(result) for result in info_results])
    except ValueError as exc:
        raise AnsibleFilterError(f"app_workloads_plan: {exc}") from None


class FilterModule:  # pylint: disable=too-few-public-methods
    """Ansible filter plugin entry point."""

    def filters(self) -> dict[str, Any]:
        return {"app_workloads_plan": app_workloads_plan}
