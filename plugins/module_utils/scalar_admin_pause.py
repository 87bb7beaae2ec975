# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Make a pause window across Scalar nodes, and always undo the pause.

Plain Python over a small client interface (``pause``/``unpause``/``check_paused`` per address),
so the rules are unit-testable with fakes:

* every node is paused in parallel; the window starts when the last Pause has returned and ends
  just before the first Unpause is sent, so every node was paused for the whole window;
* whatever happens after the first Pause was sent (a refusal, a timeout, a restarted pod, an
  exception in this process), every node that was or may have been paused is unpaused, in
  parallel and with retries; nodes that stay paused are named in the error together with the
  command that unpauses them;
* a window too short for the clock-skew margin is refused before anything is paused.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import UTC, PauseWindow, to_iso

# A Pause that failed with one of these was refused by the server, which then stays unpaused;
# any other failure (deadline, lost connection) leaves the node's state unknown, so it is unpaused too.
_REFUSED = frozenset({"FAILED_PRECONDITION", "INVALID_ARGUMENT", "UNIMPLEMENTED", "PERMISSION_DENIED", "UNAUTHENTICATED"})
_MAX_THREADS = 64


class AdminNodeClient(Protocol):
    """What the orchestration needs from one node (scalar_admin_client.AdminClient fits)."""

    def pause(self, wait_outstanding: bool = True, max_pause_wait_ms: int | None = None) -> None: ...

    def unpause(self) -> None: ...

    def check_paused(self) -> bool: ...


class PauseError(RuntimeError):
    """The pause window could not be made (or must not be used); ``still_paused`` lists addresses left paused."""

    def __init__(self, message: str, still_paused: Sequence[str] = (), window: PauseWindow | None = None) -> None:
        super().__init__(message)
        self.still_paused = list(still_paused)
        self.window = window


@dataclass(frozen=True)
class Node:
    """One Scalar Admin endpoint and, when discovered through Kubernetes, where it came from."""

    address: str
    pod: str | None = None
    release: str | None = None
    namespace: str | None = None
    product: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"address": self.address, "pod": self.pod, "release": self.release,
                "namespace": self.namespace, "product": self.product}

    def label(self) -> str:
        return f"{self.address} (pod {self.namespace}/{self.pod})" if self.pod else self.address


@dataclass
class Retry:
    """How often and how patiently a failed Unpause is retried."""

    retries: int = 3
    delay: float = 0.5      # first wait; doubles each time
    max_delay: float = 5.0
    sleep: Callable[[float], None] = field(default=time.sleep)

    def run(self, action: Callable[[], Any]) -> Any:
        delay = self.delay
        for attempt in range(self.retries + 1):
            try:
                return action()
            except Exception:  # pylint: disable=broad-exception-caught  # any failure of one try is retried
                if attempt == self.retries:
                    raise
                self.sleep(delay)
                delay = min(delay * 2, self.max_delay)
        return None  # not reached


def check_duration(pause_duration: float, clock_skew_margin: float) -> None:
    """Same rule as restore_point.resolve: the midpoint must keep the margin from both edges."""
    if pause_duration <= 0:
        raise PauseError(f"pause_duration must be positive, got {pause_duration:g}")
    if clock_skew_margin < 0:
        raise PauseError(f"clock_skew_margin must not be negative, got {clock_skew_margin:g}")
    if pause_duration / 2 < clock_skew_margin:
        raise PauseError(
            f"pause_duration {pause_duration:g}s leaves only {pause_duration / 2:g}s on each side of the window's midpoint, "
            f"less than the clock-skew margin of {clock_skew_margin:g}s; pause for at least {2 * clock_skew_margin:g}s "
            "(or lower clock_skew_margin if the clocks are known to agree more closely). Nothing was paused."
        )


def recovery_command(addresses: Sequence[str]) -> str:
    """The ad-hoc command that unpauses ``addresses`` (add the TLS options used for the pause)."""
    args = json.dumps({"state": "unpaused", "addresses": list(addresses)})
    return f"ansible localhost -m scalarops.pitr.scalar_admin -a '{args}'"


