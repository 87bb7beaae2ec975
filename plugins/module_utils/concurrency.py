# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Run many independent chains of steps with bounded concurrency, and wait with a deadline.

``run_bounded`` is how a module restores 100 tables with at most N restores in flight: each item
runs its whole chain (start restore, wait, back up, ...) in one worker, and a worker that finishes
takes the next item at once - there is no batch barrier, so the wall time approaches
ceil(N / concurrency) x chain time even when chains differ in length.  Progress is reported on
every completion and as a heartbeat while nothing completes, so a long module run can show life.

``wait_until`` polls a probe with backoff until it reports done or a :class:`Deadline` passes.
Plain Python, no Ansible, no cloud library.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

__all__ = ["Deadline", "ItemResult", "WaitTimeout", "run_bounded", "wait_until"]

T = TypeVar("T")
R = TypeVar("R")

OK = "ok"
FAILED = "failed"
SKIPPED = "skipped"


@dataclass
class Deadline:
    """A point in time the whole operation must finish by (monotonic clock)."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    def remaining(self) -> float:
        return max(0.0, self.started + self.seconds - time.monotonic())

    def expired(self) -> bool:
        return self.remaining() <= 0

    def elapsed(self) -> float:
        return time.monotonic() - self.started


@dataclass
class ItemResult(Generic[T, R]):
    """What became of one item: its value, or the exception it raised, or that it never started.

    ``started``/``ended`` are monotonic (for durations), ``started_at``/``ended_at`` timezone-aware
    UTC wall times (for reports); all four are None for a skipped item.
    """

    index: int
    item: T
    status: str = SKIPPED
    value: R | None = None
    error: BaseException | None = None
    started: float | None = None
    ended: float | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def skipped(self) -> bool:
        return self.status == SKIPPED

    @property
    def duration(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return self.ended - self.started


ProgressCallback = Callable[[int, int, float, int], None]


class _Runner(Generic[T, R]):
    """State shared by the workers of one ``run_bounded`` call."""

    def __init__(self, items: Sequence[T], worker: Callable[[T], R], stop_on_error: bool) -> None:
        self.results: list[ItemResult[T, R]] = [ItemResult(index=i, item=item) for i, item in enumerate(items)]
        self.worker = worker
        self.stop_on_error = stop_on_error
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.running = 0

    def run_one(self, index: int) -> None:
        result = self.results[index]
        if self.stop.is_set():  # an earlier item failed; never start new work after that
            return
        with self.lock:
            self.running += 1
        result.started = time.monotonic()
        result.started_at = datetime.now(timezone.utc)
        try:
            result.value = self.worker(result.item)
            result.status = OK
        except Exception as exc:  # pylint: disable=broad-exception-caught  # reported per item to the caller
            result.error = exc
            result.status = FAILED
            if self.stop_on_error:
                self.stop.set()
        finally:
            result.ended = time.monotonic()
            result.ended_at = datetime.now(timezone.utc)
            with self.lock:
                self.running -= 1


def run_bounded(
    items: Sequence[T],
    worker: Callable[[T], R],
    concurrency: int,
    on_progress: ProgressCallback | None = None,
    progress_interval: float = 30.0,
    stop_on_error: bool = False,
) -> list[ItemResult[T, R]]:
    """Run ``worker(item)`` for every item, at most ``concurrency`` at a time; results in item order.

    A worker's exception is caught and stored in its :class:`ItemResult` (status "failed"); with
    ``stop_on_error`` the first failure stops new items from starting (they end "skipped") while
    started ones finish.  ``on_progress(done, total, elapsed, running)`` is called from this
    (the calling) thread only - so it needs no locking - after each completion, and at least
    every ``progress_interval`` seconds while none completes.  ``done`` counts finished and
    skipped items; ``elapsed`` is seconds since the start.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be >= 1")
    runner: _Runner[T, R] = _Runner(items, worker, stop_on_error)
    total = len(items)
    if total == 0:
        return []
    start = time.monotonic()
    done = 0

    def report() -> None:
        if on_progress is not None:
            with runner.lock:
                running = runner.running
            on_progress(done, total, time.monotonic() - start, running)

    # The executor's queue hands the next item to whichever thread frees up first: no barrier.
    with ThreadPoolExecutor(max_workers=min(concurrency, total), thread_name_prefix="pitr-worker") as pool:
        pending: set[Future[None]] = {pool.submit(runner.run_one, i) for i in range(total)}
        next_beat = time.monotonic() + progress_interval
        try:
            while pending:
                finished, pending = wait(pending, timeout=max(0.0, next_beat - time.monotonic()), return_when=FIRST_COMPLETED)
                if runner.stop.is_set():
                    # Not-yet-started items are dropped from the queue; run_one's own check covers
                    # any a worker picked up in the meantime.
                    for future in list(pending):
                        if future.cancel():
                            pending.discard(future)
                            done += 1
                if finished:
                    for future in finished:
                        future.result()  # run_one catches Exception: only BaseException would surface here
                        done += 1
                        report()
                    next_beat = time.monotonic() + progress_interval
                elif time.monotonic() >= next_beat:
                    report()
                    next_beat = time.monotonic() + progress_interval
        except BaseException:
            runner.stop.set()
            for future in pending:
                future.cancel()
            raise
    return runner.results


class WaitTimeout(TimeoutError):
    """``wait_until`` gave up; the message names what it waited for and the last state seen."""

    def __init__(self, what: str, timeout: float, waited: float, last: Any) -> None:
        self.what = what
        self.timeout = timeout
        self.waited = waited
        self.last = last
        super().__init__(f"timed out after {timeout:g}s waiting for {what}; last state: {_short(last)}")


def _short(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def wait_until(
    probe: Callable[[], T],
    deadline: Deadline | float,
    initial_delay: float = 1.0,
    max_delay: float = 20.0,
    on_wait: Callable[[T, float], None] | None = None,
    *,
    what: str = "the condition",
    done: Callable[[T], bool] = bool,
    factor: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``probe()`` until ``done(value)`` (default: truthy) and return that value.

    Between probes it sleeps ``initial_delay``, growing by ``factor`` up to ``max_delay``, never
    past the deadline (a float is seconds from now); a last probe is made at the deadline.
    ``on_wait(value, elapsed)`` is called before each sleep (progress output).  Exceptions of the
    probe propagate.  On timeout raises :class:`WaitTimeout` (a TimeoutError) naming ``what``.
    """
    if not isinstance(deadline, Deadline):
        deadline = Deadline(float(deadline))
    delay = initial_delay
    while True:
        value = probe()
        if done(value):
            return value
        remaining = deadline.remaining()
        if remaining <= 0:
            raise WaitTimeout(what, deadline.seconds, deadline.elapsed(), value)
        if on_wait is not None:
            on_wait(value, deadline.elapsed())
        sleep(min(delay, remaining))
        delay = min(max_delay, delay * factor)
