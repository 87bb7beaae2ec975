# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Filter: the report of a SQL dump restore (sql_dump_restore role)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: sql_restore_report
short_description: Assemble the report of a SQL dump restore
version_added: 0.1.0
author: scalarops.pitr developers (@scalarops)
description:
  - Takes what the phases of the C(scalarops.pitr.sql_dump_restore) role returned - the preflight check and the restore
    (M(scalarops.pitr.sql_dump) or M(scalarops.pitr.sql_restore_job), successful or failed), the applications stopped and
    started - and returns the report the role writes as JSON - status, dump, database, tables with row counts, sequences
    reset, downtime, timeline. Only fields that carry no secret are copied.
  - Used by the role; not usually called directly.
options:
  _input:
    description:
      - C(via), C(engine), C(database), C(host), C(port), C(clean), C(check_mode), C(failure), C(failed_phase), C(started),
        C(ended), C(checked) and C(outcome) (registered results), C(stopped) and C(started_apps) (the app_workloads facts),
        C(stopped_at), C(started_at), C(stopped_epoch), C(started_epoch), C(timeline).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Assemble the report
  ansible.builtin.set_fact:
    report: "{{ {'via': 'control_node', 'engine': 'postgresql', 'checked': checked, 'outcome': restored} | scalarops.pitr.sql_restore_report }}"
"""

RETURN = r"""
_value:
  description: The report (C(backend) V(sql_dump), C(status), C(dump), C(tables), C(sequences), C(downtime), C(timeline), ...).
  type: dict
"""

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.scalarops.pitr.plugins.module_utils.sql_restore_report import build


def sql_restore_report(inputs: Any) -> dict[str, Any]:
    """See DOCUMENTATION."""
    if not isinstance(inputs, dict):
        raise AnsibleFilterError(f"sql_restore_report expects a dict, got {type(inputs).__name__}")
    return build(inputs)


class FilterModule:  # pylint: disable=too-few-public-methods
    """Ansible filter plugin entry point."""

    def filters(self) -> dict[str, Any]:
        return {"sql_restore_report": sql_restore_report}
