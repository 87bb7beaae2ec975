"""Start and stop the local stand-ins from the command line (Molecule, the demo, a developer).

    python -m standins start --state-dir DIR [--only kube,aws,azure]
    python -m standins stop  --state-dir DIR
    python -m standins status --state-dir DIR

``start`` writes DIR/endpoints.json (what each stand-in reported: url, kubeconfig, CA bundle, ...),
and the standard client variables that point helm, kubectl, boto3 and the Azure SDKs at the
stand-ins as DIR/env.json (for a play's ``environment``) and DIR/env.sh (``export`` lines).
``stop`` stops every stand-in whose PID file is in DIR; it is safe to run twice.
Run with ``PYTHONPATH=tests`` from the repository root.
"""
from __future__ import annotations

import argparse
import importlib
import json
import shlex
import sys
from pathlib import Path
from typing import Any, Callable

from standins._process import Running, stop_pidfile
from standins.aws.env import standin_vars

# name -> "module:function"; each function takes the state directory and returns a Running (or an
# object with a ``running`` attribute) once the stand-in is ready.
STARTERS = {
    "kube": "standins.kube:start_kube",
    "aws": "standins.aws:start_moto",
    "azure": "standins.azure:start_azure",
}


def _starter(name: str) -> Callable[[Path], Any]:
    module, func = STARTERS[name].split(":")
    return getattr(importlib.import_module(module), func)


def _running(started: Any) -> Running:
    return started if isinstance(started, Running) else started.running


def client_env(endpoints: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The standard client variables that point helm/kubectl/boto3/Azure SDKs at the stand-ins."""
    env: dict[str, str] = {}
    if "kube" in endpoints:
        env["KUBECONFIG"] = env["K8S_AUTH_KUBECONFIG"] = endpoints["kube"]["kubeconfig"]
        # kubectl/helm cache discovery per host:port, and ephemeral ports get reused by the next
        # emulator: keep the cache with this set of stand-ins.
        env["KUBECACHEDIR"] = str(Path(endpoints["kube"]["kubeconfig"]).parent / "kube-cache")
    if "aws" in endpoints:
        env.update(standin_vars(endpoints["aws"]["url"], endpoints["aws"]["region"]))
    if "azure" in endpoints:
        azure = endpoints["azure"]
        # DefaultAzureCredential finds the stand-in's managed-identity endpoint; the combined bundle
        # (system CAs + the test CA) keeps every other HTTPS call working. The Resource Manager URL
        # itself is a module option: the SDKs read no variable for it.
        env.update({
            "AZURE_SUBSCRIPTION_ID": azure["subscription_id"],
            "IDENTITY_ENDPOINT": azure["msi_endpoint"],
            "IDENTITY_HEADER": "standin",
            "REQUESTS_CA_BUNDLE": azure["combined_ca_bundle"],
        })
    return env


def start(state_dir: Path, names: list[str]) -> dict[str, dict[str, Any]]:
    state_dir.mkdir(parents=True, exist_ok=True)
    endpoints: dict[str, dict[str, Any]] = {}
    try:
        for name in names:
            running = _running(_starter(name)(state_dir))
            endpoints[name] = {**running.info, "url": running.url, "pid": running.pid, "pidfile": str(running.pidfile)}
    except BaseException:
        stop(state_dir)  # never leave half a set of stand-ins running
        raise
    (state_dir / "endpoints.json").write_text(json.dumps(endpoints, indent=2, sort_keys=True))
    env = client_env(endpoints)
    (state_dir / "env.json").write_text(json.dumps(env, indent=2, sort_keys=True))
    lines = [f"export {key}={shlex.quote(value)}" for key, value in sorted(env.items())]
    (state_dir / "env.sh").write_text("\n".join(lines) + "\n")
    return endpoints


def stop(state_dir: Path) -> list[str]:
    stopped = []
    for pidfile in sorted(state_dir.glob("*.pid")):
        stop_pidfile(pidfile)
        stopped.append(pidfile.stem)
    return stopped


def status(state_dir: Path) -> dict[str, bool]:
    result = {}
    for pidfile in sorted(state_dir.glob("*.pid")):
        try:
            pid = int(pidfile.read_text().strip())
            Path(f"/proc/{pid}").stat()
            result[pidfile.stem] = True
        except (OSError, ValueError):
            result[pidfile.stem] = False
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m standins", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("start", "stop", "status"))
    parser.add_argument("--state-dir", type=Path, required=True, help="where PID files, logs and endpoints go")
    parser.add_argument("--only", default=",".join(STARTERS), help="comma-separated subset of: " + ", ".join(STARTERS))
    args = parser.parse_args(argv)
    if args.command == "start":
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(names) - set(STARTERS))
        if unknown:
            parser.error(f"unknown stand-in(s): {', '.join(unknown)}")
        print(json.dumps(start(args.state_dir, names), indent=2, sort_keys=True))
    elif args.command == "stop":
        print(json.dumps({"stopped": stop(args.state_dir)}))
    else:
        print(json.dumps(status(args.state_dir), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
