"""``python -m standins.aws --host H --port 0 --ready-file F [--region R] [delays/faults/PITR lag]``.

Serves moto on an ephemeral port, writes the ready file (url, pid, region, dummy credentials)
and runs until SIGTERM.  The stand-in's patches are always installed, so DynamoDB point-in-time
recovery (item history, windows, window errors) and RDS/Aurora point-in-time restores (AWS's
defaults for the new instance/cluster, windows, refusals) follow AWS even without delays or faults.
"""
from __future__ import annotations

import argparse
import json
import signal

from .._process import install_sigterm_exit, write_ready
from . import patches
from .behaviour import AWS_MAX_CONCURRENT_RESTORES, Behaviour
from .delays import Delays
from .env import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY
from .faults import Fault
from .server import MotoHttpServer, quiet_request_log


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m standins.aws", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--region", default=DEFAULT_REGION, help="reported to clients; moto serves every region")
    parser.add_argument("--restore-seconds", type=float, default=0.0, help="restored DynamoDB tables report CREATING this long")
    parser.add_argument("--backup-seconds", type=float, default=0.0, help="DynamoDB backups report CREATING this long")
    parser.add_argument("--rds-seconds", type=float, default=0.0, help="RDS instances/clusters report creating this long")
    parser.add_argument("--faults-json", default="[]", help="JSON list of standins.aws.faults.Fault fields")
    parser.add_argument("--seed", type=int, default=0, help="seed of the probabilistic faults")
    parser.add_argument("--max-concurrent-restores", type=int, default=AWS_MAX_CONCURRENT_RESTORES, help="with delays: more gives LimitExceededException")
    parser.add_argument("--pitr-lag-seconds", type=float, default=0.0,
                        help="DynamoDB's LatestRestorableDateTime and RDS's LatestRestorableTime trail now by this much (AWS: about 300)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    install_sigterm_exit()
    if not args.verbose:
        quiet_request_log()
    delays = Delays(args.restore_seconds, args.backup_seconds, args.rds_seconds)
    faults = [Fault.from_dict(item) for item in json.loads(args.faults_json)]
    # Always: plain moto would answer PITR restores with the source's current items (DynamoDB) or settings (RDS).
    patches.install(Behaviour(delays, faults, seed=args.seed, max_concurrent_restores=args.max_concurrent_restores,
                              pitr_lag_seconds=args.pitr_lag_seconds))
    server = MotoHttpServer(args.host, args.port)
    try:
        write_ready(
            args.ready_file,
            url=server.url,
            region=args.region,
            account_id=DEFAULT_ACCOUNT_ID,
            access_key_id=DUMMY_ACCESS_KEY_ID,
            secret_access_key=DUMMY_SECRET_ACCESS_KEY,
        )
        while True:
            signal.pause()  # SIGTERM raises SystemExit (install_sigterm_exit)
    finally:
        server.stop()
        patches.uninstall()


if __name__ == "__main__":
    main()
