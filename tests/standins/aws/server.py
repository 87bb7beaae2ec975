"""moto's HTTP server on an ephemeral port, and the plain function that starts it as a child.

``start_moto`` is what the pytest fixtures, Molecule and the demo CLI call; it runs
``python -m standins.aws`` through ``standins._process.spawn`` (see ``__main__``).
"""
from __future__ import annotations

import json
import logging
import os
import threading
import urllib.request
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from .._process import Running, spawn
from .env import DEFAULT_REGION

if TYPE_CHECKING:  # moto is imported lazily: starting the child must not pay for it
    from .faults import Fault


class MotoHttpServer:
    """moto's WSGI app on a threaded werkzeug server in a background thread.

    Like moto's ``ThreadedMotoServer``, but polls for shutdown every 50 ms instead of 500 ms:
    tests start and stop in-process servers often, and each stop would otherwise cost half a second.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        # pylint: disable=import-outside-toplevel  # moto's server costs ~0.3 s to import
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
        self.url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()


def quiet_request_log(level: int = logging.WARNING) -> int:
    """Silence werkzeug's one-line-per-request log (thousands of lines in a benchmark); returns the old level."""
    logger = logging.getLogger("werkzeug")
    previous = logger.level
    logger.setLevel(level)
    return previous


def reset(url: str, timeout: float = 10.0) -> None:
    """Forget every resource in the stand-in (moto's ``POST /moto-api/reset``)."""
    request = urllib.request.Request(url.rstrip("/") + "/moto-api/reset", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:  # nosec - local stand-in only
        if response.status != 200:
            raise RuntimeError(f"moto reset answered HTTP {response.status}")


def start_moto(
    state_dir: str | os.PathLike[str],
    *,
    region: str = DEFAULT_REGION,
    restore_seconds: float = 0.0,
    backup_seconds: float = 0.0,
    rds_seconds: float = 0.0,
    faults: Iterable[Fault] = (),
    seed: int = 0,
    max_concurrent_restores: int | None = None,
    pitr_lag_seconds: float = 0.0,
    name: str = "aws",
    timeout: float = 60.0,
) -> Running:
    """Start moto in server mode as a child process; ``Running.info`` holds url, pid, region.

    With the defaults it is moto plus AWS's point-in-time semantics (see ``pitr``: DynamoDB
    restores hold the items of RestoreDateTime, out-of-window times are refused; ``rds_pitr``: RDS
    and Aurora restores get AWS's defaults, windows and refusals).  Delays and
    faults switch on the same behaviour as the in-process variant (but call counters are only
    visible inside that process); ``max_concurrent_restores`` defaults to AWS's 50;
    ``pitr_lag_seconds`` is how far LatestRestorableDateTime (DynamoDB) and LatestRestorableTime
    (RDS) trail now (AWS: about 5 minutes).
    """
    args = ["--region", region, "--seed", str(seed)]
    if max_concurrent_restores is not None:
        args += ["--max-concurrent-restores", str(max_concurrent_restores)]
    timings = (("--restore-seconds", restore_seconds), ("--backup-seconds", backup_seconds), ("--rds-seconds", rds_seconds),
               ("--pitr-lag-seconds", pitr_lag_seconds))
    for flag, value in timings:
        if value:
            args += [flag, str(value)]
    fault_list = [asdict(fault) for fault in faults]
    if fault_list:
        args += ["--faults-json", json.dumps(fault_list)]
    return spawn(name, "standins.aws", Path(state_dir), args, timeout=timeout)
