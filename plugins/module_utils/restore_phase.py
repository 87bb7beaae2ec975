# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""What the phased database restores share (RDS/Aurora, Azure flexible server, Cosmos DB).

Each backend has its own plan and its own calls; what is the same in meaning lives here, so the
three cannot drift apart on it:

* the errors - :class:`PreflightFailed` (with the plan) and :class:`RestoreFailed` (with whether
  anything had changed before the phase stopped);
* the options every backend takes (:class:`PhaseOptions`; a backend adds its own fields);
* :class:`PhaseRun` - one phase's bookkeeping: the ``steps`` list, ``changed``, ``restore_called``,
  progress in ``resources``, the phase dispatch; :class:`EndpointSwitchRun` adds the preflight and
  cutover of the backends whose workloads switch JDBC URLs to the target's host;
* the preflight's reuse of an unfinished use_latest run's point (:func:`unfinished_latest_point`);
* the ``run_phase`` skeleton: :func:`check_phase`, :func:`require_clean`, :func:`phase_result`;
* the module body: :func:`phase_argument_spec`, :func:`requested_point`, :func:`run_module`
  (run the phase, keep the progress file, translate errors).
"""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ansible_collections.scalarops.pitr.plugins.module_utils.concurrency import WaitTimeout
from ansible_collections.scalarops.pitr.plugins.module_utils.progress_file import Progress, write_progress
from ansible_collections.scalarops.pitr.plugins.module_utils.rds_naming import (
    MANAGED_BY,
    STATE_RESTORING,
    STATE_VERIFIED,
    TAG_LATEST,
    TAG_MANAGED_BY,
    TAG_POINT,
    TAG_SOURCE,
    TAG_STATE,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import RestorePointError, parse_timestamp, to_iso

# The advice that ends the message of a phase that stopped half-way: every phase continues from what the cloud shows.
AGAIN = "Running the same phase again continues from here."


class PreflightFailed(RuntimeError):
    """Preflight found problems; ``plan.problems`` lists them all."""

    def __init__(self, plan: Any) -> None:
        super().__init__("; ".join(plan.problems))
        self.plan = plan


class RestoreFailed(RuntimeError):
    """A phase could not finish; the message says what the cloud showed and what to do.

    ``changed`` says whether the phase had changed something before it stopped (:meth:`PhaseRun.outcome`
    records it; the modules report it where they trust it).
    """

    def __init__(self, message: str, changed: bool = False) -> None:
        super().__init__(message)
        self.changed = changed


@dataclass
class PhaseOptions:
    """The options of every backend's phases; a backend's ``Options`` adds how it waits."""

    check_mode: bool = False
    wait: bool = True
    require_reachable: bool = False
    probe_timeout: float = 3.0
    now: Callable[[], _dt.datetime] = lambda: _dt.datetime.now(_dt.timezone.utc)


class PhaseRun:
    """One phase for one plan: records steps and timings, reports progress; a backend adds the phases.

    The plan needs ``target`` (the resource a step names unless it says otherwise), ``point`` and
    ``to_dict()``; the backend defines one method per phase it has after the preflight (``prepare``,
    ``cutover``...) and :meth:`checked`, the preflight phase's outcome.
    """

    def __init__(self, plan: Any, options: PhaseOptions, on_progress: Callable[[Progress], None] | None, phase: str, total: int = 1) -> None:
        self.plan, self.options, self.on_progress, self.phase = plan, options, on_progress, phase
        self.started = time.monotonic()
        self.steps: list[dict[str, Any]] = []
        self.changed = False
        self.restore_called = False
        self.done = 0
        self.total = total

    # --- bookkeeping ---------------------------------------------------------------------------------------------
    def step(self, name: str, changed: bool, started: float, resource: str | None = None, **detail: Any) -> None:
        """Record a step done (``resource``: the target unless given) and how long it took."""
        self.steps.append({"step": name, "resource": self.plan.target if resource is None else resource, "changed": changed,
                           "seconds": round(time.monotonic() - started, 3), **detail})
        self.changed = self.changed or changed

    def planned(self, name: str, resource: str | None = None, **detail: Any) -> None:
        """Record a step check mode would have done."""
        self.steps.append({"step": name, "resource": self.plan.target if resource is None else resource, "changed": True, "planned": True,
                           **detail})
        self.changed = True

    def report(self, running: dict[str, str]) -> None:
        """Tell the caller how many resources are done of all, and what each one still running is doing."""
        if self.on_progress is not None:
            self.on_progress(Progress(self.phase, self.done, self.total, time.monotonic() - self.started, running, unit="resources"))

    def progress(self, doing: str) -> None:
        """Report what the target is doing ("" when nothing any more)."""
        self.report({self.plan.target: doing} if doing else {})

    # --- the phase ---------------------------------------------------------------------------------------------------
    def checked(self) -> dict[str, Any]:
        """The preflight phase's outcome (and ``changed``: whether a prepare would change something)."""
        raise NotImplementedError

    def outcome(self) -> dict[str, Any]:
        """Run the phase (its method of the same name; the preflight: :meth:`checked`) and return what it adds to the result.

        A phase that stops records on the exception whether it had changed something: the modules report it.
        """
        try:
            return self.checked() if self.phase == "preflight" else getattr(self, self.phase)()
        except (RestoreFailed, WaitTimeout) as exc:
            exc.changed = getattr(exc, "changed", False) or self.changed  # type: ignore[union-attr]
            raise


