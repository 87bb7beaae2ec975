"""The scoped, reversible patches that give moto a delay model, fault injection and real PITR.

Only moto (the stand-in) is patched, never the code under test.  moto's backends and model
classes are process-global, so at most one ``Behaviour`` may be installed at a time and
``uninstall`` puts every attribute back exactly as it found it.  The server-mode stand-in
(``python -m standins.aws``) always installs one; ``InProcessAws`` does while it runs.

What the patched moto reproduces beyond plain moto: tables, backups, DB instances and clusters
that stay CREATING/creating for a while (``delays``); what DynamoDB refuses meanwhile
(``rules``); injected AWS errors (``faults``); DynamoDB point-in-time recovery with real item
history, restore windows, a restore lag and the window errors (``pitr``); RDS/Aurora
point-in-time restores with AWS's defaults for what the request leaves out, restore windows
with the same lag and AWS's refusals (``rds_pitr``).  What it still does not: see ``pitr``
(restore overrides, deleted-table restores, ItemCount refreshed only every ~6 hours on AWS but
exact here), ``rds_pitr`` (resource-id and automated-backup-ARN sources, data) and ``rules``
(only the listed refusals).

Hook points (moto 5.2.x):

* ``BaseResponse.call_action`` - every JSON/query-protocol request (DynamoDB, RDS,
  application-autoscaling...) passes through it once the request is parsed; S3 does not, so S3
  calls are neither counted nor faultable.  An error is answered by shadowing this request's
  handler method on the (per-request) handler instance, so moto's own ``call_action``
  serializes it in the service's protocol.  The same shadowing puts ``pitr``'s versions of
  DescribeContinuousBackups, UpdateContinuousBackups and RestoreTableToPointInTime in place of
  moto's, and item-writing DynamoDB calls run inside ``Pitr.writing`` (snapshot first); and
  ``rds_pitr``'s RestoreDBInstanceToPointInTime and RestoreDBClusterToPointInTime.
* ``MotoAPIBackend.reset`` - ``moto_api_backend.reset()`` / ``POST /moto-api/reset`` also forget
  the PITR item history and the RDS restore points.
* ``RestoredPITTable.describe`` / ``RestoredTable.describe`` - TableStatus CREATING and
  RestoreSummary.RestoreInProgress while restoring (``Table.describe`` is shared by all tables
  and has no RestoreSummary).
* ``Backup.status``, ``DBInstance.status``, ``DBCluster.status`` - a property in front of the
  stored value, so every response and every internal state check sees "creating".
* ``DBInstance`` / ``DBCluster`` ``latest_restorable_time``, ``DBCluster.earliest_restorable_time``,
  ``DBInstanceAutomatedBackup.restore_window``, ``DBInstance.performance_insights_enabled``,
  ``DBInstance.default_db_parameter_group_details`` and both ``__init__`` methods (AWS's default
  group names, PerformanceInsightsEnabled kept) - see ``rds_pitr.patched_attributes``.
"""
from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from moto.core.responses import BaseResponse
from moto.core.utils import camelcase_to_underscores
from moto.dynamodb.models.table import Backup, RestoredPITTable, RestoredTable
from moto.moto_api._internal.models import MotoAPIBackend
from moto.rds.models import DBCluster, DBInstance

from .behaviour import Behaviour
from .delays import backup_creating, rds_creating, table_restoring
from .rds_pitr import RdsPitr, patched_attributes

_MISSING = object()
_LOCK = threading.Lock()
_ACTIVE: Behaviour | None = None
_UNDO: list[tuple[type, str, Any]] = []
# moto warns when an injected code is not in the service's model (e.g. RDS "Throttling").
# The filter matches only our own error class, so it is harmless to leave it in place.
_WARNING_MESSAGE = r"Exception\(InjectedError\)"


def active() -> Behaviour | None:
    """The installed behaviour, if any."""
    return _ACTIVE


def installed() -> bool:
    return _ACTIVE is not None


def _active_rds_pitr() -> RdsPitr | None:
    behaviour = _ACTIVE
    return behaviour.rds_pitr if behaviour is not None else None


def _replace(owner: type, name: str, value: Any) -> None:
    _UNDO.append((owner, name, owner.__dict__.get(name, _MISSING)))
    setattr(owner, name, value)


def _raiser(error: Exception) -> Callable[[], NoReturn]:
    def answer() -> NoReturn:
        raise error

    return answer


