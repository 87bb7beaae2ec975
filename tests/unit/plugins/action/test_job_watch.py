"""Unit tests of the progress line job_watch prints while a restore runs."""
from __future__ import annotations

from ansible_collections.scalarops.pitr.plugins.action.job_watch import progress_line


def test_line_counts_tables_failures_time_and_running_steps() -> None:
    progress = {"phase": "prepare", "done": 12, "total": 40, "failed": 1, "elapsed": 95.4,
                "running": {f"t{i}": "restore to staging" for i in range(7)}}
    line = progress_line("DynamoDB prepare", progress, 96.0)
    assert line == ("DynamoDB prepare: 12/40 tables done, 1 failed, 95 s; running: t0 (restore to staging), t1 (restore to staging), "
                    "t2 (restore to staging), t3 (restore to staging), t4 (restore to staging) and 2 more")


def test_before_the_first_progress_only_the_wait_is_shown() -> None:
    assert progress_line("DynamoDB cutover", None, 31.2) == "DynamoDB cutover: running, 31 s"
    assert progress_line("DynamoDB cutover", {"finished": False}, 5) == "DynamoDB cutover: running, 5 s"
