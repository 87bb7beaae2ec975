"""Unit tests of the bounded-concurrency runner and the deadline-bound polling helper (real threads, short sleeps)."""
from __future__ import annotations

import threading
import time
from datetime import timezone

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.concurrency import Deadline, ItemResult, WaitTimeout, run_bounded, wait_until


class Gauge:
    """Counts workers inside a section and remembers the most seen at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def __enter__(self) -> Gauge:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.now -= 1


def test_never_more_than_concurrency_workers_at_once() -> None:
    gauge = Gauge()

    def work(item: int) -> int:
        with gauge:
            time.sleep(0.02)
        return item * 2

    results = run_bounded(list(range(24)), work, concurrency=4)
    assert gauge.peak == 4
    assert [r.value for r in results] == [i * 2 for i in range(24)]
    assert all(r.ok for r in results)


def test_results_keep_item_order_and_carry_timings() -> None:
    durations = [0.12, 0.01, 0.06]
    before = time.monotonic()
    results = run_bounded(durations, lambda d: time.sleep(d) or f"slept {d}", concurrency=3)
    assert [(r.index, r.item, r.value, r.status) for r in results] == [
        (0, 0.12, "slept 0.12", "ok"), (1, 0.01, "slept 0.01", "ok"), (2, 0.06, "slept 0.06", "ok"),
    ]
    for result in results:
        assert result.started is not None and result.ended is not None and before <= result.started <= result.ended
        assert result.duration is not None and result.duration >= result.item
        assert result.started_at is not None and result.started_at.tzinfo is timezone.utc
        assert result.ended_at is not None and result.ended_at >= result.started_at


def test_a_freed_slot_takes_the_next_item_at_once() -> None:
    # Two slots; one long item that only finishes once every short item has run. With a barrier
    # between batches the short items after the first could never start: the long one would time out.
    shorts_done = threading.Event()
    finished: list[int] = []
    lock = threading.Lock()

    def work(item: int) -> str:
        if item == 0:
            return "long item saw every short one" if shorts_done.wait(timeout=30) else "barrier"
        with lock:
            finished.append(item)
            if len(finished) == 4:
                shorts_done.set()
        return "short"

    results = run_bounded([0, 1, 2, 3, 4], work, concurrency=2)
    assert results[0].value == "long item saw every short one"
    assert sorted(finished) == [1, 2, 3, 4]
    assert results[0].ended >= max(r.ended for r in results[1:])


def test_progress_on_each_completion_and_as_heartbeat() -> None:
    calls: list[tuple[int, int, float, int]] = []
    caller = threading.get_ident()
    threads: set[int] = set()
    release = threading.Event()

    def progress(done: int, total: int, elapsed: float, running: int) -> None:
        threads.add(threading.get_ident())
        calls.append((done, total, elapsed, running))
        if sum(1 for c in calls if c[0] == 0) >= 2:  # two heartbeats while the first item is blocked
            release.set()

    def work(item: int) -> int:
        if item == 0:
            assert release.wait(timeout=30), "no heartbeat came while an item was running"
        return item

    run_bounded([0, 1], work, concurrency=1, on_progress=progress, progress_interval=0.05)
    assert threads == {caller}  # callbacks come from the caller's thread only: no locking needed
    heartbeats = [c for c in calls if c[0] == 0]
    assert len(heartbeats) >= 2 and all(running == 1 for *_x, running in heartbeats)
    completions = [c for c, before in zip(calls, [(0,)] + calls) if c[0] > before[0]]
    assert [c[0] for c in completions] == [1, 2]  # one call per completion
    assert all(total == 2 for _d, total, _e, _r in calls)
    assert [c[2] for c in calls] == sorted(c[2] for c in calls)


def test_stop_on_error_skips_items_not_started() -> None:
    def work(item: int) -> int:
        if item == 1:
            raise RuntimeError("restore of item 1 failed")
        time.sleep(0.1)
        return item

    progress: list[int] = []
    results = run_bounded(list(range(8)), work, concurrency=2, stop_on_error=True, on_progress=lambda d, *_: progress.append(d))
    assert [r.status for r in results] == ["ok", "failed"] + ["skipped"] * 6
    assert results[0].value == 0  # already started: allowed to finish
    assert isinstance(results[1].error, RuntimeError) and str(results[1].error) == "restore of item 1 failed"
    skipped: list[ItemResult[int, int]] = results[2:]
    assert all(r.skipped and r.started is None and r.started_at is None and r.duration is None for r in skipped)
    assert progress[-1] == 8  # skipped items count as done


def test_without_stop_on_error_every_item_runs() -> None:
    def work(item: int) -> int:
        if item % 3 == 0:
            raise ValueError(f"bad {item}")
        return item

    results = run_bounded(list(range(7)), work, concurrency=3)
    assert [r.status for r in results] == ["failed", "ok", "ok", "failed", "ok", "ok", "failed"]
    assert [str(r.error) for r in results if r.error] == ["bad 0", "bad 3", "bad 6"]


def test_edge_cases() -> None:
    assert not run_bounded([], time.sleep, concurrency=3)
    with pytest.raises(ValueError):
        run_bounded([1], time.sleep, concurrency=0)


# --- wait_until ----------------------------------------------------------------------------------------
def test_wait_until_backs_off_up_to_max_delay_and_returns_the_value() -> None:
    states = iter(["CREATING"] * 5 + ["ACTIVE"])
    sleeps: list[float] = []
    seen: list[str] = []
    value = wait_until(lambda: next(states), Deadline(600), initial_delay=1.0, max_delay=5.0, what="table t ACTIVE",
                       done=lambda s: s == "ACTIVE", on_wait=lambda state, _elapsed: seen.append(state), sleep=sleeps.append)
    assert value == "ACTIVE"
    assert sleeps == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert seen == ["CREATING"] * 5


def test_wait_until_times_out_naming_what_it_waited_for() -> None:
    probes: list[float] = []

    def probe() -> str:
        probes.append(time.monotonic())
        return "CREATING"

    start = time.monotonic()
    with pytest.raises(WaitTimeout) as info:
        wait_until(probe, 0.25, initial_delay=0.05, max_delay=0.1, what="table ns.orders-staging to become ACTIVE",
                   done=lambda s: s == "ACTIVE")
    assert isinstance(info.value, TimeoutError)
    assert str(info.value).startswith("timed out after 0.25s waiting")
    assert "waiting for table ns.orders-staging to become ACTIVE; last state: CREATING" in str(info.value)
    assert time.monotonic() - start >= 0.25  # never gives up before the deadline
    assert probes[-1] - start >= 0.25  # a last look at the deadline itself


def test_wait_until_truncates_long_states() -> None:
    with pytest.raises(WaitTimeout) as info:
        wait_until(lambda: {"Table": {"TableStatus": "CREATING", "x": "y" * 500}}, 0.0, what="t", done=lambda _v: False)
    assert len(str(info.value)) < 300 and str(info.value).endswith("...")


def test_deadline() -> None:
    deadline = Deadline(10, started=time.monotonic() - 4)
    assert 5.9 < deadline.remaining() <= 6 and 4 <= deadline.elapsed() < 4.1 and not deadline.expired()
    assert Deadline(1, started=time.monotonic() - 2).expired()
