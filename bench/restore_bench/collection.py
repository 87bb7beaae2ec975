"""The collection's way: ``run_phase`` prepare then cutover, timed, with where the time went.

Clients are built as the module builds them (``AwsConnection``: botocore retries off, a pool of
2 x concurrency connections) and every API call goes through the module's retrying ``call``
wrapped in a timer, so the report can say how many calls a phase made, how long they took and
whether anything was retried.  The per-table step log ``run_phase`` returns gives the rest: how
much longer than T each wait took (poll granularity) and how long the steps between waits took.
"""
from __future__ import annotations

import datetime as _dt
import math
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ansible_collections.scalarops.pitr.plugins.module_utils.aws_client import AwsConnection, retrying
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_restore import Options, Progress, Request, run_phase
from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_wait import Poller
from standins.aws.env import DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY

from .deployment import Stand

IN_PLACE = "in_place"
NEW_PREFIX = "new_prefix"
TARGET_PREFIX = "r_"

# How many restores/backups of T seconds one table's chain waits for, per mode and phase: the ideal.
CHAIN_WAITS = {(IN_PLACE, "prepare"): 2, (IN_PLACE, "cutover"): 2, (NEW_PREFIX, "prepare"): 1, (NEW_PREFIX, "cutover"): 0}
# The steps that are those waits (their excess over T is poll granularity plus request latency).
T_WAIT_STEPS = {
    (IN_PLACE, "prepare"): ("wait for staging", "wait for backup"),
    (IN_PLACE, "cutover"): ("wait for safety backup", "wait for restore"),
    (NEW_PREFIX, "prepare"): ("wait for target",),
    (NEW_PREFIX, "cutover"): (),
}
POLL_OPERATIONS = frozenset({"describe_table", "describe_backup"})


@dataclass
class Tuning:
    """How the collection is run: the module's options that matter for speed."""

    concurrency: int
    first_delay: float
    max_delay: float
    cutover_concurrency: int  # the role calls the module once per phase, so each phase may have its own

    @classmethod
    def for_seconds(cls, concurrency: int, seconds: float, poll_fraction: float, cutover_concurrency: int | None = None) -> Tuning:
        """Poll delays scaled to T (the module's poll_interval plays max_delay on AWS)."""
        max_delay = max(0.01, seconds * poll_fraction)
        return cls(concurrency, min(0.2, max_delay), max_delay, cutover_concurrency or concurrency)

    def of(self, phase: str) -> int:
        return self.cutover_concurrency if phase == "cutover" else self.concurrency


class CallStats:
    """Count and time every AWS call (each attempt) and every retry, from all worker threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count: Counter[str] = Counter()
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.retries: Counter[str] = Counter()

    def call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """The ``call`` handed to ``run_phase``: the module's retrying call around a timed attempt."""
        name = getattr(func, "__name__", "call")

        def attempt(*inner_args: Any, **inner_kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return func(*inner_args, **inner_kwargs)
            finally:
                elapsed = time.perf_counter() - started
                with self.lock:
                    self.count[name] += 1
                    self.seconds[name] += elapsed

        def on_retry(_attempt: int, _delay: float, exc: BaseException) -> None:
            with self.lock:
                self.retries[f"{name}: {type(exc).__name__}"] += 1

        return retrying(attempt, *args, on_retry=on_retry, **kwargs)

    def summary(self) -> dict[str, Any]:
        total = sum(self.count.values())
        polls = sum(self.count[name] for name in POLL_OPERATIONS)
        seconds = sum(self.seconds.values())
        return {
            "calls": total, "poll_calls": polls, "retries": sum(self.retries.values()), "retried": dict(self.retries),
            "mean_call_ms": round(1000 * seconds / total, 2) if total else 0.0,
            "by_operation": {name: {"calls": count, "mean_ms": round(1000 * self.seconds[name] / count, 2)} for name, count in self.count.most_common()},
        }


@dataclass
class PhaseResult:
    """One phase of one run: wall time against the ideal, and the gap taken apart."""

    phase: str
    tables: int
    concurrency: int
    rounds: int
    wall: float
    ideal: float
    cpu: float
    failed: int
    errors: list[str]
    gap: dict[str, float]  # seconds of wall time beyond the ideal, by cause (see ``_gap``)
    chain: dict[str, float]  # mean per-table chain, by part
    api: dict[str, Any] = field(default_factory=dict)

    @property
    def efficiency(self) -> float | None:
        return self.ideal / self.wall if self.ideal > 0 and self.wall > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "efficiency": self.efficiency}


def _started(step: dict[str, Any]) -> float:
    return _dt.datetime.fromisoformat(step["started"]).timestamp()


def _chain_start(entry: dict[str, Any]) -> float | None:
    """When a table's chain began: the end of its last logged step minus the chain's duration."""
    steps = [step for step in entry.get("steps", []) if step.get("started")]
    if not steps or entry.get("seconds") is None:
        return None
    return max(_started(step) + step["seconds"] for step in steps) - entry["seconds"]


