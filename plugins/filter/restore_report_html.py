# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Filter: the restore report (the JSON the scalarops.pitr.restore_flow role writes) as a self-contained HTML page."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: restore_report_html
short_description: Turn a restore report into a self-contained HTML page with a timeline picture
version_added: 0.1.0
description:
  - Renders the report the C(scalarops.pitr.restore_flow) role assembles as one HTML page - a summary table (restore
    point and how it was chosen, releases, start and end, the downtime window and its length, the error and failed
    phase of a failed run, the properties set or the endpoint switch), a timeline picture and a table of every
    resource's steps.
  - The picture is inline SVG - one row per phase of the report's C(timeline) and, where a phase records them, one row
    per resource (DynamoDB tables, the resources of an RDS or Azure restore, schema repairs) with its steps; a shaded
    band over every row marks the downtime window, hatched when the workloads were not started again. Steps whose
    start time the backend does not record are drawn one after another from the phase start.
  - The page loads nothing from anywhere (no script, font, style sheet or image of its own), so it can be mailed or
    attached to a ticket. It shows only what the report holds and escapes every value.
  - A report of a failed run, a check-mode (C(planned)) report without times and a report of any backend render; a
    phase of a shape the filter does not know gives a phase row only.
author:
  - scalarops.pitr developers (@scalarops)
options:
  _input:
    description: The report (a dict with C(backend), C(status), C(restore_point), C(downtime), C(timeline) and C(phases)).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Write the HTML report beside the JSON one
  ansible.builtin.copy:
    content: "{{ restore_flow_report | scalarops.pitr.restore_report_html }}"
    dest: "{{ restore_flow_report_file }}.html"
    mode: "0640"

- name: Render a JSON report written earlier
  ansible.builtin.copy:
    content: "{{ lookup('ansible.builtin.file', 'restore-reports/restore-rds-20261121T124903.json') | from_json
                 | scalarops.pitr.restore_report_html }}"
    dest: restore-reports/restore-rds-20261121T124903.html
    mode: "0640"
"""

RETURN = r"""
_value:
  description: The HTML document (UTF-8 text, starting with C(<!DOCTYPE html>)).
  type: str
"""

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.scalarops.pitr.plugins.module_utils.report_html import render_report_html


def restore_report_html(report: dict[str, Any]) -> str:
    """See DOCUMENTATION."""
    if not isinstance(report, dict):
        raise AnsibleFilterError(f"restore_report_html expects the report dict, got {type(report).__name__}")
    return render_report_html(report)


class FilterModule:  # pylint: disable=too-few-public-methods
    """Ansible filter plugin entry point."""

    def filters(self) -> dict[str, Any]:
        return {"restore_report_html": restore_report_html}
