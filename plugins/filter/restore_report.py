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
  - Also renders the report of the C(scalarops.pitr.cnpg_restore) role (C(backend=cnpg)) - the Clusters, the archive
    folders, the base backup the recovery starts from, the folder move and the applications stopped and started.
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
CNPG_PHASE_ORDER = ("preflight", "stop", "remove", "move", "recover", "start")
# What the Cluster of the target name was (scalarops.pitr.cnpg_cluster_restore's ``existing``).
EXISTING = {"foreign": "not created by scalarops.pitr", "other_recovery": "from another restore", "recovery": "this restore's own",
            "absent": "none"}


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
    if report.get("backend") == "cnpg":
        return point.get("time") or "the end of the archive (the last archived WAL)"
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


def _size(count: Any) -> str:
    if not isinstance(count, (int, float)):
        return "?"
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def _folder(archive: dict[str, Any], server: Any) -> str:
    prefix = str(archive.get("prefix") or "").strip("/")
    return f"s3://{archive.get('bucket') or '?'}/{prefix + '/' if prefix else ''}{server}/"


def _workload(entry: Any) -> str:
    """``Deployment shop/web (2 replicas)`` from an app_workloads fact; a plan's summary line as it is."""
    if not isinstance(entry, dict):
        return str(entry)
    replicas = f" ({entry['replicas']} replicas)" if entry.get("replicas") is not None else ""
    return f"{entry.get('kind') or 'Deployment'} {entry.get('namespace')}/{entry.get('name')}{replicas}"


def _cnpg_cluster_lines(name: str, phase: dict[str, Any]) -> list[str]:
    """A phase of the scalarops.pitr.cnpg_cluster_restore module: preflight, remove or recover."""
    cluster = phase.get("cluster") or {}
    where = f"{cluster.get('namespace')}/{cluster.get('name')}"
    recovery = phase.get("recovery") or {}
    archive = phase.get("archive") or {}
    status = phase.get("status") or {}
    if name == "remove":
        if phase.get("removed"):
            saved = f" (its manifest saved in the ConfigMap {phase['saved_configmap']})" if phase.get("saved_configmap") else ""
            lines = [f"{name}: deleted the Cluster {where} and its PVCs{saved}"]
        else:
            lines = [f"{name}: nothing in the way of {where}" + (f" ({phase['existing']})" if phase.get("existing") else "")]
    elif name == "recover":
        how = "created" if phase.get("created") else ("found (this restore's own)" if phase.get("existing") == "recovery" else "not created")
        lines = [f"{name}: {where} {how}; phase {status.get('phase')!r}, ready instances {status.get('ready_instances') or 0} "
                 f"of {status.get('instances')}"]
    else:
        inspected = recovery.get("inspected_server_name")
        moving = archive.get("pending_move") and inspected and inspected != recovery.get("server_name")
        source = f" recovers from {_folder(archive, recovery.get('server_name'))}" if archive.get("bucket") and recovery.get("server_name") else ""
        lines = [f"{name}: {where}{source}"
                 + (f" (once {inspected}/ is moved there)" if moving else "")
                 + (f" ({recovery['source_mode']})" if recovery.get("source_mode") else "")
                 + (f" and archives to {recovery['new_server_name']}/" if recovery.get("new_server_name") else "")]
        if recovery.get("backup_id"):
            lines.append(f"    base backup {recovery['backup_id']} (ended {recovery.get('backup_end_time')}); the archive holds "
                         f"{archive.get('base_backups')} base backups and {archive.get('wal_files')} WAL files")
        plan = phase.get("plan") or {}
        if plan:
            steps = [f"delete the existing Cluster ({EXISTING.get(phase.get('existing'), phase.get('existing'))})"] if plan.get("remove") else []
            steps.append("create the recovery Cluster" if plan.get("create") else "keep this restore's recovery Cluster (an earlier run made it)")
            lines.append("    plan: " + "; ".join(steps))
        for summary in phase.get("workloads") or []:
            lines.append(f"    {summary}")
        move = phase.get("move_plan") or {}
        if move.get("source"):
            todo = move.get("plan") or {}
            lines.append(f"    move planned: s3://{move.get('bucket')}/{move.get('source')} -> {move.get('target')}: {move.get('objects')} objects "
                         f"({_size(move.get('bytes'))}), {todo.get('to_copy', '?')} to copy, {todo.get('to_delete', '?')} to delete")
    if phase.get("msg"):
        lines.append(f"  error: {phase['msg']}")
    return lines


def _cnpg_phase_lines(name: str, phase: dict[str, Any]) -> list[str]:
    if "cluster" in phase or "recovery" in phase:
        return _cnpg_cluster_lines(name, phase)
    if phase.get("skipped_reason"):
        return [f"{name}: skipped - {phase['skipped_reason']}"]
    if name == "preflight":  # it stopped before the module's checks (the applications' check failed)
        lines = [f"{name}: the Clusters and the archive were not checked"] + [f"    {_workload(entry)}" for entry in phase.get("workloads") or []]
    elif "workloads" in phase:
        lines = [f"{name}: {', '.join(_workload(entry) for entry in phase['workloads']) or 'nothing'}"]
    elif "source" in phase and "bucket" in phase:  # scalarops.pitr.s3_prefix_move
        lines = [f"{name}: s3://{phase['bucket']}/{phase.get('source')} -> {phase.get('target')}: {phase.get('objects')} objects "
                 f"({_size(phase.get('bytes'))}), {phase.get('copied')} copied now, {phase.get('already_copied')} copied before, "
                 f"{phase.get('verified')} verified, {phase.get('deleted')} deleted" + (f" ({phase['state']})" if phase.get("state") else "")]
    else:
        lines = [f"{name}:"]
    if phase.get("msg"):
        lines.append(f"  error: {phase['msg']}")
    return lines


def _cnpg_lines(report: dict[str, Any]) -> list[str]:
    """The CloudNativePG part of a report (backend cnpg): the Clusters, then each step."""
    cluster = report.get("cluster") or {}
    lines = []
    if cluster:
        same = cluster.get("source") == cluster.get("target")
        lines.append(f"Cluster: {cluster.get('namespace')}/{cluster.get('source')} -> {cluster.get('namespace')}/{cluster.get('target')} "
                     f"({'replaces the old cluster' if same else 'the old cluster stays'}); archive strategy {cluster.get('archive_strategy')}")
    workloads = report.get("workloads") or []
    if workloads:
        lines.append("Applications: " + ", ".join(_workload({**entry, "replicas": None}) for entry in workloads))
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
    cnpg = report.get("backend") == "cnpg"
    if cnpg:
        lines += _cnpg_lines(report)
    timeline = report.get("timeline") or []
    if timeline:
        lines.append("Phases: " + "; ".join(f"{step.get('phase')} {step.get('started')} .. {step.get('ended')}" for step in timeline))
    phases = report.get("phases") or {}
    order = CNPG_PHASE_ORDER if cnpg else PHASE_ORDER
    for name in [*order, *sorted(set(phases) - set(order))]:
        if phases.get(name):
            lines += _cnpg_phase_lines(name, phases[name]) if cnpg else _phase_lines(name, phases[name])
    return "\n".join(lines)


class FilterModule:  # pylint: disable=too-few-public-methods
    """Ansible filter plugin entry point."""

    def filters(self) -> dict[str, Any]:
        return {"restore_report_text": restore_report_text}
