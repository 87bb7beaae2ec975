"""What the patched moto does with each call: count it, maybe answer with an error, keep PITR history.

One ``Behaviour`` is active at a time (see ``patches``).  It is consulted from moto's request
threads, so counters are guarded by a lock.  ``pitr`` holds the DynamoDB point-in-time state
(item history, restore lag; see ``pitr``); ``rds_pitr`` the RDS/Aurora restore semantics, which
share that lag (see ``rds_pitr``).
"""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from .delays import Delays
from .faults import Fault, FaultPlan, InjectedError
from .pitr import Pitr
from .rds_pitr import RdsPitr
from .rules import dynamodb_rejection

# AWS allows up to 50 concurrent table restores (of any kind) per account.
AWS_MAX_CONCURRENT_RESTORES = 50


class Behaviour:
    """Delays, faults, realism rules and PITR semantics in force, plus per-operation call counters."""

    def __init__(
        self,
        delays: Delays | None = None,
        faults: Iterable[Fault] = (),
        seed: int = 0,
        max_concurrent_restores: int | None = AWS_MAX_CONCURRENT_RESTORES,
        pitr_lag_seconds: float = 0.0,
    ) -> None:
        self.delays = delays or Delays()
        self.faults = FaultPlan(faults, seed=seed)
        self.max_concurrent_restores = max_concurrent_restores
        self.pitr = Pitr(pitr_lag_seconds)
        self.rds_pitr = RdsPitr(self.pitr)  # reads the lag from ``pitr``: one setting for DynamoDB and RDS
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()  # operation -> calls received (including failed ones)
        self.calls_by_service: Counter[tuple[str, str]] = Counter()  # (service, operation) -> calls
        self.errors: Counter[tuple[str, str]] = Counter()  # (operation, error code) -> errors answered

    def reset_counters(self) -> None:
        with self._lock:
            self.calls.clear()
            self.calls_by_service.clear()
            self.errors.clear()

    def before_call(
        self, service: str, operation: str, params: Mapping[str, Any], account: str, region: str
    ) -> InjectedError | None:
        """Count the call; return the error to answer instead of running it, if any."""
        with self._lock:
            self.calls[operation] += 1
            self.calls_by_service[(service, operation)] += 1
        fault = self.faults.decide(service, operation, params)
        error = fault.error() if fault is not None else None
        if error is None and service == "dynamodb":
            error = dynamodb_rejection(operation, params, account, region, self.delays, self.max_concurrent_restores)
        if error is not None:
            with self._lock:
                self.errors[(operation, error.code)] += 1
        return error
