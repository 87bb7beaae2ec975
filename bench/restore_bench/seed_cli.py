"""The seed's way: ``seed_procedure.sh`` (a sequential loop of real ``aws`` CLI calls) on the same stand-in.

The AWS CLI v1 (``awscli`` from PyPI) pins ``docutils<=0.19`` while the project's venv carries
docutils 0.23 (ansible-lint/antsibull), so it goes into its own venv, ``.build/bench-venv``, made
here on first use.  ``awscli`` 1.46 ships its own copy of botocore, so its version is independent
of the project's botocore.

Waits.  ``aws dynamodb wait table-exists`` polls every 20 s (25 tries); with restores of a few
seconds that poll, not the procedure, would dominate the comparison.  By default the waiters' delay
is set to the same value the collection's poller uses at most (T x poll fraction) through
``AWS_DATA_PATH`` - botocore reads a ``waiters-2.json`` found there before its own - and the
backup poll loop sleeps as long; ``stock_waits=True`` keeps the CLI's 20 s.
"""
from __future__ import annotations

import json
import os
import subprocess  # nosec - runs the pinned aws CLI and our own script, no shell
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .deployment import Stand

AWSCLI_VERSION = "1.46.2"
STOCK_WAITER_DELAY = 20.0
BENCH_DIR = Path(__file__).resolve().parent.parent
ROOT = BENCH_DIR.parent
VENV = ROOT / ".build" / "bench-venv"
SCRIPT = BENCH_DIR / "seed_procedure.sh"
WAITERS = Path("dynamodb", "2012-08-10", "waiters-2.json")


def aws_cli() -> Path:
    """The ``aws`` executable of ``.build/bench-venv``, installing awscli there if needed."""
    aws = VENV / "bin" / "aws"
    if aws.exists():
        shown = subprocess.run([str(aws), "--version"], capture_output=True, text=True, check=False)  # nosec
        if f"aws-cli/{AWSCLI_VERSION} " in shown.stdout + shown.stderr:
            return aws
    print(f"installing awscli=={AWSCLI_VERSION} into {VENV} (once)", file=sys.stderr, flush=True)
    for command in ([sys.executable, "-m", "venv", "--clear", str(VENV)],
                    [str(VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", f"awscli=={AWSCLI_VERSION}"]):
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # nosec
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {(done.stdout + done.stderr).strip()[-2000:]}")
    return aws


def _stock_waiters() -> Path:
    """The DynamoDB waiter model the CLI uses (its vendored botocore's, or botocore's)."""
    found = sorted(VENV.glob(f"lib/python*/site-packages/*/data/{WAITERS}")) + sorted(VENV.glob(f"lib/python*/site-packages/*/*/data/{WAITERS}"))
    if not found:
        raise RuntimeError(f"no {WAITERS} under {VENV}: cannot set the waiters' delay")
    return found[0]


def _waiters_with_delay(directory: Path, delay: float) -> Path:
    """A data path whose DynamoDB waiters poll every ``delay`` seconds (all else as shipped)."""
    model = json.loads(_stock_waiters().read_text(encoding="utf-8"))
    for waiter in model["waiters"].values():
        waiter["delay"] = delay
        waiter["maxAttempts"] = max(int(waiter["maxAttempts"]), int(600 / delay) + 1)  # never give up before 10 minutes
    target = directory / WAITERS
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(model), encoding="utf-8")
    return directory


@dataclass
class SeedResult:
    """The sequential run over ``measured`` tables."""

    measured: int
    wall: float
    per_table: float  # mean seconds per table, whole procedure
    backup_part: float  # mean seconds per table of step 1 (PITR -> B, back up B, delete B)
    restore_part: float  # mean seconds per table of steps 2-3 (delete A, restore A from the backup, PITR on)
    cli_calls_per_table: float
    waiter_delay: float
    ideal_per_table: float  # 3 x T: PITR restore, backup, restore from backup
    tables: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _parse_marks(stdout: str) -> dict[str, dict[str, float]]:
    marks: dict[str, dict[str, float]] = {}
    for line in stdout.splitlines():
        if line.startswith("@"):
            event, table, moment = line[1:].split()
            marks.setdefault(table, {})[event] = float(moment)
    return marks


def run(stand: Stand, count: int, seconds: float, poll_delay: float, stock_waits: bool = False) -> SeedResult:
    """Restore the first ``count`` tables of ``stand`` one after another with ``seed_procedure.sh``."""
    aws = aws_cli()
    tables = stand.tables[:count]
    delay = STOCK_WAITER_DELAY if stock_waits else poll_delay
    env = dict(stand.aws.env)
    env["PATH"] = f"{aws.parent}{os.pathsep}{env.get('PATH', '')}"
    point = stand.restore_point.isoformat(timespec="milliseconds")
    calls_before = sum(stand.aws.calls.values())
    with tempfile.TemporaryDirectory(prefix="bench-aws-data-") as data:
        if not stock_waits:
            env["AWS_DATA_PATH"] = str(_waiters_with_delay(Path(data), delay))
        began = time.monotonic()
        done = subprocess.run(["bash", str(SCRIPT), point, f"{delay:g}", *tables], env=env, capture_output=True, text=True, check=False)  # nosec
        wall = time.monotonic() - began
    if done.returncode != 0:
        raise RuntimeError(f"seed_procedure.sh failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    marks = _parse_marks(done.stdout)
    missing = [table for table in tables if set(marks.get(table, {})) != {"start", "backed_up", "restored"}]
    if missing:
        raise RuntimeError(f"seed_procedure.sh did not report every step of {', '.join(missing)}")
    backup = sum(marks[t]["backed_up"] - marks[t]["start"] for t in tables) / len(tables)
    restore = sum(marks[t]["restored"] - marks[t]["backed_up"] for t in tables) / len(tables)
    return SeedResult(
        measured=len(tables), wall=round(wall, 3), per_table=round(wall / len(tables), 3), backup_part=round(backup, 3),
        restore_part=round(restore, 3), cli_calls_per_table=round((sum(stand.aws.calls.values()) - calls_before) / len(tables), 1),
        waiter_delay=delay, ideal_per_table=3 * seconds, tables=tables,
    )
