"""moto in the test process, over real HTTP, with delays, fault injection, call counters and real PITR.

    with InProcessAws(restore_seconds=2, faults=[Fault("RestoreTableToPointInTime", times=3)]) as aws:
        ddb = aws.client("dynamodb", max_attempts=1)
        ...
        assert aws.calls["RestoreTableToPointInTime"] == 4

DynamoDB point-in-time recovery and RDS/Aurora point-in-time restores behave as in AWS (see ``pitr``
and ``rds_pitr``), exactly as in the subprocess stand-in; ``pitr_lag_seconds`` sets how far
LatestRestorableDateTime (DynamoDB) and LatestRestorableTime (RDS) trail now, and
``rds_restore_points`` tells which point each restored DB instance/cluster was restored to.
The server listens on 127.0.0.1 like the subprocess one, so ansible-playbook started from the
test (``env=aws.env``) reaches it too.  moto's backends are process-global: entering resets
them, leaving resets them again and removes every patch, so nothing leaks into other tests
(including tests that use ``moto.mock_aws``).  Only one instance may run at a time.
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from types import TracebackType
from typing import Any

from moto.moto_api._internal.models import moto_api_backend  # the backend behind /moto-api/reset

from . import patches
from .behaviour import AWS_MAX_CONCURRENT_RESTORES, Behaviour
from .delays import Delays
from .env import DEFAULT_REGION
from .faults import Fault
from .server import MotoHttpServer, quiet_request_log
from .target import AwsTarget


class InProcessAws:
    """A controllable moto server in this process (see the module docstring)."""

    def __init__(
        self,
        *,
        region: str = DEFAULT_REGION,
        restore_seconds: float = 0.0,
        backup_seconds: float = 0.0,
        rds_seconds: float = 0.0,
        faults: Iterable[Fault] = (),
        seed: int = 0,
        max_concurrent_restores: int | None = AWS_MAX_CONCURRENT_RESTORES,
        pitr_lag_seconds: float = 0.0,
        log_requests: bool = False,
    ) -> None:
        self.region = region
        self.behaviour = Behaviour(Delays(restore_seconds, backup_seconds, rds_seconds), faults, seed, max_concurrent_restores, pitr_lag_seconds)
        self._log_requests = log_requests
        self._server: MotoHttpServer | None = None
        self._log_level: int | None = None
        self._target: AwsTarget | None = None

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> InProcessAws:
        patches.install(self.behaviour)  # raises if another instance is running
        try:
            moto_api_backend.reset()
            if not self._log_requests:
                self._log_level = quiet_request_log()
            self._server = MotoHttpServer("127.0.0.1", 0)
        except BaseException:
            self._undo()
            raise
        self._target = AwsTarget(endpoint_url=self._server.url, region=self.region, is_standin=True)
        return self

    def stop(self) -> None:
        """Stop serving, remove the patches, forget all state.  Safe to call twice."""
        if self._target is None:
            return
        if self._server is not None:
            self._server.stop()
            self._server = None
        self._undo()
        self._target = None

    def _undo(self) -> None:
        patches.uninstall()
        moto_api_backend.reset()
        if self._log_level is not None:
            logging.getLogger("werkzeug").setLevel(self._log_level)
            self._log_level = None

    def __enter__(self) -> InProcessAws:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # --- where it listens -------------------------------------------------------------------------
    @property
    def target(self) -> AwsTarget:
        if self._target is None:
            raise RuntimeError("InProcessAws is not started")
        return self._target

    @property
    def url(self) -> str:
        assert self.target.endpoint_url is not None
        return self.target.endpoint_url

    @property
    def env(self) -> dict[str, str]:
        """Environment for a subprocess that must use this server."""
        return self.target.env

    def client(self, service: str, max_attempts: int = 3) -> Any:
        return self.target.client(service, max_attempts=max_attempts)

    def reset(self, counters: bool = True) -> None:
        """Forget every resource (and, by default, the call counters)."""
        moto_api_backend.reset()
        if counters:
            self.behaviour.reset_counters()

    # --- behaviour ----------------------------------------------------------------------------------
    @property
    def delays(self) -> Delays:
        """Mutable: a change applies at once, also to resources that already exist."""
        return self.behaviour.delays

    @property
    def pitr_lag_seconds(self) -> float:
        """How far DynamoDB's LatestRestorableDateTime and RDS's LatestRestorableTime trail now (AWS: about 300 s); settable, applies at once."""
        return self.behaviour.pitr.lag_seconds

    @pitr_lag_seconds.setter
    def pitr_lag_seconds(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("pitr lag must be >= 0 seconds")
        self.behaviour.pitr.lag_seconds = seconds

    @property
    def rds_restore_points(self) -> dict[str, datetime]:
        """ARN of each DB instance/cluster made by a point-in-time restore -> the point it holds (aware UTC).

        AWS reports no such field; tests use it to check which point a restore used (e.g. UseLatestRestorableTime).
        """
        return dict(self.behaviour.rds_pitr.restore_points)

    @property
    def calls(self) -> Counter[str]:
        """Calls received per operation name (failed ones included); S3 is not counted."""
        return self.behaviour.calls

    @property
    def errors(self) -> Counter[tuple[str, str]]:
        """Errors answered by the stand-in per (operation, code): injected faults and realism rules."""
        return self.behaviour.errors

    def add_fault(self, fault: Fault) -> None:
        self.behaviour.faults.add(fault)

    def clear_faults(self) -> None:
        self.behaviour.faults.clear()
