# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The progress of a long module run: what its callback gets, and the file scalarops.pitr.job_watch reads.

A module run asynchronously cannot print; it writes its progress into a file the controller-side
job_watch action shows every few seconds.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from typing import Any


@dataclass
class Progress:
    """The phase, how many of the ``unit`` (tables, resources) are done of all, and what each running one is doing."""

    phase: str
    done: int
    total: int
    elapsed: float
    running: dict[str, str]
    failed: int = 0
    unit: str = "tables"

    def to_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "unit": self.unit, "done": self.done, "total": self.total, "elapsed": round(self.elapsed, 1),
                "running": dict(self.running), "failed": self.failed}


def write_progress(path: str | None, data: dict[str, Any]) -> None:
    """Replace ``path`` atomically with ``data`` as JSON, so a reader never sees half a file (no-op without a path)."""
    if not path:
        return
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".progress-")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(data, stream)
    os.replace(temporary, path)