class EndpointSwitchRun(PhaseRun):
    """A run whose cutover switches the workloads' JDBC URLs from the source's hosts to the target's endpoint.

    The backend (RDS/Aurora, flexible server) says which target the preflight found (:attr:`existing`),
    where a target answers (:meth:`endpoint`), what the source is (:meth:`source_label`) and how it
    waits for the prepared target (:meth:`target_ready`).
    """

    @property
    def existing(self) -> Any:
        """The target the preflight found (None: there is none yet)."""
        raise NotImplementedError

    def source_label(self) -> str:
        raise NotImplementedError

    def endpoint(self, target: Any) -> tuple[str | None, int | None]:
        raise NotImplementedError

    def target_ready(self) -> Any:
        """The prepared target, waited for until it serves; None in check mode when it does not exist yet."""
        raise NotImplementedError

    def endpoint_switch(self, target: Any) -> dict[str, Any]:
        """What the workloads' JDBC URLs change from (the source's hosts) and to (the target, once it exists)."""
        switch: dict[str, Any] = {"from_hosts": self.plan.source_hosts, "source": self.source_label()}
        host, port = self.endpoint(target) if target else (None, None)
        if host:
            switch.update(to_host=host, to_port=port)
        return switch

    def checked(self) -> dict[str, Any]:
        # A URL already switched to an existing target is fine (a re-run): the preflight names it too.
        self.changed = self.existing is None or self.plan.target_state == STATE_RESTORING  # would a prepare change something
        return {"status": "checked", "endpoint_switch": self.endpoint_switch(self.existing)}

    def cutover(self) -> dict[str, Any]:
        target = self.target_ready()
        return {"status": "switch" if target else "planned", "endpoint_switch": self.endpoint_switch(target)}


# --- the plan --------------------------------------------------------------------------------------------------------
def unfinished_latest_point(tag_sets: Iterable[dict[str, str]], source: str) -> _dt.datetime | None:
    """The restore point of a target an earlier use_latest run of ``source`` left unverified (the newest such), from the targets' tags.

    A use_latest re-run reuses it, so the restore, its target name and the re-run agree on one point.
    """
    points = []
    for tags in tag_sets:
        if (tags.get(TAG_MANAGED_BY) == MANAGED_BY and tags.get(TAG_SOURCE) == source and tags.get(TAG_LATEST) == "true"
                and tags.get(TAG_STATE) != STATE_VERIFIED):
            try:
                points.append(parse_timestamp(tags.get(TAG_POINT), "restore point tag"))
            except RestorePointError:
                continue
    return max(points) if points else None


