"""``python -m standins.kube --host 127.0.0.1 --port 0 --ready-file F [--kubeconfig PATH] [-v]``

Serves the emulated Kubernetes API until SIGTERM. Ready-file keys: ``url``, ``pid``,
``kubeconfig`` (written next to the ready file unless ``--kubeconfig`` says where) and ``context``.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from standins._process import install_sigterm_exit, write_ready

from .cluster import Cluster
from .kubeconfig import CONTEXT, write_kubeconfig
from .server import KubeServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m standins.kube", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--kubeconfig", help="where to write the kubeconfig (default: next to the ready file)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_sigterm_exit()
    server = KubeServer((args.host, args.port), Cluster())
    kubeconfig = Path(args.kubeconfig or Path(args.ready_file).with_name("kubeconfig"))
    write_kubeconfig(kubeconfig, server.url)
    write_ready(args.ready_file, url=server.url, kubeconfig=str(kubeconfig.resolve()), context=CONTEXT)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.cluster.controller.stop()
        server.server_close()


if __name__ == "__main__":
    main()
