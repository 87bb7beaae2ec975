# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Wait for an async job and print its progress file while it runs (see plugins/modules/job_watch.py).

An action plugin because only the controller can print while a task runs: a module's output appears
when it ends, and ``async_status`` in an ``until`` loop prints nothing but retry counts.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

display = Display()

ARGUMENT_SPEC = {
    "jid": {"type": "str", "required": True},
    "progress_file": {"type": "path"},
    "label": {"type": "str", "default": "job"},
    "interval": {"type": "int", "default": 30},
    "poll": {"type": "float", "default": 2.0},
    "timeout": {"type": "int", "default": 7200},
}
# async_status's own bookkeeping, not part of the job's result.
_STATUS_KEYS = ("ansible_job_id", "finished", "started", "results_file", "stdout", "stderr", "erased")


def progress_line(label: str, progress: dict[str, Any] | None, waited: float) -> str:
    """One human line, e.g. ``prepare: 12/40 tables done, 0 failed, 95 s; running: a (restore to staging), ...``."""
    if not progress or "total" not in progress:
        return f"{label}: running, {waited:.0f} s"
    line = f"{label}: {progress.get('done', 0)}/{progress['total']} {progress.get('unit', 'tables')} done"
    if progress.get("failed"):
        line += f", {progress['failed']} failed"
    line += f", {float(progress.get('elapsed', waited)):.0f} s"
    running = progress.get("running") or {}
    if running:
        shown = [f"{name} ({step})" for name, step in sorted(running.items())[:5]]
        more = len(running) - len(shown)
        line += "; running: " + ", ".join(shown) + (f" and {more} more" if more > 0 else "")
    return line


class ActionModule(ActionBase):
    """See the module docstring."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def _status(self, jid: str, task_vars: dict[str, Any], mode: str = "status") -> dict[str, Any]:
        # What ansible.builtin.async_status's own action does: the module needs the job directory.
        async_dir = self._remote_expand_user(self.get_shell_option("async_dir", default="~/.ansible_async"))
        return self._execute_module(module_name="ansible.legacy.async_status", task_vars=task_vars,
                                    module_args={"jid": jid, "mode": mode, "_async_dir": async_dir})

    def _progress(self, path: str | None, task_vars: dict[str, Any]) -> dict[str, Any] | None:
        if not path:
            return None
        found = self._execute_module(module_name="ansible.legacy.slurp", module_args={"src": path}, task_vars=task_vars)
        if found.get("failed") or "content" not in found:
            return None  # not written yet
        try:
            return json.loads(base64.b64decode(found["content"]).decode("utf-8"))
        except ValueError:
            return None

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        started = time.monotonic()
        next_line = started + args["interval"]
        delay = max(0.1, args["poll"])
        while True:
            status = self._status(args["jid"], task_vars)
            waited = time.monotonic() - started
            if status.get("finished"):
                self._status(args["jid"], task_vars, mode="cleanup")
                result.update({key: value for key, value in status.items() if key not in _STATUS_KEYS})
                result["watched_seconds"] = round(waited, 1)
                return result
            if status.get("failed"):  # e.g. no such job: async_status says why
                result.update(failed=True, msg=status.get("msg", "async_status failed"), watched_seconds=round(waited, 1))
                return result
            if waited >= args["timeout"]:
                result.update(failed=True, watched_seconds=round(waited, 1),
                              msg=f"{args['label']}: still running after {args['timeout']} s; the job continues (job id {args['jid']})")
                return result
            if time.monotonic() >= next_line:
                display.display(progress_line(args["label"], self._progress(args["progress_file"], task_vars), waited))
                next_line = time.monotonic() + args["interval"]
            # Never sleep past the next progress line; each check runs a module, so back off up to half the interval.
            time.sleep(max(0.1, min(delay, next_line - time.monotonic())))
            delay = min(max(delay, args["interval"] / 2.0), delay * 1.5)
