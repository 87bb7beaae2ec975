"""scalarops.pitr.restore_point through the real ansible-playbook: the collection is wired up."""
from __future__ import annotations

import json
from pathlib import Path

from fixtures.common import run_playbook

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - scalarops.pitr.restore_point:
        restore_pause_window: "{{ window }}"
        restorable_windows: "{{ windows | default([]) }}"
      register: point
    - ansible.builtin.copy:
        content: "{{ point.restore_point | to_json }}"
        dest: "{{ playbook_dir }}/point.json"
        mode: "0644"
"""


def test_pause_window_midpoint_resolved_by_the_module(tmp_path: Path, tool_env: dict[str, str]) -> None:
    window = {"start": "2026-11-20T09:30:00+00:00", "end": "2026-11-20T09:30:10+00:00"}
    result = run_playbook(PLAYBOOK, tmp_path, tool_env, {"window": window})
    assert result.returncode == 0, result.stdout + result.stderr
    point = json.loads((tmp_path / "point.json").read_text())
    assert point["source"] == "pause_window"
    assert point["time"] == "2026-11-20T09:30:05.000+00:00"
    assert point["pause_window"]["midpoint_ms"] == point["epoch_ms"]


def test_point_outside_a_window_fails_naming_the_resource(tmp_path: Path, tool_env: dict[str, str]) -> None:
    window = {"start": "2026-11-20T09:30:00+00:00", "end": "2026-11-20T09:30:10+00:00"}
    windows = [{"resource": "table scalardb.metadata", "earliest": "2026-11-20T09:31:00Z", "latest": "2026-11-20T10:00:00Z"}]
    result = run_playbook(PLAYBOOK, tmp_path, tool_env, {"window": window, "windows": windows})
    assert result.returncode != 0
    assert "table scalardb.metadata: restore point 2026-11-20T09:30:05.000+00:00 is outside its restorable window" in result.stdout
    assert not (tmp_path / "point.json").exists()
