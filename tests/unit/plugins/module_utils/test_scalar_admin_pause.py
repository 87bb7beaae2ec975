"""Pause-window orchestration against fake clients: every path ends with no node left paused."""
from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.scalar_admin_client import AdminError
from ansible_collections.scalarops.pitr.plugins.module_utils.scalar_admin_pause import (
    Node,
    PauseError,
    PauseRun,
    Retry,
    check_duration,
    recovery_command,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.scalar_admin_targets import Snapshot

UTC = dt.timezone.utc


class FakeClock:
    """A clock that moves only when the code under test sleeps (or a fake node takes time)."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
        self.lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += dt.timedelta(seconds=seconds)


class FakeNode:
    def __init__(self, address: str, clock: FakeClock, pause_error: str | None = None, unpause_failures: int = 0) -> None:
        self.address, self.clock = address, clock
        self.pause_error, self.unpause_failures = pause_error, unpause_failures
        self.paused = False
        self.calls: list[tuple[str, dt.datetime]] = []

    def pause(self, wait_outstanding: bool = True, max_pause_wait_ms: int | None = None) -> None:
        assert wait_outstanding and max_pause_wait_ms == 5000
        self.calls.append(("pause", self.clock()))
        if self.pause_error:
            raise AdminError(self.address, "Pause", self.pause_error, "injected")
        self.paused = True

    def unpause(self) -> None:
        self.calls.append(("unpause", self.clock()))
        if self.unpause_failures:
            self.unpause_failures -= 1
            raise AdminError(self.address, "Unpause", "UNAVAILABLE", "injected")
        self.paused = False

    def check_paused(self) -> bool:
        return self.paused


def _run(fakes: list[FakeNode], clock: FakeClock, **kwargs: Any) -> Any:
    nodes = [Node(address=f.address, pod=f"pod-{i}", namespace="ns") for i, f in enumerate(fakes)]
    options: dict[str, Any] = {"pause_duration": 10.0, "max_pause_wait_ms": 5000, "clock_skew_margin": 5.0,
                               "retry": Retry(retries=3, delay=0.5, sleep=clock.sleep), **kwargs}
    return PauseRun(nodes=nodes, clients={f.address: f for f in fakes}, clock=clock, sleep=clock.sleep, **options).run()


@pytest.fixture(name="clock")
def clock_fixture() -> FakeClock:
    return FakeClock()


def test_window_lies_between_last_pause_and_first_unpause(clock: FakeClock) -> None:
    fakes = [FakeNode(f"10.0.0.{i}:50053", clock) for i in range(1, 4)]
    window = _run(fakes, clock)
    assert window.duration.total_seconds() == 10.0
    for fake in fakes:
        (kind1, paused_at), (kind2, unpaused_at) = fake.calls
        assert (kind1, kind2) == ("pause", "unpause")
        assert paused_at <= window.start and unpaused_at >= window.end
        assert not fake.paused
    assert window.as_dict()["midpoint"] == "2026-11-21T09:30:05.000+00:00"


def test_a_window_starting_mid_millisecond_still_records_the_full_duration(clock: FakeClock) -> None:
    clock.now += dt.timedelta(microseconds=400)  # the last Pause returns 0.4 ms into a millisecond
    window = _run([FakeNode("10.0.0.1:50053", clock)], clock, pause_duration=10.0)
    assert window.duration.total_seconds() >= 10.0  # rounded inwards, yet the full pause_duration
    assert window.start.microsecond % 1000 == 0 and window.end.microsecond % 1000 == 0


def test_refused_pause_unpauses_the_others_and_names_the_node(clock: FakeClock) -> None:
    fakes = [FakeNode("10.0.0.1:50053", clock), FakeNode("10.0.0.2:50053", clock, pause_error="FAILED_PRECONDITION"),
             FakeNode("10.0.0.3:50053", clock, pause_error="DEADLINE_EXCEEDED")]
    with pytest.raises(PauseError) as err:
        _run(fakes, clock)
    message = str(err.value)
    assert "Pause failed on 10.0.0.2:50053 (pod ns/pod-1)" in message and "FAILED_PRECONDITION" in message
    assert err.value.still_paused == [] and err.value.window is None
    assert [c[0] for c in fakes[0].calls] == ["pause", "unpause"]
    assert [c[0] for c in fakes[1].calls] == ["pause"]  # refused: the server reopened by itself
    # a deadline leaves the node's state unknown: it is unpaused too
    assert [c[0] for c in fakes[2].calls] == ["pause", "unpause"]
    assert not any(f.paused for f in fakes)


def test_transient_unpause_failure_is_retried(clock: FakeClock) -> None:
    fakes = [FakeNode("10.0.0.1:50053", clock, unpause_failures=2), FakeNode("10.0.0.2:50053", clock)]
    _run(fakes, clock)
    assert [c[0] for c in fakes[0].calls] == ["pause", "unpause", "unpause", "unpause"]
    assert not fakes[0].paused


def test_permanent_unpause_failure_lists_nodes_and_recovery(clock: FakeClock) -> None:
    fakes = [FakeNode("10.0.0.1:50053", clock, unpause_failures=100), FakeNode("10.0.0.2:50053", clock)]
    with pytest.raises(PauseError) as err:
        _run(fakes, clock, retry=Retry(retries=2, delay=0.5, sleep=clock.sleep))
    assert err.value.still_paused == ["10.0.0.1:50053"]
    assert "MAY STILL BE PAUSED" in str(err.value) and "was made, but the unpause failed" in str(err.value)
    assert recovery_command(["10.0.0.1:50053"]) in str(err.value)
    assert len(fakes[0].calls) == 1 + 3 and not fakes[1].paused


def test_interruption_while_holding_still_unpauses(clock: FakeClock) -> None:
    fakes = [FakeNode("10.0.0.1:50053", clock)]

    def boom(_seconds: float) -> None:
        raise KeyboardInterrupt

    nodes = [Node(address=fakes[0].address)]
    with pytest.raises(KeyboardInterrupt):
        PauseRun(nodes=nodes, clients={fakes[0].address: fakes[0]}, pause_duration=10, max_pause_wait_ms=5000,
                 clock=clock, sleep=boom).run()
    assert not fakes[0].paused


def test_verify_failure_rejects_the_window_after_unpausing(clock: FakeClock) -> None:
    fakes = [FakeNode("10.0.0.1:50053", clock)]

    def verify() -> None:
        assert not fakes[0].paused  # the check runs after the unpause
        raise PauseError("pod x restarted")

    with pytest.raises(PauseError) as err:
        _run(fakes, clock, verify=verify)
    assert err.value.window is not None and "must not be used: pod x restarted" in str(err.value)


@pytest.mark.parametrize("duration, margin", [(9.9, 5.0), (0, 0), (1.0, -1)])
def test_short_pause_refused_before_anything(clock: FakeClock, duration: float, margin: float) -> None:
    fakes = [FakeNode("10.0.0.1:50053", clock)]
    with pytest.raises(PauseError, match="pause_duration|clock_skew_margin"):
        _run(fakes, clock, pause_duration=duration, clock_skew_margin=margin)
    assert not fakes[0].calls
    check_duration(10.0, 5.0)


def test_snapshot_changes_name_what_changed() -> None:
    before = Snapshot(pods={"a": (0, "10.0.0.1"), "b": (1, "10.0.0.2")}, deployment="d", deployment_version="10",
                      deployment_generation=1)
    assert not before.changes(before)
    after = Snapshot(pods={"a": (1, "10.0.0.9"), "c": (0, "10.0.0.3")}, deployment="d", deployment_version="12",
                     deployment_generation=2)
    changes = before.changes(after)
    assert changes == ["pods gone: b", "new pods: c", "pod a restarted (restart count 0 -> 1)",
                       "pod a changed IP (10.0.0.1 -> 10.0.0.9)",
                       "Deployment d was updated (resourceVersion 10 -> 12, generation 1 -> 2)"]
