"""AWS stand-ins: moto in server mode (a child process) and in-process with delays and faults.

Both run moto with the patches of ``patches``: besides moto's own API they reproduce DynamoDB
point-in-time recovery as AWS does it (``pitr``: restores hold the items of RestoreDateTime,
moving restore windows with an optional lag, InvalidRestoreTimeException), RDS/Aurora
point-in-time restores as AWS does them (``rds_pitr``: the new instance/cluster gets AWS's
defaults - default security group, subnet and parameter groups, single-AZ, no tags or
protections - unless the request says otherwise; restore windows with the same lag; an existing
cluster id, an out-of-window time and a source without backups are refused), and on request
resources that take time to create (``delays``, ``rules``) and injected errors (``faults``).

* ``start_moto(state_dir, pitr_lag_seconds=..., faults=..., ...)`` -> ``standins._process.Running``
  (``info``: url, pid, region, account_id, access_key_id, secret_access_key); ``reset(url)``
  forgets every resource (and the PITR item history).
* ``InProcessAws(...)`` - a context manager for tests that need slow restores/backups/instances,
  injected errors (``Fault``, ``"*"`` for every operation), a PITR lag they can change while it
  runs (DynamoDB and RDS alike), per-operation call counters and the RDS restore points.
* ``AwsTarget`` - boto3 client factory and subprocess environment for a stand-in or real account.
* ``standin_env(url, region)`` - environment that pins botocore to the stand-in.

Names are imported on first use: importing moto's models costs about a second, which the
fixtures (loaded by every pytest run) and the server-mode starter do not need.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for linters and type checkers; at run time names load on first use
    from .delays import Delays
    from .env import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, standin_env, standin_vars
    from .faults import Fault, InjectedError
    from .inprocess import InProcessAws
    from .server import reset, start_moto
    from .target import AwsTarget

_EXPORTS = {
    "AwsTarget": "target",
    "DEFAULT_ACCOUNT_ID": "env",
    "DEFAULT_REGION": "env",
    "Delays": "delays",
    "Fault": "faults",
    "InProcessAws": "inprocess",
    "InjectedError": "faults",
    "reset": "server",
    "standin_env": "env",
    "standin_vars": "env",
    "start_moto": "server",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
