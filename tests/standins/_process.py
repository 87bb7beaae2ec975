"""Start a stand-in server as a child process on an ephemeral port and stop it by PID.

The contract every stand-in's ``__main__`` follows:

* it is started as ``python -m standins.<name> --host 127.0.0.1 --port 0 --ready-file F [...]``;
* once listening it atomically writes F as JSON with at least ``url`` and ``pid`` (plus any
  extra facts, e.g. a kubeconfig path or a CA bundle);
* it exits cleanly on SIGTERM.

``spawn`` waits for that file (or for the child to die, then raises with its log tail), and
records ``<state_dir>/<name>.pid`` so that a different process (Molecule's destroy, the demo's
cleanup) can stop it later with ``stop_pidfile``.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # the folder that holds ``standins``


@dataclass
class Running:
    """A stand-in started by ``spawn``: where it listens and how to stop it."""

    name: str
    url: str
    pid: int
    pidfile: Path
    info: dict[str, Any] = field(default_factory=dict)

    def stop(self, timeout: float = 10.0) -> None:
        stop_pidfile(self.pidfile, timeout=timeout)


def write_ready(path: str | os.PathLike[str], **info: Any) -> None:
    """Server side: publish where the server listens (atomic, so readers never see half a file)."""
    path = Path(path)
    info.setdefault("pid", os.getpid())
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(info, indent=2, sort_keys=True))
    os.replace(tmp, path)


def install_sigterm_exit() -> None:
    """Server side: turn SIGTERM into SystemExit so ``finally`` blocks and atexit run."""

    def _exit(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)


def _log_tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def spawn(
    name: str,
    module: str,
    state_dir: str | os.PathLike[str],
    args: list[str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> Running:
    """Start ``python -m <module>`` as stand-in ``name`` and wait until it is ready."""
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    ready = state_dir / f"{name}.ready.json"
    log = state_dir / f"{name}.log"
    pidfile = state_dir / f"{name}.pid"
    ready.unlink(missing_ok=True)
    child_env = dict(os.environ if env is None else env)
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PACKAGE_ROOT), child_env.get("PYTHONPATH", "")) if p
    )
    cmd = [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", "0", "--ready-file", str(ready)]
    with open(log, "ab") as logf:
        proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [*cmd, *(args or [])],
            stdout=logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=child_env,
            start_new_session=True,  # a Ctrl-C of the caller's terminal must not kill it half-way
        )
    pidfile.write_text(str(proc.pid))
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if proc.poll() is not None:
            pidfile.unlink(missing_ok=True)
            raise RuntimeError(f"stand-in {name} exited with {proc.returncode}:\n{_log_tail(log)}")
        if time.monotonic() > deadline:
            stop_pidfile(pidfile)
            raise TimeoutError(f"stand-in {name} not ready after {timeout:.0f}s:\n{_log_tail(log)}")
        time.sleep(0.05)
    info = json.loads(ready.read_text())
    return Running(name=name, url=info["url"], pid=proc.pid, pidfile=pidfile, info=info)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still answers kill(0); reap it if it is ours.
    try:
        reaped_pid, _status = os.waitpid(pid, os.WNOHANG)
        return reaped_pid == 0
    except ChildProcessError:
        return True


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM, wait up to ``timeout``, then SIGKILL. Silent if already gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            break
        time.sleep(0.05)


def stop_pidfile(pidfile: str | os.PathLike[str], timeout: float = 10.0) -> None:
    """Stop the process named by a PID file written by ``spawn``, then remove the file."""
    pidfile = Path(pidfile)
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    stop_pid(pid, timeout=timeout)
    pidfile.unlink(missing_ok=True)
