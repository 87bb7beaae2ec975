"""Fault injection: which calls of which operation answer with an AWS error instead of running.

A ``Fault`` names an operation (the boto3/API name, e.g. ``RestoreTableToPointInTime``, or
``"*"`` for every operation) and says when it fires:

* ``times=K``          - the first K matching calls fail (after ``after`` calls were let through);
* ``every=N``          - every Nth matching call fails (the Nth, 2Nth, ...);
* ``probability=P``    - each matching call fails with probability P (seeded RNG: reproducible);
* ``per_second=R``     - at most R matching calls per rolling second go through, the rest fail
                         (a rate limit such as RestoreTableFromBackup's 10 calls/s);
* none of the above   - every matching call fails (bounded by ``times`` if given).

``times`` also caps the total number of failures of the other modes.  ``service`` restricts a
fault to one of moto's services (``"dynamodb"``, ``"rds"``, ``"application-autoscaling"``...), so
``Fault("*", service="dynamodb", every=2)`` throttles every other DynamoDB call whatever it is
(a wildcard fault counts all matching calls together).  ``match`` restricts a fault to calls
whose request parameters contain the given values (e.g. one TargetTableName).
Faults are checked in order; the first that fires answers the call and later ones do not see it.
"""
from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from moto.core.exceptions import ServiceException


class InjectedError(ServiceException):
    """An AWS error answered by the stand-in.

    moto serializes a ``ServiceException`` with the protocol of the service that was called
    (JSON ``__type`` for DynamoDB, an XML ``<Error><Code>`` for RDS), so boto3 raises the same
    ``ClientError`` (or modeled exception class) it would raise against AWS.  Defined outside
    ``moto.*`` on purpose: moto then looks the code up only in the called service's model.
    """


@dataclass(frozen=True)
class Fault:
    """One rule of fault injection (see the module docstring for the modes)."""

    operation: str  # API operation name, or "*" for any
    code: str = "ThrottlingException"
    message: str = "Rate exceeded"
    service: str | None = None  # moto's service name ("dynamodb", "rds"); None matches any
    times: int | None = None
    after: int = 0
    every: int | None = None
    probability: float | None = None
    per_second: float | None = None
    match: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.times is not None and self.times < 1:
            raise ValueError("times must be >= 1")
        if self.every is not None and self.every < 1:
            raise ValueError("every must be >= 1")
        if self.probability is not None and not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        if self.per_second is not None and self.per_second <= 0:
            raise ValueError("per_second must be > 0")
        if self.after < 0:
            raise ValueError("after must be >= 0")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        """Build a fault from JSON (the server-mode ``--faults-json`` option)."""
        return cls(**dict(data))

    def applies_to(self, service: str, operation: str, params: Mapping[str, Any]) -> bool:
        if self.operation not in ("*", operation) or (self.service is not None and service != self.service):
            return False
        return all(params.get(key) == value for key, value in (self.match or {}).items())

    def error(self) -> InjectedError:
        return InjectedError(self.code, self.message)


@dataclass
class _FaultState:
    seen: int = 0  # matching calls this fault has looked at
    injected: int = 0  # of which answered with the error
    passed: deque[float] = field(default_factory=deque)  # monotonic times of calls let through (per_second)


class FaultPlan:
    """The faults in force and their counters; safe to consult from moto's request threads."""

    def __init__(self, faults: Iterable[Fault] = (), seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._faults: list[tuple[Fault, _FaultState]] = [(fault, _FaultState()) for fault in faults]

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append((fault, _FaultState()))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        with self._lock:
            return [fault for fault, _state in self._faults]

    def decide(self, service: str, operation: str, params: Mapping[str, Any]) -> Fault | None:
        """The fault that answers this call, or None to let it through."""
        with self._lock:
            for fault, state in self._faults:
                if fault.applies_to(service, operation, params) and self._fires(fault, state):
                    return fault
        return None

    def _fires(self, fault: Fault, state: _FaultState) -> bool:
        state.seen += 1
        if state.seen <= fault.after or (fault.times is not None and state.injected >= fault.times):
            return False
        nth = state.seen - fault.after
        if fault.every is not None:
            fire = nth % fault.every == 0
        elif fault.probability is not None:
            fire = self._rng.random() < fault.probability
        elif fault.per_second is not None:
            now = time.monotonic()
            while state.passed and now - state.passed[0] >= 1.0:
                state.passed.popleft()
            fire = len(state.passed) >= fault.per_second
            if not fire:
                state.passed.append(now)
        else:
            fire = True
        if fire:
            state.injected += 1
        return fire