def _hook_call_action(original: Callable[[BaseResponse], Any]) -> Callable[[BaseResponse], Any]:
    def call_action(self: BaseResponse) -> Any:
        behaviour = _ACTIVE
        operation = self._get_action() if behaviour is not None else None  # pylint: disable=protected-access
        if behaviour is None or not operation:
            return original(self)
        params = getattr(self, "params", None)
        params = params if isinstance(params, Mapping) else {}
        service = str(self.service_name)
        error = behaviour.before_call(service, operation, params, self.current_account, self.region)
        method = camelcase_to_underscores(operation)
        if error is not None:
            # An instance attribute wins over the class method for this one request only.
            setattr(self, method, _raiser(error))
            return original(self)
        if service == "rds":
            rds_replacement = behaviour.rds_pitr.handler_for(operation)
            if rds_replacement is not None:
                setattr(self, method, functools.partial(rds_replacement, self))
            return original(self)
        if service != "dynamodb":
            return original(self)
        replacement = behaviour.pitr.handler_for(operation)
        if replacement is not None:
            setattr(self, method, functools.partial(replacement, self))
        written = behaviour.pitr.tables_written(operation, params, self.current_account, self.region)
        if not written:
            return original(self)
        with behaviour.pitr.writing(written):
            return original(self)

    return call_action


def _hook_reset(original: Callable[[MotoAPIBackend], None]) -> Callable[[MotoAPIBackend], None]:
    def reset(self: MotoAPIBackend) -> None:
        behaviour = _ACTIVE
        if behaviour is not None:
            behaviour.pitr.history.clear()
            behaviour.rds_pitr.clear()
        original(self)

    return reset


def _hook_restored_describe(original: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    def describe(self: Any, base_key: str = "TableDescription") -> dict[str, Any]:
        result = original(self, base_key=base_key)
        behaviour = _ACTIVE
        if behaviour is not None and table_restoring(self, behaviour.delays):
            result[base_key]["TableStatus"] = "CREATING"
            result[base_key].setdefault("RestoreSummary", {})["RestoreInProgress"] = True
        return result

    return describe


def _stored_status_property(ready: str, creating: str, is_creating: Callable[[Any, Behaviour], bool]) -> property:
    """A ``status`` property over the value moto stores in the instance ``__dict__``."""

    def get(self: Any) -> Any:
        value = self.__dict__.get("status")
        behaviour = _ACTIVE
        if value == ready and behaviour is not None and is_creating(self, behaviour):
            return creating
        return value

    def set_(self: Any, value: Any) -> None:
        self.__dict__["status"] = value

    return property(get, set_)


def _cluster_status_property(original: property) -> property:
    fget = original.fget
    assert fget is not None and original.fset is not None

    def get(self: Any) -> Any:
        value = fget(self)  # keeps moto's own creating -> available flip
        behaviour = _ACTIVE
        if value == "available" and behaviour is not None and rds_creating(self, behaviour.delays):
            return "creating"
        return value

    return property(get, original.fset)


def install(behaviour: Behaviour) -> None:
    """Make moto follow ``behaviour`` until ``uninstall``.  Raises if one is already installed."""
    global _ACTIVE  # pylint: disable=global-statement
    with _LOCK:
        if _ACTIVE is not None:
            raise RuntimeError("another moto behaviour is already installed in this process")
        _replace(BaseResponse, "call_action", _hook_call_action(BaseResponse.call_action))
        _replace(MotoAPIBackend, "reset", _hook_reset(MotoAPIBackend.reset))
        for cls in (RestoredPITTable, RestoredTable):
            _replace(cls, "describe", _hook_restored_describe(cls.__dict__["describe"]))
        _replace(Backup, "status", _stored_status_property("AVAILABLE", "CREATING", lambda b, bh: backup_creating(b, bh.delays)))
        _replace(DBInstance, "status", _stored_status_property("available", "creating", lambda i, bh: rds_creating(i, bh.delays)))
        _replace(DBCluster, "status", _cluster_status_property(DBCluster.__dict__["status"]))
        for owner, name, value in patched_attributes(_active_rds_pitr):
            _replace(owner, name, value)
        warnings.filterwarnings("ignore", message=_WARNING_MESSAGE, category=UserWarning)
        _ACTIVE = behaviour


def uninstall() -> None:
    """Undo ``install`` (no-op when nothing is installed)."""
    global _ACTIVE  # pylint: disable=global-statement
    with _LOCK:
        _ACTIVE = None
        while _UNDO:
            owner, name, value = _UNDO.pop()
            if value is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, value)