# --- the run_phase skeleton --------------------------------------------------------------------------------------
def check_phase(phase: str, phases: tuple[str, ...]) -> None:
    if phase not in phases:
        raise ValueError(f"unknown phase {phase!r}; expected one of: {', '.join(phases)}")


def only_window_problems(problems: list[str], phrase: str, target_exists: bool) -> bool:
    """Whether every problem is the restore point's window (its problems say ``phrase``) and the target exists already."""
    return target_exists and all(phrase in problem for problem in problems)


def require_clean(plan: Any, phase: str, target_exists: bool, window_phrase: str) -> None:
    """Raise :class:`PreflightFailed` when the plan has problems.

    After the prepare, time moves on: a restore point once inside the window may fall out of it later
    (retention), so the phases after the prepare go on when that is all there is and the target exists.
    """
    if plan.problems and not (phase not in ("preflight", "prepare") and only_window_problems(plan.problems, window_phrase, target_exists)):
        raise PreflightFailed(plan)


def phase_result(run: PhaseRun, source: str, target: dict[str, Any], outcome: dict[str, Any], **identity: Any) -> dict[str, Any]:
    """The module's result: ``changed``, ``preflight``, ``target``, ``steps``, the backend's ``identity`` keys, the phase's outcome."""
    plan = run.plan
    return {"changed": run.changed if run.phase != "preflight" else False, "would_change": run.changed, "phase": run.phase, **identity,
            "source": source, "restore_point": to_iso(plan.point) if plan.point else None, "preflight": plan.to_dict(), "target": target,
            "restore_called": run.restore_called, "steps": run.steps, **outcome}


# --- the modules ---------------------------------------------------------------------------------------------------
def phase_argument_spec(phases: tuple[str, ...], **specific: dict[str, Any]) -> dict[str, Any]:
    """The options every restore module has, around the backend's ``specific`` ones (the source and target names...)."""
    return {
        "phase": {"type": "str", "required": True, "choices": list(phases)},
        **specific,
        "restore_point": {"type": "str"},
        "restore_use_latest": {"type": "bool", "default": False},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 7200},
        "require_reachable": {"type": "bool", "default": False},
        "progress_file": {"type": "path"},
    }


def requested_point(module: Any, **fail_extra: Any) -> _dt.datetime | None:
    """The restore point asked for (None: restore_use_latest); exactly one of the two must be given, or the module fails."""
    params = module.params
    if bool(params["restore_point"]) == bool(params["restore_use_latest"]):
        module.fail_json(msg="give exactly one of restore_point and restore_use_latest=true", **fail_extra)
    point = None
    try:
        if params["restore_point"]:
            point = parse_timestamp(params["restore_point"])
    except RestorePointError as exc:
        module.fail_json(msg=str(exc), **fail_extra)
    return point


def run_module(module: Any, body: Callable[[Callable[[Progress], None]], dict[str, Any]],
               failure: Callable[[Exception], dict[str, Any] | None]) -> dict[str, Any]:
    """Run ``body`` (the phase, given the progress callback that keeps ``progress_file``) and return its result.

    A failure marks the progress file finished and failed, then fails the module: preflight problems
    with the plan; anything else as ``failure(exc)`` words it (its ``fail_json`` arguments; None: not an
    error this backend knows, raised as it is).
    """
    path, phase = module.params["progress_file"], module.params["phase"]

    def progress(state: Progress) -> None:
        write_progress(path, {**state.to_dict(), "finished": False})

    def fail(**answer: Any) -> None:
        write_progress(path, {"phase": phase, "finished": True, "failed": True})
        module.fail_json(**answer)

    try:
        result = body(progress)
    except PreflightFailed as exc:
        fail(msg="preflight found problems, nothing was changed: " + "; ".join(exc.plan.problems), problems=exc.plan.problems,
             preflight=exc.plan.to_dict(), changed=False)
    except Exception as exc:  # pylint: disable=broad-exception-caught  # the backend words its errors; the rest is raised as it is
        answer = failure(exc)
        if answer is None:
            raise
        fail(**answer)
    write_progress(path, {"phase": phase, "finished": True, "done": 1, "total": 1})
    return result
