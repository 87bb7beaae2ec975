"""``python -m standins.scalar_admin --host H --port P --ready-file F [--node HOST:PORT ...]``.

Serves ``rpc.Admin`` on H:P and on every ``--node`` until SIGTERM; the ready file lists them all.
"""
from __future__ import annotations

import argparse
import threading

from standins._process import install_sigterm_exit, write_ready
from standins.scalar_admin.node import AdminNode, Behaviour


def _split(address: str) -> tuple[str, int]:
    host, _colon, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m standins.scalar_admin", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--node", action="append", default=[], help="another node as HOST:PORT (repeatable)")
    parser.add_argument("--drain-seconds", type=float, default=0.0, help="every node drains this long on Pause")
    parser.add_argument("--refuse-pause", action="store_true", help="every node refuses Pause (FAILED_PRECONDITION)")
    args = parser.parse_args()
    install_sigterm_exit()
    nodes = []
    try:
        for host, port in [(args.host, args.port), *(_split(n) for n in args.node)]:
            behaviour = Behaviour(drain_seconds=args.drain_seconds, refuse_pause=args.refuse_pause)
            nodes.append(AdminNode(host, port, behaviour).start())
        write_ready(args.ready_file, url=f"grpc://{nodes[0].address}", nodes=[n.address for n in nodes])
        threading.Event().wait()
    finally:
        for node in nodes:
            node.stop()


if __name__ == "__main__":
    main()