def _each(nodes: Sequence[Node], action: Callable[[Node], Any]) -> dict[str, Any]:
    """Run ``action`` on every node in parallel: address -> result, or the exception it raised."""
    results: dict[str, Any] = {}
    if not nodes:
        return results
    with ThreadPoolExecutor(max_workers=min(len(nodes), _MAX_THREADS)) as pool:
        futures = {node.address: pool.submit(action, node) for node in nodes}
        for address, future in futures.items():
            try:
                results[address] = future.result()
            except Exception as exc:  # pylint: disable=broad-exception-caught  # reported per node by the caller
                results[address] = exc
    return results


def unpause_all(nodes: Sequence[Node], clients: dict[str, AdminNodeClient], retry: Retry) -> dict[str, Exception]:
    """Unpause every node in parallel with retries; returns the nodes that failed (address -> last error)."""
    results = _each(nodes, lambda node: retry.run(clients[node.address].unpause))
    return {address: result for address, result in results.items() if isinstance(result, Exception)}


def check_all(nodes: Sequence[Node], clients: dict[str, AdminNodeClient]) -> dict[str, bool | Exception]:
    return _each(nodes, lambda node: clients[node.address].check_paused())


def _still_paused_message(failed: dict[str, Exception], by_address: dict[str, Node]) -> str:
    lines = [f"  - {by_address[a].label()}: {err}" for a, err in sorted(failed.items())]
    return ("THESE NODES MAY STILL BE PAUSED and serve no transactions until unpaused:\n" + "\n".join(lines)
            + "\nUnpause them with (plus the same TLS options as the pause):\n  " + recovery_command(sorted(failed)))


@dataclass
class PauseRun:
    """One pause window over ``nodes``; ``verify`` (optional) re-checks the targets after the unpause."""

    nodes: Sequence[Node]
    clients: dict[str, AdminNodeClient]
    pause_duration: float
    max_pause_wait_ms: int | None = None
    clock_skew_margin: float = 5.0
    retry: Retry = field(default_factory=Retry)
    verify: Callable[[], None] | None = None
    clock: Callable[[], _dt.datetime] = field(default=lambda: _dt.datetime.now(UTC))
    sleep: Callable[[float], None] = field(default=time.sleep)

    def run(self) -> PauseWindow:
        check_duration(self.pause_duration, self.clock_skew_margin)
        if not self.nodes:
            raise PauseError("no Scalar Admin nodes to pause")
        by_address = {node.address: node for node in self.nodes}
        to_unpause: list[Node] = list(self.nodes)  # until we know better, anything may be paused
        problems: list[str] = []
        window = None
        try:
            results = _each(self.nodes, lambda n: self.clients[n.address].pause(True, self.max_pause_wait_ms))
            start = self.clock()  # every Pause has returned: all nodes are paused from here on
            refused = {a: r for a, r in results.items() if isinstance(r, Exception)}
            to_unpause = [n for n in self.nodes if n.address not in refused
                          or getattr(refused[n.address], "code", None) not in _REFUSED]
            if refused:
                problems += [f"Pause failed on {by_address[a].label()}: {err}" for a, err in sorted(refused.items())]
            else:
                self.sleep(self.pause_duration)
                window = PauseWindow(start=start, end=self.clock())
                # The window is kept in whole milliseconds, rounded inwards, so it can come out a hair
                # shorter than the pause held: hold on until the recorded window is the full duration
                # (a restore checks the recorded window against the clock-skew margin).
                while window.duration.total_seconds() < self.pause_duration:
                    self.sleep(0.001)
                    window = PauseWindow(start=start, end=self.clock())
        finally:
            interrupted = sys.exc_info()[1]  # e.g. an exception in this process while holding the pause
            failed = unpause_all(to_unpause, self.clients, self.retry)
            if failed:
                if interrupted is not None:
                    problems.append(f"the pause was interrupted: {interrupted!r}")
                problems.append(_still_paused_message(failed, by_address))
            elif problems:
                problems.append(f"every node that paused was unpaused again ({len(to_unpause)} of {len(self.nodes)})")
            if problems:
                head = ("no pause window was made" if window is None else
                        f"the pause window {to_iso(window.start)} .. {to_iso(window.end)} was made, but the unpause failed")
                raise PauseError(head + ":\n" + "\n".join(problems), still_paused=sorted(failed), window=window)
        if self.verify is not None:
            try:
                self.verify()
            except PauseError as exc:
                raise PauseError(f"the pause window {to_iso(window.start)} .. {to_iso(window.end)} must not be used: {exc}",
                                 window=window) from None
        return window
