#!/usr/bin/python
# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Documentation of the job_watch action (the work is done by plugins/action/job_watch.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: job_watch
short_description: Wait for an asynchronous task and show its progress while it runs
version_added: 0.1.0
description:
  - Waits for a task started with C(async) and C(poll=0), like M(ansible.builtin.async_status) in an
    C(until) loop, but prints the job's progress while it runs - at least every O(interval) seconds - instead
    of "FAILED - RETRYING" lines, so a restore that takes an hour shows how many tables are done.
  - The progress is read from a JSON file the job keeps up to date (for example the O(progress_file) of
    M(scalarops.pitr.dynamodb_restore)) with keys C(phase), C(done), C(total), C(failed), C(elapsed) and
    C(running) (table to current step).
  - Returns the job's own result, and fails when the job failed, with the job's message.
author:
  - scalarops.pitr developers (@scalarops)
options:
  jid:
    description: The C(ansible_job_id) of the asynchronous task.
    type: str
    required: true
  progress_file:
    description: The job's progress file; without it only the elapsed time is shown.
    type: path
  label:
    description: What the job does, shown in each progress line.
    type: str
    default: job
  interval:
    description: Seconds between two progress lines.
    type: int
    default: 30
  poll:
    description:
      - Seconds before the first check whether the job finished; later checks are 1.5 times further apart,
        up to half of O(interval), because each check runs M(ansible.builtin.async_status).
    type: float
    default: 2
  timeout:
    description: Seconds to wait at most; the job keeps running after a timeout.
    type: int
    default: 7200
attributes:
  action:
    support: full
    description: Runs on the controller and calls M(ansible.builtin.async_status) on the target.
  check_mode:
    support: none
    description: An asynchronous job is not started in check mode, so there is nothing to watch.
  diff_mode:
    support: none
    description: Nothing to diff.
"""

EXAMPLES = r"""
- name: Start the restore
  scalarops.pitr.dynamodb_restore:
    phase: prepare
    restore_point: "2026-11-21T09:30:05+00:00"
    progress_file: /tmp/prepare.progress.json
  async: 7800
  poll: 0
  register: job

- name: Wait for it and show its progress
  scalarops.pitr.job_watch:
    jid: "{{ job.ansible_job_id }}"
    progress_file: /tmp/prepare.progress.json
    label: prepare
  register: prepared
"""

RETURN = r"""
watched_seconds:
  description: How long the watch waited.
  returned: always
  type: float
  sample: 312.5
"""
