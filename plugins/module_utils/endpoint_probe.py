# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Does a database endpoint resolve and accept TCP connections from here?

After a restore the workloads are switched to a new host name.  The control node often cannot
reach a database in a private VPC, so an unreachable endpoint is reported, and only fails the
run when the operator asked for it (``require``).  No credentials are used: a TCP handshake
proves the listener is up without logging in.
"""

from __future__ import annotations

import socket
import time
from typing import Any


def probe(host: str, port: int, timeout: float = 3.0) -> dict[str, Any]:
    """``{host, port, resolved, addresses, reachable, error, seconds}`` for ``host:port``."""
    started = time.monotonic()
    result: dict[str, Any] = {"host": host, "port": port, "resolved": False, "addresses": [], "reachable": False, "error": None}
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        result["error"] = f"does not resolve: {exc}"
        result["seconds"] = round(time.monotonic() - started, 3)
        return result
    result["resolved"] = True
    result["addresses"] = sorted({info[4][0] for info in infos})
    errors = []
    for family, kind, proto, unused_name, address in infos:
        try:
            with socket.socket(family, kind, proto) as connection:
                connection.settimeout(timeout)
                connection.connect(address)
            result["reachable"] = True
            errors = []
            break
        except OSError as exc:
            errors.append(f"{address[0]}: {exc}")
    if errors:
        result["error"] = "no connection: " + "; ".join(errors)
    result["seconds"] = round(time.monotonic() - started, 3)
    return result
