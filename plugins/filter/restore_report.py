# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The human summary of a restore report (the JSON the scalarops.pitr.restore_flow role writes)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: restore_report_text
short_description: Turn a restore report into a human summary
version_added: 0.1.0
description:
  - Renders the report the C(scalarops.pitr.restore_flow) role assembles - status, restore point, downtime window,
    and per phase every resource with its status, duration and steps - as plain text.
author:
  - scalarops.pitr developers (@scalarops)
options:
  _input:
    description: The report (a dict with C(backend), C(status), C(restore_point), C(downtime) and C(phases)).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Show the summary
  ansible.builtin.debug:
    msg: "{{ restore_flow_report | scalarops.pitr.restore_report_text }}"
"""

RETURN = r"""
_value:
  description: The summary, several lines.
  type: str
"""

import datetime as _dt
from typing import Any

from ansible.errors import AnsibleFilterError

PHASE_ORDER = ("preflight", "prepare", "cutover", "repair", "verify", "retire")


def _moment(value: Any) -> _dt.datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _seconds(start: Any, end: Any) -> float | None:
    first, last = _moment(start), _moment(end)
    return (last - first).total_seconds() if first and last else None


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest:02d} s" if minutes < 120 else f"{minutes // 60} h {minutes % 60:02d} min"


def _point(report: dict[str, Any]) -> str:
    point = report.get("restore_point") or {}
    phases = report.get("phases") or {}
    resolved = next((phases[name].get("restore_point") for name in ("prepare", "preflight") if (phases.get(name) or {}).get("restore_point")), None)
    text = point.get("time") or resolved or "latest restorable time"
    if point.get("use_latest") and resolved:
        text = f"{resolved} (latest restorable time{' common to every table' if report.get('backend') == 'dynamodb' else ''})"
    window = point.get("pause_window")
    if window:
        text += f" (midpoint of the pause window {window.get('start')} .. {window.get('end')})"
    return text


def _downtime(report: dict[str, Any]) -> str:
    downtime = report.get("downtime") or {}
    stopped, started = downtime.get("stopped_at"), downtime.get("started_at")
    if not stopped:
        return "none (the workloads were not stopped)"
    if not started:
        return f"workloads stopped at {stopped} and NOT started again"
    return f"{_duration(_seconds(stopped, started))} (stopped {stopped}, started {started})"


def _resource_lines(name: str, phase: dict[str, Any]) -> list[str]:
    """A phase of a backend that restores one resource into a new one (RDS instance, Aurora cluster)."""
    target = phase.get("target") or {}
    planned = phase.get("preflight") or {}
    source = phase.get("source") or (planned.get("source") or {}).get("identifier")
    where = f"{source} -> {target.get('identifier') or (planned.get('target') or {}).get('identifier') or '?'}"
    if target.get("endpoint"):
        where += f" ({target['endpoint']}:{target.get('port')})"
    lines = [f"{name}: {where}: {phase.get('status') or ('failed' if phase.get('msg') else '')}".rstrip(": ")]
    if phase.get("msg"):
        lines.append(f"  error: {phase['msg']}")
    steps = [f"{step['step']} {step.get('resource')} {_duration(step.get('seconds'))}" + (" (planned)" if step.get("planned") else "")
             for step in phase.get("steps") or []]
    if steps:
        lines.append("    " + "; ".join(steps))
    if phase.get("settings_applied"):
        lines.append("    settings copied after the restore: " + ", ".join(phase["settings_applied"]))
    reach = phase.get("reachability")
    if reach:
        lines.append("    endpoint " + ("accepts connections" if reach.get("reachable") else f"not reachable from here ({reach.get('error')})"))
    for problem in phase.get("problems") or []:
        lines.append(f"  problem: {problem}")
    return lines


def _repair_lines(name: str, phase: dict[str, Any]) -> list[str]:
    """A schema repair phase: one line per release."""
    lines = [f"{name}: {len(phase['repairs'])} releases"]
    for repair in phase["repairs"]:
        line = f"  {repair.get('release')}: {repair.get('status') or '?'}"
        if repair.get("seconds") is not None:
            line += f" {_duration(repair['seconds'])}"
        if repair.get("job"):
            line += f" (job {repair['job']})"
        lines.append(line)
        if repair.get("error"):
            lines.append(f"    error: {repair['error']}")
    return lines


def _phase_lines(name: str, phase: dict[str, Any]) -> list[str]:
    if "repairs" in phase:
        return _repair_lines(name, phase)
    if "tables" not in phase and ("target" in phase or "target" in (phase.get("preflight") or {})):
        return _resource_lines(name, phase)
    tables = phase.get("tables") or []
    lines = [f"{name}: {len(tables)} tables" + (f", {phase['tables_failed']} failed" if phase.get("tables_failed") else "")]
    if phase.get("msg") and phase.get("tables_failed", 1):
        lines.append(f"  error: {phase['msg']}")
    for table in tables:
        target = f" -> {table['target']}" if table.get("target") and table.get("target") != table.get("source") else ""
        status = table.get("status") or table.get("state") or ""
        lines.append(f"  {table.get('source')}{target}: {status} {_duration(table.get('seconds')) if table.get('seconds') is not None else ''}".rstrip())
        steps = [f"{step['step']} {_duration(step.get('seconds'))}" + ("" if step.get("status") == "ok" else f" ({step.get('status')})")
                 for step in table.get("steps") or []]
        if steps:
            lines.append("    " + "; ".join(steps))
        if table.get("planned_steps"):  # check mode: what this phase would do
            lines.append("    would: " + "; ".join(table["planned_steps"]))
        if table.get("error"):
            lines.append(f"    error: {table['error']}")
    for problem in phase.get("problems") or []:
        lines.append(f"  problem: {problem}")
    return lines


def restore_report_text(report: dict[str, Any]) -> str:
    """See DOCUMENTATION."""
    if not isinstance(report, dict):
        raise AnsibleFilterError(f"restore_report_text expects the report dict, got {type(report).__name__}")
    lines = [
        f"Restore ({report.get('backend', '?')}): {str(report.get('status', '?')).upper()}",
        f"Restore point: {_point(report)}",
        f"Started {report.get('started')}, ended {report.get('ended')} ({_duration(_seconds(report.get('started'), report.get('ended')))})",
        f"Downtime: {_downtime(report)}",
    ]
    if report.get("status") == "planned":
        lines.append("Check mode: nothing was changed; each phase below shows its plan")
    if report.get("error"):
        lines.append(f"Failed in {report.get('failed_phase')}: {report['error']}")
    if report.get("properties_set"):
        lines.append("Properties switched: " + ", ".join(f"{key}={value}" for key, value in sorted(report["properties_set"].items())))
    switch = report.get("endpoint_switch") or {}
    if switch.get("to_host"):
        lines.append(f"JDBC URLs switched: {', '.join(switch.get('from_hosts') or [])} -> {switch['to_host']}:{switch.get('to_port')}")
    timeline = report.get("timeline") or []
    if timeline:
        lines.append("Phases: " + "; ".join(f"{step.get('phase')} {step.get('started')} .. {step.get('ended')}" for step in timeline))
    phases = report.get("phases") or {}
    for name in [*PHASE_ORDER, *sorted(set(phases) - set(PHASE_ORDER))]:
        if phases.get(name):
            lines += _phase_lines(name, phases[name])
    return "\n".join(lines)


class FilterModule:  # pylint: disable=too-few-public-methods
    """Ansible filter plugin entry point."""

    def filters(self) -> dict[str, Any]:
        return {"restore_report_text": restore_report_text}
