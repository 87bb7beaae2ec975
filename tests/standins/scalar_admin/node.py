"""One fake Scalar node: a real gRPC server implementing ``rpc.Admin`` on its own address.

It behaves like the Scalar Admin servers of ScalarDB Cluster and ScalarDL: Pause closes a gate,
with ``wait_outstanding`` it drains for up to ``max_pause_wait_time`` (0 or absent: 30 s) and, if
draining does not finish in time, reopens and answers FAILED_PRECONDITION; Unpause opens the gate;
CheckPaused tells. Faults are plain attributes a test sets before or during a run, and every RPC
lands in ``history`` with its wall-clock time so a test can check a reported pause window against
what the node really did.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import grpc

from standins.scalar_admin.messages import CheckPausedResponse, Empty, PauseRequest

DEFAULT_MAX_PAUSE_WAIT_MS = 30_000


@dataclass(frozen=True)
class Event:
    """Something the node did: ``rpc`` is Pause/Unpause/CheckPaused/restart, ``outcome`` what came of it."""

    at: float        # time.time() when it happened (for Pause: when the node became paused)
    rpc: str
    outcome: str     # paused | refused | unpaused | unavailable | paused? | restarted
    detail: str = ""


@dataclass
class Behaviour:
    """Faults of one node; change them at any time (they are read at each call)."""

    drain_seconds: float = 0.0          # time to drain outstanding requests on a waiting Pause
    refuse_pause: bool = False          # answer Pause with FAILED_PRECONDITION at once
    fail_unpause_times: int = 0         # answer the next N Unpause calls with UNAVAILABLE
    fail_unpause_always: bool = False   # answer every Unpause with UNAVAILABLE
    restart_after_pause: float | None = None  # "restart" (lose the pause) this many seconds after pausing


class AdminNode:
    """A gRPC server for ``rpc.Admin`` bound to ``host:port`` (start() binds; raises OSError if taken)."""

    def __init__(self, host: str, port: int, behaviour: Behaviour | None = None,
                 tls: tuple[bytes, bytes] | None = None) -> None:
        self.host = host
        self.port = port
        self.behaviour = behaviour or Behaviour()
        self.tls = tls  # (private key PEM, certificate chain PEM)
        self.history: list[Event] = []
        self.pause_requests: list[tuple[bool, int | None]] = []  # (wait_outstanding, max_pause_wait_time or None)
        self.on_restart: list[Callable[[AdminNode], None]] = []
        self._paused = False
        self._lock = threading.Lock()
        self._server: Any = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def paused(self) -> bool:
        with self._lock:
            return self._paused

    def _event(self, rpc: str, outcome: str, detail: str = "") -> None:
        with self._lock:
            self.history.append(Event(time.time(), rpc, outcome, detail))

    def events(self, rpc: str | None = None) -> list[Event]:
        with self._lock:
            return [e for e in self.history if rpc is None or e.rpc == rpc]

    def reset(self) -> None:
        """Back to a healthy, unpaused node with no history (between tests)."""
        with self._lock:
            self.behaviour = Behaviour()
            self._paused = False
            self.history.clear()
            self.pause_requests.clear()
        self.on_restart.clear()

    # ---- rpc.Admin -----------------------------------------------------------------------
    def _pause(self, request: Any, context: grpc.ServicerContext) -> Empty:
        max_wait = request.max_pause_wait_time if request.HasField("max_pause_wait_time") else None
        with self._lock:
            self.pause_requests.append((request.wait_outstanding, max_wait))
        behaviour = self.behaviour
        if behaviour.refuse_pause:
            self._event("Pause", "refused", "refuse_pause")
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "failed to finish processing outstanding requests within the time limit")
        limit = (max_wait or DEFAULT_MAX_PAUSE_WAIT_MS) / 1000.0
        if request.wait_outstanding and behaviour.drain_seconds:
            time.sleep(min(behaviour.drain_seconds, limit))
            if behaviour.drain_seconds > limit:
                self._event("Pause", "refused", f"drain {behaviour.drain_seconds}s > {limit}s")
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, "failed to finish processing outstanding requests within the time limit")
        with self._lock:
            self._paused = True
        self._event("Pause", "paused")
        if behaviour.restart_after_pause is not None:
            threading.Timer(behaviour.restart_after_pause, self.restart).start()
        return Empty()

    def _unpause(self, _request: Any, context: grpc.ServicerContext) -> Empty:
        with self._lock:
            behaviour = self.behaviour
            failing = behaviour.fail_unpause_always or behaviour.fail_unpause_times > 0
            if behaviour.fail_unpause_times > 0:
                behaviour.fail_unpause_times -= 1
        if failing:
            self._event("Unpause", "unavailable")
            context.abort(grpc.StatusCode.UNAVAILABLE, "injected: unpause failed")
        with self._lock:
            self._paused = False
        self._event("Unpause", "unpaused")
        return Empty()

    def _check_paused(self, _request: Any, _context: grpc.ServicerContext) -> Any:
        paused = self.paused
        self._event("CheckPaused", "paused" if paused else "unpaused")
        return CheckPausedResponse(paused=paused)

    def restart(self) -> None:
        """What a pod restart does to the node: the new process is not paused. Hooks run afterwards."""
        with self._lock:
            self._paused = False
        self._event("restart", "restarted")
        for hook in list(self.on_restart):
            hook(self)

    # ---- server lifecycle ----------------------------------------------------------------
    def start(self) -> AdminNode:
        def unary(fn: Callable[..., Any], request_type: Any) -> Any:
            return grpc.unary_unary_rpc_method_handler(fn, request_deserializer=request_type.FromString,
                                                       response_serializer=lambda m: m.SerializeToString())

        handler = grpc.method_handlers_generic_handler("rpc.Admin", {
            "Pause": unary(self._pause, PauseRequest),
            "Unpause": unary(self._unpause, Empty),
            "CheckPaused": unary(self._check_paused, Empty),
        })
        # so_reuseport off: a second server on the same address must fail to bind, not share it.
        server = grpc.server(ThreadPoolExecutor(max_workers=16), handlers=[handler], options=[("grpc.so_reuseport", 0)])
        target = f"{self.host}:{self.port}"
        try:
            if self.tls:
                port = server.add_secure_port(target, grpc.ssl_server_credentials([self.tls]))
            else:
                port = server.add_insecure_port(target)
        except RuntimeError as exc:  # grpcio >= 1.5x raises; older ones return 0
            raise OSError(f"cannot bind {target}: {exc}") from None
        if not port:
            raise OSError(f"cannot bind {target}")
        self.port = port
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None).wait(5)
            self._server = None