def _gap(mode: str, phase: str, seconds: float, result: dict[str, Any], began: float, wall: float, rounds: int) -> tuple[dict[str, float], dict[str, float]]:
    """Where the wall time went: (gap over the ideal by cause, mean per-table chain by part).

    * ``before_chains``: from the call to the first table's chain - the phase's own preflight (it
      re-reads every table), the journal, new_prefix's scan of the metadata keys;
    * ``wait_overshoot``: rounds x the mean time the T-waits of a chain took beyond T;
    * ``other_steps``: rounds x the mean time of the chain's other logged steps (capture and
      re-apply settings, the calls that start a restore/backup/delete);
    * ``unlogged``: rounds x the mean chain time outside logged steps (lookups between steps);
    * ``scheduling``: the rest, either sign: chains of unequal length, a last round that is not
      full, assembling the result.
    """
    waits = T_WAIT_STEPS[(mode, phase)]
    entries = [entry for entry in result["tables"] if entry.get("seconds") is not None]
    starts = [start for start in (_chain_start(entry) for entry in entries) if start is not None]
    count = max(1, len(entries))
    overshoot = sum(step["seconds"] - seconds for entry in entries for step in entry["steps"] if step["step"] in waits) / count
    waited = sum(step["seconds"] for entry in entries for step in entry["steps"] if step["step"] in waits) / count
    logged = sum(step["seconds"] for entry in entries for step in entry["steps"]) / count
    total = sum(entry["seconds"] for entry in entries) / count
    chain = {"t_waits": waited, "other_steps": logged - waited, "unlogged": total - logged, "total": total}
    gap = {
        "before_chains": max(0.0, min(starts) - began) if starts else 0.0,
        "wait_overshoot": rounds * overshoot,
        "other_steps": rounds * chain["other_steps"],
        "unlogged": rounds * chain["unlogged"],
    }
    gap["scheduling"] = wall - rounds * CHAIN_WAITS[(mode, phase)] * seconds - sum(gap.values())
    return {key: round(value, 3) for key, value in gap.items()}, {key: round(value, 3) for key, value in chain.items()}


def _progress_printer(label: str, every: float) -> Callable[[Progress], None]:
    """A heartbeat on stderr at most every ``every`` seconds (run_phase reports every completion)."""
    shown = {"at": 0.0}

    def show(progress: Progress) -> None:
        if progress.elapsed - shown["at"] < every and progress.done < progress.total:
            return
        shown["at"] = progress.elapsed
        print(f"    [{label}] {progress.phase}: {progress.done}/{progress.total} tables done, {progress.elapsed:.0f}s", file=sys.stderr, flush=True)

    return show


def run(stand: Stand, mode: str, seconds: float, tuning: Tuning, progress_interval: float = 15.0) -> tuple[list[PhaseResult], list[str]]:
    """prepare then cutover of every table of ``stand`` in ``mode``: one result per phase, and what
    an (untimed) verify phase found wrong afterwards - a fast restore that restored the wrong thing
    would be no result."""
    connection = AwsConnection(
        {"endpoint_url": stand.aws.url, "region": stand.aws.region, "access_key": DUMMY_ACCESS_KEY_ID, "secret_key": DUMMY_SECRET_ACCESS_KEY},
        pool_size=max(10, 2 * max(tuning.concurrency, tuning.cutover_concurrency)),  # as the module sizes it: 2 x concurrency
    )
    dynamodb, autoscaling = connection.client("dynamodb"), connection.client("application-autoscaling")
    request = Request(mode=mode, restore_point=stand.restore_point, prefix="", target_prefix=TARGET_PREFIX if mode == NEW_PREFIX else None)
    poller = Poller(deadline=max(600.0, 20 * seconds), first_delay=tuning.first_delay, max_delay=tuning.max_delay)
    results = []
    for phase in ("prepare", "cutover"):
        options = Options(concurrency=tuning.of(phase), poller=poller, progress_interval=progress_interval)
        rounds = math.ceil(len(stand.tables) / options.concurrency)
        stats = CallStats()
        began_wall = time.time()
        began, cpu = time.monotonic(), time.process_time()
        result = run_phase(dynamodb, autoscaling, request, phase, options, call=stats.call,
                           on_progress=_progress_printer(f"{mode} N={len(stand.tables)} T={seconds:g}", progress_interval))
        wall, cpu = time.monotonic() - began, time.process_time() - cpu
        gap, chain = _gap(mode, phase, seconds, result, began_wall, wall, rounds)
        errors = [f"{entry['source']}: {entry['error']}" for entry in result["tables"] if entry.get("error")] + list(result.get("problems") or [])
        results.append(PhaseResult(
            phase=phase, tables=len(result["tables"]), concurrency=options.concurrency, rounds=rounds, wall=round(wall, 3),
            ideal=rounds * CHAIN_WAITS[(mode, phase)] * seconds, cpu=round(cpu, 3), failed=result["tables_failed"],
            errors=errors[:5], gap=gap, chain=chain, api=stats.summary(),
        ))
    verified = run_phase(dynamodb, autoscaling, request, "verify", Options(concurrency=tuning.concurrency, poller=poller))
    problems = [f"{entry['source']}: {entry['error']}" for entry in verified["tables"] if entry.get("error")] + list(verified.get("problems") or [])
    return results, problems


__all__ = ["IN_PLACE", "NEW_PREFIX", "CallStats", "PhaseResult", "Tuning", "run"]
